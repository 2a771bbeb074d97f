//! The byte tables of the single-byte charsets (`viscii.rs`, `vps.rs`, `tcvn.rs`,
//! `tcvn3.rs`, `vni.rs`, `cp1258.rs`), built at compile time. A charset module lists only
//! the bytes it reads otherwise than Latin-1 does; [`build`] starts from Latin-1 (each byte
//! the character of the same number: ASCII below 0x80, U+0080–U+00FF above) and puts those
//! entries in. Compilation fails if a list is out of order, states a byte twice or as
//! Latin-1 has it, or reads a byte from 0x80 up as ASCII.

/// Each byte's text in a single-byte charset: one character, or (VNI) the combining marks
/// that go with the letter before.
pub(super) type Table = [&'static str; 256];

/// A charset's bytes that are not Latin-1's, each with its text, in ascending byte order.
pub(super) type Overrides = [(u8, &'static str)];

/// Latin-1 in UTF-8: bytes 0x00–0x7F as they are, then each of U+0080–U+00FF in two bytes.
const LATIN_1: &[u8; 384] = &latin_1_utf8();

const fn latin_1_utf8() -> [u8; 384] {
    let mut out = [0; 384];
    let mut b = 0;
    while b < 0x80 {
        out[b] = b as u8;
        b += 1;
    }
    while b < 0x100 {
        let at = 0x80 + 2 * (b - 0x80);
        out[at] = 0xC0 | (b >> 6) as u8;
        out[at + 1] = 0x80 | (b & 0x3F) as u8;
        b += 1;
    }
    out
}

/// Byte `b` as Latin-1 reads it.
const fn latin_1(b: u8) -> &'static str {
    let (at, len) = match b {
        0..0x80 => (b as usize, 1),
        _ => (0x80 + 2 * (b as usize - 0x80), 2),
    };
    let (bytes, _) = LATIN_1.split_at(at).1.split_at(len);
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("Latin-1 is encoded as UTF-8"),
    }
}

/// Latin-1 with every entry of `layers` in its place. The layers are disjoint parts of one
/// charset (Windows-1252's punctuation, a charset's own letters, …).
pub(super) const fn build(layers: &[&Overrides]) -> Table {
    let mut table = [""; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = latin_1(b as u8);
        b += 1;
    }
    let mut i = 0;
    while i < layers.len() {
        let layer = layers[i];
        let mut j = 0;
        while j < layer.len() {
            let (byte, text) = layer[j];
            assert!(j == 0 || layer[j - 1].0 < byte, "bytes in ascending order");
            assert!(
                same(table[byte as usize], latin_1(byte)),
                "each byte stated once"
            );
            assert!(
                !text.is_empty() && !same(text, latin_1(byte)),
                "only bytes that differ from Latin-1"
            );
            assert!(
                byte < 0x80 || !has_ascii(text),
                "no byte from 0x80 up as ASCII"
            );
            table[byte as usize] = text;
            j += 1;
        }
        i += 1;
    }
    table
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn has_ascii(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii() {
            return true;
        }
        i += 1;
    }
    false
}
