//! Vietnamese text as it arrives: composed (NFC) or decomposed (NFD), with or without
//! diacritics. Everything the system matches goes through here.

use regex::Regex;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Compose text to NFC, the form every comparison uses.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Fold text for keyword matching: no diacritics, `đ` → `d`, lowercase, single spaces.
/// "Hủy  Đăng Ký", "huy dang ky" and the NFD form of the first all fold to "huy dang ky".
pub fn fold(s: &str) -> String {
    let stripped: String = s
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .collect();
    stripped
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reply and forward prefixes of the mail clients in use: English, Vietnamese Outlook
/// ("TL:", "Trả lời:", "CT:", "Chuyển tiếp:"), German ("AW:", "WG:"), Nordic ("SV:"),
/// with bracketed counters ("Re[2]:").
static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(re|aw|sv|vs|tl|tr|ct|fw|fwd|wg|trả lời|tra loi|chuyển tiếp|chuyen tiep)\s*(\[\d+\])?\s*[:：]\s*",
    )
    .expect("valid regex")
});

/// The subject without any leading reply/forward prefixes: NFC, lowercase.
pub fn bare_subject(subject: &str) -> String {
    let mut s = nfc(subject).to_lowercase();
    while let Some(m) = REPLY_PREFIX.find(&s) {
        s = s[m.end()..].to_string();
    }
    s
}

/// Whether `text` contains `phrase` as consecutive whole words (both NFC; case ignored):
/// "Thủy đăng ký" does not contain "hủy đăng ký".
pub fn has_phrase(text: &str, phrase: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (text, phrase) = (words(text), words(phrase));
    !phrase.is_empty() && text.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// Text for a display name or a header line: control characters (CR, LF, NUL, …) become
/// spaces, and the ends are trimmed.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_fold_alike() {
        let composed = "Hủy đăng ký";
        let decomposed: String = composed.nfd().collect();
        assert_ne!(composed, decomposed);
        assert_eq!(fold(composed), "huy dang ky");
        assert_eq!(fold(&decomposed), "huy dang ky");
        assert_eq!(nfc(&decomposed), composed);
        assert_eq!(fold("HỦY   ĐĂNG KÝ"), "huy dang ky");
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(has_phrase("Xin HỦY ĐĂNG KÝ giúp", "hủy đăng ký"));
        assert!(!has_phrase("Lê Thị Thủy đăng ký", "hủy đăng ký"));
        assert!(!has_phrase("thuy dang ky", "huy dang ky"));
        assert!(has_phrase("huy dang ky!", "huy dang ky"));
    }

    #[test]
    fn reply_prefixes_of_every_client_are_removed() {
        for s in [
            "Re: Xác nhận",
            "RE: Xác nhận",
            "TL: Xác nhận",
            "Trả lời: Xác nhận",
            "AW: Xác nhận",
            "Fwd: Xác nhận",
            "Re[2]: Re: Xác nhận",
            "SV: TL: Xác nhận",
        ] {
            assert_eq!(bare_subject(s), "xác nhận", "{s}");
        }
    }
}
