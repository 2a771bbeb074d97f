//! VNI for Windows (Thunderbird's `x-viet-vni`), the VNI fonts' layout on Windows-1252: a
//! letter is its base letter followed by one byte for its marks (0xC0–0xDC after a capital,
//! 0xE0–0xFC after a lowercase letter: a circumflex or a breve with or without a tone mark,
//! or a tone mark alone); đ, ơ, ư, and i and y with some tone marks, take one byte. Marks
//! read as combining characters, which NFC composes with the letter before. From UniKey's
//! VNI-Windows table (VnConv); every byte not listed here is Windows-1252's (`cp1252.rs`,
//! then Latin-1).

use super::cp1252;
use super::table::{Overrides, Table, build};

/// VNI byte → Unicode text.
pub(super) static VNI: Table = build(&[cp1252::PUNCTUATION, cp1252::CARONS, MARKS]);

/// The marks and the one-byte letters, where VNI is not Windows-1252.
const MARKS: &Overrides = &[
    (0xC0, "\u{0302}\u{0300}"), // combining circumflex and grave
    (0xC1, "\u{0302}\u{0301}"), // combining circumflex and acute
    (0xC2, "\u{0302}"),         // combining circumflex
    (0xC3, "\u{0302}\u{0303}"), // combining circumflex and tilde
    (0xC4, "\u{0302}\u{0323}"), // combining circumflex and dot below
    (0xC5, "\u{0302}\u{0309}"), // combining circumflex and hook above
    (0xC6, "Ỉ"),
    (0xC8, "\u{0306}\u{0300}"), // combining breve and grave
    (0xC9, "\u{0306}\u{0301}"), // combining breve and acute
    (0xCA, "\u{0306}"),         // combining breve
    (0xCB, "\u{0306}\u{0323}"), // combining breve and dot below
    (0xCE, "Ỵ"),
    (0xCF, "\u{0323}"), // combining dot below
    (0xD1, "Đ"),
    (0xD2, "Ị"),
    (0xD3, "Ĩ"),
    (0xD4, "Ơ"),
    (0xD5, "\u{0303}"), // combining tilde
    (0xD6, "Ư"),
    (0xD8, "\u{0300}"),         // combining grave
    (0xD9, "\u{0301}"),         // combining acute
    (0xDA, "\u{0306}\u{0309}"), // combining breve and hook above
    (0xDB, "\u{0309}"),         // combining hook above
    (0xDC, "\u{0306}\u{0303}"), // combining breve and tilde
    (0xE0, "\u{0302}\u{0300}"), // combining circumflex and grave
    (0xE1, "\u{0302}\u{0301}"), // combining circumflex and acute
    (0xE2, "\u{0302}"),         // combining circumflex
    (0xE3, "\u{0302}\u{0303}"), // combining circumflex and tilde
    (0xE4, "\u{0302}\u{0323}"), // combining circumflex and dot below
    (0xE5, "\u{0302}\u{0309}"), // combining circumflex and hook above
    (0xE6, "ỉ"),
    (0xE8, "\u{0306}\u{0300}"), // combining breve and grave
    (0xE9, "\u{0306}\u{0301}"), // combining breve and acute
    (0xEA, "\u{0306}"),         // combining breve
    (0xEB, "\u{0306}\u{0323}"), // combining breve and dot below
    (0xEE, "ỵ"),
    (0xEF, "\u{0323}"), // combining dot below
    (0xF1, "đ"),
    (0xF2, "ị"),
    (0xF3, "ĩ"),
    (0xF4, "ơ"),
    (0xF5, "\u{0303}"), // combining tilde
    (0xF6, "ư"),
    (0xF8, "\u{0300}"),         // combining grave
    (0xF9, "\u{0301}"),         // combining acute
    (0xFA, "\u{0306}\u{0309}"), // combining breve and hook above
    (0xFB, "\u{0309}"),         // combining hook above
    (0xFC, "\u{0306}\u{0303}"), // combining breve and tilde
];
