//! The one-click unsubscribe link in a real browser (headless Chromium): opening a
//! member's link shows the list and a button and changes nothing; pressing the button
//! shows that the member left, and the member has left.
//!
//! `NHOMTHU_SCREENSHOTS=1` also saves the button page to `docs/screenshots/unsubscribe.png`.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/maildir.rs"]
mod maildir;

use browser::{Browser, page_text, processes_using};
use maildir::{DOMAIN, Options, Site, header, wait_until};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn status(site: &Site, address: &str) -> String {
    site.sql(&format!(
        "SELECT status FROM members WHERE list_id = 'thpt' AND address = '{address}'"
    ))[0][0]
        .clone()
        .unwrap()
}

/// A site listening on a free port whose two members got a circular; returns the site,
/// the daemon and a's one-click link as plain http on `listen`.
fn site_with_a_circular() -> (Site, maildir::Daemon, String) {
    let port = free_port();
    // In production a web server terminates https for base_url and forwards /u/ to
    // `listen`; the browser speaks plain HTTP to `listen` directly.
    let site = Site::new(Options {
        site_extra: format!(
            "base_url = \"https://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\""
        ),
        ..Options::default()
    });
    let csv = site.root.join("members.csv");
    std::fs::write(&csv, "a@school.test\nb@school.test\n").unwrap();
    assert!(
        site.cli(&["members", "import", "thpt", csv.to_str().unwrap()], WAIT)
            .status
            .success()
    );
    site.deliver(
        format!(
            "Authentication-Results: mx.{DOMAIN}; dmarc=pass header.from={DOMAIN}\r\n\
             From: vanthu@{DOMAIN}\r\nTo: thpt@{DOMAIN}\r\nSubject: cv\r\nMessage-ID: <br@{DOMAIN}>\r\n\r\nbody\r\n"
        )
        .as_bytes(),
    );
    let daemon = site.start();
    let copies = || {
        site.outbox_files()
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with('p'))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(WAIT, || copies().len() == 2),
        "{}",
        daemon.tail(40)
    );
    let copy = copies()
        .into_iter()
        .find(|c| header(c, "Delivered-To").as_deref() == Some("a@school.test"))
        .unwrap();
    let list_unsubscribe = header(&copy, "List-Unsubscribe").unwrap();
    let prefix = format!("<https://127.0.0.1:{port}");
    let start = list_unsubscribe.find(&prefix).expect("an http link") + prefix.len();
    let path = &list_unsubscribe[start..start + list_unsubscribe[start..].find('>').unwrap()];
    let link = format!("http://127.0.0.1:{port}{path}");
    (site, daemon, link)
}

/// The member-page link in the footer of `address`'s copy, as plain http on the host of
/// `one_click` (a link on the same server).
fn member_link(site: &Site, address: &str, one_click: &str) -> String {
    let copy = site
        .outbox_files()
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .find(|raw| {
            let text = String::from_utf8_lossy(raw);
            header(&text, "Delivered-To").as_deref() == Some(address)
        })
        .expect("a copy for the address");
    let msg = mail_parser::MessageParser::default().parse(&copy).unwrap();
    let text: String = (0..msg.text_body.len())
        .filter_map(|i| msg.body_text(i))
        .collect::<Vec<_>>()
        .join("\n");
    let start = text.find("/m/").expect("a member page link in the footer");
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let host = &one_click[..one_click.find("/u/").unwrap()];
    format!("{host}{path}")
}

#[test]
fn the_link_shows_a_button_and_the_button_unsubscribes() {
    let (site, mut daemon, link) = site_with_a_circular();
    let browser = Browser::start();

    // Opening the link shows the list, the address and the button, and removes nobody.
    browser.open(&link);
    assert_eq!(browser.title(), "Hủy đăng ký");
    let text = browser.text();
    assert!(text.contains("Trường THPT"), "{text}");
    assert!(text.contains("a@school.test"), "{text}");
    assert_eq!(browser.text_of("form button"), "Hủy đăng ký / Unsubscribe");
    assert!(browser.source().contains("method=\"post\""));
    if std::env::var_os("NHOMTHU_SCREENSHOTS").is_some_and(|v| v == "1") {
        let png = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/screenshots/unsubscribe.png"
        );
        browser.screenshot(std::path::Path::new(png));
    }
    assert_eq!(status(&site, "a@school.test"), "confirmed");

    // The button POSTs: the member has left, the other has not.
    browser.click_button();
    let text = browser.text();
    assert!(text.contains("Đã hủy đăng ký"), "{text}");
    assert!(text.contains("You have been unsubscribed"), "{text}");
    assert!(!browser.has("button"));
    assert_eq!(status(&site, "a@school.test"), "unsubscribed");
    assert_eq!(status(&site, "b@school.test"), "confirmed");

    // Opening the link again only shows the button; a tampered link is not found.
    let (mine, _) = link.rsplit_once('/').unwrap();
    let text = page_text(&format!("{mine}/aaaaaaaaaaaaaaaa"));
    assert!(text.contains("Not found"), "{text}");
    assert!(!text.contains("Trường THPT"), "{text}");

    // b's own page, from the footer of b's copy: their list and its buttons, and
    // opening it changes nothing.
    let member = member_link(&site, "b@school.test", &link);
    browser.open(&member);
    let text = browser.text();
    assert!(text.contains("Trường THPT"), "{text}");
    assert!(browser.has("form button"), "{text}");
    assert!(!browser.source().contains("a@school.test"));
    if std::env::var_os("NHOMTHU_SCREENSHOTS").is_some_and(|v| v == "1") {
        let png = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots/member.png");
        browser.screenshot(std::path::Path::new(png));
    }
    assert_eq!(status(&site, "b@school.test"), "confirmed");
    // The page leads to the list's archive.
    browser.click("a[href^='/archive/thpt']");
    assert!(browser.url().contains("/archive/thpt"), "{}", browser.url());
    assert!(browser.text().contains("Trường THPT"), "{}", browser.text());

    let dir = browser.dir();
    browser.close();
    assert_eq!(
        processes_using(&dir),
        Vec::<u32>::new(),
        "Chromium outlived its test"
    );
    daemon.term();
    assert!(
        daemon.wait(WAIT).is_some_and(|s| s.success()),
        "{}",
        daemon.tail(40)
    );
}

/// A circular in Vietnamese with an HTML part that carries a script, an `onclick` and a
/// remote image, and a PDF attachment (every byte value).
fn html_circular() -> (String, Vec<u8>) {
    let pdf: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let encoded = data_encoding::BASE64.encode(&pdf);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let raw = format!(
        "Authentication-Results: mx.{DOMAIN}; dmarc=pass header.from={DOMAIN}\r\n\
From: =?utf-8?B?{name}?= <vanthu@{DOMAIN}>\r\nTo: thpt@{DOMAIN}\r\n\
Subject: =?utf-8?B?{subject}?=\r\nMessage-ID: <html-cv@{DOMAIN}>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Kính gửi các trường. Hướng dẫn tổ chức kỳ thi tốt nghiệp năm 2026.\r\n\
--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
<p onclick=\"document.title='pwned'\">Kính gửi <b>các trường</b>: hướng dẫn tổ chức kỳ thi.</p>\
<script>document.title='pwned'</script><img src=\"https://tracker.example/p.gif\">\r\n\
--alt--\r\n\
--outer\r\nContent-Type: application/pdf; name=\"cv.pdf\"\r\n\
Content-Disposition: attachment; filename*=utf-8''C%C3%B4ng%20v%C4%83n%2012.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--outer--\r\n",
        name = data_encoding::BASE64.encode("Văn thư Bộ".as_bytes()),
        subject = data_encoding::BASE64.encode("Công văn số 12 về kỳ thi tốt nghiệp".as_bytes()),
        body = lines.join("\r\n"),
    );
    (raw, pdf)
}

/// A plain HTTP GET of `url` on loopback: (status, body bytes).
fn get(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, all[split + 4..].to_vec())
}

#[test]
fn the_archive_shows_a_circular_posted_through_the_stack_without_its_scripts() {
    let port = free_port();
    let site = Site::new(Options {
        site_extra: format!(
            "base_url = \"https://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\""
        ),
        ..Options::default()
    });
    let csv = site.root.join("members.csv");
    std::fs::write(&csv, "a@school.test\nb@school.test\n").unwrap();
    assert!(
        site.cli(&["members", "import", "thpt", csv.to_str().unwrap()], WAIT)
            .status
            .success()
    );
    let (raw, pdf) = html_circular();
    site.deliver(raw.as_bytes());
    let mut daemon = site.start();
    assert!(
        wait_until(WAIT, || site.sql_i64(
            "SELECT COUNT(*) FROM posts WHERE status NOT IN ('held', 'rejected')"
        ) == 1),
        "{}",
        daemon.tail(40)
    );
    let id = site.sql_i64("SELECT id FROM posts");
    let base = format!("http://127.0.0.1:{port}");
    let post = format!("{base}/archive/thpt/post/{id}");

    let browser = Browser::start();
    browser.open(&format!("{post}?lang=vi"));
    let text = browser.text();
    assert!(
        text.contains("Công văn số 12 về kỳ thi tốt nghiệp"),
        "{text}"
    );
    assert!(text.contains("Tệp đính kèm"), "{text}");
    assert!(text.contains("hướng dẫn tổ chức kỳ thi"), "{text}");
    assert!(text.contains("Văn thư Bộ"), "{text}");
    // The script never ran and is not in the page; neither are the handler or the image.
    assert_ne!(browser.title(), "pwned");
    let source = browser.source();
    for gone in ["<script", "onclick", "tracker.example"] {
        assert!(!source.contains(gone), "{gone} in {source}");
    }
    assert!(
        !source.contains("@school.test") && !source.contains("vanthu@"),
        "{source}"
    );
    if std::env::var_os("NHOMTHU_SCREENSHOTS").is_some_and(|v| v == "1") {
        let png = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots/archive.png");
        browser.screenshot(std::path::Path::new(png));
    }
    // The list's page leads to the month, the month to the circular.
    browser.open(&format!("{base}/archive/thpt"));
    assert!(browser.text().contains("Trường THPT"), "{}", browser.text());
    browser.close();

    // The attachment downloads byte-identical.
    let (status, body) = get(&format!("{post}/attachment/0"));
    assert_eq!(status, 200);
    assert_eq!(body, pdf);

    daemon.term();
    assert!(
        daemon.wait(WAIT).is_some_and(|s| s.success()),
        "{}",
        daemon.tail(40)
    );
}
