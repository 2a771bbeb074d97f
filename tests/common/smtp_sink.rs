//! Postfix's `smtp-sink` on a free loopback port as the site's relay: it accepts every
//! transaction and appends it to one dump file in the order received, from which the
//! tests read who got what. Include it with `#[path = "common/smtp_sink.rs"] mod smtp_sink;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `smtp-sink` dumping every transaction into one file; killed when dropped.
pub struct SmtpSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
    dump: PathBuf,
}

/// What reached the sink, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A copy of a post (return path `norply+b…`) to this recipient.
    Post(String),
    /// An answer (return path `norply+a…`) to this recipient.
    Answer(String),
}

impl SmtpSink {
    /// Start it; panics when it will not start.
    pub fn start() -> SmtpSink {
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
            let deadline = Instant::now() + Duration::from_secs(10);
            let up = loop {
                if child.try_wait().expect("try_wait").is_some() {
                    break false;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break true;
                }
                if Instant::now() >= deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
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
    pub fn received(&self) -> Vec<Got> {
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

    /// How many copies of posts it received.
    pub fn posts(&self) -> usize {
        self.received()
            .iter()
            .filter(|g| matches!(g, Got::Post(_)))
            .count()
    }

    /// Copies of posts received per recipient.
    pub fn copies(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for g in self.received() {
            if let Got::Post(rcpt) = g {
                *out.entry(rcpt).or_default() += 1;
            }
        }
        out
    }

    /// Wait until the dump stops growing (the transactions of a killed client are
    /// finished or dropped), at most `timeout`.
    pub fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let size = || std::fs::metadata(&self.dump).map(|m| m.len()).unwrap_or(0);
        let mut last = size();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            let now = size();
            if now == last {
                return;
            }
            last = now;
        }
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
