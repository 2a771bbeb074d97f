//! Realistic posts, a site configuration, signing keys and their DNS records for the
//! handlers' tests.

use super::Personal;
use crate::config::Config;
use data_encoding::BASE64;
use mail_auth::common::crypto::{DkimKey, Ed25519Key};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The test site: one announce list ("thpt"), one discussion list ("thaoluan"), one managed
/// list ("sogd"); `extra` is appended (a `[dkim]` table, …).
pub(crate) fn config(extra: &str) -> Config {
    let text = format!(
        r#"
[site]
domain = "moet.edu.vn"
name = "Bộ Giáo dục và Đào tạo"
noreply = "norply@moet.edu.vn"
base_url = "https://nhomthu.moet.edu.vn"

[delivery]

[dmarc]
strict = ["gmail.com", "moet.gov.vn"]

[[list]]
id = "thpt"
address = "thpt@moet.edu.vn"
name = "Trường THPT"
kind = "announce"
registration = ["dangky@moet.edu.vn"]
subject_prefix = "[THPT]"
footer = """
Để rời nhóm, gửi thư tới dangky@moet.edu.vn với tiêu đề "hủy đăng ký".
Nhóm thư Trường THPT — Bộ Giáo dục và Đào tạo"""

[[list]]
id = "thaoluan"
address = "thaoluan@moet.edu.vn"
name = "Diễn đàn giáo viên"
kind = "discussion"
registration = ["thaoluan-dangky@moet.edu.vn"]
subject_prefix = "[Thảo luận]"
footer = "Diễn đàn giáo viên — thaoluan@moet.edu.vn"

[[list]]
id = "sogd"
address = "sogd@moet.edu.vn"
name = "Sở GD&ĐT"
kind = "managed"
{extra}
"#
    );
    toml::from_str(&text).expect("test configuration")
}

/// A personalised recipient.
pub(crate) fn personal() -> Personal<'static> {
    Personal {
        unsubscribe_url: Some("https://moet.example/u/abc"),
        unsubscribe_mailto: "norply+u-abc@moet.edu.vn",
        member_url: None,
    }
}

/// Deterministic bytes that look like a PDF, `len` long.
pub(crate) fn pdf_bytes(len: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x as u8);
    }
    out
}

/// Base64 in 76-character lines, each ending in CRLF.
pub(crate) fn base64_lines(bytes: &[u8]) -> String {
    let encoded = BASE64.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str("\r\n");
    }
    out
}

/// `=?UTF-8?B?…?=`.
pub(crate) fn b_word(text: &str) -> String {
    format!("=?UTF-8?B?{}?=", BASE64.encode(text.as_bytes()))
}

/// A circular as the clerk's Outlook/Thunderbird sends it and the server delivers it:
/// trace and authentication fields, a subject in two base64 UTF-8 encoded words, a
/// multipart/mixed with a quoted-printable text part and the PDF `pdf` in base64.
pub(crate) fn circular(pdf: &[u8]) -> Vec<u8> {
    let subject = format!(
        "{}\r\n {}",
        b_word("Công văn số 123/BGDĐT-GDTrH "),
        b_word("về việc hướng dẫn thực hiện nhiệm vụ năm học")
    );
    format!(
        "Return-Path: <vanthu@moet.edu.vn>\r\n\
Delivered-To: thpt@moet.edu.vn\r\n\
X-Original-To: thpt@moet.edu.vn\r\n\
Received: from mail.moet.edu.vn (mail.moet.edu.vn [203.162.0.1])\r\n\
\tby mx.moet.edu.vn (Postfix) with ESMTPS id 4ABC\r\n\
\tfor <thpt@moet.edu.vn>; Mon, 7 Sep 2026 08:00:00 +0700 (ICT)\r\n\
Authentication-Results: mx.moet.edu.vn; dkim=pass header.d=moet.edu.vn\r\n\
ARC-Seal: i=1; a=rsa-sha256; t=1; cv=none; d=moet.edu.vn; s=arc; b=AAAA\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=moet.edu.vn; s=mail; h=from:subject;\r\n\
\tbh=AAAA; b=BBBB\r\n\
Precedence: bulk\r\n\
List-Id: <old.list.example>\r\n\
From: {from} <vanthu@moet.edu.vn>\r\n\
To: =?UTF-8?B?VHLGsOG7nW5nIFRIUFQ=?= <thpt@moet.edu.vn>\r\n\
Bcc: bimat@moet.edu.vn\r\n\
Subject: {subject}\r\n\
Date: Mon, 7 Sep 2026 08:00:00 +0700\r\n\
Message-ID: <cv123.2026@moet.edu.vn>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed;\r\n\
\tboundary=\"----=_NextPart_000_0001_01DB0000.12345678\"\r\n\
\r\n\
This is a multi-part message in MIME format.\r\n\
\r\n\
------=_NextPart_000_0001_01DB0000.12345678\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
K=C3=ADnh g=E1=BB=ADi c=C3=A1c tr=C6=B0=E1=BB=9Dng THPT,\r\n\
\r\n\
B=E1=BB=99 g=E1=BB=ADi k=C3=A8m c=C3=B4ng v=C4=83n s=E1=BB=91 123.\r\n\
\r\n\
------=_NextPart_000_0001_01DB0000.12345678\r\n\
Content-Type: application/pdf; name=\"cv123.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"cv123.pdf\"\r\n\
\r\n\
{pdf}\r\n\
------=_NextPart_000_0001_01DB0000.12345678--\r\n",
        from = b_word("Văn thư Bộ GD&ĐT"),
        pdf = base64_lines(pdf),
    )
    .into_bytes()
}

/// A text-only post from a Gmail user (a domain with a strict DMARC policy).
pub(crate) fn plain_post() -> Vec<u8> {
    format!(
        "Return-Path: <nguyen.van.a@gmail.com>\r\n\
Delivered-To: thaoluan@moet.edu.vn\r\n\
From: {name} <nguyen.van.a@gmail.com>\r\n\
To: thaoluan@moet.edu.vn\r\n\
Subject: {subject}\r\n\
Date: Tue, 8 Sep 2026 20:15:00 +0700\r\n\
Message-ID: <CAF=abc123@mail.gmail.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Chào các thầy cô,\r\n\
Xin hỏi về lịch kiểm tra học kỳ I.\r\n",
        name = b_word("Nguyễn Văn A"),
        subject = b_word("Hỏi về lịch kiểm tra"),
    )
    .into_bytes()
}

/// An Outlook post: multipart/alternative (text and HTML), subject in windows-1258
/// quoted-printable (with its combining tone marks).
pub(crate) fn outlook_alternative() -> Vec<u8> {
    "Received: from EXCH01.sgd.edu.vn by EXCH02.sgd.edu.vn\r\n\
From: =?windows-1258?Q?Tr=E2=CCn_Thi=F2_B?= <tran.b@sgd.edu.vn>\r\n\
To: \"thpt@moet.edu.vn\" <thpt@moet.edu.vn>\r\n\
Subject: =?windows-1258?Q?C=F4ng_v=E3n_s=F4=EC_123/BGD=D0T-GDTrH?=\r\n\
Thread-Topic: =?windows-1258?Q?C=F4ng_v=E3n_s=F4=EC_123/BGD=D0T-GDTrH?=\r\n\
Date: Wed, 9 Sep 2026 09:30:00 +0700\r\n\
Message-ID: <SG2PR01MB1234@SG2PR01MB1234.apcprd01.prod.outlook.com>\r\n\
Content-Language: vi-VN\r\n\
X-MS-Has-Attach:\r\n\
Content-Type: multipart/alternative;\r\n\
\tboundary=\"_000_SG2PR01MB1234_\"\r\n\
MIME-Version: 1.0\r\n\
\r\n\
--_000_SG2PR01MB1234_\r\n\
Content-Type: text/plain; charset=\"windows-1258\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
K=EDnh g=FD=D2i c=E1c tr=FD=F5=CCng\r\n\
\r\n\
--_000_SG2PR01MB1234_\r\n\
Content-Type: text/html; charset=\"windows-1258\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><body><p>K=EDnh g=FD=D2i c=E1c tr=FD=F5=CCng</p></body></html>\r\n\
\r\n\
--_000_SG2PR01MB1234_--\r\n"
        .as_bytes()
        .to_vec()
}

/// Parse an output message; panics when mail-parser cannot.
pub(crate) fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .expect("the output parses")
}

/// How many header fields of the top-level header block are named `name`.
pub(crate) fn count_fields(raw: &[u8], name: &str) -> usize {
    let end = super::find(raw, b"\r\n\r\n").map_or(raw.len(), |i| i + 2);
    raw[..end]
        .split(|&b| b == b'\n')
        .filter(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && line[name.len()] == b':'
        })
        .count()
}

/// The header block's lines (without line ends).
pub(crate) fn header_lines(raw: &[u8]) -> Vec<String> {
    let end = super::find(raw, b"\r\n\r\n").map_or(raw.len(), |i| i);
    String::from_utf8_lossy(&raw[..end])
        .split("\r\n")
        .map(str::to_string)
        .collect()
}

/// The decoded text of every text/plain leaf part.
pub(crate) fn footer_texts(msg: &mail_parser::Message<'_>) -> Vec<String> {
    msg.parts
        .iter()
        .filter(|p| p.is_text() && !p.is_text_html())
        .filter_map(|p| p.text_contents().map(str::to_string))
        .collect()
}

/// The shipped templates.
pub(crate) fn templates() -> std::sync::Arc<crate::templates::Templates> {
    std::sync::Arc::new(crate::templates::Templates::new(std::path::Path::new(
        concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
    )))
}

/// DNS answers given in advance: nothing is ever asked of a server.
#[derive(Default)]
pub(crate) struct Zone(Mutex<HashMap<Box<str>, Txt>>);

impl Zone {
    /// Publish the key `record` (`v=DKIM1; k=…; p=…`) at `name` (with its final dot).
    pub(crate) fn publish(self, name: &str, record: &str) -> Zone {
        let key = DomainKey::parse(record.as_bytes()).expect("a DKIM key record");
        self.0
            .lock()
            .unwrap()
            .insert(name.into(), Txt::DomainKey(Arc::new(key)));
        self
    }
}

impl ResolverCache<Box<str>, Txt> for Zone {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }
    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }
    fn insert(&self, key: Box<str>, value: Txt, _: std::time::Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// The site's key published at `s2026._domainkey.moet.edu.vn`.
pub(crate) fn zone(record: &str) -> Zone {
    Zone::default().publish("s2026._domainkey.moet.edu.vn.", record)
}

/// A resolver that is never asked: every answer comes from a [`Zone`].
pub(crate) fn authenticator() -> MessageAuthenticator {
    MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![NameServerConfig::udp([127, 0, 0, 1].into())]),
        ResolverOpts::default(),
    )
    .unwrap()
}

/// The result of the message's one DKIM signature.
pub(crate) async fn verify(message: &[u8], zone: &Zone) -> DkimResult {
    let message = AuthenticatedMessage::parse(message).expect("parses for DKIM");
    let results = authenticator()
        .verify_dkim(Parameters::new(&message).with_txt_cache(zone))
        .await;
    assert_eq!(results.len(), 1, "one signature");
    results[0].result().clone()
}

/// PEM text of `der` under `label`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A configuration signing with the key in `pem_text`, written to `dir`.
pub(crate) fn signing_config(dir: &Path, pem_text: &str) -> Config {
    let path = dir.join("dkim.pem");
    std::fs::write(&path, pem_text).unwrap();
    let mut config = config(&format!(
        "[dkim]\ndomain = \"moet.edu.vn\"\nselector = \"s2026\"\nprivate_key = \"{}\"\n",
        path.display()
    ));
    config.base_dir = dir.to_path_buf();
    config
}

/// The DNS record publishing the key in `pem_text`.
pub(crate) fn record(pem_text: &str) -> String {
    match super::dkim::key_from_pem(pem_text.as_bytes()).unwrap() {
        DkimKey::Ed25519(key) => {
            format!("v=DKIM1; k=ed25519; p={}", BASE64.encode(&key.public_key()))
        }
        DkimKey::Rsa(key) => {
            format!("v=DKIM1; k=rsa; p={}", BASE64.encode(&key.public_key()))
        }
    }
}

/// A fresh Ed25519 key in PKCS#8 PEM.
pub(crate) fn ed25519_pem() -> String {
    pem("PRIVATE KEY", &Ed25519Key::generate_pkcs8().unwrap())
}
