//! The links people click, on the real daemon with its web side on `[site] listen`: the
//! confirmation link of join and leave confirmations, the member's page (leave, pause,
//! resume) and a moderator's page for a held post. A GET only shows a page; the POST acts
//! as the mail would (same audit, same answers); a forged code is 404.

#[path = "common/maildir.rs"]
mod maildir;

use mail_parser::MessageParser;
use maildir::{DOMAIN, Options, Site, header, registration, reply, token_in, wait_until};
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

/// One HTTP/1.1 request on loopback: the status code and the body.
fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // The pages escape `/` in what they are given, as HTML allows.
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.replace("&#x2f;", "/"))
        .unwrap_or_default();
    (code, body)
}

/// A site whose web side listens on `port` (base_url names it; in production a web
/// server terminates https in front of `listen`).
fn site(port: u16) -> Site {
    let site = Site::new(Options {
        site_extra: format!(
            "base_url = \"https://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\""
        ),
        ..Options::default()
    });
    // The database exists before the daemon starts, for the test to read.
    assert!(site.cli(&["lists"], WAIT).status.success());
    site
}

/// Every text part of a message, decoded.
fn texts(raw: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    (0..)
        .map_while(|i| msg.body_text(i))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path of the first link on the site under `prefix` (`/c/`, `/m/`, `/mod/`) in `text`.
fn link(port: u16, text: &str, prefix: &str) -> Option<String> {
    let base = format!("https://127.0.0.1:{port}");
    let start = text.find(&format!("{base}{prefix}"))? + base.len();
    let end = text[start..]
        .find(|c: char| c.is_whitespace())
        .map_or(text.len(), |i| start + i);
    Some(text[start..end].to_string())
}

fn one(site: &Site, query: &str) -> Option<String> {
    site.sql(query)
        .into_iter()
        .next()
        .and_then(|r| r[0].clone())
}

fn status(site: &Site, list: &str, address: &str) -> String {
    one(
        site,
        &format!("SELECT status FROM members WHERE list_id = '{list}' AND address = '{address}'"),
    )
    .unwrap()
}

fn audit(site: &Site, address: &str) -> Vec<Vec<Option<String>>> {
    site.sql(&format!(
        "SELECT action, old_status, new_status, actor, reason FROM audit WHERE address = '{address}' ORDER BY id"
    ))
}

fn queued(site: &Site, kind: &str, rcpt: &str) -> i64 {
    site.sql_i64(&format!(
        "SELECT COUNT(*) FROM outbound WHERE kind = '{kind}' AND rcpt = '{rcpt}'"
    ))
}

/// The decoded text of the newest answer of `kind` to `rcpt`, once it is in the outbox.
fn answer(site: &Site, daemon: &maildir::Daemon, kind: &str, rcpt: &str) -> String {
    let mut found = None;
    let ok = wait_until(WAIT, || {
        let id = one(
            site,
            &format!(
                "SELECT MAX(id) FROM outbound WHERE kind = '{kind}' AND rcpt = '{rcpt}' AND status = 'sent'"
            ),
        );
        found = id.and_then(|id| {
            let id: i64 = id.parse().unwrap();
            std::fs::read_to_string(site.outbox.join(format!("{id:010}.eml"))).ok()
        });
        found.is_some()
    });
    assert!(ok, "no {kind} to {rcpt} in the outbox: {}", daemon.tail(40));
    texts(&found.unwrap())
}

/// The copies of post `post` in the outbox: recipient → decoded text.
fn copies(site: &Site, post: i64) -> Vec<(String, String)> {
    site.outbox_files()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("p{post}-"))
        })
        .map(|p| {
            let raw = std::fs::read_to_string(p).unwrap();
            (header(&raw, "Delivered-To").unwrap(), texts(&raw))
        })
        .collect()
}

fn circular(id: &str, to: &str, authenticated: bool) -> Vec<u8> {
    let auth = if authenticated {
        format!("Authentication-Results: mx.{DOMAIN}; dmarc=pass header.from={DOMAIN}\r\n")
    } else {
        String::new()
    };
    format!(
        "{auth}From: vanthu@{DOMAIN}\r\nTo: {to}\r\nSubject: Cong van {id}\r\nMessage-ID: <{id}@{DOMAIN}>\r\n\r\nbody {id}\r\n"
    )
    .into_bytes()
}

fn import(site: &Site, list: &str, addresses: &str) {
    let csv = site.root.join(format!("{list}.csv"));
    std::fs::write(&csv, addresses).unwrap();
    let r = site.cli(&["members", "import", list, csv.to_str().unwrap()], WAIT);
    assert!(r.status.success(), "{}", r.stderr);
}

fn stop(mut daemon: maildir::Daemon) {
    daemon.term();
    assert!(
        daemon.wait(WAIT).is_some_and(|s| s.success()),
        "{}",
        daemon.tail(40)
    );
}

#[test]
fn the_confirmation_link_confirms_only_when_its_button_is_pressed() {
    let port = free_port();
    let site = site(port);
    let daemon = site.start();
    let gv = "gv@school.test";
    site.deliver(&registration(
        gv,
        "Cô Lan",
        &format!("dangky-THPT@{DOMAIN}"),
    ));
    let confirmation = answer(&site, &daemon, "confirm_subscribe", gv);
    let path = link(port, &confirmation, "/c/").expect("a confirmation link");
    // The code of the subject and Reply-To is the one in the link: Reply still works.
    assert_eq!(path, format!("/c/{}", token_in(&confirmation).unwrap()));

    // Opening the link (a person, a scanner, a preview) changes nothing.
    let (code, body) = http(port, "GET", &path);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("Trường THPT") && body.contains("<button"),
        "{body}"
    );
    assert!(body.contains("<html lang=\"vi\">"), "{body}");
    assert_eq!(status(&site, "thpt", gv), "pending");
    assert_eq!(queued(&site, "welcome", gv), 0);

    // The button confirms, as a reply would: the same audit, then the welcome.
    let (code, body) = http(port, "POST", &path);
    assert_eq!(code, 200, "{body}");
    assert_eq!(status(&site, "thpt", gv), "confirmed");
    assert_eq!(queued(&site, "welcome", gv), 1);
    let by_link = audit(&site, gv).pop().unwrap();
    assert_eq!(
        by_link,
        [
            "subscribe",
            "pending",
            "confirmed",
            "web:confirm",
            "confirmed through the confirmation link"
        ]
        .map(|s| Some(s.to_string()))
    );
    // Another teacher confirms by Reply: the audit line differs only in who and how.
    let other = "gv2@school.test";
    site.deliver(&registration(
        other,
        "Thầy Nam",
        &format!("dangky-THPT@{DOMAIN}"),
    ));
    let token = token_in(&answer(&site, &daemon, "confirm_subscribe", other)).unwrap();
    site.deliver(&reply(other, "Thầy Nam", &token));
    assert!(wait_until(WAIT, || status(&site, "thpt", other) == "confirmed"));
    let by_reply = audit(&site, other).pop().unwrap();
    assert_eq!(by_reply[..3], by_link[..3]);
    assert!(by_reply[3].as_deref().unwrap().starts_with("mail:"));

    // A used code, a mistyped code and garbage.
    let (code, body) = http(port, "POST", &path);
    assert_eq!(code, 410, "{body}");
    assert!(body.contains("đã được dùng"), "{body}");
    assert_eq!(http(port, "GET", &path).0, 410);
    assert_eq!(http(port, "GET", "/c/nt-aaaaaaaaaaaaaaaaaaaaaaaaaa").0, 404);
    assert_eq!(
        http(port, "POST", "/c/nt-aaaaaaaaaaaaaaaaaaaaaaaaaa").0,
        404
    );
    assert_eq!(http(port, "GET", "/c/garbage").0, 404);
    assert_eq!(queued(&site, "welcome", gv), 1);

    // The leave confirmation has its link too; pressing it leaves and says goodbye.
    site.deliver(
        format!(
            "From: {gv}\r\nTo: dangky-THPT@{DOMAIN}\r\nSubject: huy dang ky\r\nMessage-ID: <leave@school.test>\r\n\r\nhuy dang ky\r\n"
        )
        .as_bytes(),
    );
    let leaving = answer(&site, &daemon, "confirm_unsubscribe", gv);
    let path = link(port, &leaving, "/c/").expect("a leave confirmation link");
    let (code, body) = http(port, "GET", &path);
    assert_eq!(code, 200, "{body}");
    assert_eq!(status(&site, "thpt", gv), "confirmed");
    assert_eq!(http(port, "POST", &path).0, 200);
    assert_eq!(status(&site, "thpt", gv), "unsubscribed");
    assert_eq!(queued(&site, "goodbye", gv), 1);
    assert_eq!(
        audit(&site, gv).pop().unwrap()[..4],
        ["unsubscribe", "confirmed", "unsubscribed", "web:confirm"].map(|s| Some(s.to_string()))
    );
    stop(daemon);
}

#[test]
fn the_member_page_leaves_pauses_and_resumes() {
    let port = free_port();
    let site = site(port);
    let (a, b) = ("a@school.test", "b@school.test");
    import(&site, "thpt", &format!("{a}\n{b}\n"));
    import(&site, "thcs", &format!("{a}\n"));
    let daemon = site.start();
    site.deliver(&circular("p1", &format!("thpt@{DOMAIN}"), true));
    assert!(
        wait_until(WAIT, || copies(&site, 1).len() == 2),
        "{}",
        daemon.tail(40)
    );
    let (_, text) = copies(&site, 1)
        .into_iter()
        .find(|(to, _)| to == a)
        .unwrap();
    let page = link(port, &text, "/m/").expect("the member page in the footer");
    assert!(
        link(port, &text, "/u/").is_some(),
        "beside the one-click link"
    );

    // The page lists both lists and changes nothing.
    let before = audit(&site, a).len();
    let (code, body) = http(port, "GET", &page);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("Trường THPT") && body.contains("Trường THCS"),
        "{body}"
    );
    assert!(body.contains(&format!("{page}/thpt/pause")), "{body}");
    assert_eq!(audit(&site, a).len(), before);
    assert_eq!(status(&site, "thpt", a), "confirmed");

    // A forged code, or a's page with b's code, is 404 and does nothing.
    let (mine, _) = page.rsplit_once('/').unwrap();
    assert_eq!(
        http(port, "GET", &format!("{mine}/aaaaaaaaaaaaaaaa")).0,
        404
    );
    assert_eq!(
        http(port, "POST", &format!("{mine}/aaaaaaaaaaaaaaaa/thpt/leave")).0,
        404
    );
    let (_, b_text) = copies(&site, 1)
        .into_iter()
        .find(|(to, _)| to == b)
        .unwrap();
    let b_page = link(port, &b_text, "/m/").unwrap();
    let (_, b_code) = b_page.rsplit_once('/').unwrap();
    assert_eq!(
        http(port, "POST", &format!("{mine}/{b_code}/thpt/leave")).0,
        404
    );
    assert_eq!(status(&site, "thpt", a), "confirmed");
    // b is on no thcs: nothing to leave there, and no row is made.
    assert_eq!(http(port, "POST", &format!("{b_page}/thcs/leave")).0, 404);
    assert_eq!(
        site.sql_i64(
            "SELECT COUNT(*) FROM members WHERE list_id = 'thcs' AND address = 'b@school.test'"
        ),
        0
    );

    // Pause: the next post reaches b only.
    let (code, body) = http(port, "POST", &format!("{page}/thpt/pause"));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&format!("{page}/thpt/resume")), "{body}");
    assert_eq!(
        audit(&site, a).pop().unwrap()[..4],
        ["pause", "confirmed", "confirmed", "web:member"].map(|s| Some(s.to_string()))
    );
    site.deliver(&circular("p2", &format!("thpt@{DOMAIN}"), true));
    // Once the post is fanned out and every copy of it sent, only b's is there.
    let sent = || {
        site.sql_i64("SELECT COUNT(*) FROM posts WHERE id = 2 AND status = 'accepted'") == 1
            && site
                .sql_i64("SELECT COUNT(*) FROM deliveries WHERE post_id = 2 AND status <> 'sent'")
                == 0
    };
    assert!(wait_until(WAIT, sent), "{}", daemon.tail(40));
    let rcpts: Vec<String> = copies(&site, 2).into_iter().map(|(to, _)| to).collect();
    assert_eq!(rcpts, [b]);
    assert_eq!(
        site.sql_i64("SELECT COUNT(*) FROM deliveries WHERE post_id = 2"),
        1
    );

    // Resume: the next post reaches both.
    assert_eq!(http(port, "POST", &format!("{page}/thpt/resume")).0, 200);
    assert_eq!(audit(&site, a).pop().unwrap()[0].as_deref(), Some("resume"));
    site.deliver(&circular("p3", &format!("thpt@{DOMAIN}"), true));
    assert!(
        wait_until(WAIT, || copies(&site, 3).len() == 2),
        "{}",
        daemon.tail(40)
    );

    // Leave: through the one path of a proven leave, goodbye and all.
    let (code, body) = http(port, "POST", &format!("{page}/thpt/leave"));
    assert_eq!(code, 200, "{body}{}", daemon.tail(10));
    assert_eq!(status(&site, "thpt", a), "unsubscribed");
    assert_eq!(status(&site, "thcs", a), "confirmed");
    assert_eq!(status(&site, "thpt", b), "confirmed");
    assert_eq!(queued(&site, "goodbye", a), 1);
    assert_eq!(
        audit(&site, a).pop().unwrap()[..4],
        ["unsubscribe", "confirmed", "unsubscribed", "web:member"].map(|s| Some(s.to_string()))
    );
    stop(daemon);
}

#[test]
fn a_moderator_approves_a_held_post_from_its_page() {
    let port = free_port();
    let site = site(port);
    // A list with a moderator, appended to the site's lists.
    let mut toml = std::fs::read_to_string(&site.config).unwrap();
    toml.push_str(&format!(
        "\n[[list]]\nid = \"gopy\"\naddress = \"gopy@{DOMAIN}\"\nname = \"Góp ý dự thảo\"\n\
         registration = [\"dangky-gopy@{DOMAIN}\"]\nkind = \"announce\"\n\
         posters = [\"vanthu@{DOMAIN}\"]\nmoderators = [\"kiemduyet@{DOMAIN}\"]\n"
    ));
    std::fs::write(&site.config, toml).unwrap();
    let c = "c@school.test";
    import(&site, "gopy", &format!("{c}\n"));
    let daemon = site.start();

    // Without the receiving server's verdict the post is held for the moderator.
    site.deliver(&circular("held1", &format!("gopy@{DOMAIN}"), false));
    let moderator = format!("kiemduyet@{DOMAIN}");
    let notice = answer(&site, &daemon, "moderate", &moderator);
    let path = link(port, &notice, "/mod/").expect("the moderation link");
    assert!(token_in(&notice).is_some(), "Reply still works");
    let post_id = one(&site, "SELECT id FROM posts").unwrap();
    assert!(path.starts_with(&format!("/mod/{post_id}/")), "{path}");

    let (code, body) = http(port, "GET", &path);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("Cong van held1") && body.contains(&format!("vanthu@{DOMAIN}")),
        "{body}"
    );
    assert!(body.contains(&format!("{path}/approve")) && body.contains(&format!("{path}/reject")));
    assert_eq!(
        one(&site, "SELECT status FROM posts").as_deref(),
        Some("held")
    );

    // A forged code, or the link of another post, is 404 and decides nothing.
    let (mine, _) = path.rsplit_once('/').unwrap();
    assert_eq!(
        http(port, "POST", &format!("{mine}/aaaaaaaaaaaaaaaa/approve")).0,
        404
    );
    let other = path.replacen(&format!("/mod/{post_id}/"), "/mod/999/", 1);
    assert_eq!(http(port, "POST", &format!("{other}/reject")).0, 404);
    assert_eq!(
        one(&site, "SELECT status FROM posts").as_deref(),
        Some("held")
    );

    // Approve: decided as a moderator's reply decides, and sent.
    let (code, body) = http(port, "POST", &format!("{path}/approve"));
    assert_eq!(code, 200, "{body}");
    let decided = site.sql("SELECT status, decided_by FROM posts");
    assert_eq!(
        decided[0],
        [
            Some("accepted".to_string()),
            Some(format!("moderator:{moderator}"))
        ]
    );
    let post_id: i64 = post_id.parse().unwrap();
    assert!(
        wait_until(WAIT, || copies(&site, post_id).len() == 1),
        "{}",
        daemon.tail(40)
    );
    assert_eq!(copies(&site, post_id)[0].0, c);
    // Pressing again decides nothing more.
    let (code, body) = http(port, "POST", &format!("{path}/reject"));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        one(&site, "SELECT status FROM posts").as_deref(),
        Some("accepted")
    );
    stop(daemon);
}
