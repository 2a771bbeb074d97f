//! Charsets, between mail-parser and the parsed view of a message (`message::Inbound`,
//! `handlers::Original`): the Vietnamese single-byte charsets mail-parser does not know
//! (VISCII, VPS, TCVN 5712 VN1 and VN3, VNI), Windows-1258, VIQR (RFC 1456's 7-bit
//! mnemonic), and text whose label is missing, unknown or wrong. [`repair`] goes over a
//! message mail-parser has parsed and decodes again, from the raw bytes, every header field
//! and text part mail-parser could not read: the raw message is never changed, only the
//! parsed view.
//!
//! A label is read case-insensitively, with or without `x-`, ignoring `-`, `_`, `.`, `:`
//! and spaces: `VISCII`, `x-viet-tcvn5712`, `TCVN5712-1:1993` and `cp1258` all name their
//! charset. Text labelled UTF-8 or US-ASCII, labelled with a name nobody knows, or not
//! labelled at all is taken as UTF-8 when it is valid UTF-8; otherwise `guess` picks the
//! Vietnamese charset under which it reads most like Vietnamese, Windows-1258 first. Any
//! other label mail-parser knows (ISO-8859-*, the other Windows code pages, CJK) is left to
//! mail-parser. Decoding never fails and never panics: every byte has a meaning in every
//! table.

mod cp1252;
mod cp1258;
mod guess;
mod repair;
mod table;
mod tcvn;
mod tcvn3;
mod viqr;
mod viscii;
mod vni;
mod vps;

pub use repair::{header_texts, part_bytes, repair};

use mail_parser::decoders::charsets::{DecoderFnc, map::charset_decoder};
use table::Table;

/// A Vietnamese charset this module decodes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vietnamese {
    /// VISCII 1.1, RFC 1456 (`viscii`, `csviscii`, `viscii1.1-1`, `x-viet-viscii`).
    Viscii,
    /// VPS (`x-viet-vps`, `vps`).
    Vps,
    /// TCVN 5712:1993 VN1 (`tcvn`, `tcvn-5712`, `tcvn5712-1`, `tcvn5712-1:1993`,
    /// `x-viet-tcvn5712`, `x-viet-tcvn`).
    Tcvn,
    /// TCVN 5712:1993 VN3, "TCVN3" (`tcvn3`, `x-viet-tcvn3`, `tcvn5712-3`, `vn3`).
    Tcvn3,
    /// Windows-1258 (`windows-1258`, `cp1258`, `x-cp1258`, `cswindows1258`).
    Windows1258,
    /// VNI for Windows (`x-viet-vni`, `vni`, `vni-win`, `vni-windows`).
    Vni,
}

impl Vietnamese {
    /// Every charset, in the order `guess` prefers them on a tie.
    pub const ALL: [Vietnamese; 6] = [
        Vietnamese::Windows1258,
        Vietnamese::Viscii,
        Vietnamese::Tcvn,
        Vietnamese::Vps,
        Vietnamese::Vni,
        Vietnamese::Tcvn3,
    ];

    /// The charset a label names, if it is one of these.
    pub fn from_label(label: &str) -> Option<Vietnamese> {
        Some(match key(label).as_str() {
            "viscii" | "csviscii" | "viscii11" | "viscii111" | "vietviscii" => Vietnamese::Viscii,
            "vps" | "vietvps" | "csvps" => Vietnamese::Vps,
            "tcvn" | "tcvn5712" | "tcvn57121" | "tcvn571211993" | "tcvn57121993" | "tcvn0"
            | "viettcvn" | "viettcvn5712" | "viettcvn57121" | "cstcvn" => Vietnamese::Tcvn,
            "tcvn3" | "viettcvn3" | "tcvn57123" | "vn3" => Vietnamese::Tcvn3,
            "windows1258" | "cp1258" | "cswindows1258" | "mscp1258" | "vietwindows1258" => {
                Vietnamese::Windows1258
            }
            "vni" | "vietvni" | "vniwin" | "vniwindows" => Vietnamese::Vni,
            _ => return None,
        })
    }

    fn table(self) -> &'static Table {
        match self {
            Vietnamese::Viscii => &viscii::VISCII,
            Vietnamese::Vps => &vps::VPS,
            Vietnamese::Tcvn => &tcvn::TCVN,
            Vietnamese::Tcvn3 => &tcvn3::TCVN3,
            Vietnamese::Windows1258 => &cp1258::CP1258,
            Vietnamese::Vni => &vni::VNI,
        }
    }

    /// `bytes` as text, NFC. Every byte has a meaning: this cannot fail.
    pub fn decode(self, bytes: &[u8]) -> String {
        let table = self.table();
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
        for &b in bytes {
            out.push_str(table[usize::from(b)]);
        }
        crate::text::nfc(&out)
    }

    /// Only the bytes from 0x80 up through the table, ASCII as it is: for raw 8-bit bytes
    /// in a header field, where a C0 byte is a control character whatever the charset.
    fn decode_high(self, bytes: &[u8]) -> String {
        let table = self.table();
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
        for &b in bytes {
            match b {
                0..=0x7F => out.push(char::from(b)),
                _ => out.push_str(table[usize::from(b)]),
            }
        }
        crate::text::nfc(&out)
    }
}

/// How text under a label is read.
#[derive(Clone, Copy)]
enum Reading {
    /// One of the Vietnamese charsets, decoded here.
    Vietnamese(Vietnamese),
    /// VIQR, decoded here.
    Viqr,
    /// A charset mail-parser decodes.
    Parser(DecoderFnc),
    /// UTF-8, US-ASCII, `x-user-defined`, `unknown-8bit` (RFC 1428), an unknown label or
    /// none: UTF-8 if valid, else a guess.
    Unlabelled,
}

impl Reading {
    fn of(label: Option<&str>) -> Reading {
        let Some(label) = label else {
            return Reading::Unlabelled;
        };
        if let Some(v) = Vietnamese::from_label(label) {
            return Reading::Vietnamese(v);
        }
        match key(label).as_str() {
            "viqr" | "csviqr" | "vietviqr" => Reading::Viqr,
            "utf8" | "unicode11utf8" | "usascii" | "ascii" | "ansix341968" | "iso646us"
            | "csascii" | "us" | "" => Reading::Unlabelled,
            // "Bytes, charset unknown" (WHATWG's private-use mapping helps nobody here).
            "userdefined" | "unknown8bit" => Reading::Unlabelled,
            _ => charset_decoder(label.trim().as_bytes())
                .map_or(Reading::Unlabelled, Reading::Parser),
        }
    }

    /// Whether mail-parser's reading of `bytes` under this label should be replaced: a
    /// Vietnamese label, or a text that is not valid UTF-8 with no label mail-parser knows.
    fn overrides_parser(self, bytes: &[u8]) -> bool {
        match self {
            Reading::Vietnamese(_) | Reading::Viqr => true,
            Reading::Parser(_) => false,
            Reading::Unlabelled => std::str::from_utf8(bytes).is_err(),
        }
    }
}

/// `bytes` labelled `label` (a MIME charset name, or `None`), as NFC text: leniently, never
/// failing. See the module documentation for the rules.
pub fn decode(label: Option<&str>, bytes: &[u8]) -> String {
    match Reading::of(label) {
        Reading::Vietnamese(v) => v.decode(bytes),
        Reading::Viqr => viqr::decode(bytes),
        Reading::Parser(decoder) => crate::text::nfc(&decoder(bytes)),
        Reading::Unlabelled => match std::str::from_utf8(bytes) {
            Ok(text) => crate::text::nfc(text),
            Err(_) => guess::charset(bytes).decode(bytes),
        },
    }
}

/// Raw 8-bit bytes of a header field (RFC 6532 UTF-8, or a legacy charset sent unencoded),
/// with `label` the charset of the message they came in, as NFC text. Only the bytes from
/// 0x80 up are decoded.
fn decode_raw_header(label: Option<&str>, bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return crate::text::nfc(text);
    }
    match Reading::of(label) {
        Reading::Vietnamese(v) => v.decode_high(bytes),
        Reading::Parser(decoder) => crate::text::nfc(&decoder(bytes)),
        // 8-bit bytes are no VIQR: the label is wrong.
        Reading::Viqr | Reading::Unlabelled => guess::charset(bytes).decode_high(bytes),
    }
}

/// A label reduced to what identifies it: ASCII letters and digits, lowercase, without a
/// leading `x-`.
fn key(label: &str) -> String {
    let label = label.trim().trim_matches('"');
    let label = match label.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("x-") || p.eq_ignore_ascii_case("x_") => &label[2..],
        _ => label,
    };
    label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests;
