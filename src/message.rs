//! The inbound message as the classifier sees it: an owned view extracted once from the
//! raw bytes with mail-parser (lenient: malformed mail still parses), with every text
//! composed to NFC whatever its charset (UTF-8, windows-1258, …).

use crate::{address, text};
use mail_parser::{HeaderValue, MessageParser};

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    /// Normalised address (lowercase).
    pub address: String,
    /// Display name, NFC.
    pub name: Option<String>,
}

/// What classification and the handlers need of a message.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Inbound {
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The author.
    pub from: Option<Person>,
    /// The envelope sender, from Return-Path: empty for bounces (`<>`).
    pub return_path: Option<String>,
    /// Every address the message was sent to: To, Cc, Delivered-To, X-Original-To,
    /// Envelope-To, normalised, plus-tags kept.
    pub recipients: Vec<String>,
    /// The subject, NFC.
    pub subject: String,
    /// In-Reply-To and References ids, without brackets.
    pub thread_ids: Vec<String>,
    /// The text of every text part (HTML converted to text), NFC.
    pub body: String,
    /// All header fields, names lowercased, values unfolded.
    pub headers: Vec<(String, String)>,
    /// `type/subtype` of the top-level part, lowercased.
    pub content_type: String,
    /// The `report-type` parameter of a multipart/report.
    pub report_type: Option<String>,
    /// What the message reports about mail the system sent, if it is a bounce, a delay
    /// warning or a complaint.
    pub report: Option<crate::bounce::Report>,
    /// nhomthu's own DKIM verification of the From (`[site] verify = "self"`), set by the
    /// pipeline for posts and requests before the rules read it; `None` otherwise.
    pub verified: Option<crate::dns::SelfCheck>,
}

impl Inbound {
    /// Parse raw bytes. `None` when nothing resembling a message is there.
    pub fn parse(raw: &[u8]) -> Option<Inbound> {
        let msg = MessageParser::default().parse(raw)?;
        // mail-parser turns any line into a header; a message needs one real field.
        let well_formed = msg.headers().iter().any(|h| {
            !h.value().is_empty()
                && !h.name().is_empty()
                && h.name().bytes().all(|b| b.is_ascii_graphic() && b != b':')
        });
        if !well_formed {
            return None;
        }
        let person = |a: &mail_parser::Addr| {
            a.address
                .as_deref()
                .filter(|s| s.contains('@'))
                .map(|s| Person {
                    address: address::normalize(s),
                    name: a
                        .name
                        .as_deref()
                        .map(text::nfc)
                        .filter(|n| !n.trim().is_empty()),
                })
        };
        let from = msg.from().and_then(|a| a.first()).and_then(person);
        let mut recipients: Vec<String> = msg
            .to()
            .into_iter()
            .chain(msg.cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| person(a).map(|p| p.address))
            .collect();
        for name in [
            "Delivered-To",
            "X-Original-To",
            "Envelope-To",
            "X-Envelope-To",
        ] {
            for value in msg.header_values(name) {
                if let Some(t) = value.as_text() {
                    recipients.push(address::normalize(t));
                }
            }
        }
        recipients.retain(|r| r.contains('@'));
        recipients.dedup();

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
        for i in 0..msg.text_body_count().max(1) {
            if let Some(t) = msg.body_text(i) {
                body.push_str(&t);
                body.push('\n');
            }
        }
        let headers = msg
            .headers_raw()
            .map(|(n, v)| (n.to_ascii_lowercase(), unfold(v)))
            .collect();
        let (content_type, report_type) = match msg
            .root_part()
            .headers()
            .iter()
            .find_map(|h| h.value().as_content_type())
        {
            Some(ct) => (
                format!(
                    "{}/{}",
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("").to_ascii_lowercase()
                ),
                ct.attribute("report-type").map(|s| s.to_ascii_lowercase()),
            ),
            None => ("text/plain".into(), None),
        };
        Some(Inbound {
            message_id: msg.message_id().map(str::to_string),
            from,
            return_path: msg.return_address().map(address::normalize),
            recipients,
            subject: msg.subject().map(text::nfc).unwrap_or_default(),
            thread_ids,
            body: text::nfc(&body),
            headers,
            content_type,
            report_type,
            report: crate::bounce::read(&msg),
            verified: None,
        })
    }

    /// Values of a header field (name in any case).
    pub fn header(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty line of the body, NFC.
    pub fn first_line(&self) -> &str {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1258_and_encoded_words_become_nfc_utf8() {
        // "Hủy đăng ký" in windows-1258 (with combining tone marks, as that charset does)
        // in the subject as an encoded word and in the body as raw bytes.
        let mut raw = b"From: =?windows-1258?Q?Gi=E1o_vi=EAn?= <gv@school.test>\r\n\
To: dangky-thpt@moet.test\r\n\
Subject: =?windows-1258?Q?Hu=D2y_=F0=E3ng_ky=EC?=\r\n\
Content-Type: text/plain; charset=windows-1258\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(b"Hu\xd2y \xf0\xe3ng ky\xec\r\n");
        let m = Inbound::parse(&raw).unwrap();
        assert_eq!(crate::text::fold(&m.subject), "huy dang ky");
        assert_eq!(crate::text::fold(m.first_line()), "huy dang ky");
        assert_eq!(m.from.unwrap().address, "gv@school.test");
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert!(Inbound::parse(b"").is_none());
        assert!(Inbound::parse(b"\x00\x01\x02 no headers here").is_none());
        assert!(Inbound::parse(b"just a line of text\r\nand another\r\n").is_none());
    }
}
