//! A throw-away nhomthu site for integration tests: a tempdir holding `lists.toml`, a
//! Maildir read for `*@moet.test`, a file outbox and a SQLite database, driven through the
//! real binary. Include it with `#[path = "common/maildir.rs"] mod maildir;`.
//!
//! Every wait has a deadline and every child process is killed when its guard is dropped,
//! so a hung daemon fails a test instead of hanging CI.

#![allow(dead_code)]

#[path = "dns.rs"]
pub mod dns;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nhomthu");
/// The shipped templates.
pub const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
/// The site's mail domain.
pub const DOMAIN: &str = "moet.test";
/// The no-reply address.
pub const NOREPLY: &str = "norply@moet.test";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// How the site is configured.
#[derive(Debug, Clone)]
pub struct Options {
    /// `[limits] max_message_bytes`.
    pub max_message_bytes: usize,
    /// Extra files under a private copy of the shipped templates: (relative path, text).
    /// Empty: the shipped directory is used in place.
    pub template_overrides: Vec<(String, String)>,
    /// Extra lines for `[site]`.
    pub site_extra: String,
    /// The body of `[delivery]` (and any `[[delivery.relay]]` after it). None: the file
    /// outbox.
    pub delivery: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_message_bytes: 26_214_400,
            template_overrides: Vec::new(),
            site_extra: String::new(),
            delivery: None,
        }
    }
}

/// One site in a tempdir.
pub struct Site {
    dir: tempfile::TempDir,
    /// The tempdir.
    pub root: PathBuf,
    /// `lists.toml`.
    pub config: PathBuf,
    /// The Maildir (`new/`, `cur/`, `tmp/`, `.Quarantine/`).
    pub maildir: PathBuf,
    /// The file outbox.
    pub outbox: PathBuf,
    /// The SQLite file.
    pub db: PathBuf,
    logs: AtomicU64,
}

impl Site {
    /// A site with the two lists `thpt` (dangky-THPT@) and `thcs` (dangky-THCS@).
    pub fn new(options: Options) -> Site {
        let dir = tempfile::Builder::new()
            .prefix("nhomthu-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().to_path_buf();
        let maildir = root.join("mail/dangky");
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(maildir.join(sub)).expect("create maildir");
        }
        let outbox = root.join("outbox");
        let db = root.join("nhomthu.db");
        let templates = if options.template_overrides.is_empty() {
            PathBuf::from(TEMPLATES)
        } else {
            let own = root.join("templates");
            copy_dir(Path::new(TEMPLATES), &own);
            for (rel, text) in &options.template_overrides {
                let path = own.join(rel);
                fs::create_dir_all(path.parent().unwrap()).expect("template dir");
                fs::write(&path, text).expect("write template");
            }
            own
        };
        let config = root.join("lists.toml");
        let toml = format!(
            r#"[site]
domain = "{DOMAIN}"
name = "Bộ Giáo dục và Đào tạo (thử nghiệm)"
noreply = "{NOREPLY}"
noreply_name = "Norply"
database = {db}
language = "vi"
templates = {templates}
authserv_ids = ["mx.{DOMAIN}"]
{site_extra}

[limits]
answers_per_address_per_day = 1000
answers_per_hour = 100000
max_message_bytes = {max}

[delivery]
{delivery}

[[mailbox]]
name = "dangky"
addresses = ["*@{DOMAIN}"]
maildir = {maildir}

[[list]]
id = "thpt"
address = "thpt@{DOMAIN}"
name = "Trường THPT"
audience = "Các trường trung học phổ thông"
registration = ["dangky-THPT@{DOMAIN}"]
kind = "announce"
posters = ["vanthu@{DOMAIN}"]

[[list]]
id = "thcs"
address = "thcs@{DOMAIN}"
name = "Trường THCS"
audience = "Các trường trung học cơ sở"
registration = ["dangky-THCS@{DOMAIN}"]
kind = "announce"
"#,
            db = toml_str(&format!("sqlite://{}", db.display())),
            templates = toml_str(&templates.display().to_string()),
            max = options.max_message_bytes,
            site_extra = options.site_extra,
            delivery = options.delivery.clone().unwrap_or_else(|| format!(
                "transport = \"file\"\noutbox = {}\nmax_attempts = 8\nretry_seconds = 60",
                toml_str(&outbox.display().to_string())
            )),
            maildir = toml_str(&maildir.display().to_string()),
        );
        fs::write(&config, toml + &dns::dns()).expect("write lists.toml");
        Site {
            dir,
            root,
            config,
            maildir,
            outbox,
            db,
            logs: AtomicU64::new(0),
        }
    }

    /// A site on the shipped configuration: the repository's `lists.toml` and templates
    /// copied into a tempdir, where its relative paths (`var/…`) land; `extra` and the
    /// test DNS server's `[dns]` are appended to `lists.toml`, and each `(from, to)` of
    /// `edits` replaces a line of it.
    pub fn shipped(extra: &str, edits: &[(&str, &str)]) -> Site {
        let dir = tempfile::Builder::new()
            .prefix("nhomthu-shipped-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().to_path_buf();
        copy_dir(Path::new(TEMPLATES), &root.join("templates"));
        let mut toml = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/lists.toml"))
            .expect("the shipped lists.toml");
        for (from, to) in edits {
            assert!(toml.contains(from), "lists.toml has no {from:?}");
            toml = toml.replacen(from, to, 1);
        }
        toml.push_str(extra);
        toml.push_str(&dns::dns());
        let config = root.join("lists.toml");
        fs::write(&config, toml).expect("write lists.toml");
        let maildir = root.join("var/mail/dangky");
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(maildir.join(sub)).expect("create maildir");
        }
        Site {
            dir,
            config,
            maildir,
            outbox: root.join("var/outbox"),
            db: root.join("var/nhomthu.db"),
            root,
            logs: AtomicU64::new(0),
        }
    }

    /// Keep the tempdir after the test (for a post-mortem).
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    fn log_path(&self, what: &str) -> PathBuf {
        let n = self.logs.fetch_add(1, Ordering::Relaxed);
        self.root.join(format!("{n:03}-{what}.log"))
    }

    // ---- the Maildir -------------------------------------------------------------------

    /// Deliver `raw` as a local MTA does (write into `tmp/`, rename into `new/`); returns
    /// the file name. Names sort in delivery order.
    pub fn deliver(&self, raw: &[u8]) -> String {
        deliver_into(&self.maildir, raw)
    }

    /// Entry names in a folder of the Maildir (`new`, `cur`, `.Quarantine/cur`, …),
    /// hidden files excluded, sorted.
    pub fn names(&self, folder: &str) -> Vec<String> {
        names_in(&self.maildir.join(folder))
    }

    /// How many entries a Maildir folder holds.
    pub fn count(&self, folder: &str) -> usize {
        count_in(&self.maildir.join(folder))
    }

    // ---- the outbox --------------------------------------------------------------------

    /// The `.eml` files of the outbox (half-written temporaries excluded).
    pub fn outbox_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = match fs::read_dir(&self.outbox) {
            Ok(dir) => dir
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "eml")
                        && !p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    /// How many `.eml` files the outbox holds.
    pub fn outbox_count(&self) -> usize {
        match fs::read_dir(&self.outbox) {
            Ok(dir) => dir
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.ends_with(".eml") && !n.starts_with('.'))
                })
                .count(),
            Err(_) => 0,
        }
    }

    /// Every outbox mail: outbound row id (from the file name) → (Delivered-To, text).
    pub fn outbox(&self) -> BTreeMap<i64, (String, String)> {
        let mut out = BTreeMap::new();
        for path in self.outbox_files() {
            let id: i64 = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("outbox file not named by row id: {}", path.display()));
            let text = fs::read_to_string(&path).expect("read outbox file");
            let rcpt = header(&text, "Delivered-To")
                .unwrap_or_else(|| panic!("{} has no Delivered-To", path.display()));
            out.insert(id, (rcpt, text));
        }
        out
    }

    // ---- the binary --------------------------------------------------------------------

    /// Run `nhomthu --config lists.toml ARGS…`, killing it after `timeout`.
    pub fn cli(&self, args: &[&str], timeout: Duration) -> Run {
        let out = self.log_path("cli.out");
        let err = self.log_path("cli.err");
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("NHOMTHU_CONFIG")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn nhomthu");
        let status = wait_child(&mut child, timeout);
        let status = match status {
            Some(s) => s,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`nhomthu {}` still running after {timeout:?}; stderr:\n{}",
                    args.join(" "),
                    tail(&err, 40)
                );
            }
        };
        Run {
            status,
            stdout: fs::read_to_string(&out).unwrap_or_default(),
            stderr: fs::read_to_string(&err).unwrap_or_default(),
        }
    }

    /// `nhomthu run --once`, which must succeed within `timeout`; returns its stderr.
    pub fn run_once(&self, timeout: Duration) -> String {
        let r = self.cli(&["run", "--once"], timeout);
        assert!(
            r.status.success(),
            "`nhomthu run --once` failed ({}):\n{}",
            r.status,
            last_lines(&r.stderr, 40)
        );
        r.stderr
    }

    /// Start the daemon (`nhomthu run`, RUST_LOG=info), logging to a file in the tempdir.
    pub fn start(&self) -> Daemon {
        let log = self.log_path("daemon");
        let file = fs::File::create(&log).expect("daemon log");
        let child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("RUST_LOG", "info")
            .env_remove("NHOMTHU_CONFIG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log fd"))
            .stderr(file)
            .spawn()
            .expect("spawn nhomthu run");
        Daemon {
            child: Some(child),
            log,
        }
    }

    // ---- the database ------------------------------------------------------------------

    /// Rows of a query, every column rendered as text (NULL as None, blobs as `<N bytes>`).
    /// Only while no nhomthu process is writing, to read a settled state.
    pub fn sql(&self, query: &str) -> Vec<Vec<Option<String>>> {
        use sqlx::{Column, Connection, Row};
        let url = format!("sqlite://{}", self.db.display());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("open {url}: {e}"));
            let rows = sqlx::query(query)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            let out = rows
                .iter()
                .map(|row| {
                    (0..row.columns().len())
                        .map(|i| {
                            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                v
                            } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                v.map(|n| n.to_string())
                            } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                                v.map(|b| format!("<{} bytes>", b.len()))
                            } else {
                                panic!("{query}: column {i} ({}) undecodable", row.column(i).name())
                            }
                        })
                        .collect()
                })
                .collect();
            conn.close().await.ok();
            out
        })
    }

    /// A single integer (`SELECT COUNT(*) …`).
    pub fn sql_i64(&self, query: &str) -> i64 {
        let rows = self.sql(query);
        assert_eq!(rows.len(), 1, "{query}: expected one row");
        rows[0][0]
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{query}: not an integer: {:?}", rows[0][0]))
    }

    /// Two-column rows as (text, integer), e.g. `SELECT address, COUNT(*) … GROUP BY`.
    pub fn sql_counts(&self, query: &str) -> BTreeMap<String, i64> {
        self.sql(query)
            .into_iter()
            .map(|r| {
                let k = r[0].clone().unwrap_or_default();
                let v = r[1].as_deref().and_then(|s| s.parse().ok()).unwrap_or(-1);
                (k, v)
            })
            .collect()
    }
}

/// A finished CLI run.
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error (the log).
    pub stderr: String,
}

/// A running daemon; killed (SIGKILL) and reaped when dropped.
pub struct Daemon {
    child: Option<Child>,
    /// Its log file.
    pub log: PathBuf,
}

impl Daemon {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The exit status if it has exited on its own.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("try_wait"))
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM through the `kill` command.
    pub fn term(&self) {
        let pid = self.pid().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM {pid} failed");
    }

    /// Wait up to `timeout` for the process to exit; None if it is still running.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_child(self.child.as_mut().expect("running"), timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// The last lines of its log.
    pub fn tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// Its whole log.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Poll `cond` every few milliseconds until it holds; false when `timeout` passes first.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Deliver into any Maildir: `tmp/` then rename into `new/`. Returns the file name.
pub fn deliver_into(maildir: &Path, raw: &[u8]) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("{secs}.Q{seq:09}P{}.nhomthu-test", std::process::id());
    let tmp = maildir.join("tmp").join(&name);
    fs::write(&tmp, raw).expect("write into tmp/");
    fs::rename(&tmp, maildir.join("new").join(&name)).expect("rename into new/");
    name
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(d) => d
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn count_in(dir: &Path) -> usize {
    match fs::read_dir(dir) {
        Ok(d) => d
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_str().is_some_and(|n| n.starts_with('.')))
            .count(),
        Err(_) => 0,
    }
}

/// The Maildir unique part of a file name (before `:2,`).
pub fn unique(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// A registration mail from `from` to a list's registration address.
pub fn registration(from: &str, name: &str, to: &str) -> Vec<u8> {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "From: {name} <{from}>\r\nTo: {to}\r\nSubject: =?utf-8?q?=C4=90=C4=83ng_k=C3=BD?=\r\n\
         Message-ID: <reg-{seq}@school.test>\r\nDate: Sat, 21 Nov 2026 08:00:00 +0700\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXin đăng ký.\r\n"
    )
    .into_bytes()
}

/// The reply a teacher sends by pressing Reply on a confirmation carrying `token`.
pub fn reply(from: &str, name: &str, token: &str) -> Vec<u8> {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "From: {name} <{from}>\r\nTo: Norply <norply+{token}@{DOMAIN}>\r\n\
         Subject: Re: =?utf-8?q?X=C3=A1c_nh=E1=BA=ADn?= [{token}]\r\n\
         In-Reply-To: <{token}@{DOMAIN}>\r\nMessage-ID: <reply-{seq}@school.test>\r\n\
         Date: Sat, 21 Nov 2026 09:00:00 +0700\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n> Để xác nhận, bấm Trả lời.\r\n"
    )
    .into_bytes()
}

/// The first confirmation token (`nt-…`) in a text.
pub fn token_in(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"nt-[a-z2-7]{26}").unwrap())
        .find(text)
        .map(|m| m.as_str().to_string())
}

/// The unfolded value of the first header `name` of a message.
pub fn header(text: &str, name: &str) -> Option<String> {
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            let mut v = v.trim().to_string();
            while let Some(next) = lines.peek()
                && next.starts_with([' ', '\t'])
            {
                v.push(' ');
                v.push_str(next.trim());
                lines.next();
            }
            return Some(v);
        }
    }
    None
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    last_lines(&fs::read_to_string(path).unwrap_or_default(), n)
}

/// The last `n` lines of a text.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
