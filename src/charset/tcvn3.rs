//! TCVN 5712:1993 VN3, "TCVN3", the charset of the ABC fonts (.VnTime, .VnArial, …):
//! VN1's 0xA0–0xFF (lowercase letters, base capitals, combining tone marks) and nothing else
//! Vietnamese. VN3 has no capitals with a tone mark: they were typed with the capital ("H")
//! fonts at the lowercase positions, so they read as lowercase here. C0 stays control
//! characters and 0x80–0x9F keeps Windows-1252's punctuation, as the VN3 fonts do (UniKey's
//! TCVN3 table passes those bytes through). Built from the VN1 letters in `tcvn.rs` and
//! Windows-1252's 0x80–0x9F in `cp1252.rs`; `tests/charsets.rs` compares its 0xA0–0xFF with
//! iconv's VN1.

use super::table::{Table, build};
use super::{cp1252, tcvn};

/// TCVN3 byte → Unicode text.
pub(super) static TCVN3: Table = build(&[cp1252::PUNCTUATION, cp1252::CARONS, tcvn::LETTERS]);
