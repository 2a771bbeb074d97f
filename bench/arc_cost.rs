//! What signing and sealing cost per list copy: `cargo bench --bench arc_cost [-- COPIES]`.
//!
//! A circular of about 60 KB (a PDF in base64), as the site's receiving server delivered it
//! with its `Authentication-Results`, is prepared once for a personalised list; then
//! COPIES (default 2000) personal copies are made, each with its own List-Unsubscribe, as
//! delivery makes them, and the time per copy is printed for: no `[dkim]`; an RSA-2048
//! key on a post whose ARC chain cannot be extended (DKIM only); an RSA-2048 key (DKIM and
//! the ARC set); an Ed25519 key (DKIM only: ARC seals with RSA only). One thread, as the
//! delivery task does it.

use data_encoding::BASE64;
use nhomthu::config::Config;
use nhomthu::handlers::{self, Personal, arc::Chain};
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config(key: Option<&str>) -> Config {
    let dkim = key
        .map(|k| {
            format!(
                "[dkim]\ndomain = \"moet.edu.vn\"\nselector = \"s2026\"\nprivate_key = \"src/handlers/testdata/{k}\"\n"
            )
        })
        .unwrap_or_default();
    let text = format!(
        r#"
[site]
domain = "moet.edu.vn"
name = "Bộ Giáo dục và Đào tạo"
noreply = "norply@moet.edu.vn"
authserv_ids = ["mx.moet.edu.vn"]

[delivery]

[[list]]
id = "thpt"
address = "thpt@moet.edu.vn"
name = "Trường THPT"
kind = "announce"
registration = ["dangky@moet.edu.vn"]
subject_prefix = "[THPT]"
footer = "Để rời nhóm, gửi thư tới dangky@moet.edu.vn với tiêu đề \"hủy đăng ký\"."
{dkim}
"#
    );
    let mut config: Config = toml::from_str(&text).expect("the bench configuration");
    config.base_dir = ROOT.into();
    config
}

/// The circular, with `extra` fields on top.
fn circular(extra: &str) -> Vec<u8> {
    let mut pdf = Vec::with_capacity(44_000);
    let mut x: u32 = 0x1234_5678;
    while pdf.len() < 44_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pdf.push(x as u8);
    }
    let base64 = BASE64.encode(&pdf);
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{extra}Authentication-Results: mx.moet.edu.vn; dkim=pass header.d=moet.edu.vn header.s=mail;\r\n\
\tspf=pass smtp.mailfrom=vanthu@moet.edu.vn; dmarc=pass header.from=moet.edu.vn\r\n\
From: vanthu@moet.edu.vn\r\nTo: thpt@moet.edu.vn\r\nSubject: Cong van so 123\r\n\
Date: Mon, 7 Sep 2026 08:00:00 +0700\r\nMessage-ID: <cv123@moet.edu.vn>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nKinh gui cac truong.\r\n--b1\r\n\
Content-Type: application/pdf; name=\"cv123.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

fn main() {
    let copies: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let closed = "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc; b=AAAA\r\n";
    let cases = [
        ("no [dkim]", None, ""),
        ("RSA-2048, DKIM only", Some("dkim-rsa2048.pem"), closed),
        ("RSA-2048, DKIM + ARC", Some("dkim-rsa2048.pem"), ""),
        ("Ed25519, DKIM (no ARC)", Some("dkim-ed25519.pem"), ""),
    ];
    println!(
        "{copies} personal copies of a {} byte post, one thread",
        circular("").len()
    );
    for (label, key, extra) in cases {
        let config = config(key);
        let list = config.list("thpt").expect("the list");
        let raw = circular(extra);
        let started = Instant::now();
        let templates =
            std::sync::Arc::new(nhomthu::templates::Templates::new(&config.templates_dir()));
        let copy = handlers::prepare(
            &raw,
            list,
            &config,
            &templates,
            &Default::default(),
            Chain::None,
        )
        .expect("prepared");
        let prepared = started.elapsed();
        let mut bytes = 0;
        let started = Instant::now();
        for n in 0..copies {
            let mailto = format!("norply+u-{n:08}@moet.edu.vn");
            let url = format!("https://nhomthu.moet.edu.vn/u/{n:08}");
            let out = copy
                .personal(&Personal {
                    unsubscribe_url: Some(&url),
                    unsubscribe_mailto: &mailto,
                    member_url: None,
                })
                .expect("a copy");
            bytes += out.len();
        }
        let per_copy = started.elapsed().as_secs_f64() * 1e6 / f64::from(copies);
        println!(
            "{label:<24} prepare {:>7.0} µs   per copy {per_copy:>7.1} µs   {:>6.0} copies/s   {} bytes/copy",
            prepared.as_secs_f64() * 1e6,
            1e6 / per_copy,
            bytes / copies as usize,
        );
    }
}
