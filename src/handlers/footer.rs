//! The list's footer, as its own MIME part; the original structure is never broken and no
//! byte of the original parts changes.
//!
//! - A multipart/mixed post gets a `text/plain; charset=utf-8` part inserted just before
//!   its closing boundary (preamble, parts and epilogue untouched).
//!   One whose closing delimiter is missing (truncated, or a careless sender) gets the
//!   footer part at its end, then the missing closing delimiter.
//! - Anything else (text/plain, multipart/alternative, multipart/signed, a PDF alone, a
//!   multipart/mixed without a single delimiter) is wrapped: a new top-level
//!   multipart/mixed with a fresh boundary, part 1 = the original `Content-*` fields and
//!   body byte for byte, part 2 = the footer. `MIME-Version` is added when missing, and a
//!   `8bit`/`binary` transfer encoding of the original is declared on the wrapper too.
//!
//! Every list copy has a footer part: a visible way to leave, from the `footer` template
//! (`templates/<lang>/footer.txt`), after the list's own `footer` text if it has one. A
//! personalised copy shows the member's own one-click link and unsubscribe address (and,
//! with the web side running, the member's own page), a
//! batch copy the leave request by mail to the registration address. [`apply`] makes the
//! slot once per list copy; each copy's part is rendered into it.
//!
//! The footer part is built by lettre (`SinglePart`): its fields by lettre's header types,
//! its text encoded in quoted-printable or base64, whichever lettre finds shorter.

use super::{Draft, Field, HandlerError, Original, find};
use crate::config::{Config, List, ListKind};
use crate::templates::Templates;
use lettre::message::SinglePart;
use lettre::message::header::{ContentTransferEncoding, ContentType, MIME_VERSION_1_0};
use minijinja::context;

/// What the footer template is given besides a recipient's own links.
pub(crate) struct Context {
    /// The list, for its own templates.
    list_id: String,
    /// The list's language.
    lang: String,
    /// The list's name.
    list_name: String,
    /// The list's address.
    list_address: String,
    /// Where a leave request by mail goes (the first registration address), unless the
    /// list is managed by its operators.
    registration: Option<String>,
    /// The list's own footer text (`footer` in lists.toml).
    footer: Option<String>,
}

impl Context {
    /// The footer context of `list`.
    pub(crate) fn new(list: &List, config: &Config) -> Context {
        Context {
            list_id: list.id().to_string(),
            lang: list.language(&config.site).to_string(),
            list_name: list.name.clone(),
            list_address: list.address.get_ref().clone(),
            registration: list
                .registration
                .first()
                .filter(|_| list.kind != ListKind::Managed)
                .map(|r| r.get_ref().clone()),
            footer: list
                .footer
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        }
    }

    /// The footer text for a recipient with these links (none: a batch copy); `member_url`
    /// is the member's own page, beside the one-click link.
    pub(crate) fn render(
        &self,
        templates: &Templates,
        unsubscribe_url: Option<&str>,
        unsubscribe_mailto: Option<&str>,
        member_url: Option<&str>,
    ) -> Result<String, HandlerError> {
        let text = templates.render_text(
            &self.list_id,
            &self.lang,
            "footer",
            context! {
                footer => self.footer,
                list_name => self.list_name,
                list_address => self.list_address,
                registration => self.registration,
                unsubscribe_url => unsubscribe_url,
                unsubscribe_mailto => unsubscribe_mailto,
                member_url => member_url,
            },
        )?;
        Ok(text.trim_end().to_string())
    }
}

/// Make room for the footer part: after this, the footer part's bytes go at the returned
/// index of `draft.body` (every delimiter around them is already in place).
pub(super) fn apply(draft: &mut Draft, original: &Original) -> usize {
    let slot = match &original.content_type {
        Some(t) if t.ctype == "multipart" && t.subtype == "mixed" => {
            t.boundary.as_deref().and_then(|b| {
                insert_before_close(&mut draft.body, b)
                    .or_else(|| append_and_close(&mut draft.body, b))
            })
        }
        _ => None,
    };
    slot.unwrap_or_else(|| wrap(draft, original))
}

/// The footer part for `text`: its fields, the blank line, the encoded text; no final CRLF
/// (the CRLF before the next boundary belongs to that delimiter).
pub(super) fn part(text: &str) -> Vec<u8> {
    let mut part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_string())
        .formatted();
    if part.ends_with(b"\r\n") {
        part.truncate(part.len() - 2);
    }
    part
}

/// Open a last part in the multipart whose boundary is `boundary`, just before its closing
/// delimiter: the index where that part goes, or `None` when no closing delimiter is found.
fn insert_before_close(body: &mut Vec<u8>, boundary: &str) -> Option<usize> {
    let close = format!("\r\n--{boundary}--");
    let mut from = 0;
    while let Some(i) = find(&body[from..], close.as_bytes()).map(|i| i + from) {
        let after = body.get(i + close.len()).copied();
        if matches!(after, None | Some(b'\r' | b' ' | b'\t')) {
            let opening = format!("\r\n--{boundary}\r\n");
            body.splice(i..i, opening.bytes());
            return Some(i + opening.len());
        }
        from = i + 1;
    }
    None
}

/// Open a last part at the end of a multipart that has parts but no closing delimiter,
/// then close it: the index where that part goes, or `None` when not even an opening
/// delimiter is there.
fn append_and_close(body: &mut Vec<u8>, boundary: &str) -> Option<usize> {
    let open = format!("--{boundary}");
    let opened =
        body.starts_with(open.as_bytes()) || find(body, format!("\r\n{open}").as_bytes()).is_some();
    if !opened {
        return None;
    }
    body.extend_from_slice(format!("\r\n{open}\r\n").as_bytes());
    let slot = body.len();
    body.extend_from_slice(format!("\r\n{open}--\r\n").as_bytes());
    Some(slot)
}

/// Wrap the message in a new multipart/mixed: the original, then the footer; returns where
/// the footer part goes.
fn wrap(draft: &mut Draft, original: &Original) -> usize {
    let (content, rest): (Vec<Field>, Vec<Field>) = draft
        .fields
        .drain(..)
        .partition(|f| f.name.to_ascii_lowercase().starts_with("content-"));
    draft.fields = rest;
    let boundary = fresh_boundary(&draft.body);

    let content_len: usize = content.iter().map(|f| f.raw.len()).sum();
    let mut body = Vec::with_capacity(draft.body.len() + content_len + 3 * boundary.len() + 24);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    for field in &content {
        body.extend_from_slice(&field.raw);
    }
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(&draft.body);
    body.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    let slot = body.len();
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    draft.body = body;

    if !draft.has("MIME-Version") {
        draft.push(Field::from_header(&MIME_VERSION_1_0));
    }
    let mixed = ContentType::parse(&format!("multipart/mixed; boundary=\"{boundary}\""))
        .expect("a valid multipart/mixed content type");
    draft.push(Field::from_header(&mixed));
    match original.transfer_encoding.as_deref() {
        Some("8bit") => draft.push(Field::from_header(&ContentTransferEncoding::EightBit)),
        Some("binary") => draft.push(Field::from_header(&ContentTransferEncoding::Binary)),
        _ => {}
    }
    slot
}

/// A boundary not found in the body. `=_` never occurs in base64 and is not a valid
/// quoted-printable sequence, so no footer part (which lettre encodes in one of the two)
/// can contain it either.
fn fresh_boundary(body: &[u8]) -> String {
    loop {
        let boundary = format!("=_nhomthu_{:032x}", rand::random::<u128>());
        if find(body, boundary.as_bytes()).is_none() {
            return boundary;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Draft, Original};
    use super::*;
    use mail_parser::MimeHeaders;

    const FOOTER_START: &str = "Để rời nhóm, gửi thư tới dangky@moet.edu.vn";

    /// The list's footer for a batch copy, in its slot.
    fn run(raw: &[u8], list: &str) -> Vec<u8> {
        let config = config("");
        let list = config.list(list).unwrap();
        let mut draft = Draft::parse(raw).unwrap();
        let original = Original::read(&draft);
        let slot = apply(&mut draft, &original);
        let text = Context::new(list, &config)
            .render(&templates(), None, None, None)
            .unwrap();
        draft.body.splice(slot..slot, part(&text));
        let mut out = draft.head();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&draft.body);
        out
    }

    fn body_of(raw: &[u8]) -> &[u8] {
        let i = find(raw, b"\r\n\r\n").unwrap();
        &raw[i + 4..]
    }

    #[test]
    fn mixed_posts_get_a_last_part_and_keep_every_byte() {
        let pdf = pdf_bytes(60 * 1024);
        let raw = circular(&pdf);
        let out = run(&raw, "thpt");
        let msg = parse(&out);

        assert_eq!(msg.content_type().unwrap().subtype(), Some("mixed"));
        let pdfs: Vec<_> = msg
            .attachments()
            .filter(|a| a.attachment_name() == Some("cv123.pdf"))
            .collect();
        assert_eq!(pdfs.len(), 1);
        assert_eq!(pdfs[0].contents(), pdf.as_slice(), "byte-identical PDF");

        let texts = footer_texts(&msg);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].starts_with("Kính gửi các trường THPT"));
        assert!(texts[1].starts_with(FOOTER_START), "{}", texts[1]);
        let last = msg.parts.last().unwrap();
        assert_eq!(last.content_type().unwrap().ctype(), "text");
        assert_eq!(
            last.content_type().unwrap().attribute("charset"),
            Some("utf-8")
        );

        // Removing the inserted part gives the original body back, byte for byte.
        let (before, after) = (body_of(&raw), body_of(&out));
        let close = b"\r\n------=_NextPart_000_0001_01DB0000.12345678--";
        let at = find(before, close).unwrap();
        assert_eq!(&after[..at], &before[..at]);
        let tail = before.len() - at;
        assert_eq!(&after[after.len() - tail..], &before[at..]);
        assert_eq!(count_fields(&out, "Content-Type"), 1);
    }

    #[test]
    fn plain_posts_are_wrapped_unchanged() {
        let raw = plain_post();
        let out = run(&raw, "thaoluan");
        let msg = parse(&out);
        assert_eq!(msg.content_type().unwrap().subtype(), Some("mixed"));
        assert_eq!(msg.parts.len(), 3, "the wrapper and its two parts");
        let texts = footer_texts(&msg);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert_eq!(
            texts[0],
            "Chào các thầy cô,\r\nXin hỏi về lịch kiểm tra học kỳ I.\r\n"
        );
        assert!(
            texts[1].starts_with("Diễn đàn giáo viên — thaoluan@moet.edu.vn\r\n\r\n"),
            "the list's own text first: {}",
            texts[1]
        );
        assert!(
            texts[1].contains("\"hủy đăng ký\" tới thaoluan-dangky@moet.edu.vn"),
            "then how to leave: {}",
            texts[1]
        );
        // Part 1 is the original Content-* fields and body, byte for byte.
        let original_part = "Content-Type: text/plain; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n\
Chào các thầy cô,\r\nXin hỏi về lịch kiểm tra học kỳ I.\r\n";
        assert!(find(&out, original_part.as_bytes()).is_some());
        assert_eq!(count_fields(&out, "Content-Type"), 1);
        assert_eq!(count_fields(&out, "MIME-Version"), 1);
        assert_eq!(
            msg.header_raw("Content-Transfer-Encoding").map(str::trim),
            Some("8bit")
        );
    }

    #[test]
    fn alternative_posts_keep_both_versions() {
        let out = run(&outlook_alternative(), "thpt");
        let msg = parse(&out);
        assert_eq!(msg.content_type().unwrap().subtype(), Some("mixed"));
        assert_eq!(
            crate::text::nfc(&msg.body_text(0).unwrap()).trim(),
            "Kính gửi các trường"
        );
        let html = crate::text::nfc(&msg.body_html(0).unwrap());
        assert!(html.contains("Kính gửi các trường"), "{html}");
        assert!(
            msg.parts
                .iter()
                .any(|p| p.content_type().and_then(|t| t.subtype()) == Some("alternative"))
        );
        assert!(
            footer_texts(&msg)
                .iter()
                .any(|t| t.starts_with(FOOTER_START))
        );
        assert_eq!(count_fields(&out, "MIME-Version"), 1, "not added twice");
    }

    #[test]
    fn a_pdf_alone_is_wrapped_and_intact() {
        let pdf = pdf_bytes(20_000);
        let raw = format!(
            "From: vanthu@moet.edu.vn\r\nSubject: cv\r\nMIME-Version: 1.0\r\n\
Content-Type: application/pdf; name=\"cv.pdf\"\r\n\
Content-Disposition: attachment; filename=\"cv.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(&pdf)
        );
        let out = run(raw.as_bytes(), "thpt");
        let msg = parse(&out);
        let attachment = msg
            .attachments()
            .find(|a| a.attachment_name() == Some("cv.pdf"));
        assert_eq!(attachment.map(|a| a.contents()), Some(pdf.as_slice()));
        assert!(
            footer_texts(&msg)
                .iter()
                .any(|t| t.starts_with(FOOTER_START))
        );
        assert_eq!(
            count_fields(&out, "Content-Disposition"),
            0,
            "moved into part 1"
        );
    }

    #[test]
    fn a_mixed_post_without_its_closing_delimiter_is_closed_after_the_footer() {
        let raw = "From: a@b.vn\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
        let out = run(raw.as_bytes(), "thpt");
        assert!(
            out.starts_with(raw.as_bytes()),
            "the original bytes come first"
        );
        assert!(out.ends_with(b"\r\n--b1--\r\n"));
        let msg = parse(&out);
        let texts = footer_texts(&msg);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert_eq!(texts[0], "hello\r\n");
        assert!(texts[1].starts_with(FOOTER_START));
    }

    #[test]
    fn a_mixed_post_without_any_delimiter_is_wrapped() {
        let raw = "From: a@b.vn\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
just text\r\n";
        let out = run(raw.as_bytes(), "thpt");
        let msg = parse(&out);
        assert!(
            footer_texts(&msg)
                .iter()
                .any(|t| t.starts_with(FOOTER_START))
        );
        assert_eq!(count_fields(&out, "Content-Type"), 1);
        assert!(find(&out, b"boundary=\"b1\"").is_some(), "kept in part 1");
    }

    #[test]
    fn a_managed_list_without_a_footer_says_who_keeps_it() {
        let out = run(&plain_post(), "sogd");
        let texts = footer_texts(&parse(&out));
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[1].contains("quản trị viên"), "{}", texts[1]);
        assert!(
            !texts[1].contains("hủy đăng ký"),
            "no leave by mail: {}",
            texts[1]
        );
    }

    #[test]
    fn personal_footers_show_the_members_own_ways_to_leave() {
        let config = config("");
        let footer = Context::new(config.list("thpt").unwrap(), &config);
        let text = footer
            .render(
                &templates(),
                Some("https://moet.example/u/abc"),
                Some("norply+u-abc@moet.edu.vn"),
                Some("https://moet.example/m/abc/def"),
            )
            .unwrap();
        assert!(text.contains("https://moet.example/u/abc"), "{text}");
        assert!(text.contains("https://moet.example/m/abc/def"), "{text}");
        assert!(text.contains("norply+u-abc@moet.edu.vn"), "{text}");
        let batch = footer.render(&templates(), None, None, None).unwrap();
        assert!(
            batch.contains("\"hủy đăng ký\" tới dangky@moet.edu.vn"),
            "{batch}"
        );
        assert!(!batch.contains("norply+u-"), "{batch}");
        assert!(!batch.contains("/m/"), "{batch}");
    }
}
