//! The registration loop as people live it, on real servers: Postfix on 127.0.0.1:2525
//! and Dovecot on 1143 (STARTTLS) and 1993 (implicit TLS), started by `scripts/mailstack`.
//! A teacher's mail goes through Postfix into the registration mailbox; `nhomthu run
//! --once` reads it over IMAP and answers through Postfix; the confirmation lands in the
//! teacher's own Dovecot mailbox; the teacher replies through Postfix; the next run makes
//! them a member, with an audit row and a welcome mail.

use lettre::address::Envelope;
use lettre::{SmtpTransport, Transport};
use mail_parser::MessageParser;
use nhomthu::source::Source;
use nhomthu::source::imap::Imap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use unicode_normalization::UnicodeNormalization;

const PASSWORD_ENV: &str = "NHOMTHU_TEST_IMAP_PASSWORD";
const WAIT: Duration = Duration::from_secs(30);

fn stack_dir() -> PathBuf {
    std::env::var_os("MAILSTACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/nhomthu-mailstack"))
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

fn smtp_port() -> u16 {
    port("MAILSTACK_SMTP_PORT", 2525)
}

/// Start Postfix and Dovecot once for this test binary (the script is idempotent).
fn stack() {
    static START: Once = Once::new();
    START.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mailstack");
        let status = Command::new(script)
            .arg("start")
            .status()
            .expect("run scripts/mailstack");
        assert!(status.success(), "scripts/mailstack start failed");
    });
}

/// Addresses unique to one test, so tests share the stack without seeing each other's mail.
struct People {
    run: String,
}

impl People {
    fn new(name: &str) -> People {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        People {
            run: format!("{name}{}x{}", std::process::id(), nanos % 1_000_000_000),
        }
    }
    fn registration(&self) -> String {
        format!("dangky-thpt-{}@moet.test", self.run)
    }
    fn noreply(&self) -> String {
        format!("norply-{}@moet.test", self.run)
    }
    fn teacher(&self) -> String {
        format!("giaovien-{}@school.test", self.run)
    }
}

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
    std::fs::write(&path, text).unwrap();
    path
}

fn nhomthu(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nhomthu"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(PASSWORD_ENV, "secret")
        .output()
        .expect("run nhomthu");
    // Shown with the test's output when it fails.
    eprintln!(
        "nhomthu {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "nhomthu {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// Send a raw message through Postfix, as the teacher's mail client would.
fn send(from: &str, to: &str, raw: &str) {
    let smtp = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(smtp_port())
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    smtp.send_raw(&envelope, raw.replace('\n', "\r\n").as_bytes())
        .expect("Postfix accepts the message");
}

/// Every message in a Dovecot mailbox, read over IMAP as a mail client would.
fn mailbox(user: &str) -> Vec<Vec<u8>> {
    let cfg: nhomthu::config::Imap = toml::from_str(&format!(
        r#"
host = "127.0.0.1"
port = {}
tls = "implicit"
user = "{user}"
password_env = "{PASSWORD_ENV}"
processed = "delete"
"#,
        port("MAILSTACK_IMAPS_PORT", 1993)
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut imap = Imap::new(&cfg, "secret".into(), Some(stack_dir().join("tls/ca.pem")));
        imap.fetch(1000)
            .await
            .expect("IMAP fetch")
            .into_iter()
            .map(|m| m.raw)
            .collect()
    })
}

/// Wait until `user`'s mailbox holds a message satisfying `pick`; return it.
fn wait_for(user: &str, what: &str, pick: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        for raw in mailbox(user) {
            let text = String::from_utf8_lossy(&raw).into_owned();
            if pick(&text) {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {what} in {user} after {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Wait until Dovecot has delivered `count` messages into `user`'s inbox on disk.
fn wait_delivered(user: &str, count: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        if mailbox(user).len() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "mail for {user} not delivered after {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header(raw: &str, name: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    msg.header_raw(name).unwrap_or("").trim().to_string()
}

fn subject(raw: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    msg.subject().unwrap_or("").to_string()
}

fn token(raw: &str) -> String {
    let re = regex::Regex::new(r"nt-[a-z2-7]{26}").unwrap();
    re.find(raw)
        .expect("a token in the confirmation")
        .as_str()
        .to_string()
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

/// Kills the daemon if the test fails before it exits.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_daemon_wakes_on_idle_and_stops_on_sigterm() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("idle");
    let config = site(dir.path(), &p, "");
    let log_path = dir.path().join("daemon.log");
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_nhomthu"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env(PASSWORD_ENV, "secret")
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
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

/// A TCP relay to Dovecot's STARTTLS port that can be cut and restored, to play a
/// network outage between the daemon and its IMAP server.
struct Outage {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    fn start() -> Outage {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        let target = port_target();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Outage { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn port_target() -> u16 {
    port("MAILSTACK_IMAP_PORT", 1143)
}

#[test]
fn the_daemon_reconnects_after_losing_its_imap_server() {
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("outage");
    let outage = Outage::start();
    let config = site_reading_at(dir.path(), &p, "", outage.port);
    let log_path = dir.path().join("daemon.log");
    let _daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_nhomthu"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env(PASSWORD_ENV, "secret")
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
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
