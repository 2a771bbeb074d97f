//! The tables, the labels and lenient decoding. The expected bytes were written with glibc's
//! iconv (VISCII, TCVN5712-1, CP1258), GNU recode (VPS) and UniKey's table (VNI).

use super::*;
use crate::text;
use unicode_normalization::UnicodeNormalization;

/// `text` in charset `v`, for tests: each letter as one byte if the table has it, else as
/// a base letter and its marks (VNI, Windows-1258, TCVN's combining tone marks).
pub(super) fn encode(v: Vietnamese, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in text.chars() {
        let bytes = encode_char(v.table(), c).unwrap_or_else(|| panic!("{c:?} is not in {v:?}"));
        out.extend(bytes);
    }
    out
}

fn encode_char(table: &Table, c: char) -> Option<Vec<u8>> {
    let lower = c.is_lowercase();
    // A mark after a lowercase letter takes VNI's lowercase byte (0xE0–0xFC), after a capital
    // its capital byte (0xC0–0xDC); elsewhere only one byte matches anyway.
    let find = |s: &str| -> Option<u8> {
        let nfd = |t: &str| t.nfd().collect::<String>();
        let hit = |t: &&str| nfd(t) == nfd(s);
        let i = if lower {
            table.iter().rposition(&hit)
        } else {
            table.iter().position(hit)
        };
        i.and_then(|i| u8::try_from(i).ok())
    };
    if let Some(b) = find(&c.to_string()) {
        return Some(vec![b]);
    }
    let nfd: Vec<char> = c.nfd().collect();
    let (&base, marks) = nfd.split_first()?;
    if marks.is_empty() {
        return None;
    }
    if let Some(m) = find(&marks.iter().collect::<String>()) {
        let mut out = encode_char(table, base)?;
        out.push(m);
        return Some(out);
    }
    for i in (1..nfd.len()).rev() {
        let Some(m) = find(&nfd[i].to_string()) else {
            continue;
        };
        let rest: String = nfd
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, c)| c)
            .collect::<String>()
            .nfc()
            .collect();
        let mut chars = rest.chars();
        if let (Some(rest), None) = (chars.next(), chars.next())
            && let Some(mut out) = encode_char(table, rest)
        {
            out.push(m);
            return Some(out);
        }
    }
    None
}

/// The 134 precomposed Vietnamese letters: twelve vowels with each of five tone marks, the
/// six toneless ones that are not ASCII, and đ, in both cases.
fn letters() -> Vec<char> {
    let tones = ["", "\u{301}", "\u{300}", "\u{309}", "\u{303}", "\u{323}"];
    let mut lower = Vec::new();
    for vowel in "aăâeêioôơuưy".chars() {
        for tone in tones {
            let s: String = format!("{vowel}{tone}").nfc().collect();
            let c = s.chars().next().unwrap();
            if !c.is_ascii() {
                lower.push(c);
            }
        }
    }
    lower.push('đ');
    let upper: Vec<char> = lower.iter().flat_map(|c| c.to_uppercase()).collect();
    lower.into_iter().chain(upper).collect()
}

const HUY: &str = "Hủy đăng ký";
const DUC: &str = "Nguyễn Văn Đức";

/// (charset, "Hủy đăng ký", "Nguyễn Văn Đức") as the reference converters write them.
const SAMPLES: [(Vietnamese, &[u8], &[u8]); 6] = [
    (
        Vietnamese::Viscii,
        b"H\xfcy \xf0\xe5ng k\xfd",
        b"Nguy\xadn V\xe5n \xd0\xd1c",
    ),
    (
        Vietnamese::Tcvn,
        b"H\xf1y \xae\xa8ng k\xfd",
        b"Nguy\xd4n V\xa8n \xa7\xf8c",
    ),
    (
        Vietnamese::Tcvn3,
        b"H\xf1y \xae\xa8ng k\xfd",
        b"Nguy\xd4n V\xa8n \xa7\xf8c",
    ),
    (
        Vietnamese::Vps,
        b"H\xfby \xc7\xe6ng k\x9a",
        b"Nguy\xcdn V\xe6n \xf1\xd9c",
    ),
    (
        Vietnamese::Windows1258,
        b"Hu\xd2y \xf0\xe3ng ky\xec",
        b"Nguy\xea\xden V\xe3n \xd0\xfd\xecc",
    ),
    (
        Vietnamese::Vni,
        b"Hu\xfby \xf1a\xeang ky\xf9",
        b"Nguye\xe3n Va\xean \xd1\xf6\xf9c",
    ),
];

#[test]
fn the_reference_bytes_decode_and_encode() {
    for (v, huy, duc) in SAMPLES {
        assert_eq!(v.decode(huy), HUY, "{v:?}");
        assert_eq!(v.decode(duc), DUC, "{v:?}");
        if v != Vietnamese::Vni {
            // (VNI keeps Windows-1252's ý at 0xFD beside its own y + 0xF9.)
            assert_eq!(encode(v, HUY), huy, "{v:?}");
            assert_eq!(encode(v, DUC), duc, "{v:?}");
        }
        assert!(text::fold(&v.decode(huy)) == "huy dang ky");
    }
}

#[test]
fn all_134_letters_round_trip_through_every_table() {
    let letters = letters();
    assert_eq!(letters.len(), 134);
    for v in Vietnamese::ALL {
        for &c in &letters {
            if v == Vietnamese::Tcvn3 && c.is_uppercase() && !"ĂÂÊÔƠƯĐ".contains(c) {
                continue; // VN3 has no capitals with tone marks
            }
            let bytes = encode(v, &c.to_string());
            assert_eq!(v.decode(&bytes), c.to_string(), "{v:?} {c} {bytes:x?}");
        }
    }
}

#[test]
fn tcvn3_reads_vn1_capitals_as_what_its_fonts_show() {
    // 0x80–0x9F are VN1's capitals with tone marks, VN3's Windows punctuation.
    assert_eq!(Vietnamese::Tcvn.decode(b"\x93\x94"), "ỎÕ");
    assert_eq!(Vietnamese::Tcvn3.decode(b"\x93k\x94"), "“k”");
    assert_eq!(Vietnamese::Tcvn.decode(b"\x01"), "Ú");
    assert_eq!(Vietnamese::Tcvn3.decode(b"\x01"), "\u{1}");
}

#[test]
fn no_high_byte_reads_as_ascii() {
    // Decoded raw header bytes can therefore never add a quote, bracket or comma.
    for v in Vietnamese::ALL {
        for b in 0x80..=0xFFu8 {
            assert!(
                !v.decode(&[b]).chars().any(|c| c.is_ascii()),
                "{v:?} 0x{b:02X}"
            );
        }
    }
}

#[test]
fn labels_are_read_as_mail_writes_them() {
    let cases = [
        ("VISCII", Vietnamese::Viscii),
        ("viscii", Vietnamese::Viscii),
        ("csVISCII", Vietnamese::Viscii),
        ("VISCII1.1-1", Vietnamese::Viscii),
        ("x-viet-viscii", Vietnamese::Viscii),
        ("X-VIET-VPS", Vietnamese::Vps),
        ("vps", Vietnamese::Vps),
        ("x-viet-tcvn5712", Vietnamese::Tcvn),
        ("x-viet-tcvn", Vietnamese::Tcvn),
        ("TCVN", Vietnamese::Tcvn),
        ("tcvn-5712", Vietnamese::Tcvn),
        ("TCVN5712-1", Vietnamese::Tcvn),
        ("TCVN5712-1:1993", Vietnamese::Tcvn),
        ("tcvn3", Vietnamese::Tcvn3),
        ("x-viet-tcvn3", Vietnamese::Tcvn3),
        ("windows-1258", Vietnamese::Windows1258),
        ("CP1258", Vietnamese::Windows1258),
        ("x-cp1258", Vietnamese::Windows1258),
        ("x-viet-vni", Vietnamese::Vni),
        ("VNI-Win", Vietnamese::Vni),
        (" \"Viscii\" ", Vietnamese::Viscii),
    ];
    for (label, v) in cases {
        assert_eq!(Vietnamese::from_label(label), Some(v), "{label}");
    }
    for label in [
        "utf-8",
        "iso-8859-1",
        "x-unknown",
        "",
        "viscii2",
        "vietnamese",
    ] {
        assert_eq!(Vietnamese::from_label(label), None, "{label}");
    }
}

#[test]
fn unknown_or_wrong_labels_are_read_as_well_as_can_be() {
    let viscii = encode(Vietnamese::Viscii, DUC);
    let tcvn = encode(Vietnamese::Tcvn, DUC);
    for label in [
        None,
        Some("x-unknown"),
        Some("utf-8"),
        Some("us-ascii"),
        Some(""),
    ] {
        assert_eq!(decode(label, DUC.as_bytes()), DUC, "{label:?}");
        assert_eq!(decode(label, &viscii), DUC, "{label:?}");
        assert_eq!(decode(label, &tcvn), DUC, "{label:?}");
    }
    // Decomposed UTF-8 comes out composed.
    let nfd: String = DUC.nfd().collect();
    assert_eq!(decode(Some("utf-8"), nfd.as_bytes()), DUC);
    // A label mail-parser knows is its business.
    assert_eq!(decode(Some("iso-8859-2"), b"\xb1"), "ą");
    assert_eq!(decode(Some("VISCII"), &viscii), DUC);
    assert_eq!(decode(Some("VIQR"), b"Nguye^~n Va(n DDu+'c"), DUC);
    assert_eq!(decode(Some("csviqr"), b"Hu?y dda(ng ky'"), HUY);
}

#[test]
fn hostile_bytes_decode_to_something() {
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    for v in Vietnamese::ALL {
        assert!(!v.decode(&all).is_empty());
    }
    for label in [None, Some("viscii"), Some("\u{0}\u{ff}"), Some("x-")] {
        assert!(!decode(label, &all).is_empty());
    }
    assert_eq!(decode(Some("x-unknown"), b""), "");
}
