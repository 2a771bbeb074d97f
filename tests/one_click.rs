//! One-click unsubscribe (RFC 8058) on the real daemon: list mail carries an https link
//! and List-Unsubscribe-Post; a POST to the link removes the member, a GET does not, and
//! a tampered link is refused.

#[path = "common/maildir.rs"]
mod maildir;

use maildir::{DOMAIN, Options, Site, header, wait_until};
use std::io::{Read, Write};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on loopback; returns the status code.
fn http(port: u16, method: &str, path: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let body = "List-Unsubscribe=One-Click";
    let body = if method == "POST" { body } else { "" };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn status(site: &Site, address: &str) -> String {
    site.sql(&format!(
        "SELECT status FROM members WHERE list_id = 'thpt' AND address = '{address}'"
    ))[0][0]
        .clone()
        .unwrap()
}

#[test]
fn the_unsubscribe_button_removes_the_member_with_one_post() {
    let port = free_port();
    // In production a web server terminates https for base_url and forwards /u/ to
    // `listen`; the test speaks plain HTTP to `listen` directly.
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
             From: vanthu@{DOMAIN}\r\nTo: thpt@{DOMAIN}\r\nSubject: cv\r\nMessage-ID: <oc@{DOMAIN}>\r\n\r\nbody\r\n"
        )
        .as_bytes(),
    );
    let mut daemon = site.start();
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
    assert_eq!(
        header(&copy, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let list_unsubscribe = header(&copy, "List-Unsubscribe").unwrap();
    let prefix = format!("<https://127.0.0.1:{port}");
    let start = list_unsubscribe.find(&prefix).expect("an http link") + prefix.len();
    let path = &list_unsubscribe[start..start + list_unsubscribe[start..].find('>').unwrap()];

    // Opening the link changes nothing; a tampered link is refused.
    assert_eq!(http(port, "GET", path), 200);
    assert_eq!(status(&site, "a@school.test"), "confirmed");
    let (mine, _) = path.rsplit_once('/').unwrap();
    assert_eq!(http(port, "POST", &format!("{mine}/aaaaaaaaaaaaaaaa")), 404);
    assert_eq!(status(&site, "a@school.test"), "confirmed");

    assert_eq!(http(port, "POST", path), 200);
    assert_eq!(status(&site, "a@school.test"), "unsubscribed");
    assert_eq!(status(&site, "b@school.test"), "confirmed");
    daemon.term();
    assert!(
        daemon.wait(WAIT).is_some_and(|s| s.success()),
        "{}",
        daemon.tail(40)
    );
}
