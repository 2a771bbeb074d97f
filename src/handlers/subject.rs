//! The list's subject prefix ("[THPT]"), added once.
//!
//! When the decoded subject already contains the prefix anywhere (a reply, "Re: [THPT] …",
//! or "TL: [thpt] …" in any case or Unicode form), the received field is left untouched, byte
//! for byte. Otherwise the whole decoded subject (whatever its charset: UTF-8,
//! windows-1258, …, composed to NFC) is written again by lettre with the prefix in front:
//! UTF-8 encoded words where it is not ASCII.

use super::{Draft, Field, Original};
use crate::config::List;
use crate::text::nfc;
use lettre::message::header::Subject;

/// Add the prefix of `list`, if it has one and the subject lacks it.
pub(super) fn apply(draft: &mut Draft, original: &Original, list: &List) {
    let Some(prefix) = list
        .subject_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    else {
        return;
    };
    let subject = original.subject.as_deref().unwrap_or_default().trim();
    if has_prefix(subject, prefix) {
        return;
    }
    let subject = if subject.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix} {subject}")
    };
    draft.set(Field::from_header(&Subject::from(subject)));
}

/// Whether `subject` already carries `prefix` (NFC, case ignored), anywhere.
fn has_prefix(subject: &str, prefix: &str) -> bool {
    nfc(subject)
        .to_lowercase()
        .contains(&nfc(prefix).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Draft, Original};
    use super::*;

    /// The decoded subject after the handler, and the raw output.
    fn run(raw: &[u8], list: &str) -> (Option<String>, Vec<u8>) {
        let config = config("");
        let mut draft = Draft::parse(raw).unwrap();
        let original = Original::read(&draft);
        apply(&mut draft, &original, config.list(list).unwrap());
        let mut out = draft.head();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&draft.body);
        let subject = parse(&out).subject().map(nfc);
        (subject, out)
    }

    #[test]
    fn base64_utf8_subjects_get_the_prefix() {
        let (subject, out) = run(&circular(b"%PDF"), "thpt");
        assert_eq!(
            subject.as_deref(),
            Some("[THPT] Công văn số 123/BGDĐT-GDTrH về việc hướng dẫn thực hiện nhiệm vụ năm học")
        );
        assert_eq!(count_fields(&out, "Subject"), 1);
        assert!(header_lines(&out).iter().all(|l| l.is_ascii()));
    }

    #[test]
    fn windows_1258_subjects_are_decoded_and_composed() {
        let (subject, out) = run(&outlook_alternative(), "thpt");
        assert_eq!(
            subject.as_deref(),
            Some("[THPT] Công văn số 123/BGDĐT-GDTrH")
        );
        // Written in UTF-8 and already composed: no reader needs windows-1258 or NFC.
        let raw = parse(&out).header_raw("Subject").unwrap().to_string();
        assert!(raw.contains("=?utf-8?"), "{raw}");
        assert!(!raw.to_ascii_lowercase().contains("windows-1258"), "{raw}");
        assert_eq!(
            parse(&out).subject(),
            Some("[THPT] Công văn số 123/BGDĐT-GDTrH"),
            "NFC already"
        );
    }

    #[test]
    fn replies_keep_their_single_prefix_byte_for_byte() {
        for subject in [
            "Re: [THPT] =?UTF-8?B?Q8O0bmcgdsSDbg==?=",
            "=?UTF-8?B?VEw6IFt0aHB0XSBDw7RuZyB2xINu?=",
        ] {
            let raw = format!("From: a@b.vn\r\nSubject: {subject}\r\n\r\nx\r\n");
            let (decoded, out) = run(raw.as_bytes(), "thpt");
            let decoded = decoded.unwrap();
            assert_eq!(
                decoded.to_lowercase().matches("[thpt]").count(),
                1,
                "{decoded}"
            );
            assert!(
                header_lines(&out).contains(&format!("Subject: {subject}")),
                "untouched"
            );
        }
    }

    #[test]
    fn no_subject_becomes_the_prefix_and_no_prefix_changes_nothing() {
        let (subject, _) = run(b"From: a@b.vn\r\n\r\nx\r\n", "thpt");
        assert_eq!(subject.as_deref(), Some("[THPT]"));
        let (subject, out) = run(&plain_post(), "sogd");
        assert_eq!(subject.as_deref(), Some("Hỏi về lịch kiểm tra"));
        assert_eq!(out, plain_post(), "no prefix: byte-identical");
    }

    #[test]
    fn vietnamese_prefixes_are_encoded_and_not_doubled() {
        let (subject, _) = run(&plain_post(), "thaoluan");
        assert_eq!(subject.as_deref(), Some("[Thảo luận] Hỏi về lịch kiểm tra"));
        let again = format!(
            "From: a@b.vn\r\nSubject: {}\r\n\r\nx\r\n",
            b_word("Re: [Thảo luận] Hỏi về lịch kiểm tra")
        );
        let (subject, _) = run(again.as_bytes(), "thaoluan");
        assert_eq!(
            subject.as_deref(),
            Some("Re: [Thảo luận] Hỏi về lịch kiểm tra")
        );
    }

    #[test]
    fn a_subject_with_line_breaks_stays_one_field() {
        let raw = format!(
            "From: a@b.vn\r\nSubject: {}\r\n\r\nx\r\n",
            b_word("Công văn\r\nBcc: victim@example.com")
        );
        let (subject, out) = run(raw.as_bytes(), "thpt");
        assert_eq!(count_fields(&out, "Bcc"), 0);
        assert_eq!(count_fields(&out, "Subject"), 1);
        assert!(subject.unwrap().starts_with("[THPT] Công văn"));
    }
}
