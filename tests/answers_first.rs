//! The system's answers never wait behind a circular, checked on the real binary with a
//! Maildir, a SQLite file and Postfix's `smtp-sink` on loopback as the relay, which
//! appends every transaction it receives to one dump file in the order it receives them:
//!
//! - a registration that arrives while a paced fan-out is under way is confirmed (the
//!   confirmation reaches the SMTP server) before the fan-out's last copy;
//! - posts may not use the answers' share of a relay's daily quota, answers count
//!   against it, and a registration is still confirmed once posts have spent theirs.
//!
//! Every wait is bounded and every child is killed on every failure path.

#[path = "common/maildir.rs"]
mod maildir;
#[path = "common/smtp_sink.rs"]
mod smtp_sink;

use maildir::{DOMAIN, Options, Site, registration, wait_until};
use smtp_sink::{Got, SmtpSink};
use std::time::Duration;

/// Longest wait for the daemon or the sink to make progress.
const WAIT: Duration = Duration::from_secs(120);
/// Longest `run --once` or `members import`.
const ONCE: Duration = Duration::from_secs(180);
/// The relay's name in lists.toml.
const RELAY: &str = "sink";

/// A site sending through the sink, with `relay` lines added to its relay.
fn site(sink: &SmtpSink, relay: &str, delivery: &str) -> Site {
    Site::new(Options {
        delivery: Some(format!(
            "transport = \"smtp\"\nretry_seconds = 60\n{delivery}\n\n[[delivery.relay]]\n\
             name = \"{RELAY}\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n{relay}\n",
            port = sink.port
        )),
        ..Options::default()
    })
}

/// `n` members of thpt, imported.
fn members(site: &Site, n: usize) -> Vec<String> {
    let members: Vec<String> = (0..n).map(|i| format!("gv{i:06}@school.test")).collect();
    let csv = site.root.join("members.csv");
    std::fs::write(&csv, members.join("\n")).unwrap();
    let run = site.cli(&["members", "import", "thpt", csv.to_str().unwrap()], ONCE);
    assert!(run.status.success(), "import: {}", run.stderr);
    members
}

fn circular(site: &Site) {
    site.deliver(
        format!(
            "Authentication-Results: mx.{DOMAIN}; dkim=pass header.d={DOMAIN}; dmarc=pass header.from={DOMAIN}\r\n\
             From: vanthu@{DOMAIN}\r\nTo: thpt@{DOMAIN}\r\nSubject: circular\r\nMessage-ID: <cv@{DOMAIN}>\r\n\r\nbody\r\n"
        )
        .as_bytes(),
    );
}

#[test]
fn a_registration_during_a_paced_fan_out_is_confirmed_before_it_ends() {
    let sink = SmtpSink::start();
    // One connection at 50 messages/s: posts get 45/s of it, 1,200 copies last ~27 s.
    let n = 1200;
    let site = site(&sink, "connections = 1\nrate_per_second = 50", "");
    let members = members(&site, n);
    circular(&site);
    let mut daemon = site.start();
    let started = wait_until(WAIT, || {
        assert!(daemon.exited().is_none(), "exited:\n{}", daemon.tail(40));
        sink.posts() >= 20
    });
    assert!(started, "the fan-out did not start:\n{}", daemon.tail(40));

    let teacher = "gvmoi@school.test".to_string();
    site.deliver(&registration(&teacher, "Cô Lan", "dangky-THPT@moet.test"));
    let when = sink.posts();
    assert!(
        when < n,
        "the fan-out ended before the registration arrived"
    );
    let confirmed = wait_until(WAIT, || {
        assert!(daemon.exited().is_none(), "exited:\n{}", daemon.tail(40));
        sink.received().contains(&Got::Answer(teacher.clone()))
    });
    assert!(confirmed, "no confirmation:\n{}", daemon.tail(40));
    let done = wait_until(WAIT, || sink.posts() >= n);
    assert!(done, "the fan-out did not finish:\n{}", daemon.tail(40));
    daemon.kill9();

    let got = sink.received();
    let at = got
        .iter()
        .position(|g| *g == Got::Answer(teacher.clone()))
        .unwrap();
    let before = got[..at]
        .iter()
        .filter(|g| matches!(g, Got::Post(_)))
        .count();
    eprintln!("registration read after {when} copies; confirmed after {before} of {n}");
    assert!(
        before < n,
        "the confirmation waited for the whole fan-out ({before} copies before it)"
    );
    assert!(
        before >= when,
        "the confirmation came before its registration"
    );
    // The answer took one slot beside the posts: every member still got one copy.
    let mut copies: Vec<String> = got
        .iter()
        .filter_map(|g| match g {
            Got::Post(r) => Some(r.clone()),
            Got::Answer(_) => None,
        })
        .collect();
    copies.sort();
    assert_eq!(copies, members, "one copy per member");
    assert_eq!(
        site.sql_i64(&format!(
            "SELECT COUNT(*) FROM outbound WHERE rcpt = '{teacher}' AND kind = 'confirm_subscribe' \
             AND status = 'sent' AND relay = '{RELAY}'"
        )),
        1,
        "the confirmation is recorded sent through the relay"
    );
}

#[test]
fn answers_keep_their_share_of_the_daily_quota() {
    let sink = SmtpSink::start();
    // A quota of 20 a day, a quarter of it kept for answers: posts may send 15.
    let site = site(&sink, "daily_quota = 20", "answers_share = 0.25");
    members(&site, 30);
    let early: Vec<String> = (0..5).map(|i| format!("som{i}@school.test")).collect();
    for t in &early {
        site.deliver(&registration(t, "Thầy", "dangky-THPT@moet.test"));
    }
    site.run_once(ONCE);
    assert_eq!(sink.received().len(), 5, "{:?}", sink.received());

    // Five answers used five of the fifteen: posts may send ten more today.
    circular(&site);
    site.run_once(ONCE);
    assert_eq!(
        sink.posts(),
        10,
        "posts stop at their share less the answers sent"
    );
    assert_eq!(
        site.sql_i64("SELECT COUNT(*) FROM deliveries WHERE status = 'deferred'"),
        20
    );

    // The quota left is the answers': a registration now is still confirmed, and a
    // further pass sends no post.
    let late = "muon@school.test".to_string();
    site.deliver(&registration(&late, "Cô", "dangky-THPT@moet.test"));
    site.run_once(ONCE);
    let got = sink.received();
    assert_eq!(got.last(), Some(&Got::Answer(late.clone())), "{got:?}");
    assert_eq!(sink.posts(), 10, "no post beyond the posts' share");
    assert_eq!(
        site.sql_i64(&format!(
            "SELECT COUNT(*) FROM outbound WHERE status = 'sent' AND relay = '{RELAY}'"
        )),
        6
    );
}
