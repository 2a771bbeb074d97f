//! What a recipient's status and the remote server's words say: the enhanced status code
//! (RFC 3463), whether the failure is permanent, and the diagnostic as one short line.

use regex::Regex;
use std::sync::LazyLock;

/// A diagnostic is cut to at most this many characters.
const MAX_DIAGNOSTIC_CHARS: usize = 200;

/// An enhanced status code candidate: class, subject, detail.
static ENHANCED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}").expect("valid regex"));

/// A basic SMTP reply code where a server's reply stands: at the start, after `said:`,
/// after `was:`, after `returned '`, after `<<<`, after `#`.
static REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|said:?|was:|returned\s+'|<<<|#)\s*([245])[0-9]{2}(?:[\s\-:;,]|$)")
        .expect("valid regex")
});

/// The first enhanced status code in `text`, not part of a longer dotted number (an IP
/// address or a version).
pub(super) fn enhanced(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    ENHANCED.find_iter(text).find_map(|m| {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        let after = bytes.get(m.end());
        let after2 = bytes.get(m.end() + 1);
        let glued_before = before.is_some_and(|b| b.is_ascii_digit() || *b == b'.');
        let glued_after = after.is_some_and(|b| b.is_ascii_digit())
            || (after == Some(&b'.') && after2.is_some_and(|b| b.is_ascii_digit()));
        (!glued_before && !glued_after).then(|| m.as_str().to_string())
    })
}

/// The class (`2`, `4` or `5`) of a basic SMTP reply code where a reply stands in `text`.
fn reply_class(text: &str) -> Option<char> {
    REPLY
        .captures(text)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().chars().next())
}

/// The status of a recipient: the Status field's code (a more specific code of the same
/// class in the diagnostic wins over `x.0.0`), else a code in the diagnostic, else the
/// class a basic reply code implies (`5.0.0`, `4.0.0`).
pub(super) fn status(field: Option<&str>, diagnostic: Option<&str>) -> Option<String> {
    let from_field = field.and_then(enhanced);
    let from_text = diagnostic.and_then(enhanced);
    match (from_field, from_text) {
        (Some(f), Some(t)) if f.ends_with(".0.0") && t.get(..1) == f.get(..1) => Some(t),
        (Some(f), _) => Some(f),
        (None, Some(t)) => Some(t),
        (None, None) => diagnostic
            .and_then(reply_class)
            .map(|class| format!("{class}.0.0")),
    }
}

/// Whether `text` (lowercase) says the mailbox is over quota: a temporary condition
/// whatever code the server gave.
fn over_quota(lower: &str) -> bool {
    [
        "quota",
        "mailbox full",
        "mailbox is full",
        "mailbox size limit",
        "insufficient storage",
        "out of storage",
        "storage limit",
        "over the storage",
        "mailbox has exceeded",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// What the words of `lower` (lowercase) say of permanence, if anything.
fn words_say(lower: &str) -> Option<bool> {
    const TEMPORARY: [&str; 9] = [
        "temporar",
        "try again",
        "try later",
        "deferred",
        "greylist",
        "graylist",
        "transient",
        "will be retried",
        "will retry",
    ];
    const PERMANENT: [&str; 23] = [
        "permanent",
        "fatal",
        "user unknown",
        "unknown user",
        "unknown recipient",
        "does not exist",
        "doesn't exist",
        "no such user",
        "no such mailbox",
        "no mailbox",
        "not found",
        "couldn't be found",
        "could not be found",
        "invalid recipient",
        "invalid mailbox",
        "address rejected",
        "not listed in",
        "mailbox unavailable",
        "account disabled",
        "account is disabled",
        "user not on post office",
        "recipnotfound",
        "recipientnotfound",
    ];
    if TEMPORARY.iter().any(|p| lower.contains(p)) {
        return Some(false);
    }
    if PERMANENT.iter().any(|p| lower.contains(p)) || lower.contains("550") {
        return Some(true);
    }
    None
}

/// Whether a failure is permanent: over quota never is; then the status class decides;
/// then the server's words; then `hint` (what the report says of all its recipients);
/// a failure with no clue at all is permanent.
pub(super) fn permanent(
    status: Option<&str>,
    diagnostic: Option<&str>,
    hint: Option<bool>,
) -> bool {
    let lower = diagnostic.unwrap_or("").to_lowercase();
    if over_quota(&lower) || matches!(status, Some("4.2.2" | "5.2.2")) {
        return false;
    }
    match status.and_then(|s| s.chars().next()) {
        Some('5') => return true,
        Some('4') => return false,
        _ => {}
    }
    if let Some(class) = reply_class(&lower) {
        return class == '5';
    }
    words_say(&lower).or(hint).unwrap_or(true)
}

/// The start of a multiline SMTP reply: `550-5.1.1 ` (code, hyphen, optional enhanced
/// code).
static MULTILINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([245][0-9]{2})-((?:[245]\.[0-9]{1,3}\.[0-9]{1,3})?)\s*").expect("valid regex")
});

/// A diagnostic as one short line: a multiline SMTP reply (`550-5.1.1 a 550-5.1.1 b
/// 550 5.1.1 c`) joined into one (`550 5.1.1 a b c`), see [`one_line`].
pub(super) fn diagnostic(text: &str) -> Option<String> {
    let text = text.trim();
    let Some(c) = MULTILINE.captures(text) else {
        return one_line(text);
    };
    let code = c.get(1).map_or("", |m| m.as_str());
    let enhanced = c.get(2).map_or("", |m| m.as_str());
    let rest = text.get(c.get(0).map_or(0, |m| m.end())..).unwrap_or("");
    let mut out = if enhanced.is_empty() {
        code.to_string()
    } else {
        format!("{code} {enhanced}")
    };
    let hyphen = format!("{code}-");
    let mut words = rest.split_whitespace().peekable();
    while let Some(word) = words.next() {
        // Continuation prefixes: `550-5.1.1`, `550-`, `550 5.1.1`, `451-word`, `451`.
        let mut word = word;
        if let Some(after) = word.strip_prefix(hyphen.as_str()) {
            if after == enhanced {
                continue;
            }
            if after.is_empty() {
                if !enhanced.is_empty() && words.peek() == Some(&enhanced) {
                    words.next();
                }
                continue;
            }
            if enhanced.is_empty() {
                word = after;
            }
        } else if word == code {
            if enhanced.is_empty() {
                continue;
            }
            if words.peek() == Some(&enhanced) {
                words.next();
                continue;
            }
        }
        out.push(' ');
        out.push_str(word);
        if out.len() > 4 * MAX_DIAGNOSTIC_CHARS {
            break;
        }
    }
    one_line(&out)
}

/// `text` as one line: whitespace runs become one space, trimmed, at most
/// [`MAX_DIAGNOSTIC_CHARS`] characters. `None` when nothing is left.
pub(super) fn one_line(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = 0usize;
    for word in text.split_whitespace() {
        if chars >= MAX_DIAGNOSTIC_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= MAX_DIAGNOSTIC_CHARS {
                break;
            }
            if !c.is_control() {
                out.push(c);
                chars += 1;
            }
        }
    }
    let out = out.trim_end().to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_are_found_but_not_inside_ip_addresses() {
        assert_eq!(
            enhanced("550 5.1.1 <a@b> unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced("host [4.2.2.1] said 5.1.10 x").as_deref(),
            Some("5.1.10")
        );
        assert_eq!(
            enhanced("version 8.2.234.1 then (#5.1.1)").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced("nothing here 5.1"), None);
    }

    #[test]
    fn status_prefers_the_specific_code_of_the_same_class() {
        assert_eq!(
            status(Some("5.0.0"), Some("550 5.1.1 unknown")).as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            status(Some("5.0.0"), Some("451 4.3.0 later")).as_deref(),
            Some("5.0.0")
        );
        assert_eq!(
            status(None, Some("host x said: 550 no")).as_deref(),
            Some("5.0.0")
        );
        assert_eq!(
            status(None, Some("Remote host said: 451 busy")).as_deref(),
            Some("4.0.0")
        );
        assert_eq!(status(None, Some("connection timed out")), None);
    }

    #[test]
    fn permanence_follows_quota_then_class_then_words() {
        assert!(!permanent(Some("5.2.2"), Some("552 Mailbox full"), None));
        assert!(!permanent(None, Some("user is over quota"), Some(true)));
        assert!(permanent(Some("5.7.1"), Some("try again later"), None));
        assert!(!permanent(Some("4.4.1"), Some("user unknown"), None));
        assert!(permanent(None, Some("No such user here"), None));
        assert!(!permanent(None, Some("temporary failure"), None));
        assert!(!permanent(
            None,
            Some("retry timeout exceeded"),
            Some(false)
        ));
        assert!(permanent(None, Some("retry timeout exceeded"), None));
    }

    #[test]
    fn multiline_replies_are_joined() {
        assert_eq!(
            diagnostic("550-5.1.1 The account\n 550-5.1.1 does not\n 550 5.1.1  exist. x - gsmtp")
                .as_deref(),
            Some("550 5.1.1 The account does not exist. x - gsmtp")
        );
        assert_eq!(
            diagnostic("451-Try\n451-again 451 later").as_deref(),
            Some("451 Try again later")
        );
        assert_eq!(
            diagnostic(" 550 plain 550 words ").as_deref(),
            Some("550 plain 550 words")
        );
    }

    #[test]
    fn one_line_collapses_and_cuts_on_char_boundaries() {
        assert_eq!(one_line("  a\r\n   b\tc ").as_deref(), Some("a b c"));
        assert_eq!(one_line(" \n "), None);
        let long = "ư".repeat(500);
        let cut = one_line(&long).unwrap();
        assert_eq!(cut.chars().count(), MAX_DIAGNOSTIC_CHARS);
    }
}
