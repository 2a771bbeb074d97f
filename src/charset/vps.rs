//! VPS (the Vietnamese Professionals Society's charset, Thunderbird's `x-viet-vps`):
//! Latin-1 with the Vietnamese letters it lacks at 0x80–0xFF and on C0 control positions
//! (0x02–0x06, 0x10–0x15, 0x19, 0x1C, 0x1D). glibc has no VPS: this is Mozilla's VPS
//! decoder table. GNU recode 3.6 gives the same values for the 247 bytes it maps; it leaves
//! out 0x91, 0x92, 0x99, 0xA0, 0xDF, 0xE7, 0xEE, 0xF6 and 0xFC, and UniKey's VPS table
//! confirms 0x99 as Ỗ. `tests/charset_tables.rs` compares it with recode.

use super::Table;

/// VPS byte → Unicode text.
pub(super) static VPS: Table = [
    "\u{0000}", // 0x00
    "\u{0001}", // 0x01
    "\u{1EA0}", // 0x02 Ạ
    "\u{1EAC}", // 0x03 Ậ
    "\u{1EB6}", // 0x04 Ặ
    "\u{1EB8}", // 0x05 Ẹ
    "\u{1EC6}", // 0x06 Ệ
    "\u{0007}", // 0x07
    "\u{0008}", // 0x08
    "\u{0009}", // 0x09
    "\u{000A}", // 0x0A
    "\u{000B}", // 0x0B
    "\u{000C}", // 0x0C
    "\u{000D}", // 0x0D
    "\u{000E}", // 0x0E
    "\u{000F}", // 0x0F
    "\u{1ECA}", // 0x10 Ị
    "\u{1ECC}", // 0x11 Ọ
    "\u{1ED8}", // 0x12 Ộ
    "\u{1EE2}", // 0x13 Ợ
    "\u{1EE4}", // 0x14 Ụ
    "\u{1EF0}", // 0x15 Ự
    "\u{0016}", // 0x16
    "\u{0017}", // 0x17
    "\u{0018}", // 0x18
    "\u{1EF4}", // 0x19 Ỵ
    "\u{001A}", // 0x1A
    "\u{001B}", // 0x1B
    "\u{1EAA}", // 0x1C Ẫ
    "\u{1EEE}", // 0x1D Ữ
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
    "\u{1EA4}", // 0x83 Ấ
    "\u{1EA6}", // 0x84 Ầ
    "\u{1EA8}", // 0x85 Ẩ
    "\u{1ECD}", // 0x86 ọ
    "\u{1ED7}", // 0x87 ỗ
    "\u{0102}", // 0x88 Ă
    "\u{1EBF}", // 0x89 ế
    "\u{1EC1}", // 0x8A ề
    "\u{1EC3}", // 0x8B ể
    "\u{1EC7}", // 0x8C ệ
    "\u{1EAE}", // 0x8D Ắ
    "\u{1EB0}", // 0x8E Ằ
    "\u{1EB2}", // 0x8F Ẳ
    "\u{1EBE}", // 0x90 Ế
    "\u{2018}", // 0x91 ‘
    "\u{2019}", // 0x92 ’
    "\u{1EC0}", // 0x93 Ề
    "\u{1EC2}", // 0x94 Ể
    "\u{1EC4}", // 0x95 Ễ
    "\u{1ED0}", // 0x96 Ố
    "\u{1ED2}", // 0x97 Ồ
    "\u{1ED4}", // 0x98 Ổ
    "\u{1ED6}", // 0x99 Ỗ
    "\u{00FD}", // 0x9A ý
    "\u{1EF7}", // 0x9B ỷ
    "\u{1EF5}", // 0x9C ỵ
    "\u{1EDA}", // 0x9D Ớ
    "\u{1EDC}", // 0x9E Ờ
    "\u{1EDE}", // 0x9F Ở
    "\u{00A0}", // 0xA0 no-break space
    "\u{1EAF}", // 0xA1 ắ
    "\u{1EB1}", // 0xA2 ằ
    "\u{1EB3}", // 0xA3 ẳ
    "\u{1EB5}", // 0xA4 ẵ
    "\u{1EB7}", // 0xA5 ặ
    "\u{1EE0}", // 0xA6 Ỡ
    "\u{1EDB}", // 0xA7 ớ
    "\u{00D9}", // 0xA8 Ù
    "\u{1EDD}", // 0xA9 ờ
    "\u{1EDF}", // 0xAA ở
    "\u{1EE1}", // 0xAB ỡ
    "\u{0168}", // 0xAC Ũ
    "\u{1EE8}", // 0xAD Ứ
    "\u{1EE3}", // 0xAE ợ
    "\u{1EEA}", // 0xAF Ừ
    "\u{1ED5}", // 0xB0 ổ
    "\u{1EEC}", // 0xB1 Ử
    "\u{1EF2}", // 0xB2 Ỳ
    "\u{1EF8}", // 0xB3 Ỹ
    "\u{00CD}", // 0xB4 Í
    "\u{00CC}", // 0xB5 Ì
    "\u{1ED9}", // 0xB6 ộ
    "\u{1EC8}", // 0xB7 Ỉ
    "\u{0128}", // 0xB8 Ĩ
    "\u{00D3}", // 0xB9 Ó
    "\u{1EED}", // 0xBA ử
    "\u{1EEF}", // 0xBB ữ
    "\u{00D2}", // 0xBC Ò
    "\u{1ECE}", // 0xBD Ỏ
    "\u{00D5}", // 0xBE Õ
    "\u{1EF1}", // 0xBF ự
    "\u{1EA7}", // 0xC0 ầ
    "\u{00C1}", // 0xC1 Á
    "\u{00C2}", // 0xC2 Â
    "\u{1EA5}", // 0xC3 ấ
    "\u{1EA9}", // 0xC4 ẩ
    "\u{1EAB}", // 0xC5 ẫ
    "\u{1EAD}", // 0xC6 ậ
    "\u{0111}", // 0xC7 đ
    "\u{1EBB}", // 0xC8 ẻ
    "\u{00C9}", // 0xC9 É
    "\u{00CA}", // 0xCA Ê
    "\u{1EB9}", // 0xCB ẹ
    "\u{1EC9}", // 0xCC ỉ
    "\u{1EC5}", // 0xCD ễ
    "\u{1ECB}", // 0xCE ị
    "\u{1EF9}", // 0xCF ỹ
    "\u{01AF}", // 0xD0 Ư
    "\u{1EE6}", // 0xD1 Ủ
    "\u{1ED3}", // 0xD2 ồ
    "\u{1ED1}", // 0xD3 ố
    "\u{00D4}", // 0xD4 Ô
    "\u{1ECF}", // 0xD5 ỏ
    "\u{01A1}", // 0xD6 ơ
    "\u{00C8}", // 0xD7 È
    "\u{1EEB}", // 0xD8 ừ
    "\u{1EE9}", // 0xD9 ứ
    "\u{00DA}", // 0xDA Ú
    "\u{0169}", // 0xDB ũ
    "\u{01B0}", // 0xDC ư
    "\u{00DD}", // 0xDD Ý
    "\u{1EBA}", // 0xDE Ẻ
    "\u{00DF}", // 0xDF ß
    "\u{00E0}", // 0xE0 à
    "\u{00E1}", // 0xE1 á
    "\u{00E2}", // 0xE2 â
    "\u{00E3}", // 0xE3 ã
    "\u{1EA3}", // 0xE4 ả
    "\u{1EA1}", // 0xE5 ạ
    "\u{0103}", // 0xE6 ă
    "\u{00E7}", // 0xE7 ç
    "\u{00E8}", // 0xE8 è
    "\u{00E9}", // 0xE9 é
    "\u{00EA}", // 0xEA ê
    "\u{1EBD}", // 0xEB ẽ
    "\u{00EC}", // 0xEC ì
    "\u{00ED}", // 0xED í
    "\u{00EE}", // 0xEE î
    "\u{0129}", // 0xEF ĩ
    "\u{1EB4}", // 0xF0 Ẵ
    "\u{0110}", // 0xF1 Đ
    "\u{00F2}", // 0xF2 ò
    "\u{00F3}", // 0xF3 ó
    "\u{00F4}", // 0xF4 ô
    "\u{00F5}", // 0xF5 õ
    "\u{00F6}", // 0xF6 ö
    "\u{01A0}", // 0xF7 Ơ
    "\u{1EE5}", // 0xF8 ụ
    "\u{00F9}", // 0xF9 ù
    "\u{00FA}", // 0xFA ú
    "\u{1EE7}", // 0xFB ủ
    "\u{00FC}", // 0xFC ü
    "\u{1EF6}", // 0xFD Ỷ
    "\u{1EBC}", // 0xFE Ẽ
    "\u{1EF3}", // 0xFF ỳ
];
