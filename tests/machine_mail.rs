//! Machine-made mail and abuse on real servers. Postfix itself bounces the copies sent to
//! `gone.test` (5.1.1) and warns, then gives up, on `slow.test` (4.2.1, after 10 s); the
//! reports come back to the VERP return paths in the no-reply Dovecot inbox, which
//! `nhomthu run --once` reads over IMAP. And an open registration address, mailed by a
//! flood, a forger, an auto-responder and the system's own mail, answers only people.

#[path = "common/stack.rs"]
mod stack;

use stack::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A site with a registration inbox, the no-reply inbox and one announce list whose alias
/// is read too, sending through Postfix.
fn site(dir: &Path, p: &People) -> PathBuf {
    let alias = format!("thpt-{}@moet.test", p.run);
    let text = format!(
        "[site]\ndomain = \"moet.test\"\nname = \"Bộ GD&ĐT\"\nnoreply = \"{noreply}\"\ndatabase = \"sqlite://{db}\"\ntemplates = \"{templates}\"\nauthserv_ids = [\"mx.moet.test\"]\n\n\
         [limits]\nanswers_per_address_per_day = 3\n\n\
         [bounces]\nthreshold = 1.0\nsoft_weight = 0.5\n\n\
         [delivery]\ntransport = \"smtp\"\nretry_seconds = 1\n\n[[delivery.relay]]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\n{}{}{}\
         [[list]]\nid = \"thpt\"\naddress = \"{alias}\"\nname = \"Trường THPT\"\nregistration = [\"{registration}\"]\nposters = [\"{clerk}\"]\n",
        imap_mailbox("dangky", &p.registration()),
        imap_mailbox("norply", &p.noreply()),
        imap_mailbox("alias", &alias),
        noreply = p.noreply(),
        registration = p.registration(),
        clerk = clerk(p),
        db = dir.join("nhomthu.db").display(),
        templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        smtp = smtp_port(),
    );
    let path = dir.join("lists.toml");
    std::fs::write(&path, text + &dns_table()).unwrap();
    path
}

fn clerk(p: &People) -> String {
    format!("vanthu-{}@moet.test", p.run)
}

fn member(config: &Path, address: &str) -> serde_json::Value {
    serde_json::from_str(&nhomthu(
        config,
        &["members", "show", "thpt", address, "--json"],
    ))
    .unwrap()
}

fn effects(config: &Path, address: &str) -> Vec<String> {
    member(config, address)["bounces"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["effect"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn postfix_bounces_disable_a_dead_address_and_a_delay_counts_for_nothing() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("bnc");
    let config = site(dir.path(), &p);
    let good = p.teacher();
    let gone = format!("thay-{}@gone.test", p.run);
    let slow = format!("co-{}@slow.test", p.run);
    for m in [&good, &gone, &slow] {
        nhomthu(&config, &["members", "add", "thpt", m]);
    }
    let alias = format!("thpt-{}@moet.test", p.run);
    send(
        &clerk(&p),
        &alias,
        &format!(
            "Authentication-Results: mx.moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n\
From: {}\nTo: {alias}\nSubject: Cong van 7\nMessage-ID: <cv7-{}@moet.test>\n\nKinh gui cac truong.\n",
            clerk(&p),
            p.run
        ),
    );
    wait_delivered(&alias, 1);
    nhomthu(&config, &["run", "--once"]);
    wait_delivered(&good, 1);

    // Postfix's own reports reach the no-reply inbox through the VERP return paths.
    let norply = p.noreply();
    let hard = wait_for(&norply, "bounce", |m| {
        m.contains("Undelivered Mail Returned") && m.contains(&gone)
    });
    assert!(hard.contains(&format!("{}+b", norply.split('@').next().unwrap())));
    wait_for(&norply, "delay warning", |m| {
        m.contains("Delayed Mail") && m.contains(&slow)
    });
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(member(&config, &gone)["member"]["status"], "disabled");
    let gone_effects = effects(&config, &gone);
    assert!(gone_effects[0].starts_with("disabled"), "{gone_effects:?}");
    assert_eq!(member(&config, &slow)["member"]["status"], "confirmed");
    let slow_effects = effects(&config, &slow);
    assert!(slow_effects[0].contains("delay"), "{slow_effects:?}");
    assert_eq!(member(&config, &good)["member"]["status"], "confirmed");

    // The notice to the dead address bounces in turn, and Postfix gives up on slow.test
    // after 10 s: the first touches nothing, the second is a soft bounce (0.5 < 1).
    wait_for(&norply, "expiry bounce", |m| {
        m.contains("Undelivered Mail Returned") && m.contains(&slow)
    });
    wait_for(&norply, "bounce of the notice", |m| {
        m.contains("Undelivered Mail Returned") && m.contains(&gone)
    });
    nhomthu(&config, &["run", "--once"]);
    let gone_effects = effects(&config, &gone);
    assert_eq!(gone_effects.len(), 2, "{gone_effects:?}");
    assert!(gone_effects[1].contains("own answer"), "{gone_effects:?}");
    let slow_effects = effects(&config, &slow);
    assert_eq!(slow_effects.len(), 2, "{slow_effects:?}");
    assert_eq!(slow_effects[1], "scored 0.50");
    assert_eq!(member(&config, &slow)["member"]["status"], "confirmed");
    // The bounced notice left the member as the first bounce did: disabled, no more.
    let history = member(&config, &gone)["history"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(history.last().unwrap()["action"], "disable");
}

/// `reject.test` is refused by Postfix at RCPT TO (550 5.1.1): the copy is not accepted,
/// so no report will ever come back. The refusal is scored at once, as a bounce of that
/// member would be, and at the threshold (1.0 here) the member is disabled with the
/// server's reply in the audit line.
#[test]
fn a_member_refused_at_rcpt_is_scored_and_disabled_with_the_servers_reply() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("rfs");
    let config = site(dir.path(), &p);
    let good = p.teacher();
    let refused = format!("thay-{}@reject.test", p.run);
    for m in [&good, &refused] {
        nhomthu(&config, &["members", "add", "thpt", m]);
    }
    let alias = format!("thpt-{}@moet.test", p.run);
    send(
        &clerk(&p),
        &alias,
        &format!(
            "Authentication-Results: mx.moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n\
From: {}\nTo: {alias}\nSubject: Cong van 8\nMessage-ID: <cv8-{}@moet.test>\n\nKinh gui cac truong.\n",
            clerk(&p),
            p.run
        ),
    );
    wait_delivered(&alias, 1);
    nhomthu(&config, &["run", "--once"]);
    wait_delivered(&good, 1);

    let post: serde_json::Value =
        serde_json::from_str(&nhomthu(&config, &["posts", "show", "1", "--json"])).unwrap();
    assert_eq!(post["sent"], 1, "{post}");
    assert_eq!(post["failed"], 1, "{post}");
    let shown = member(&config, &refused);
    assert_eq!(shown["member"]["status"], "disabled", "{shown}");
    let bounces = shown["bounces"].as_array().unwrap();
    assert_eq!(bounces.len(), 1, "{shown}");
    let b = &bounces[0];
    assert_eq!(b["kind"], "refused", "{b}");
    assert!(b["inbound_id"].is_null(), "{b}");
    assert_eq!(b["status"], "5.1.1", "{b}");
    assert_eq!(b["permanent"], true, "{b}");
    assert!(
        b["diagnostic"].as_str().unwrap().starts_with("550 5.1.1"),
        "{b}"
    );
    assert!(b["effect"].as_str().unwrap().starts_with("disabled"), "{b}");
    let history = shown["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["action"], "disable", "{shown}");
    let reason = last["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("refused by the receiving server: 550 5.1.1"),
        "{reason}"
    );
    assert!(reason.contains("reached the threshold 1"), "{reason}");
    // The member who got the copy is untouched.
    assert_eq!(member(&config, &good)["member"]["status"], "confirmed");
    assert!(effects(&config, &good).is_empty());
}

#[test]
fn an_open_registration_address_answers_only_people() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("abuse");
    let config = site(dir.path(), &p);
    let reg = p.registration();
    let flooder = p.teacher();
    let victim = format!("nannhan-{}@school.test", p.run);
    let honest = format!("thatthu-{}@school.test", p.run);
    let away = format!("vangmat-{}@school.test", p.run);
    // Plus-addressed, so it lands in the shared postmaster@school.test inbox.
    let daemon = format!("postmaster+{}@school.test", p.run);

    // A flood: six requests from one address; the cap is three answers a day.
    for i in 0..6 {
        send(
            &flooder,
            &reg,
            &format!("From: {flooder}\nTo: {reg}\nSubject: dang ky {i}\n\nx\n"),
        );
    }
    // A forger aims a confirmation at a victim; the receiving server saw through it.
    send(
        "spam@spam.test",
        &reg,
        &format!(
            "Authentication-Results: mx.moet.test; spf=fail smtp.mailfrom=spam.test; dmarc=fail header.from=school.test\n\
From: {victim}\nTo: {reg}\nSubject: dang ky\n\nx\n"
        ),
    );
    // An out-of-office reply, a mailer-daemon's unrecognised notice, and the system's
    // own mail coming back.
    send(
        &away,
        &reg,
        &format!(
            "From: {away}\nTo: {reg}\nSubject: =?utf-8?q?Tr=E1=BA=A3_l=E1=BB=9Di_t=E1=BB=B1_=C4=91=E1=BB=99ng?=\nAuto-Submitted: auto-replied\n\nToi dang nghi phep.\n"
        ),
    );
    send(
        &daemon,
        &reg,
        &format!("From: {daemon}\nTo: {reg}\nSubject: Returned mail\n\nSomething went wrong.\n"),
    );
    send(
        &p.noreply(),
        &reg,
        &format!(
            "From: Norply <{}>\nTo: {reg}\nSubject: Xac nhan\nAuto-Submitted: auto-replied\nX-Nhomthu-Loop: moet.test\n\nBam Tra loi.\n",
            p.noreply()
        ),
    );
    // And one honest teacher.
    send(
        &honest,
        &reg,
        &format!("From: {honest}\nTo: {reg}\nSubject: dang ky\n\nx\n"),
    );
    wait_delivered(&reg, 11);
    nhomthu(&config, &["run", "--once"]);

    let confirmation = wait_for(&honest, "confirmation", |m| m.contains("nt-"));
    wait_delivered(&flooder, 3);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(mailbox(&flooder).len(), 3, "the cap holds");
    for nobody in [&victim, &away, &p.noreply()] {
        assert!(mailbox(nobody).is_empty(), "{nobody} was sent nothing");
    }
    let to_daemon = mailbox("postmaster@school.test")
        .into_iter()
        .filter(|m| String::from_utf8_lossy(m).contains(&p.run))
        .count();
    assert_eq!(to_daemon, 0, "the mailer-daemon was sent nothing");
    assert!(
        member(&config, &victim)["member"].is_null(),
        "no row for the victim"
    );

    // The out-of-office answers the confirmation, token and all: it confirms nothing.
    let token = token(&confirmation);
    let norply_token = format!(
        "{}+{token}@moet.test",
        p.noreply().split('@').next().unwrap()
    );
    send(
        &honest,
        &norply_token,
        &format!(
            "From: {honest}\nTo: {norply_token}\nSubject: Automatic reply: Xac nhan [{token}]\nAuto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n\nI am away.\n"
        ),
    );
    wait_delivered(&p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(member(&config, &honest)["member"]["status"], "pending");
    // The person's own reply does.
    send(
        &honest,
        &norply_token,
        &format!("From: {honest}\nTo: {norply_token}\nSubject: Re: Xac nhan [{token}]\n\nok\n"),
    );
    wait_delivered(&p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(member(&config, &honest)["member"]["status"], "confirmed");
}
