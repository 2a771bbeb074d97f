//! The second reading of a parsed message, from its raw bytes: what mail-parser decoded with
//! a charset it does not know (it falls back to UTF-8 and writes U+FFFD) is decoded again
//! here, in place, in every part and every nested message.
//!
//! - A header field is read again when it holds raw 8-bit bytes that are not UTF-8, or an
//!   RFC 2047 encoded word whose charset is Vietnamese, unknown, or UTF-8 that is not valid
//!   UTF-8. Those words become UTF-8 encoded words, raw bytes are decoded in the charset of
//!   their part (else of the message's first text part, else guessed), and mail-parser
//!   parses the field again, so addresses, groups and quoting read as before.
//! - A text part (plain, HTML, or the text parts of a report) is decoded again from its
//!   content-transfer-decoded bytes when its charset is Vietnamese, or when it has no charset
//!   mail-parser knows and mail-parser's reading shows U+FFFD while the bytes are not UTF-8.

use super::{Reading, decode, decode_raw_header};
use mail_parser::MimeHeaders;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::{Encoding, Header, HeaderValue, Message, MessageParser, MessagePart, PartType};
use std::borrow::Cow;

/// Decode again, in place, every header field and text part of `msg` (and of the messages
/// it carries) that mail-parser could not read. The raw bytes are not changed.
pub fn repair(msg: &mut Message<'_>) {
    let raw = std::mem::take(&mut msg.raw_message);
    let message_label = message_charset(msg);
    for part in &mut msg.parts {
        let own = part_charset(part);
        let header_label = own.as_deref().or(message_label.as_deref());
        for header in &mut part.headers {
            if let Some(value) = reread_header(&raw, header, header_label) {
                header.value = value;
            }
        }
        let (encoding, start, end) = (part.encoding, part.offset_body, part.offset_end);
        match &mut part.body {
            PartType::Text(text) | PartType::Html(text) => {
                if let Some(again) = reread_body(&raw, encoding, start, end, own.as_deref(), text) {
                    *text = Cow::Owned(again);
                }
            }
            PartType::Message(inner) => repair(inner),
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Multipart(_) => {}
        }
    }
    msg.raw_message = raw;
}

/// The fields of `msg`'s own header block, each name with its raw value as text (not
/// unfolded; encoded words left encoded): UTF-8 as it is, 8-bit bytes in another charset
/// decoded in the message's charset, or guessed.
pub fn header_texts<'a>(msg: &'a Message<'_>) -> Vec<(&'a str, Cow<'a, str>)> {
    let Some(root) = msg.parts.first() else {
        return Vec::new();
    };
    let mut label = None;
    root.headers
        .iter()
        .map(|header| {
            let raw = msg
                .raw_message
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            let text = match std::str::from_utf8(raw) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => {
                    let label = label
                        .get_or_insert_with(|| part_charset(root).or_else(|| message_charset(msg)));
                    Cow::Owned(decode_raw_header(label.as_deref(), raw))
                }
            };
            (header.name.as_str(), text)
        })
        .collect()
}

/// The `charset` parameter of a part's Content-Type.
fn part_charset(part: &MessagePart<'_>) -> Option<String> {
    let charset = part.content_type()?.attribute("charset")?.trim();
    (!charset.is_empty()).then(|| charset.to_string())
}

/// The charset the message's text is in: that of its first text part, else of any part.
fn message_charset(msg: &Message<'_>) -> Option<String> {
    msg.text_body
        .iter()
        .chain(&msg.html_body)
        .filter_map(|&i| msg.parts.get(i as usize))
        .chain(&msg.parts)
        .find_map(part_charset)
}

/// `header`'s value parsed again from its rewritten raw bytes, when they needed it.
fn reread_header(
    raw: &[u8],
    header: &Header<'_>,
    label: Option<&str>,
) -> Option<HeaderValue<'static>> {
    let value = raw.get(header.offset_start as usize..header.offset_end as usize)?;
    let rewritten = rewrite(value, label)?;
    let name = header.name.as_str();
    let mut field = Vec::with_capacity(name.len() + rewritten.len() + 5);
    field.extend_from_slice(name.as_bytes());
    field.push(b':');
    field.extend_from_slice(rewritten.as_bytes());
    if !rewritten.ends_with('\n') {
        field.extend_from_slice(b"\r\n");
    }
    field.extend_from_slice(b"\r\n");
    let parsed = MessageParser::default().parse_headers(&field)?;
    let first = parsed
        .parts
        .into_iter()
        .next()?
        .headers
        .into_iter()
        .next()?;
    first
        .name
        .as_str()
        .eq_ignore_ascii_case(name)
        .then(|| first.value.into_owned())
}

/// A raw header value with every encoded word mail-parser would misread turned into a UTF-8
/// encoded word and every run of 8-bit non-UTF-8 bytes decoded; `None` when nothing needs it.
fn rewrite(value: &[u8], label: Option<&str>) -> Option<String> {
    let has_word = value.windows(2).any(|w| w == b"=?");
    if !has_word && std::str::from_utf8(value).is_ok() {
        return None; // the common case: plain UTF-8 (or ASCII), nothing to read again
    }
    let mut out = String::with_capacity(value.len() * 2);
    let mut changed = false;
    let mut rest = value;
    while !rest.is_empty() {
        if rest.starts_with(b"=?")
            && let Some((word, len)) = EncodedWord::parse(rest)
        {
            match word.reread() {
                Some(text) => {
                    out.push_str("=?utf-8?b?");
                    out.push_str(&data_encoding::BASE64.encode(text.as_bytes()));
                    out.push_str("?=");
                    changed = true;
                }
                None => out.push_str(&String::from_utf8_lossy(&rest[..len])),
            }
            rest = &rest[len..];
            continue;
        }
        let run = rest
            .windows(2)
            .skip(1)
            .position(|w| w == b"=?")
            .map_or(rest.len(), |i| i + 1);
        match std::str::from_utf8(&rest[..run]) {
            Ok(text) => out.push_str(text),
            Err(_) => {
                out.push_str(&decode_raw_header(label, &rest[..run]));
                changed = true;
            }
        }
        rest = &rest[run..];
    }
    changed.then_some(out)
}

/// An RFC 2047 encoded word, `=?charset?Q-or-B?text?=`.
struct EncodedWord<'a> {
    /// The charset, without an RFC 2231 `*language` suffix.
    charset: &'a str,
    /// `B` (base64) rather than `Q`.
    base64: bool,
    /// The encoded text.
    text: &'a [u8],
}

impl<'a> EncodedWord<'a> {
    /// The word at the start of `s` and its length in bytes.
    fn parse(s: &'a [u8]) -> Option<(EncodedWord<'a>, usize)> {
        let body = s.strip_prefix(b"=?")?;
        let q1 = body.iter().position(|&b| b == b'?')?;
        let charset = std::str::from_utf8(&body[..q1]).ok()?;
        let charset = charset.split('*').next().unwrap_or_default();
        if charset.is_empty() || !charset.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let base64 = match body.get(q1 + 1..q1 + 3)? {
            [b'b' | b'B', b'?'] => true,
            [b'q' | b'Q', b'?'] => false,
            _ => return None,
        };
        // The text holds no `?` (RFC 2047 section 5): it ends at the first one, which must
        // start `?=`. Each `?` is so looked at a bounded number of times, whatever the input.
        let text_start = q1 + 3;
        let text_len = body.get(text_start..)?.iter().position(|&b| b == b'?')?;
        if body.get(text_start + text_len + 1) != Some(&b'=') {
            return None;
        }
        let text = &body[text_start..text_start + text_len];
        if text
            .iter()
            .any(|b| b.is_ascii_whitespace() || !b.is_ascii())
        {
            return None;
        }
        Some((
            EncodedWord {
                charset,
                base64,
                text,
            },
            2 + text_start + text_len + 2,
        ))
    }

    /// The word's text when mail-parser would not read it right, else `None`.
    fn reread(&self) -> Option<String> {
        let bytes = if self.base64 {
            base64_lenient(self.text)?
        } else {
            quoted_printable(self.text, true)
        };
        Reading::of(Some(self.charset))
            .overrides_parser(&bytes)
            .then(|| decode(Some(self.charset), &bytes))
    }
}

/// A text part's text decoded again from its bytes, when mail-parser could not read it.
fn reread_body(
    raw: &[u8],
    encoding: Encoding,
    start: u32,
    end: u32,
    label: Option<&str>,
    current: &str,
) -> Option<String> {
    let reading = Reading::of(label);
    match reading {
        Reading::Parser(_) => return None,
        Reading::Unlabelled if !current.contains('\u{FFFD}') => return None,
        Reading::Unlabelled | Reading::Vietnamese(_) | Reading::Viqr => {}
    }
    let body = raw.get(start as usize..end as usize)?;
    let bytes: Cow<'_, [u8]> = match encoding {
        Encoding::None => Cow::Borrowed(body),
        Encoding::QuotedPrintable => Cow::Owned(quoted_printable(body, false)),
        Encoding::Base64 => Cow::Owned(base64_lenient(body)?),
    };
    reading
        .overrides_parser(&bytes)
        .then(|| decode(label, &bytes))
}

/// Quoted-printable (RFC 2045), or with `underscore_is_space` the Q encoding of RFC 2047,
/// leniently: an `=` that starts no escape is kept as it is.
fn quoted_printable(text: &[u8], underscore_is_space: bool) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).copied().and_then(hex),
                    text.get(i + 2).copied().and_then(hex),
                ) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                // A soft line break: `=` then optional blanks, then the line end.
                let after = &text[i + 1..];
                let blanks = after
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count();
                let eol = match after.get(blanks..) {
                    Some([b'\r', b'\n', ..]) => 2,
                    Some([b'\n', ..]) => 1,
                    _ => 0,
                };
                if eol > 0 {
                    i += 1 + blanks + eol;
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Base64 with everything outside its alphabet (line ends, stray characters) skipped.
fn base64_lenient(text: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    base64_decode(&clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part's bytes, content-transfer-decoded from its offsets in the raw message.
    fn part_bytes(msg: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
        let body = &msg.raw_message[part.offset_body as usize..part.offset_end as usize];
        match part.encoding {
            Encoding::None => body.to_vec(),
            Encoding::QuotedPrintable => quoted_printable(body, false),
            Encoding::Base64 => base64_lenient(body).unwrap(),
        }
    }

    #[test]
    fn part_offsets_give_the_text_mail_parser_read() {
        // Over the golden corpus: where mail-parser read a UTF-8 text part itself, reading
        // it again from its offsets gives the same text, so a re-read part is the same part.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eml");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let msg = MessageParser::default().parse(&raw).unwrap();
            for part in &msg.parts {
                let (PartType::Text(text) | PartType::Html(text)) = &part.body else {
                    continue;
                };
                let bytes = part_bytes(&msg, part);
                // A part labelled US-ASCII that carries 8-bit bytes (an old Exim bounce
                // quoting a UTF-8 original) is read by mail-parser as Latin-1: not the
                // UTF-8 reading this checks.
                let ascii_label = part_charset(part)
                    .is_some_and(|c| c.eq_ignore_ascii_case("us-ascii"))
                    && !bytes.is_ascii();
                let utf8 = !ascii_label
                    && matches!(
                        Reading::of(part_charset(part).as_deref()),
                        Reading::Unlabelled
                    );
                if utf8 && let Ok(again) = std::str::from_utf8(&bytes) {
                    // (Blanks aside: mail-parser drops one after an `=` that starts no escape.)
                    let squeeze = |t: &str| t.split_whitespace().collect::<String>();
                    assert_eq!(squeeze(again), squeeze(text), "{}", path.display());
                    checked += 1;
                }
            }
        }
        assert!(checked > 80, "only {checked} parts checked");
    }

    #[test]
    fn nested_messages_are_read_too() {
        let raw = b"From: mailer-daemon@mx.test\r\nSubject: Undelivered\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\
--r\r\nContent-Type: message/rfc822\r\n\r\n\
From: =?VISCII?Q?Nguy=ADn?= <gv@school.test>\r\nSubject: =?VISCII?Q?H=FCy?=\r\n\
Content-Type: text/plain; charset=VISCII\r\n\r\n\xd0\xd1c\r\n\
--r--\r\n";
        let mut msg = MessageParser::default().parse(&raw[..]).unwrap();
        repair(&mut msg);
        let inner = msg
            .parts
            .iter()
            .find_map(|p| match &p.body {
                PartType::Message(m) => Some(m),
                _ => None,
            })
            .unwrap();
        assert_eq!(inner.subject(), Some("Hủy"));
        assert_eq!(
            inner
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.name.as_deref()),
            Some("Nguyễn")
        );
        assert_eq!(inner.body_text(0).as_deref().map(str::trim), Some("Đức"));
    }

    #[test]
    fn hostile_header_values_take_linear_time() {
        // Many would-be encoded words that never close, in one long line.
        let value = "=?viscii?q?x".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(rewrite(value.as_bytes(), None).is_none());
        let mut raw = value.into_bytes();
        raw.push(0xff);
        assert!(rewrite(&raw, Some("viscii")).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn quoted_printable_is_lenient() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc", false), b"a=bc");
        assert_eq!(quoted_printable(b"50=% off=", false), b"50=% off=");
        assert_eq!(quoted_printable(b"Hu=FCy_x", true), b"Hu\xfcy x");
        assert_eq!(quoted_printable(b"Hu=FCy_x", false), b"Hu\xfcy_x");
    }

    #[test]
    fn encoded_words_are_found_and_measured() {
        let (w, len) = EncodedWord::parse(b"=?VISCII*vi?Q?Hu=FCy?= rest").unwrap();
        assert_eq!(
            (w.charset, w.base64, w.text, len),
            ("VISCII", false, &b"Hu=FCy"[..], 22)
        );
        assert!(EncodedWord::parse(b"=?viscii?X?abc?=").is_none());
        assert!(EncodedWord::parse(b"=?viscii?Q?a b?=").is_none());
        assert!(EncodedWord::parse(b"=??Q?ab?=").is_none());
        assert!(EncodedWord::parse(b"=?viscii?Q?abc").is_none());
        assert!(EncodedWord::parse(b"=?viscii?Q?a?b?=").is_none());
    }
}
