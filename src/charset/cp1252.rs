//! Windows-1252's 0x80–0x9F, the part of it that is not Latin-1: punctuation and a few
//! letters on the C1 control positions, which Windows-1258 (`cp1258.rs`), VNI (`vni.rs`) and
//! the VN3 fonts (`tcvn3.rs`) keep. The five bytes Windows-1252 leaves undefined (0x81, 0x8D,
//! 0x8F, 0x90, 0x9D) are not listed: they read as the C1 controls of the same number, as
//! WHATWG's index has them. From 0xA0 up Windows-1252 is Latin-1.

use super::table::Overrides;

/// The punctuation, and ƒ Œ œ Ÿ: what Windows-1258 keeps of 0x80–0x9F.
pub(super) const PUNCTUATION: &Overrides = &[
    (0x80, "€"),
    (0x82, "‚"),
    (0x83, "ƒ"),
    (0x84, "„"),
    (0x85, "…"),
    (0x86, "†"),
    (0x87, "‡"),
    (0x88, "ˆ"),
    (0x89, "‰"),
    (0x8B, "‹"),
    (0x8C, "Œ"),
    (0x91, "‘"),
    (0x92, "’"),
    (0x93, "“"),
    (0x94, "”"),
    (0x95, "•"),
    (0x96, "–"),
    (0x97, "—"),
    (0x98, "˜"),
    (0x99, "™"),
    (0x9B, "›"),
    (0x9C, "œ"),
    (0x9F, "Ÿ"),
];

/// Š Ž š ž, which Windows-1258 leaves out.
#[rustfmt::skip] // (one entry a line, as in the other tables)
pub(super) const CARONS: &Overrides = &[
    (0x8A, "Š"),
    (0x8E, "Ž"),
    (0x9A, "š"),
    (0x9E, "ž"),
];
