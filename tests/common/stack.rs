//! The real mail servers for tests: `scripts/mailstack` starts Postfix and Dovecot on
//! loopback once per test binary; these helpers send through Postfix as a person's mail
//! client would, read mailboxes over IMAP, run the `nhomthu` binary, and play outages.
#![allow(dead_code)]

use lettre::address::Envelope;
use lettre::{SmtpTransport, Transport};
use mail_parser::MessageParser;
use nhomthu::source::Source;
use nhomthu::source::imap::Imap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "dns.rs"]
mod dns;

/// The `[dns]` table of the test DNS server (started on first use), so that the binary
/// asks only loopback for the authors' DMARC policies.
pub fn dns_table() -> String {
    dns::dns()
}

pub const PASSWORD_ENV: &str = "NHOMTHU_TEST_IMAP_PASSWORD";

pub const WAIT: Duration = Duration::from_secs(30);

pub fn stack_dir() -> PathBuf {
    std::env::var_os("MAILSTACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/nhomthu-mailstack"))
}

pub fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

pub fn smtp_port() -> u16 {
    port("MAILSTACK_SMTP_PORT", 2525)
}

/// Start Postfix and Dovecot once for this test binary (the script is idempotent).
pub fn stack() {
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
pub struct People {
    pub run: String,
}

impl People {
    pub fn new(name: &str) -> People {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        People {
            run: format!("{name}{}x{}", std::process::id(), nanos % 1_000_000_000),
        }
    }
    pub fn registration(&self) -> String {
        format!("dangky-thpt-{}@moet.test", self.run)
    }
    pub fn noreply(&self) -> String {
        format!("norply-{}@moet.test", self.run)
    }
    pub fn teacher(&self) -> String {
        format!("giaovien-{}@school.test", self.run)
    }
}

pub fn nhomthu(config: &Path, args: &[&str]) -> String {
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

/// A `[[mailbox]]` of the configuration reading `address`'s Dovecot inbox over STARTTLS.
pub fn imap_mailbox(name: &str, address: &str) -> String {
    format!(
        "[[mailbox]]\nname = \"{name}\"\naddresses = [\"{address}\"]\n[mailbox.imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nuser = \"{address}\"\npassword_env = \"{PASSWORD_ENV}\"\nca_file = \"{}\"\npoll_seconds = 600\n",
        port("MAILSTACK_IMAP_PORT", 1143),
        stack_dir().join("tls/ca.pem").display()
    )
}

/// Send a raw message through Postfix, as the teacher's mail client would.
pub fn send(from: &str, to: &str, raw: &str) {
    let smtp = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(smtp_port())
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    smtp.send_raw(&envelope, raw.replace('\n', "\r\n").as_bytes())
        .expect("Postfix accepts the message");
}

/// Every message in a Dovecot mailbox, read over IMAP as a mail client would.
pub fn mailbox(user: &str) -> Vec<Vec<u8>> {
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
pub fn wait_for(user: &str, what: &str, pick: impl Fn(&str) -> bool) -> String {
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
pub fn wait_delivered(user: &str, count: usize) {
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

pub fn header(raw: &str, name: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    msg.header_raw(name).unwrap_or("").trim().to_string()
}

pub fn subject(raw: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    msg.subject().unwrap_or("").to_string()
}

pub fn token(raw: &str) -> String {
    let re = regex::Regex::new(r"nt-[a-z2-7]{26}").unwrap();
    re.find(raw)
        .expect("a token in the confirmation")
        .as_str()
        .to_string()
}

/// Kills the daemon if the test fails before it exits.
pub struct Daemon(pub std::process::Child);

impl Daemon {
    /// `nhomthu run` on `config`, its log written to `log`.
    pub fn start(config: &Path, log: &Path) -> Daemon {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_nhomthu"))
                .arg("--config")
                .arg(config)
                .arg("run")
                .env(PASSWORD_ENV, "secret")
                .stderr(std::fs::File::create(log).unwrap())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP relay to a server port that can be cut and restored, to play a network outage.
pub struct Outage {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    /// Relay 127.0.0.1:`target` through a port of its own.
    pub fn start(target: u16) -> Outage {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
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

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
