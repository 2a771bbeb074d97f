//! VIQR (RFC 1456, "Vietnamese Quoted-Readable"; labels `VIQR`, `csVIQR`): Vietnamese in
//! plain ASCII, each mark typed after its vowel. A modifier first: `(` breve (ă), `^`
//! circumflex (â ê ô), `+` horn (ơ ư); then a tone: `'` acute, `` ` `` grave, `?` hook,
//! `~` tilde, `.` dot below; `dd` is đ. A backslash makes the next mark character literal.
//!
//! Text in VIQR rarely escapes its punctuation, so `.` and `?` read as tones only inside a
//! word (a letter follows): "Ba.n" is "Bạn", "ddi." is "đi.". Words holding `@` or `://`
//! (addresses, links) are left as they are.

use unicode_normalization::UnicodeNormalization;

/// `bytes` (ASCII; anything else is kept as its UTF-8, or U+FFFD) as NFC text.
pub(super) fn decode(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(char::is_whitespace) {
        if word.contains('@') || word.contains("://") {
            out.push_str(word);
        } else {
            decode_word(word, &mut out);
        }
    }
    out.nfc().collect()
}

/// One whitespace-delimited word, its marks turned into combining characters.
fn decode_word(word: &str, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        i += 1;
        match (c, next) {
            ('\\', Some(m)) if is_mark(m) => {
                out.push(m);
                i += 1;
            }
            ('d' | 'D', Some('d' | 'D')) => {
                out.push(if c == 'd' { 'đ' } else { 'Đ' });
                i += 1;
            }
            _ if is_vowel(c) => {
                out.push(c);
                if let Some(modifier) = chars.get(i).and_then(|&m| modifier(c, m)) {
                    out.push(modifier);
                    i += 1;
                }
                if let Some(&t) = chars.get(i)
                    && let Some(tone) = tone(t)
                {
                    let inside_word = chars.get(i + 1).is_some_and(char::is_ascii_alphabetic);
                    if !matches!(t, '.' | '?') || inside_word {
                        out.push(tone);
                        i += 1;
                    }
                }
            }
            _ => out.push(c),
        }
    }
}

fn is_vowel(c: char) -> bool {
    "aeiouyAEIOUY".contains(c)
}

fn is_mark(c: char) -> bool {
    "(^+'`?~.".contains(c)
}

/// The combining modifier `m` puts on vowel `v`, if that pair is a Vietnamese letter.
fn modifier(v: char, m: char) -> Option<char> {
    match (v.to_ascii_lowercase(), m) {
        ('a', '(') => Some('\u{306}'),
        ('a' | 'e' | 'o', '^') => Some('\u{302}'),
        ('o' | 'u', '+') => Some('\u{31b}'),
        _ => None,
    }
}

/// The combining tone mark `t` stands for.
fn tone(t: char) -> Option<char> {
    Some(match t {
        '\'' => '\u{301}',
        '`' => '\u{300}',
        '?' => '\u{309}',
        '~' => '\u{303}',
        '.' => '\u{323}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1456_text_reads_as_vietnamese() {
        assert_eq!(decode(b"Hu?y dda(ng ky'"), "Hủy đăng ký");
        assert_eq!(decode(b"Nguye^~n Va(n DDu+'c"), "Nguyễn Văn Đức");
        assert_eq!(
            decode(b"Tru+o+`ng THPT Le^ Lo+.i, ti?nh Thanh Ho'a."),
            "Trường THPT Lê Lợi, tỉnh Thanh Hóa."
        );
    }

    #[test]
    fn punctuation_stays_punctuation() {
        assert_eq!(decode(b"Ba.n ddi. Kho^ng?"), "Bạn đi. Không?");
        assert_eq!(decode(b"Co' pha?i kho^ng a\\."), "Có phải không a.");
        assert_eq!(
            decode(b"mail gv@thpt.edu.vn, http://moet.gov.vn/a.b"),
            "mail gv@thpt.edu.vn, http://moet.gov.vn/a.b"
        );
        assert_eq!(decode(b"(a+b) 1+1"), "(a+b) 1+1");
    }
}
