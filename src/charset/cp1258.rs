//! Windows-1258 (`windows-1258`, `cp1258`), what Outlook sends: Windows-1252 with Ă Đ Ơ Ư
//! (and ă đ ơ ư), ₫ and the five tone marks as combining characters (0xCC, 0xD2, 0xDE, 0xEC,
//! 0xF2), so most letters take two bytes. Generated from glibc's iconv (`CP1258`), identical
//! to Microsoft's table as Python ships it. It keeps Windows-1252's 0x80–0x9F (`cp1252.rs`)
//! but for Š Ž š ž: the nine bytes neither defines (0x81, 0x8A, 0x8D–0x90, 0x9A, 0x9D, 0x9E)
//! read as the C1 controls of the same number, as WHATWG's index has them. Every byte not
//! listed is Latin-1's. `tests/charsets.rs` compares it with iconv.

use super::cp1252;
use super::table::{Overrides, Table, build};

/// CP1258 byte → Unicode text.
pub(super) static CP1258: Table = build(&[cp1252::PUNCTUATION, LETTERS]);

/// The Vietnamese letters, tone marks and ₫, where Windows-1258 is not Windows-1252.
const LETTERS: &Overrides = &[
    (0xC3, "Ă"),
    (0xCC, "\u{0300}"), // combining grave
    (0xD0, "Đ"),
    (0xD2, "\u{0309}"), // combining hook above
    (0xD5, "Ơ"),
    (0xDD, "Ư"),
    (0xDE, "\u{0303}"), // combining tilde
    (0xE3, "ă"),
    (0xEC, "\u{0301}"), // combining acute
    (0xF0, "đ"),
    (0xF2, "\u{0323}"), // combining dot below
    (0xF5, "ơ"),
    (0xFD, "ư"),
    (0xFE, "₫"),
];
