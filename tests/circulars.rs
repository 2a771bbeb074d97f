//! Circulars on real servers: ministry staff send to the group aliases through Postfix,
//! `nhomthu run --once` reads the aliases' Dovecot mailboxes over IMAP and sends every
//! member's copy back through Postfix into their own Dovecot mailbox.

#[path = "common/stack.rs"]
mod stack;

use mail_parser::MessageParser;
use stack::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Ministry {
    p: People,
}

impl Ministry {
    fn alias(&self, list: &str) -> String {
        format!("{list}-{}@moet.test", self.p.run)
    }
    fn clerk(&self) -> String {
        format!("vanthu-{}@moet.test", self.p.run)
    }
    fn moderator(&self) -> String {
        format!("kiemduyet-{}@moet.test", self.p.run)
    }
    fn school(&self, name: &str) -> String {
        format!("{name}-{}@school.test", self.p.run)
    }
}

/// Two announce lists read over IMAP, answers and posts sent through Postfix at `smtp`.
fn site(dir: &Path, m: &Ministry, smtp: u16) -> PathBuf {
    site_in_mode(dir, m, smtp, "personalised", "")
}

/// The same site sending posts in `mode`, with `relay` lines added to its relay.
fn site_in_mode(dir: &Path, m: &Ministry, smtp: u16, mode: &str, relay: &str) -> PathBuf {
    let list = |id: &str| {
        format!(
            "[[list]]\nid = \"{id}\"\naddress = \"{}\"\nname = \"Trường {id}\"\nposters = [\"{}\"]\nmoderators = [\"{}\"]\nfooter = \"Nhóm thư {id} của Bộ GD&ĐT.\"\n",
            m.alias(id),
            m.clerk(),
            m.moderator()
        )
    };
    let text = format!(
        "[site]\ndomain = \"moet.test\"\nname = \"Bộ GD&ĐT\"\nnoreply = \"{noreply}\"\ndatabase = \"sqlite://{db}\"\ntemplates = \"{templates}\"\nauthserv_ids = [\"mx.moet.test\"]\n\n\
         [delivery]\ntransport = \"smtp\"\nretry_seconds = 1\nmode = \"{mode}\"\n\n[[delivery.relay]]\nname = \"postfix\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n{relay}\n\n{}{}{}{}{}",
        imap_mailbox("thpt", &m.alias("thpt")),
        imap_mailbox("thcs", &m.alias("thcs")),
        imap_mailbox("norply", &m.p.noreply()),
        list("thpt"),
        list("thcs"),
        noreply = m.p.noreply(),
        db = dir.join("nhomthu.db").display(),
        templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
    );
    let path = dir.join("lists.toml");
    std::fs::write(&path, text + &dns_table()).unwrap();
    path
}

/// A ~45 KB "PDF" that must arrive byte for byte.
fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut x: u32 = 7;
    while bytes.len() < 45_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    bytes
}

/// A circular from the clerk, with an attachment, as a receiving server that checked
/// its DKIM signature would hand it over (`authenticated`), or without that verdict.
fn circular(m: &Ministry, to: &[String], id: &str, authenticated: bool) -> String {
    let b64 = data_encoding::BASE64.encode(&pdf());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let auth = if authenticated {
        "Authentication-Results: mx.moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n"
    } else {
        ""
    };
    format!(
        "{auth}From: =?utf-8?b?{name}?= <{clerk}>\nTo: {to}\nSubject: =?utf-8?b?{subject}?=\nMessage-ID: <{id}@moet.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nKính gửi các trường.\n--b1\nContent-Type: application/pdf; name=\"cv123.pdf\"\nContent-Disposition: attachment; filename=\"cv123.pdf\"\nContent-Transfer-Encoding: base64\n\n{body}\n--b1--\n",
        name = data_encoding::BASE64.encode("Văn thư Bộ".as_bytes()),
        clerk = m.clerk(),
        to = to.join(", "),
        subject = data_encoding::BASE64.encode("Công văn số 123/BGDĐT-GDTrH".as_bytes()),
        body = lines.join("\n"),
    )
}

fn add(config: &Path, list: &str, address: &str) {
    nhomthu(config, &["members", "add", list, address]);
}

fn show(config: &Path, post: &str) -> serde_json::Value {
    serde_json::from_str(&nhomthu(config, &["posts", "show", post, "--json"])).unwrap()
}

/// The copies of the circular in a member's mailbox.
fn copies(address: &str) -> Vec<Vec<u8>> {
    mailbox(address)
        .into_iter()
        .filter(|raw| String::from_utf8_lossy(raw).contains("List-Id:"))
        .collect()
}

#[test]
fn an_authorised_circular_reaches_every_member_once_with_its_attachment() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("cv"),
    };
    let config = site(dir.path(), &m, smtp_port());
    let (a, b, c) = (m.school("a"), m.school("b"), m.school("c"));
    add(&config, "thpt", &a);
    add(&config, "thcs", &b);
    add(&config, "thpt", &c);
    add(&config, "thcs", &c);
    // Postfix refuses this domain with a 5xx: the failure is recorded for staff to see.
    add(&config, "thpt", "unit@nowhere.invalid");

    let to = [m.alias("thpt"), m.alias("thcs")];
    let raw = circular(&m, &to, &format!("cv123-{}", m.p.run), true);
    for alias in &to {
        send(&m.clerk(), alias, &raw);
    }
    wait_delivered(&m.alias("thpt"), 1);
    wait_delivered(&m.alias("thcs"), 1);
    nhomthu(&config, &["run", "--once"]);

    for member in [&a, &b, &c] {
        wait_delivered(member, 1);
    }
    std::thread::sleep(Duration::from_millis(500));
    for member in [&a, &b, &c] {
        let got = copies(member);
        assert_eq!(got.len(), 1, "{member} gets exactly one copy");
        let msg = MessageParser::default().parse(&got[0]).unwrap();
        assert_eq!(msg.subject(), Some("Công văn số 123/BGDĐT-GDTrH"));
        let list_id = msg.header_raw("List-Id").unwrap();
        assert!(list_id.contains(".moet.test>"), "{list_id}");
        assert!(
            msg.header_raw("List-Unsubscribe")
                .unwrap()
                .contains("mailto:")
        );
        assert_eq!(msg.header_raw("Precedence").map(str::trim), Some("list"));
        let attachment = msg.attachments().next().expect("the PDF");
        assert_eq!(attachment.contents(), pdf().as_slice(), "byte-identical");
        let footer = msg
            .text_bodies()
            .filter_map(|p| p.text_contents())
            .any(|t| t.contains("của Bộ GD&ĐT"));
        assert!(footer, "footer part present");
    }
    let post = show(&config, "1");
    assert_eq!(post["sent"], 3, "{post}");
    assert_eq!(post["failed"], 1, "{post}");
    let problem = &post["problems"][0];
    assert_eq!(problem["rcpt"], "unit@nowhere.invalid");
    assert!(
        problem["error"].as_str().unwrap().contains("5"),
        "the server's 5xx answer is kept: {problem}"
    );
    // The second alias's copy was recognised as the same circular.
    let posts = nhomthu(&config, &["posts", "list", "--json"]);
    assert_eq!(posts.lines().count(), 1, "{posts}");
}

#[test]
fn an_unauthenticated_circular_is_held_until_the_moderator_replies() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("held"),
    };
    let config = site(dir.path(), &m, smtp_port());
    let a = m.school("a");
    add(&config, "thpt", &a);

    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("spoof-{}", m.p.run), false),
    );
    wait_delivered(&to[0], 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(show(&config, "1")["post"]["status"], "held");
    let notice = wait_for(&m.moderator(), "moderation notice", |raw| {
        raw.contains("nt-")
    });
    assert!(copies(&a).is_empty(), "nothing reaches members while held");

    let reply_to = header(&notice, "Reply-To");
    let reply_to = reply_to.trim_matches(|c| c == '<' || c == '>');
    send(
        &m.moderator(),
        reply_to,
        &format!(
            "From: {}\nTo: {reply_to}\nSubject: Re: {}\nIn-Reply-To: {}\n\nĐồng ý.\n",
            m.moderator(),
            subject(&notice),
            header(&notice, "Message-ID"),
        ),
    );
    wait_delivered(&m.p.noreply(), 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(show(&config, "1")["post"]["status"], "accepted");
    wait_for(&a, "the approved circular", |raw| raw.contains("List-Id:"));
}

#[test]
fn a_relay_outage_defers_and_a_later_run_delivers() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("outage"),
    };
    let relay = Outage::start(smtp_port());
    let config = site(dir.path(), &m, relay.port);
    let a = m.school("a");
    add(&config, "thpt", &a);
    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("late-{}", m.p.run), true),
    );
    wait_delivered(&to[0], 1);

    relay.cut();
    nhomthu(&config, &["run", "--once"]);
    let post = show(&config, "1");
    assert_eq!(post["deferred"], 1, "{post}");
    assert_eq!(post["sent"], 0, "{post}");

    relay.restore();
    // The first retry comes due after retry_seconds × 2.
    std::thread::sleep(Duration::from_millis(2500));
    nhomthu(&config, &["run", "--once"]);
    let post = show(&config, "1");
    assert_eq!(post["sent"], 1, "{post}");
    wait_for(&a, "the circular after the outage", |raw| {
        raw.contains("List-Id:")
    });
}

#[test]
fn in_batch_mode_one_refused_recipient_does_not_fail_the_others() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("batch"),
    };
    let config = site_in_mode(dir.path(), &m, smtp_port(), "batch", "");
    let (a, c) = (m.school("a"), m.school("c"));
    add(&config, "thpt", &a);
    add(&config, "thpt", "unit@nowhere.invalid");
    add(&config, "thpt", &c);
    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("batch-{}", m.p.run), true),
    );
    wait_delivered(&to[0], 1);
    nhomthu(&config, &["run", "--once"]);
    let post = show(&config, "1");
    assert_eq!(post["sent"], 2, "{post}");
    assert_eq!(post["failed"], 1, "{post}");
    assert_eq!(post["problems"][0]["rcpt"], "unit@nowhere.invalid");
    for member in [&a, &c] {
        wait_for(member, "the batched circular", |raw| {
            raw.contains("List-Id:")
        });
    }
}

/// Postfix refuses `reject.test` (550) and `busy.test` (450) at RCPT TO: in one batch
/// transaction those two are recorded refused (failed, deferred) while the others get
/// the copy in that same transaction (one Postfix queue id for both).
#[test]
fn in_batch_mode_recipients_refused_at_rcpt_are_recorded_and_the_others_share_the_transaction() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("rcpt"),
    };
    let config = site_in_mode(dir.path(), &m, smtp_port(), "batch", "");
    let (a, c) = (m.school("a"), m.school("c"));
    let refused = format!("x-{}@reject.test", m.p.run);
    let busy = format!("y-{}@busy.test", m.p.run);
    for member in [&a, &refused, &busy, &c] {
        add(&config, "thpt", member);
    }
    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("rcpt-{}", m.p.run), true),
    );
    wait_delivered(&to[0], 1);
    nhomthu(&config, &["run", "--once"]);
    let post = show(&config, "1");
    assert_eq!(post["sent"], 2, "{post}");
    assert_eq!(post["failed"], 1, "{post}");
    assert_eq!(post["deferred"], 1, "{post}");
    let problems = post["problems"].as_array().unwrap();
    let problem = |rcpt: &str| {
        problems
            .iter()
            .find(|p| p["rcpt"] == rcpt)
            .unwrap_or_else(|| panic!("no problem for {rcpt}: {post}"))
    };
    assert!(
        problem(&refused)["error"]
            .as_str()
            .unwrap()
            .contains("550 5.1.1"),
        "{post}"
    );
    assert!(
        problem(&busy)["error"]
            .as_str()
            .unwrap()
            .contains("450 4.2.1"),
        "{post}"
    );
    // The refusal is scored as a bounce of that member; the deferral is not (yet).
    let shown: serde_json::Value = serde_json::from_str(&nhomthu(
        &config,
        &["members", "show", "thpt", &refused, "--json"],
    ))
    .unwrap();
    assert_eq!(shown["bounces"][0]["kind"], "refused", "{shown}");
    let shown: serde_json::Value = serde_json::from_str(&nhomthu(
        &config,
        &["members", "show", "thpt", &busy, "--json"],
    ))
    .unwrap();
    assert_eq!(shown["bounces"].as_array().unwrap().len(), 0, "{shown}");
    // Both copies came in the one transaction Postfix queued under one id.
    let queue_id = |member: &str| {
        let raw = wait_for(member, "the batched circular", |raw| {
            raw.contains("List-Id:")
        });
        let re = regex::Regex::new(r"\(Postfix\) with E?SMTP id ([0-9A-Za-z]+)").unwrap();
        re.captures(&raw)
            .unwrap_or_else(|| panic!("no Postfix queue id in the copy to {member}:\n{raw}"))[1]
            .to_string()
    };
    assert_eq!(
        queue_id(&a),
        queue_id(&c),
        "the two copies were sent one by one"
    );
    for member in [&a, &c] {
        assert_eq!(copies(member).len(), 1, "{member}");
    }
}

#[test]
fn a_relay_never_exceeds_its_daily_quota_and_the_rest_waits() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("quota"),
    };
    let config = site_in_mode(
        dir.path(),
        &m,
        smtp_port(),
        "personalised",
        // Posts may use 2 of the 3: a tenth (rounded up) stays for the answers.
        "daily_quota = 3\nrate_per_second = 50",
    );
    let members: Vec<String> = (0..5).map(|i| m.school(&format!("q{i}"))).collect();
    for member in &members {
        add(&config, "thpt", member);
    }
    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("quota-{}", m.p.run), true),
    );
    wait_delivered(&to[0], 1);
    nhomthu(&config, &["run", "--once"]);
    nhomthu(&config, &["run", "--once"]);
    let post = show(&config, "1");
    assert_eq!(
        post["sent"], 2,
        "the posts' quota of 2 holds across runs: {post}"
    );
    assert_eq!(post["deferred"], 3, "{post}");
    // The rest goes out when the 24-hour window has moved: about a day from now.
    let eta = post["expected_seconds"].as_u64().unwrap();
    assert!(eta > 80_000, "expected completion in {eta} s");
    let delivered = members.iter().filter(|a| !copies(a).is_empty()).count();
    assert!(delivered <= 2, "{delivered} copies delivered");
}

#[test]
fn in_batch_mode_the_large_providers_members_get_their_own_one_click_copy() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let m = Ministry {
        p: People::new("provider"),
    };
    let config = site_in_mode(dir.path(), &m, smtp_port(), "batch", "");
    // example.test plays a large mailbox provider; the one-click endpoint is configured
    // (`run --once` does not serve it).
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replacen(
            "[site]\n",
            "[site]\nbase_url = \"https://nhomthu.moet.test\"\nlisten = \"127.0.0.1:1\"\n",
            1,
        )
        .replacen(
            "mode = \"batch\"\n",
            "mode = \"batch\"\npersonal_domains = [\"example.test\"]\n",
            1,
        );
    std::fs::write(&config, text).unwrap();
    let provider = format!("lan-{}@example.test", m.p.run);
    let (a, c) = (m.school("a"), m.school("c"));
    for member in [&provider, &a, &c] {
        add(&config, "thpt", member);
    }
    let to = [m.alias("thpt")];
    send(
        &m.clerk(),
        &to[0],
        &circular(&m, &to, &format!("provider-{}", m.p.run), true),
    );
    wait_delivered(&to[0], 1);
    nhomthu(&config, &["run", "--once"]);
    assert_eq!(show(&config, "1")["sent"], 3);

    let own = wait_for(&provider, "the provider member's own copy", |raw| {
        raw.contains("List-Id:")
    });
    let unsubscribe = header_value(&own, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.contains("<https://nhomthu.moet.test/u/thpt/"),
        "{unsubscribe}"
    );
    assert_eq!(
        header_value(&own, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    for member in [&a, &c] {
        let shared = wait_for(member, "the batched copy", |raw| raw.contains("List-Id:"));
        assert!(header_value(&shared, "List-Unsubscribe-Post").is_none());
        assert!(!shared.contains("/u/thpt/"), "a batch copy names nobody");
    }
}

/// The unfolded value of the first header field `name` of a message.
fn header_value(text: &str, name: &str) -> Option<String> {
    let msg = MessageParser::default().parse(text.as_bytes())?;
    msg.header_raw(name)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}
