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

use maildir::{DOMAIN, Options, Site, registration, wait_until};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Longest wait for the daemon or the sink to make progress.
const WAIT: Duration = Duration::from_secs(120);
/// Longest `run --once` or `members import`.
const ONCE: Duration = Duration::from_secs(180);
/// The relay's name in lists.toml.
const RELAY: &str = "sink";

/// `smtp-sink` on a free loopback port, dumping every transaction into one file; killed
/// when dropped.
struct SmtpSink {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    dump: PathBuf,
}

/// What reached the sink, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    /// A copy of a post (return path `norply+b…`) to this recipient.
    Post(String),
    /// An answer (return path `norply+a…`) to this recipient.
    Answer(String),
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let bin = "/usr/sbin/smtp-sink";
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: apt-get install postfix (the tests never start the system Postfix)"
        );
        // The sink drops to the postfix user as root: its dump directory must be writable.
        let dir = tempfile::Builder::new()
            .prefix("nhomthu-sink-")
            .tempdir()
            .expect("tempdir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod the dump directory");
        let dump = dir.path().join("dump");
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut cmd = Command::new(bin);
            if is_root() {
                cmd.args(["-u", "postfix"]);
            }
            let mut child = cmd
                .arg("-D")
                .arg(&dump)
                .arg(format!("127.0.0.1:{port}"))
                .arg("64")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn smtp-sink");
            let up = wait_until(Duration::from_secs(10), || {
                child.try_wait().expect("try_wait").is_none()
                    && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up {
                return SmtpSink {
                    child,
                    port,
                    _dir: dir,
                    dump,
                };
            }
            // Someone took the port meanwhile: another one.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("smtp-sink would not start");
    }

    /// Every transaction received so far, in the order received.
    fn received(&self) -> Vec<Got> {
        let text =
            String::from_utf8_lossy(&std::fs::read(&self.dump).unwrap_or_default()).into_owned();
        let mut out = Vec::new();
        let mut from: Option<String> = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
                from = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ")
                && let Some(f) = from.take()
            {
                let rcpt = v.trim_matches(['<', '>']).to_string();
                if f.starts_with("<norply+b") {
                    out.push(Got::Post(rcpt));
                } else if f.starts_with("<norply+a") {
                    out.push(Got::Answer(rcpt));
                } else {
                    panic!("unexpected return path {f}");
                }
            }
        }
        out
    }

    fn posts(&self) -> usize {
        self.received()
            .iter()
            .filter(|g| matches!(g, Got::Post(_)))
            .count()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

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
