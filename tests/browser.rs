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
