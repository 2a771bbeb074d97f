//! The inbound message as the classifier sees it: an owned view extracted once from the
//! raw bytes with mail-parser (lenient: malformed mail still parses), with every text
//! composed to NFC whatever its charset: UTF-8, Windows-1258, VISCII, VPS, TCVN, VNI, or
//! 8-bit text with no label or a wrong one (`charset::repair` reads what mail-parser
//! cannot).

use crate::{address, charset, text};
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
    /// All header fields, names lowercased, values unfolded (encoded words as written, raw
    /// 8-bit bytes decoded).
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
        let mut msg = MessageParser::default().parse(raw)?;
        charset::repair(&mut msg);
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
        let headers = charset::header_texts(&msg)
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), unfold(&value)))
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

    /// `text` as VISCII bytes (RFC 1456), for the samples below.
    fn viscii(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| match c {
                'ủ' => 0xfc,
                'đ' => 0xf0,
                'ă' => 0xe5,
                'ý' => 0xfd,
                'ễ' => 0xad,
                'Đ' => 0xd0,
                'ứ' => 0xd1,
                c if c.is_ascii() => c as u8,
                c => panic!("{c} not in this sample table"),
            })
            .collect()
    }

    fn q(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| match b {
                b' ' => "_".to_string(),
                b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
                b => format!("={b:02X}"),
            })
            .collect()
    }

    #[test]
    fn viscii_encoded_words_and_body_are_read() {
        let raw = format!(
            "From: =?VISCII?Q?{}?= <gv@school.test>\r\n\
             To: dangky-thpt@moet.test\r\n\
             Subject: =?viscii?q?{}?=\r\n\
             Content-Type: text/plain; charset=VISCII\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
            q(&viscii("Nguyễn Văn Đức")),
            q(&viscii("Hủy đăng ký")),
            q(&viscii("hủy đăng ký")).replace('_', " "),
        );
        let m = Inbound::parse(raw.as_bytes()).unwrap();
        assert_eq!(m.subject, "Hủy đăng ký");
        assert_eq!(m.first_line(), "hủy đăng ký");
        let from = m.from.unwrap();
        assert_eq!(from.name.as_deref(), Some("Nguyễn Văn Đức"));
        assert_eq!(from.address, "gv@school.test");
    }

    #[test]
    fn raw_8bit_headers_are_read_in_the_message_charset() {
        let mut raw = b"From: ".to_vec();
        raw.extend(viscii("Nguyễn Văn Đức"));
        raw.extend_from_slice(b" <gv@school.test>\r\nTo: dangky-thpt@moet.test\r\nSubject: ");
        raw.extend(viscii("Hủy đăng ký"));
        raw.extend_from_slice(
            b"\r\nContent-Type: text/plain; charset=\"viscii\"\r\n\r\nXin chao\r\n",
        );
        let m = Inbound::parse(&raw).unwrap();
        assert_eq!(m.subject, "Hủy đăng ký");
        assert_eq!(
            m.from.as_ref().unwrap().name.as_deref(),
            Some("Nguyễn Văn Đức")
        );
        assert_eq!(m.header("subject").next(), Some("Hủy đăng ký"));
    }

    #[test]
    fn lf_only_mail_is_read_alike() {
        // As a Maildir file may hold it: bare LF line ends, a folded raw 8-bit subject.
        let mut raw =
            b"From: =?VISCII?Q?Nguy=ADn_V=E5n_=D0=D1c?= <gv@school.test>\nSubject: ".to_vec();
        raw.extend(viscii("Hủy"));
        raw.extend_from_slice(b"\n ");
        raw.extend(viscii("đăng ký"));
        raw.extend_from_slice(b"\nContent-Type: text/plain; charset=viscii\n\nx\n");
        let m = Inbound::parse(&raw).unwrap();
        assert_eq!(m.subject, "Hủy đăng ký");
        assert_eq!(m.from.unwrap().name.as_deref(), Some("Nguyễn Văn Đức"));
    }

    #[test]
    fn unknown_labels_keep_the_name() {
        // A label nobody knows, on a header word and on the body: valid UTF-8 stays UTF-8,
        // anything else is read in the Vietnamese charset it reads best in.
        let mut raw = format!(
            "From: =?x-bogus?Q?{}?= <gv@school.test>\r\n\
             To: dangky-thpt@moet.test\r\n\
             Subject: =?x-bogus?B?{}?=\r\n\
             Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n",
            q(&viscii("Nguyễn Văn Đức")),
            data_encoding::BASE64.encode("Đăng ký".as_bytes()),
        )
        .into_bytes();
        raw.extend(viscii("Nguyễn Văn Đức"));
        raw.extend_from_slice(b"\r\n");
        let m = Inbound::parse(&raw).unwrap();
        assert_eq!(
            m.from.as_ref().unwrap().name.as_deref(),
            Some("Nguyễn Văn Đức")
        );
        assert_eq!(m.subject, "Đăng ký");
        assert_eq!(m.first_line(), "Nguyễn Văn Đức");
        assert!(!m.body.contains('\u{FFFD}'));
    }

    #[test]
    fn viqr_is_read_as_vietnamese() {
        let raw = b"From: =?VIQR?Q?Nguye^~n_Va(n_DDu+'c?= <gv@school.test>\r\n\
To: dangky-thpt@moet.test\r\nSubject: =?viqr?q?Hu=3Fy_dda(ng_ky'?=\r\n\
Content-Type: text/plain; charset=VIQR\r\n\r\nXin hu?y dda(ng ky'.\r\n";
        let m = Inbound::parse(raw).unwrap();
        assert_eq!(m.subject, "Hủy đăng ký");
        assert_eq!(m.from.unwrap().name.as_deref(), Some("Nguyễn Văn Đức"));
        assert_eq!(m.body.trim(), "Xin hủy đăng ký.");
    }

    #[test]
    fn every_text_part_is_read_in_its_own_charset() {
        // VPS quoted-printable beside TCVN base64 HTML, inside multipart/mixed; the text
        // parts mail-parser reads itself (UTF-8, ISO-8859-2) are left as they are.
        let vps = b"H\xfby \xc7\xe6ng k\x9a";
        let tcvn_html = b"<p>Nguy\xd4n V\xa8n \xa7\xf8c</p>";
        let raw = format!(
            "From: gv@school.test\r\nTo: dangky-thpt@moet.test\r\nSubject: x\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=x-viet-vps\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
             --b\r\nContent-Type: text/html; charset=tcvn\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\n\u{b1}\r\n\
             --b--\r\n",
            q(vps).replace('_', " "),
            data_encoding::BASE64.encode(tcvn_html),
        );
        let m = Inbound::parse(raw.as_bytes()).unwrap();
        assert!(m.body.contains("Hủy đăng ký"), "{:?}", m.body);
        assert!(m.body.contains("Nguyễn Văn Đức"), "{:?}", m.body);
        assert_eq!(m.first_line(), "Hủy đăng ký");
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert!(Inbound::parse(b"").is_none());
        assert!(Inbound::parse(b"\x00\x01\x02 no headers here").is_none());
        assert!(Inbound::parse(b"just a line of text\r\nand another\r\n").is_none());
    }
}
