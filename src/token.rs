//! Confirmation tokens: 130 random bits, written `nt-` + 26 base32 letters so that they
//! survive plus-addresses, subjects, Message-IDs and quoted bodies, and are case-blind.
//! The database keeps only their SHA-256, so a leaked database confirms nothing.

use rand::RngCore;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The written prefix of every token.
const PREFIX: &str = "nt-";

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bnt-[a-z2-7]{26}\b").expect("valid regex"));

/// A fresh token (the text sent to the person) and the hash stored for it.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 17];
    rand::rng().fill_bytes(&mut bytes);
    let letters = data_encoding::BASE32_NOPAD
        .encode(&bytes)
        .to_ascii_lowercase();
    let token = format!("{PREFIX}{}", &letters[..26]);
    let h = hash(&token);
    (token, h)
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.to_ascii_lowercase().as_bytes()))
}

/// Every distinct token written anywhere in `text`, lowercased, in order of appearance.
pub fn find_all(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for m in TOKEN.find_iter(text) {
        let t = m.as_str().to_ascii_lowercase();
        if !found.contains(&t) {
            found.push(t);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_any_case_and_hash_alike() {
        let (t, h) = generate();
        assert_eq!(t.len(), 29);
        assert_eq!(
            find_all(&format!("Re: Xác nhận [{}]", t.to_uppercase())),
            vec![t.clone()]
        );
        assert_eq!(hash(&t.to_uppercase()), h);
        assert_eq!(find_all(&format!("norply+{t}@moet.test")), vec![t.clone()]);
        assert!(find_all("nt-short and nt-").is_empty());
        let (t2, h2) = generate();
        assert_ne!(t, t2);
        assert_ne!(h, h2);
    }
}
