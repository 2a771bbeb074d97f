//! Every kind of mail nhomthu sends, made by the real binary on the shipped configuration
//! (SQLite, Maildir, file outbox, `lists.toml` and templates as shipped, plus a `[dkim]`
//! key), then judged as a receiver would: SpamAssassin's local tests (`spamassassin -L
//! -t`, Debian's package), the DKIM signature and the ARC chain against the key published
//! on the test DNS server (`scripts/dns`), and the header
//! rules of the large mailbox providers (RFC 2369/2919/8058 list fields, RFC 3834
//! `Auto-Submitted`, over-signed From and Subject, folded lines, no address in a subject).
//!
//! The table it prints is the one in README ("Deliverability"); `scripts/deliverability`
//! runs this test and shows it.

#[path = "common/maildir.rs"]
mod maildir;

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};
use maildir::{Site, header, token_in};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The site's signing key and its published record.
const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/handlers/testdata/dkim-rsa2048.pem"
);
const SELECTOR: &str = "s2026";
const DOMAIN: &str = "moet.edu.vn";

/// The highest SpamAssassin score any message may have.
const CEILING: f64 = -1.0;

const RUN: Duration = Duration::from_secs(60);

/// One message the system sent.
struct Sample {
    /// What it is, as the table names it.
    kind: &'static str,
    /// The file as the outbox wrote it (Return-Path and Delivered-To first).
    raw: Vec<u8>,
}

impl Sample {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        header(&self.text(), name)
    }
    fn rcpt(&self) -> String {
        self.header("Delivered-To").unwrap_or_default()
    }
}

/// The shipped site, with the test key and bounces that disable at the first one.
fn site(batch: bool) -> Site {
    let dkim = format!(
        "\n[dkim]\ndomain = \"{DOMAIN}\"\nselector = \"{SELECTOR}\"\nprivate_key = \"{KEY}\"\n"
    );
    let mut edits = vec![("threshold = 3.0", "threshold = 1.0")];
    if batch {
        edits.push(("# mode = \"batch\"", "mode = \"batch\"  "));
    }
    Site::shipped(&dkim, &edits)
}

/// Run the daemon once and return the mail it wrote that was not there before.
fn run(site: &Site, seen: &mut BTreeSet<PathBuf>) -> Vec<(PathBuf, Vec<u8>)> {
    site.run_once(RUN);
    let mut new = Vec::new();
    for path in site.outbox_files() {
        if seen.insert(path.clone()) {
            let raw = std::fs::read(&path).expect("outbox file");
            new.push((path, raw));
        }
    }
    new
}

fn mail(from: &str, to: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let subject = format!(
        "=?utf-8?b?{}?=",
        data_encoding::BASE64.encode(subject.as_bytes())
    );
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}\
         Message-ID: <m{seq}.{}@school.test>\r\nDate: Wed, 02 Dec 2026 08:00:00 +0700\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        std::process::id()
    )
    .into_bytes()
}

/// Press Reply on `answer`: to its Reply-To, quoting it.
fn reply_to(from: &str, answer: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(answer);
    let token = token_in(&text).expect("a code in the answer");
    let to = header(&text, "Reply-To").expect("Reply-To");
    let id = header(&text, "Message-ID").expect("Message-ID");
    mail(
        from,
        &to,
        &format!("Trả lời: Xác nhận [{token}]"),
        &format!("In-Reply-To: {id}\r\n"),
        "> Để xác nhận, bấm Trả lời.",
    )
}

/// The one new mail of a run, to `rcpt`.
fn only_to(new: &[(PathBuf, Vec<u8>)], rcpt: &str) -> Vec<u8> {
    let to: Vec<&Vec<u8>> = new
        .iter()
        .filter(|(_, raw)| {
            header(&String::from_utf8_lossy(raw), "Delivered-To").as_deref() == Some(rcpt)
        })
        .map(|(_, raw)| raw)
        .collect();
    assert_eq!(to.len(), 1, "one mail to {rcpt} among {} new", new.len());
    to[0].clone()
}

const LAN: &str = "lan.nguyen@gmail.com";
const MINH: &str = "minh.tran@thpt-chuvanan.edu.vn";
const HOA: &str = "hoa.le@thcs-a.edu.vn";
const CLERK: &str = "vanthu@moet.edu.vn";
const MODERATOR: &str = "cntt@moet.edu.vn";

/// A circular from the clerk, as Gmail delivers it to the alias.
fn circular(subject: &str) -> Vec<u8> {
    mail(
        &format!("Văn thư Bộ <{CLERK}>"),
        "thpt@moet.edu.vn",
        subject,
        "Authentication-Results: mx.google.com; dkim=pass header.d=moet.edu.vn; \
         spf=pass smtp.mailfrom=moet.edu.vn; dmarc=pass header.from=moet.edu.vn\r\n",
        "Kính gửi các trường trung học phổ thông,\r\n\r\nBộ Giáo dục và Đào tạo gửi \
         công văn hướng dẫn thực hiện nhiệm vụ năm học 2026-2027. Đề nghị các trường \
         nghiên cứu và triển khai.\r\n\r\nTrân trọng,\r\nVăn phòng Bộ",
    )
}

/// Join `list`'s registration address as `who` (name and address) and reply: the
/// confirmation and the welcome.
fn join(site: &Site, seen: &mut BTreeSet<PathBuf>, name: &str, address: &str) -> [Vec<u8>; 2] {
    let from = format!("{name} <{address}>");
    site.deliver(&mail(
        &from,
        "dangky-THPT@moet.edu.vn",
        "Đăng ký nhận văn bản",
        "",
        "Xin đăng ký.",
    ));
    let confirmation = only_to(&run(site, seen), address);
    site.deliver(&reply_to(&from, &confirmation));
    let welcome = only_to(&run(site, seen), address);
    [confirmation, welcome]
}

/// Every kind of mail, in personalised mode (the default) and in batch mode.
fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    let site = site(false);
    let mut seen = BTreeSet::new();
    let seen = &mut seen;

    let [confirmation, welcome] = join(&site, seen, "Nguyễn Thị Lan", LAN);
    out.push(Sample {
        kind: "confirmation (join)",
        raw: confirmation,
    });
    out.push(Sample {
        kind: "welcome",
        raw: welcome,
    });
    join(&site, seen, "Trần Văn Minh", MINH);

    site.deliver(&mail(
        &format!("Nguyễn Thị Lan <{LAN}>"),
        "dangky-THPT@moet.edu.vn",
        "Đăng ký",
        "",
        "Đăng ký lại.",
    ));
    out.push(Sample {
        kind: "already a member",
        raw: only_to(&run(&site, seen), LAN),
    });

    site.deliver(&mail(
        "Lê Văn Nam <nam.le@school.test>",
        "dangky-THPT@moet.edu.vn",
        "Hủy đăng ký",
        "",
        "hủy đăng ký",
    ));
    out.push(Sample {
        kind: "not a member",
        raw: only_to(&run(&site, seen), "nam.le@school.test"),
    });

    site.deliver(&circular(
        "Công văn số 123/BGDĐT-GDTrH về việc hướng dẫn nhiệm vụ năm học 2026-2027",
    ));
    let copies = run(&site, seen);
    let minh_copy = only_to(&copies, MINH);
    out.push(Sample {
        kind: "post, personalised",
        raw: only_to(&copies, LAN),
    });

    site.deliver(&mail(
        "Phụ huynh <phuhuynh@example.net>",
        "thpt@moet.edu.vn",
        "Hỏi về lịch thi",
        "",
        "Xin hỏi lịch thi học kỳ.",
    ));
    out.push(Sample {
        kind: "moderator notice",
        raw: only_to(&run(&site, seen), MODERATOR),
    });

    // Minh's school says the mailbox is gone: the first bounce disables (threshold 1).
    let return_path = header(&String::from_utf8_lossy(&minh_copy), "Return-Path")
        .expect("a VERP return path")
        .trim_matches(['<', '>'])
        .to_string();
    site.deliver(&dsn(&return_path, MINH));
    out.push(Sample {
        kind: "bounce-disable notice",
        raw: only_to(&run(&site, seen), MINH),
    });

    let lan = format!("Nguyễn Thị Lan <{LAN}>");
    site.deliver(&mail(
        &lan,
        "dangky-THPT@moet.edu.vn",
        "Hủy đăng ký",
        "",
        "hủy đăng ký",
    ));
    let leave = only_to(&run(&site, seen), LAN);
    site.deliver(&reply_to(&lan, &leave));
    out.push(Sample {
        kind: "confirmation (leave)",
        raw: leave,
    });
    out.push(Sample {
        kind: "goodbye",
        raw: only_to(&run(&site, seen), LAN),
    });

    // Batch mode: Lan (gmail.com) still gets her own copy, Hoa's school shares one.
    let site = self::site(true);
    let mut seen = BTreeSet::new();
    let seen = &mut seen;
    join(&site, seen, "Nguyễn Thị Lan", LAN);
    join(&site, seen, "Lê Thị Hoa", HOA);
    site.deliver(&circular("Công văn số 124/BGDĐT-GDTrH về lịch thi"));
    let copies = run(&site, seen);
    out.push(Sample {
        kind: "post, batch mode, gmail.com",
        raw: only_to(&copies, LAN),
    });
    out.push(Sample {
        kind: "post, batch mode, shared",
        raw: only_to(&copies, HOA),
    });
    out
}

/// A Postfix DSN: `rcpt` does not exist; returned to `return_path`.
fn dsn(return_path: &str, rcpt: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mail.thpt-chuvanan.edu.vn (Mail Delivery System)\r\n\
         To: {return_path}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <dsn.{}@mail.thpt-chuvanan.edu.vn>\r\n\
         Date: Wed, 02 Dec 2026 09:00:00 +0700\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your \
         message could not be delivered.\r\n\r\n<{rcpt}>: host said: 550 5.1.1 user unknown\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.thpt-chuvanan.edu.vn\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: user unknown\r\n--b--\r\n",
        std::process::id()
    )
    .into_bytes()
}

/// SpamAssassin's verdict: the score and the rules hit.
fn spamassassin(raw: &[u8]) -> (f64, Vec<String>) {
    let mut child = Command::new("spamassassin")
        .args(["-L", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spamassassin (Debian package spamassassin; .ci/run installs it)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().expect("spamassassin runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let status = header(&text.replace('\n', "\r\n"), "X-Spam-Status")
        .unwrap_or_else(|| panic!("no X-Spam-Status in SpamAssassin's output:\n{text}"));
    let score: f64 = status
        .split_whitespace()
        .find_map(|w| w.strip_prefix("score="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status:?}"));
    let rules = status
        .split_once("tests=")
        .map(|(_, t)| t.split_whitespace().next().unwrap_or_default())
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty() && *r != "none")
        .map(str::to_string)
        .collect();
    (score, rules)
}

/// A verifier asking the test DNS server (`scripts/dns`, serving `tests/dns/zones.conf`,
/// where the site's key is published at `s2026._domainkey.moet.edu.vn`).
fn verifier() -> MessageAuthenticator {
    let addr: std::net::SocketAddr = maildir::dns::server().parse().unwrap();
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    for connection in &mut server.connections {
        connection.port = addr.port();
    }
    MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![server]),
        ResolverOpts::default(),
    )
    .unwrap()
}

/// The DKIM results of `raw`, against the published key.
async fn dkim(raw: &[u8]) -> Vec<DkimResult> {
    let message = AuthenticatedMessage::parse(raw).expect("parses for DKIM");
    verifier()
        .verify_dkim(Parameters::new(&message))
        .await
        .iter()
        .map(|o| o.result().clone())
        .collect()
}

/// The ARC chain of `raw`: its result and the number of sets.
async fn arc(raw: &[u8]) -> (DkimResult, usize) {
    let message = AuthenticatedMessage::parse(raw).expect("parses for ARC");
    let output = verifier().verify_arc(Parameters::new(&message)).await;
    (output.result().clone(), output.sets().len())
}

/// The header block's fields, unfolded: (name, value, whether a physical line is longer
/// than 78 characters where it could have been folded).
fn fields(raw: &[u8]) -> Vec<(String, String, bool)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    // A line may pass 78 characters only as one word (a long URI) that no fold can split.
    let overlong =
        |line: &str, rest: &str| line.chars().count() > 78 && rest.trim().contains([' ', '\t']);
    let mut out: Vec<(String, String, bool)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
                last.2 |= overlong(line, line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((
                name.to_string(),
                value.trim().to_string(),
                overlong(line, value),
            ));
        }
    }
    out
}

/// The `h=` names of the DKIM signature, lowercased.
fn signed(raw: &[u8]) -> Vec<String> {
    let Some((_, sig, _)) = fields(raw)
        .into_iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case("DKIM-Signature"))
    else {
        return Vec::new();
    };
    let sig = sig.replace([' ', '\t'], "");
    sig.split(';')
        .find_map(|t| t.strip_prefix("h="))
        .unwrap_or_default()
        .split(':')
        .map(|n| n.to_ascii_lowercase())
        .collect()
}

/// The fields of a post that its author wrote and the list passes on unchanged.
const AUTHORS_FIELDS: &[&str] = &[
    "Subject",
    "To",
    "Cc",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Authentication-Results",
    "Received",
];

/// The header rules for a sample; each broken rule as one line.
fn rule_breaks(s: &Sample) -> Vec<String> {
    let mut broken = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            broken.push(what);
        }
    };
    let fields = fields(&s.raw);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, _)| v.clone())
    };
    let is_post = s.kind.starts_with("post");
    let shared = s.kind.ends_with("shared");

    check(get("List-Id").is_some(), "List-Id".into());
    // Return-Path and Delivered-To are the outbox's envelope; a post's own fields are the
    // author's, passed on as received.
    let theirs: &[&str] = if is_post { AUTHORS_FIELDS } else { &[] };
    for (name, _, overlong) in &fields {
        let ours = !["Return-Path", "Delivered-To"]
            .iter()
            .chain(theirs)
            .any(|n| n.eq_ignore_ascii_case(name));
        if ours {
            check(!overlong, format!("{name} folded within 78 characters"));
        }
    }
    let subject = s.header("Subject").unwrap_or_default();
    let decoded = mail_parser::MessageParser::default()
        .parse(&s.raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or(subject);
    check(
        !decoded.to_lowercase().contains(&s.rcpt().to_lowercase()),
        "no address in the subject".into(),
    );
    let names = signed(&s.raw);
    let count = |n: &str| names.iter().filter(|x| *x == n).count();
    check(count("from") == 2, "From over-signed".into());
    check(count("subject") == 2, "Subject over-signed".into());
    for name in ["list-id", "list-unsubscribe", "auto-submitted"] {
        check(count(name) >= 1, format!("{name} signed"));
    }
    if is_post {
        check(
            get("Precedence").as_deref() == Some("list"),
            "Precedence: list".into(),
        );
        let unsubscribe = get("List-Unsubscribe").unwrap_or_default();
        check(
            unsubscribe.contains("<mailto:"),
            "List-Unsubscribe mailto".into(),
        );
        if shared {
            check(
                get("List-Unsubscribe-Post").is_none(),
                "no one-click in a shared copy".into(),
            );
        } else {
            check(
                unsubscribe.contains("<https://"),
                "List-Unsubscribe https".into(),
            );
            check(
                get("List-Unsubscribe-Post").as_deref() == Some("List-Unsubscribe=One-Click"),
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click".into(),
            );
            check(
                count("list-unsubscribe-post") >= 1,
                "List-Unsubscribe-Post signed".into(),
            );
        }
        let footer = footer_text(&s.raw);
        if shared {
            check(
                footer.contains("\"hủy đăng ký\" tới dangky-THPT@moet.edu.vn"),
                "the footer says how to leave by mail".into(),
            );
        } else {
            let link = unsubscribe
                .split(['<', '>'])
                .find(|u| u.starts_with("https://"))
                .unwrap_or("none");
            check(
                footer.contains(link),
                "the footer shows the member's own link".into(),
            );
            check(
                footer.contains("norply+u-"),
                "the footer shows the member's own unsubscribe address".into(),
            );
        }
    } else {
        let expected = match s.kind {
            "moderator notice" | "bounce-disable notice" => "auto-generated",
            _ => "auto-replied",
        };
        check(
            get("Auto-Submitted").as_deref() == Some(expected),
            format!("Auto-Submitted: {expected}"),
        );
        check(
            get("Precedence").as_deref() == Some("bulk"),
            "Precedence: bulk".into(),
        );
        check(
            get("X-Loop").as_deref() == Some("norply@moet.edu.vn"),
            "X-Loop".into(),
        );
        check(
            get("List-Help").is_some() || get("List-Unsubscribe").is_some(),
            "List-Help or List-Unsubscribe".into(),
        );
    }
    if s.kind == "moderator notice" {
        let body = body_text(&s.raw);
        check(
            body.contains("địa chỉ người gửi chưa được xác thực")
                && !body.contains("not authenticated"),
            "the reason in the list's language".into(),
        );
    }
    if s.kind == "bounce-disable notice" {
        check(
            body_text(&s.raw).contains("Kính gửi Trần Văn Minh"),
            "greets the member by the stored name".into(),
        );
    }
    broken
}

fn body_text(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

/// The text of the last text/plain part: the footer of a list copy.
fn footer_text(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a list copy parses");
    (0..msg.text_body_count())
        .filter_map(|i| msg.body_text(i))
        .chain(
            msg.attachments()
                .filter_map(|a| a.text_contents().map(Into::into)),
        )
        .last()
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_lands_in_the_inbox() {
    let samples = tokio::task::spawn_blocking(samples).await.unwrap();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for s in &samples {
        let (score, rules) = spamassassin(&s.raw);
        let dkim = dkim(&s.raw).await;
        let dkim_ok = dkim.len() == 1 && dkim[0] == DkimResult::Pass;
        // List copies are sealed (one set: the posts arrive without a chain); answers are
        // the system's own mail, which ARC does not concern.
        let arc = if s.kind.starts_with("post") {
            let (result, sets) = arc(&s.raw).await;
            let ok = result == DkimResult::Pass && sets == 1;
            if !ok {
                failures.push(format!("{}: ARC {result:?} with {sets} sets", s.kind));
            }
            if ok { "pass" } else { "FAIL" }
        } else {
            "–"
        };
        let broken = rule_breaks(s);
        if score > CEILING {
            failures.push(format!("{}: SpamAssassin {score} > {CEILING}", s.kind));
        }
        if !dkim_ok {
            failures.push(format!("{}: DKIM {dkim:?}", s.kind));
        }
        for b in &broken {
            failures.push(format!("{}: {b}", s.kind));
        }
        rows.push(format!(
            "| {} | {score:+.1} | {} | {} | {arc} | {} |",
            s.kind,
            rules.join(", "),
            if dkim_ok { "pass" } else { "FAIL" },
            if broken.is_empty() {
                "all pass".to_string()
            } else {
                format!("{} broken", broken.len())
            },
        ));
    }
    println!("| message | SpamAssassin | rules hit | DKIM | ARC | header rules |");
    println!("|---|---:|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    assert_eq!(samples.len(), 11, "every kind of mail was made");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
