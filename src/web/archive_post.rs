//! A stored post read for the archive, from its raw message (mail-parser, then
//! `charset::repair`, as `message.rs` does): the author's display name (never an
//! address), the text body, the HTML body sanitised with ammonia, the attachments, and
//! what the search index and the threads need.

use crate::text;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// What the archive shows of a post.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reading {
    /// The author's display name; empty when there is none, or when it is an address.
    pub author: String,
    /// The Message-ID.
    pub message_id: Option<String>,
    /// In-Reply-To and References.
    pub thread_ids: Vec<String>,
    /// The text of the text parts (HTML converted when there is no text part), NFC.
    pub text: String,
    /// The HTML body, sanitised: no scripts, no event handlers, no images or other
    /// resources fetched from elsewhere.
    pub html: Option<String>,
    /// The attachments.
    pub attachments: Vec<Attachment>,
}

/// An attachment as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attachment {
    /// Its position, the `n` of its download link.
    pub n: usize,
    /// Its file name.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: usize,
}

/// Read a raw post. `None` when mail-parser finds no message there.
pub fn read(raw: &[u8]) -> Option<Reading> {
    let mut msg = MessageParser::default().parse(raw)?;
    crate::charset::repair(&mut msg);
    let author = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name.as_deref())
        .map(|n| text::one_line(&text::nfc(n)))
        .filter(|n| !n.contains('@'))
        .unwrap_or_default();
    let ids = |v: &HeaderValue| -> Vec<String> {
        match v {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let mut thread_ids = ids(msg.in_reply_to());
    thread_ids.extend(ids(msg.references()));
    let mut body = String::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            body.push_str(&t);
            body.push('\n');
        }
    }
    let html = msg
        .html_part(0)
        .filter(|p| p.is_text_html())
        .and_then(|p| p.text_contents())
        .map(sanitise);
    let attachments = msg
        .attachments()
        .enumerate()
        .map(|(n, part)| Attachment {
            n,
            name: file_name(part, n),
            content_type: media_type(part),
            size: if part.is_text() {
                crate::charset::part_bytes(&msg, part).map_or(0, |b| b.len())
            } else {
                part.contents().len()
            },
        })
        .collect();
    Some(Reading {
        author,
        message_id: msg.message_id().map(str::to_string),
        thread_ids,
        text: text::nfc(body.trim_end()),
        html,
        attachments,
    })
}

/// Attachment `n` of a raw post: its name, media type and bytes as sent.
pub fn attachment(raw: &[u8], n: usize) -> Option<(String, String, Vec<u8>)> {
    let msg = MessageParser::default().parse(raw)?;
    let part = msg.attachments().nth(n)?;
    // Text parts come back from mail-parser in UTF-8: those are read from the raw bytes.
    let bytes = if part.is_text() {
        crate::charset::part_bytes(&msg, part)?
    } else {
        part.contents().to_vec()
    };
    Some((file_name(part, n), media_type(part), bytes))
}

/// The folded subject and body the search index holds.
pub fn folded(subject: &str, raw: &[u8]) -> (String, String) {
    let body = read(raw).map(|r| r.text).unwrap_or_default();
    (text::fold(subject), text::fold(&body))
}

/// HTML without anything that runs or fetches: ammonia's safe subset (no `<script>`,
/// `<style>`, `on*` or `style` attributes), without images, links marked nofollow.
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

fn file_name(part: &mail_parser::MessagePart<'_>, n: usize) -> String {
    part.attachment_name()
        .map(|s| text::one_line(&text::nfc(s)))
        .map(|s| s.rsplit(['/', '\\']).next().unwrap_or("").to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("attachment-{}", n + 1))
}

/// The part's `type/subtype`, or `application/octet-stream` when it is missing or odd.
fn media_type(part: &mail_parser::MessagePart<'_>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    part.content_type()
        .and_then(|ct| {
            let sub = ct.subtype()?;
            (token(ct.ctype()) && token(sub))
                .then(|| format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase())
        })
        .unwrap_or_else(|| "application/octet-stream".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_images_are_removed() {
        let clean = sanitise(
            "<p onclick=\"steal()\">Kính gửi</p><script>alert(1)</script>\
             <img src=\"https://tracker.test/x.gif\"><a href=\"javascript:x()\">a</a>\
             <div style=\"background:url(https://x.test)\">b</div>",
        );
        assert!(clean.contains("Kính gửi"), "{clean}");
        for bad in [
            "onclick",
            "<script",
            "alert",
            "<img",
            "tracker",
            "javascript",
            "style",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
    }
}
