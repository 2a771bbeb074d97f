//! The registration loop as people live it, on real servers: Postfix on 127.0.0.1:2525
//! and Dovecot on 1143 (STARTTLS) and 1993 (implicit TLS), started by `scripts/mailstack`.
//! A teacher's mail goes through Postfix into the registration mailbox; `nhomthu run
//! --once` reads it over IMAP and answers through Postfix; the confirmation lands in the
//! teacher's own Dovecot mailbox; the teacher replies through Postfix; the next run makes
//! them a member, with an audit row and a welcome mail.

#[path = "common/stack.rs"]
mod stack;

use stack::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use unicode_normalization::UnicodeNormalization;

/// A site whose registration inbox is read over STARTTLS and whose no-reply inbox over
/// implicit TLS, answering through Postfix.
fn site(dir: &Path, p: &People, extra: &str) -> PathBuf {
    site_reading_at(dir, p, extra, port("MAILSTACK_IMAP_PORT", 1143))
}

/// The same site, its registration inbox read over STARTTLS at `imap_port`.
fn site_reading_at(dir: &Path, p: &People, extra: &str, imap_port: u16) -> PathBuf {
    let ca = stack_dir().join("tls/ca.pem");
    let imaps_port = port("MAILSTACK_IMAPS_PORT", 1993);
    let text = format!(
        r#"
[site]
domain = "moet.test"
name = "Bộ Giáo dục và Đào tạo"
noreply = "{noreply}"
database = "sqlite://{db}"
templates = "{templates}"

[delivery]
transport = "smtp"
retry_seconds = 1

[[delivery.relay]]
host = "127.0.0.1"
port = {smtp}
tls = "none"

[[mailbox]]
name = "dangky"
addresses = ["{registration}"]
[mailbox.imap]
host = "127.0.0.1"
port = {imap_port}
tls = "starttls"
user = "{registration}"
password_env = "{PASSWORD_ENV}"
ca_file = "{ca}"
poll_seconds = 600

[[mailbox]]
name = "norply"
addresses = ["{noreply}"]
[mailbox.imap]
host = "127.0.0.1"
port = {imaps_port}
tls = "implicit"
user = "{noreply}"
password_env = "{PASSWORD_ENV}"
ca_file = "{ca}"
poll_seconds = 600

[[list]]
id = "thpt"
address = "thpt-{run}@moet.test"
name = "Trường THPT"
audience = "Các trường trung học phổ thông"
registration = ["{registration}"]
{extra}
"#,
        noreply = p.noreply(),
        registration = p.registration(),
        run = p.run,
        db = dir.join("nhomthu.db").display(),
        templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        smtp = smtp_port(),
        ca = ca.display(),
    );
    let path = dir.join("lists.toml");
    std::fs::write(&path, text + &dns_table()).unwrap();
    path
}

fn member_status(config: &Path, address: &str) -> Option<String> {
    nhomthu(config, &["members", "list", "thpt", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|m| m["address"] == address)
        .map(|m| m["status"].as_str().unwrap().to_string())
}

/// The teacher registers and receives the confirmation: returns it.
fn register(config: &Path, p: &People) -> String {
    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: Trần Văn Minh <{teacher}>\nTo: {reg}\nSubject: đăng ký\nMessage-ID: <reg-{run}@school.test>\nContent-Type: text/plain; charset=utf-8\n\nXin đăng ký nhận văn bản.\n",
            teacher = p.teacher(),
            reg = p.registration(),
            run = p.run,
        ),
    );
    wait_delivered(&p.registration(), 1);
    nhomthu(config, &["run", "--once"]);
    assert_eq!(
        member_status(config, &p.teacher()).as_deref(),
        Some("pending")
    );
    wait_for(&p.teacher(), "confirmation", |m| m.contains("nt-"))
}

#[test]
fn teacher_registers_replies_and_becomes_a_member() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("reply");
    let config = site(dir.path(), &p, "");

    let confirmation = register(&config, &p);
    let token = token(&confirmation);
    assert!(header(&confirmation, "From").contains(&p.noreply()));
    assert_eq!(header(&confirmation, "Auto-Submitted"), "auto-replied");
    assert!(header(&confirmation, "Reply-To").contains(&format!("+{token}@")));
    assert!(header(&confirmation, "In-Reply-To").contains(&format!("reg-{}", p.run)));
    assert!(subject(&confirmation).starts_with("Xác nhận đăng ký nhóm thư Trường THPT"));
    assert!(subject(&confirmation).contains(&token));

    // A plain Reply: to the Reply-To address, "Re:" subject, In-Reply-To kept, body quoted.
    let reply_to = header(&confirmation, "Reply-To");
    let reply_to = reply_to.trim_matches(|c| c == '<' || c == '>');
    send(
        &p.teacher(),
        reply_to,
        &format!(
            "From: Trần Văn Minh <{teacher}>\nTo: {reply_to}\nSubject: Re: {subject}\nIn-Reply-To: {mid}\nReferences: {mid}\nContent-Type: text/plain; charset=utf-8\n\nĐồng ý.\n\n> Mã xác nhận: {token}\n",
            teacher = p.teacher(),
            subject = subject(&confirmation),
            mid = header(&confirmation, "Message-ID"),
        ),
    );
    wait_delivered(&p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);

    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("confirmed")
    );
    let audit: Vec<serde_json::Value> =
        nhomthu(&config, &["audit", "thpt", &p.teacher(), "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[1]["action"], "subscribe");
    assert_eq!(audit[1]["old_status"], "pending");
    assert_eq!(audit[1]["new_status"], "confirmed");
    assert!(audit[1]["actor"].as_str().unwrap().starts_with("mail:"));
    let welcome = wait_for(&p.teacher(), "welcome mail", |m| {
        subject(m).starts_with("Chào mừng")
    });
    assert!(!welcome.contains(&token), "a welcome carries no token");

    // Processed mail left the inboxes for the Processed folder.
    assert!(mailbox(&p.registration()).is_empty());
    assert!(mailbox(&p.noreply()).is_empty());

    // Replying again (a second press of Send) changes nothing and sends nothing new.
    let before = mailbox(&p.teacher()).len();
    send(
        &p.teacher(),
        &p.noreply(),
        &format!(
            "From: {teacher}\nTo: {noreply}\nSubject: Re: [{token}]\n\nok\n",
            teacher = p.teacher(),
            noreply = p.noreply()
        ),
    );
    wait_delivered(&p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(
        nhomthu(&config, &["audit", "thpt", &p.teacher()])
            .lines()
            .count(),
        2
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mailbox(&p.teacher()).len(), before);
}

#[test]
fn a_reply_to_the_registration_address_without_threading_confirms() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("tl");
    let config = site(dir.path(), &p, "");

    let confirmation = register(&config, &p);
    let token = token(&confirmation);
    // Vietnamese Outlook: "TL:" prefix, no In-Reply-To, sent to the registration address.
    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: TL: {subject}\nContent-Type: text/plain; charset=utf-8\n\nxác nhận\n",
            teacher = p.teacher(),
            reg = p.registration(),
            subject = subject(&confirmation),
        ),
    );
    wait_delivered(&p.registration(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("confirmed")
    );
    assert!(token.starts_with("nt-"));
}

#[test]
fn a_member_leaves_by_writing_huy_dang_ky_and_replying() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("leave");
    let config = site(dir.path(), &p, "");
    nhomthu(&config, &["members", "add", "thpt", &p.teacher()]);
    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("confirmed")
    );

    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: =?utf-8?B?{subject}?=\n\n\n",
            teacher = p.teacher(),
            reg = p.registration(),
            // "Hủy đăng ký" decomposed (NFD), as some phones write it.
            subject =
                data_encoding::BASE64.encode("Hủy đăng ký".nfd().collect::<String>().as_bytes()),
        ),
    );
    wait_delivered(&p.registration(), 1);
    nhomthu(&config, &["run", "--once"]);
    let request = wait_for(&p.teacher(), "leave confirmation", |m| {
        subject(m).starts_with("Xác nhận rời nhóm thư")
    });
    // Still a member until the reply: a forged From cannot remove anyone.
    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("confirmed")
    );

    let reply_to = header(&request, "Reply-To");
    send(
        &p.teacher(),
        reply_to.trim_matches(|c| c == '<' || c == '>'),
        &format!(
            "From: {teacher}\nTo: {reply_to}\nSubject: RE: {subject}\nIn-Reply-To: {mid}\n\n\n",
            teacher = p.teacher(),
            subject = subject(&request),
            mid = header(&request, "Message-ID"),
        ),
    );
    wait_delivered(&p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("unsubscribed")
    );
    wait_for(&p.teacher(), "goodbye", |m| {
        subject(m).starts_with("Thầy/cô đã rời")
    });
}

#[test]
fn oversized_mail_is_quarantined_on_the_server_and_the_rest_goes_on() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("poison");
    let config = site(dir.path(), &p, "[limits]\nmax_message_bytes = 4000\n");

    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: a large attachment\n\n{body}\n",
            teacher = p.teacher(),
            reg = p.registration(),
            body = "x".repeat(76).repeat(80).as_str(),
        ),
    );
    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: hello\n\nplease add me\n",
            teacher = p.teacher(),
            reg = p.registration()
        ),
    );
    wait_delivered(&p.registration(), 2);
    nhomthu(&config, &["run", "--once"]);

    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("pending")
    );
    assert!(
        mailbox(&p.registration()).is_empty(),
        "the inbox is not blocked"
    );
    let quarantine = nhomthu(&config, &["quarantine", "--json"]);
    let rows: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{quarantine}");
    assert!(rows[0]["reason"].as_str().unwrap().contains("exceeds"));
    // On the server, the message sits in the Quarantine folder.
    let folder = stack_dir().join(format!(
        "mail/moet.test/dangky-thpt-{}/Maildir/.Quarantine",
        p.run
    ));
    let files = ["new", "cur"]
        .iter()
        .filter_map(|d| std::fs::read_dir(folder.join(d)).ok())
        .flatten()
        .count();
    assert_eq!(files, 1, "one message in {}", folder.display());
}

#[test]
fn the_daemon_wakes_on_idle_and_stops_on_sigterm() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("idle");
    let config = site(dir.path(), &p, "");
    let log_path = dir.path().join("daemon.log");
    let mut daemon = Daemon::start(&config, &log_path);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + WAIT;
    while log().matches("imap connected").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "daemon did not connect:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Polling is every 600 s: only IDLE can make the answer arrive within the wait.
    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: đăng ký\n\n\n",
            teacher = p.teacher(),
            reg = p.registration()
        ),
    );
    let confirmation = wait_for(&p.teacher(), "confirmation", |m| m.contains("nt-"));
    let token = token(&confirmation);
    send(
        &p.teacher(),
        &p.noreply(),
        &format!(
            "From: {teacher}\nTo: {noreply}\nSubject: Re: [{token}]\n\n\n",
            teacher = p.teacher(),
            noreply = p.noreply()
        ),
    );
    wait_for(&p.teacher(), "welcome mail", |m| {
        subject(m).starts_with("Chào mừng")
    });

    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "daemon ignored SIGTERM:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "daemon exit {status}:\n{}", log());
    assert!(log().contains("all tasks finished"));
    assert_eq!(
        member_status(&config, &p.teacher()).as_deref(),
        Some("confirmed")
    );
}

#[test]
fn the_daemon_reconnects_after_losing_its_imap_server() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("outage");
    let outage = Outage::start(port("MAILSTACK_IMAP_PORT", 1143));
    let config = site_reading_at(dir.path(), &p, "", outage.port);
    let log_path = dir.path().join("daemon.log");
    let _daemon = Daemon::start(&config, &log_path);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let until = |what: &str, done: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + WAIT;
        while !done(&log()) {
            assert!(Instant::now() < deadline, "{what}:\n{}", log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    until("daemon did not connect", &|l| {
        l.matches("imap connected").count() >= 2
    });

    outage.cut();
    until("the outage went unnoticed", &|l| {
        l.contains("mailbox error")
    });
    send(
        &p.teacher(),
        &p.registration(),
        &format!(
            "From: {teacher}\nTo: {reg}\nSubject: đăng ký\n\n\n",
            teacher = p.teacher(),
            reg = p.registration()
        ),
    );
    wait_delivered(&p.registration(), 1);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        mailbox(&p.teacher()).is_empty(),
        "nothing can be read during the outage"
    );

    outage.restore();
    wait_for(&p.teacher(), "confirmation after reconnecting", |m| {
        m.contains("nt-")
    });
    assert!(log().matches("imap connected").count() >= 3, "{}", log());
}
