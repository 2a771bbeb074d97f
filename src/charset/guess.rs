//! Which Vietnamese charset unlabelled (or wrongly labelled) 8-bit text is in: each candidate
//! decodes a sample, and the one whose words are most often Vietnamese syllables wins.
//! Control characters, stray symbols and combining marks that found no letter count
//! against a candidate. On a tie the order of [`Vietnamese::ALL`] decides, Windows-1258
//! first (Outlook's, the most common): so Latin-1 text such as "Müller" reads as Latin-1.

use super::Vietnamese;
use regex::Regex;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// How much of a text is tried: enough words to tell, little time on a large body.
const SAMPLE_BYTES: usize = 16 * 1024;

/// A Vietnamese syllable without its tone mark: initial consonant, one to three vowels,
/// final consonant.
static SYLLABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?[aăâeêioôơuưy]{1,3}(?:ch|nh|ng|[cmnpt])?$",
    )
    .expect("valid regex")
});

/// The five tone marks, as combining characters.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// Typography any charset may carry, neither for nor against a candidate.
const NEUTRAL: &str = "\u{a0}‘’‚“”„–—…•€«»°©®™·×";

/// The charset `bytes` most likely are in.
pub(super) fn charset(bytes: &[u8]) -> Vietnamese {
    let sample = bytes.get(..SAMPLE_BYTES).unwrap_or(bytes);
    let mut best = (i64::MIN, Vietnamese::ALL[0]);
    for candidate in Vietnamese::ALL {
        let score = score(&candidate.decode(sample));
        if score > best.0 {
            best = (score, candidate);
        }
    }
    best.1
}

/// How Vietnamese `text` (NFC) looks: +2 for each non-ASCII word that is a syllable, −1 for
/// each that is not, −2 for each control character or U+FFFD, −1 for each other symbol.
fn score(text: &str) -> i64 {
    let mut score = 0i64;
    let words = text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c)));
    for word in words.filter(|w| !w.is_ascii()) {
        score += if is_syllable(word) { 2 } else { -1 };
    }
    for c in text
        .chars()
        .filter(|c| !c.is_ascii() || c.is_ascii_control())
    {
        if (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFD}' {
            score -= 2;
        } else if !c.is_alphanumeric() && !is_combining_mark(c) && !NEUTRAL.contains(c) {
            score -= 1;
        }
    }
    score
}

/// Whether `word` is one Vietnamese syllable: at most one tone mark, and the shape
/// [`SYLLABLE`] describes once the tone mark is taken off.
fn is_syllable(word: &str) -> bool {
    let mut tones = 0;
    let toneless: String = word
        .to_lowercase()
        .nfd()
        .filter(|c| {
            let tone = TONES.contains(c);
            tones += usize::from(tone);
            !tone
        })
        .nfc()
        .collect();
    tones <= 1 && SYLLABLE.is_match(&toneless)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_are_told_from_mojibake() {
        for word in [
            "Nguyễn",
            "đăng",
            "ký",
            "hủy",
            "trường",
            "nghiêng",
            "Đức",
            "quyết",
        ] {
            assert!(is_syllable(word), "{word}");
        }
        for word in ["NguyÅn", "Ðæng", "kÛ", "hủý", "Müller", "ñãng", "x\u{301}"] {
            assert!(!is_syllable(word), "{word}");
        }
    }

    #[test]
    fn each_charset_is_recognised_from_a_short_name() {
        let name = "Nguyễn Văn Đức, Trường THPT Lê Lợi: hủy đăng ký";
        for v in Vietnamese::ALL {
            if v == Vietnamese::Tcvn3 {
                continue; // its bytes are TCVN's: read as TCVN, to the same text
            }
            let bytes = super::super::tests::encode(v, name);
            assert_eq!(charset(&bytes), v, "{v:?}: {bytes:x?}");
            assert_eq!(v.decode(&bytes), name);
        }
    }

    #[test]
    fn latin_1_stays_latin_1() {
        assert_eq!(charset(b"M\xfcller, Fran\xe7ois"), Vietnamese::Windows1258);
    }
}
