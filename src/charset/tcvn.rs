//! TCVN 5712:1993 VN1 (`TCVN5712-1`, Thunderbird's `x-viet-tcvn5712`): lowercase letters
//! and base capitals at 0xA1–0xFF, the five tone marks as combining characters at
//! 0xB0–0xB4, and the capitals with a tone mark at 0x80–0x9F and on C0 control positions
//! (0x01, 0x02, 0x04–0x06, 0x11–0x17). Generated from glibc's iconv (`TCVN5712-1`);
//! Mozilla's decoder table is identical, and GNU recode 3.6 agrees on every byte it maps (it
//! leaves 0xA0 and the combining marks out). `tests/charset_tables.rs` compares it with
//! iconv.

use super::Table;

/// TCVN byte → Unicode text.
pub(super) static TCVN: Table = [
    "\u{0000}", // 0x00
    "\u{00DA}", // 0x01 Ú
    "\u{1EE4}", // 0x02 Ụ
    "\u{0003}", // 0x03
    "\u{1EEA}", // 0x04 Ừ
    "\u{1EEC}", // 0x05 Ử
    "\u{1EEE}", // 0x06 Ữ
    "\u{0007}", // 0x07
    "\u{0008}", // 0x08
    "\u{0009}", // 0x09
    "\u{000A}", // 0x0A
    "\u{000B}", // 0x0B
    "\u{000C}", // 0x0C
    "\u{000D}", // 0x0D
    "\u{000E}", // 0x0E
    "\u{000F}", // 0x0F
    "\u{0010}", // 0x10
    "\u{1EE8}", // 0x11 Ứ
    "\u{1EF0}", // 0x12 Ự
    "\u{1EF2}", // 0x13 Ỳ
    "\u{1EF6}", // 0x14 Ỷ
    "\u{1EF8}", // 0x15 Ỹ
    "\u{00DD}", // 0x16 Ý
    "\u{1EF4}", // 0x17 Ỵ
    "\u{0018}", // 0x18
    "\u{0019}", // 0x19
    "\u{001A}", // 0x1A
    "\u{001B}", // 0x1B
    "\u{001C}", // 0x1C
    "\u{001D}", // 0x1D
    "\u{001E}", // 0x1E
    "\u{001F}", // 0x1F
    " ",        // 0x20
    "!",        // 0x21
    "\"",       // 0x22
    "#",        // 0x23
    "$",        // 0x24
    "%",        // 0x25
    "&",        // 0x26
    "'",        // 0x27
    "(",        // 0x28
    ")",        // 0x29
    "*",        // 0x2A
    "+",        // 0x2B
    ",",        // 0x2C
    "-",        // 0x2D
    ".",        // 0x2E
    "/",        // 0x2F
    "0",        // 0x30
    "1",        // 0x31
    "2",        // 0x32
    "3",        // 0x33
    "4",        // 0x34
    "5",        // 0x35
    "6",        // 0x36
    "7",        // 0x37
    "8",        // 0x38
    "9",        // 0x39
    ":",        // 0x3A
    ";",        // 0x3B
    "<",        // 0x3C
    "=",        // 0x3D
    ">",        // 0x3E
    "?",        // 0x3F
    "@",        // 0x40
    "A",        // 0x41
    "B",        // 0x42
    "C",        // 0x43
    "D",        // 0x44
    "E",        // 0x45
    "F",        // 0x46
    "G",        // 0x47
    "H",        // 0x48
    "I",        // 0x49
    "J",        // 0x4A
    "K",        // 0x4B
    "L",        // 0x4C
    "M",        // 0x4D
    "N",        // 0x4E
    "O",        // 0x4F
    "P",        // 0x50
    "Q",        // 0x51
    "R",        // 0x52
    "S",        // 0x53
    "T",        // 0x54
    "U",        // 0x55
    "V",        // 0x56
    "W",        // 0x57
    "X",        // 0x58
    "Y",        // 0x59
    "Z",        // 0x5A
    "[",        // 0x5B
    "\\",       // 0x5C
    "]",        // 0x5D
    "^",        // 0x5E
    "_",        // 0x5F
    "`",        // 0x60
    "a",        // 0x61
    "b",        // 0x62
    "c",        // 0x63
    "d",        // 0x64
    "e",        // 0x65
    "f",        // 0x66
    "g",        // 0x67
    "h",        // 0x68
    "i",        // 0x69
    "j",        // 0x6A
    "k",        // 0x6B
    "l",        // 0x6C
    "m",        // 0x6D
    "n",        // 0x6E
    "o",        // 0x6F
    "p",        // 0x70
    "q",        // 0x71
    "r",        // 0x72
    "s",        // 0x73
    "t",        // 0x74
    "u",        // 0x75
    "v",        // 0x76
    "w",        // 0x77
    "x",        // 0x78
    "y",        // 0x79
    "z",        // 0x7A
    "{",        // 0x7B
    "|",        // 0x7C
    "}",        // 0x7D
    "~",        // 0x7E
    "\u{007F}", // 0x7F
    "\u{00C0}", // 0x80 À
    "\u{1EA2}", // 0x81 Ả
    "\u{00C3}", // 0x82 Ã
    "\u{00C1}", // 0x83 Á
    "\u{1EA0}", // 0x84 Ạ
    "\u{1EB6}", // 0x85 Ặ
    "\u{1EAC}", // 0x86 Ậ
    "\u{00C8}", // 0x87 È
    "\u{1EBA}", // 0x88 Ẻ
    "\u{1EBC}", // 0x89 Ẽ
    "\u{00C9}", // 0x8A É
    "\u{1EB8}", // 0x8B Ẹ
    "\u{1EC6}", // 0x8C Ệ
    "\u{00CC}", // 0x8D Ì
    "\u{1EC8}", // 0x8E Ỉ
    "\u{0128}", // 0x8F Ĩ
    "\u{00CD}", // 0x90 Í
    "\u{1ECA}", // 0x91 Ị
    "\u{00D2}", // 0x92 Ò
    "\u{1ECE}", // 0x93 Ỏ
    "\u{00D5}", // 0x94 Õ
    "\u{00D3}", // 0x95 Ó
    "\u{1ECC}", // 0x96 Ọ
    "\u{1ED8}", // 0x97 Ộ
    "\u{1EDC}", // 0x98 Ờ
    "\u{1EDE}", // 0x99 Ở
    "\u{1EE0}", // 0x9A Ỡ
    "\u{1EDA}", // 0x9B Ớ
    "\u{1EE2}", // 0x9C Ợ
    "\u{00D9}", // 0x9D Ù
    "\u{1EE6}", // 0x9E Ủ
    "\u{0168}", // 0x9F Ũ
    "\u{00A0}", // 0xA0 no-break space
    "\u{0102}", // 0xA1 Ă
    "\u{00C2}", // 0xA2 Â
    "\u{00CA}", // 0xA3 Ê
    "\u{00D4}", // 0xA4 Ô
    "\u{01A0}", // 0xA5 Ơ
    "\u{01AF}", // 0xA6 Ư
    "\u{0110}", // 0xA7 Đ
    "\u{0103}", // 0xA8 ă
    "\u{00E2}", // 0xA9 â
    "\u{00EA}", // 0xAA ê
    "\u{00F4}", // 0xAB ô
    "\u{01A1}", // 0xAC ơ
    "\u{01B0}", // 0xAD ư
    "\u{0111}", // 0xAE đ
    "\u{1EB0}", // 0xAF Ằ
    "\u{0300}", // 0xB0 ◌̀
    "\u{0309}", // 0xB1 ◌̉
    "\u{0303}", // 0xB2 ◌̃
    "\u{0301}", // 0xB3 ◌́
    "\u{0323}", // 0xB4 ◌̣
    "\u{00E0}", // 0xB5 à
    "\u{1EA3}", // 0xB6 ả
    "\u{00E3}", // 0xB7 ã
    "\u{00E1}", // 0xB8 á
    "\u{1EA1}", // 0xB9 ạ
    "\u{1EB2}", // 0xBA Ẳ
    "\u{1EB1}", // 0xBB ằ
    "\u{1EB3}", // 0xBC ẳ
    "\u{1EB5}", // 0xBD ẵ
    "\u{1EAF}", // 0xBE ắ
    "\u{1EB4}", // 0xBF Ẵ
    "\u{1EAE}", // 0xC0 Ắ
    "\u{1EA6}", // 0xC1 Ầ
    "\u{1EA8}", // 0xC2 Ẩ
    "\u{1EAA}", // 0xC3 Ẫ
    "\u{1EA4}", // 0xC4 Ấ
    "\u{1EC0}", // 0xC5 Ề
    "\u{1EB7}", // 0xC6 ặ
    "\u{1EA7}", // 0xC7 ầ
    "\u{1EA9}", // 0xC8 ẩ
    "\u{1EAB}", // 0xC9 ẫ
    "\u{1EA5}", // 0xCA ấ
    "\u{1EAD}", // 0xCB ậ
    "\u{00E8}", // 0xCC è
    "\u{1EC2}", // 0xCD Ể
    "\u{1EBB}", // 0xCE ẻ
    "\u{1EBD}", // 0xCF ẽ
    "\u{00E9}", // 0xD0 é
    "\u{1EB9}", // 0xD1 ẹ
    "\u{1EC1}", // 0xD2 ề
    "\u{1EC3}", // 0xD3 ể
    "\u{1EC5}", // 0xD4 ễ
    "\u{1EBF}", // 0xD5 ế
    "\u{1EC7}", // 0xD6 ệ
    "\u{00EC}", // 0xD7 ì
    "\u{1EC9}", // 0xD8 ỉ
    "\u{1EC4}", // 0xD9 Ễ
    "\u{1EBE}", // 0xDA Ế
    "\u{1ED2}", // 0xDB Ồ
    "\u{0129}", // 0xDC ĩ
    "\u{00ED}", // 0xDD í
    "\u{1ECB}", // 0xDE ị
    "\u{00F2}", // 0xDF ò
    "\u{1ED4}", // 0xE0 Ổ
    "\u{1ECF}", // 0xE1 ỏ
    "\u{00F5}", // 0xE2 õ
    "\u{00F3}", // 0xE3 ó
    "\u{1ECD}", // 0xE4 ọ
    "\u{1ED3}", // 0xE5 ồ
    "\u{1ED5}", // 0xE6 ổ
    "\u{1ED7}", // 0xE7 ỗ
    "\u{1ED1}", // 0xE8 ố
    "\u{1ED9}", // 0xE9 ộ
    "\u{1EDD}", // 0xEA ờ
    "\u{1EDF}", // 0xEB ở
    "\u{1EE1}", // 0xEC ỡ
    "\u{1EDB}", // 0xED ớ
    "\u{1EE3}", // 0xEE ợ
    "\u{00F9}", // 0xEF ù
    "\u{1ED6}", // 0xF0 Ỗ
    "\u{1EE7}", // 0xF1 ủ
    "\u{0169}", // 0xF2 ũ
    "\u{00FA}", // 0xF3 ú
    "\u{1EE5}", // 0xF4 ụ
    "\u{1EEB}", // 0xF5 ừ
    "\u{1EED}", // 0xF6 ử
    "\u{1EEF}", // 0xF7 ữ
    "\u{1EE9}", // 0xF8 ứ
    "\u{1EF1}", // 0xF9 ự
    "\u{1EF3}", // 0xFA ỳ
    "\u{1EF7}", // 0xFB ỷ
    "\u{1EF9}", // 0xFC ỹ
    "\u{00FD}", // 0xFD ý
    "\u{1EF5}", // 0xFE ỵ
    "\u{1ED0}", // 0xFF Ố
];
