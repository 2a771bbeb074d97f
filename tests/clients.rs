//! Real mail clients on the real stack: a teacher's client composes and sends through
//! Postfix (127.0.0.1:2525, `scripts/mailstack`), Dovecot delivers into the registration
//! mailbox, and nhomthu reads what the client really wrote.
//!
//! Alpine (Debian's `alpine`) runs headless in a private tmux server, with its own pinerc
//! (`-p`, and `-P /dev/null` for no system configuration): `posting-character-set=VISCII`
//! makes it label and encode everything it sends in VISCII (RFC 1456), the charset it
//! offers for Vietnamese, while the terminal stays UTF-8 (`LANG=C.UTF-8`). A `mailto:` URL
//! (`-url`) fills the recipient, the subject and the body, so the only keystroke is ^X, and
//! Alpine exits once the message is sent.

#[path = "common/stack.rs"]
mod stack;

use stack::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A site whose registration and no-reply inboxes are read over IMAP, answering through
/// Postfix.
fn site(dir: &Path, p: &People) -> PathBuf {
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

[[delivery.relay]]
host = "127.0.0.1"
port = {smtp}
tls = "none"

{registration_mailbox}
{noreply_mailbox}

[[list]]
id = "thpt"
address = "thpt-{run}@moet.test"
name = "Trường THPT"
audience = "Các trường trung học phổ thông"
registration = ["{registration}"]
"#,
        noreply = p.noreply(),
        registration = p.registration(),
        registration_mailbox = imap_mailbox("dangky", &p.registration()),
        noreply_mailbox = imap_mailbox("norply", &p.noreply()),
        run = p.run,
        db = dir.join("nhomthu.db").display(),
        templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        smtp = smtp_port(),
    );
    let path = dir.join("lists.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Fail, naming the Debian package, when a client program is missing.
fn require(program: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{program} is missing: apt-get install {package}");
}

/// Wait for `done`, polling; `false` after `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A private tmux server, killed when the test ends whatever happens.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "client"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Percent-encoding for a `mailto:` URL (RFC 6068).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn alpine_in_viscii_asks_to_leave_and_is_understood() {
    require("alpine", "alpine");
    require("tmux", "tmux");
    stack();
    let dir = tempfile::tempdir().unwrap();
    let p = People::new("alpine");
    let config = site(dir.path(), &p);
    nhomthu(&config, &["members", "add", "thpt", &p.teacher()]);

    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let pinerc = home.join("pinerc");
    std::fs::write(
        &pinerc,
        format!(
            "personal-name=Nguyễn Văn Đức\n\
             customized-hdrs=From: Nguyễn Văn Đức <{teacher}>\n\
             user-domain=school.test\n\
             smtp-server=127.0.0.1:{smtp}/notls\n\
             posting-character-set=VISCII\n\
             inbox-path={inbox}\n\
             default-fcc=\"\"\n\
             postponed-folder=\"\"\n\
             last-version-used=2.26\n\
             feature-list=quit-without-confirm,send-without-confirm\n",
            teacher = p.teacher(),
            smtp = smtp_port(),
            inbox = home.join("inbox").display(),
        ),
    )
    .unwrap();
    std::fs::write(home.join("inbox"), "").unwrap();

    let url = format!(
        "mailto:{}?subject={}&body={}",
        p.registration(),
        percent("hủy đăng ký"),
        percent("Xin cảm ơn quý Bộ."),
    );
    let exit_file = home.join("exit");
    let command = format!(
        "env HOME='{home}' LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm alpine -p '{pinerc}' -P /dev/null -url '{url}'; echo $? > '{exit}'",
        home = home.display(),
        pinerc = pinerc.display(),
        exit = exit_file.display(),
    );
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "client",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    let composing = wait_until(Duration::from_secs(15), || {
        tmux.screen().contains("Subject : hủy đăng ký")
    });
    assert!(
        composing,
        "no composer on Alpine's screen:\n{}",
        tmux.screen()
    );
    tmux.run(&["send-keys", "-t", "client", "C-x"]);
    let sent = wait_until(Duration::from_secs(15), || {
        std::fs::read_to_string(&exit_file).is_ok_and(|s| s.ends_with('\n'))
    });
    assert!(sent, "Alpine did not send and exit:\n{}", tmux.screen());
    let exit = std::fs::read_to_string(&exit_file).unwrap();
    assert_eq!(exit.trim(), "0", "alpine exited with {exit}");

    // What Postfix delivered is VISCII: the encoded subject and the body's label.
    let deadline = Instant::now() + WAIT;
    let raw = loop {
        if let Some(raw) = mailbox(&p.registration()).pop() {
            break raw;
        }
        assert!(Instant::now() < deadline, "Alpine's message not delivered");
        std::thread::sleep(Duration::from_millis(100));
    };
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(
        head.contains("\nsubject: =?viscii?q?h=fcy_=f0=e5ng_k=fd?="),
        "not a VISCII subject:\n{head}"
    );
    assert!(
        head.contains("charset=viscii"),
        "body not labelled VISCII:\n{head}"
    );
    assert!(
        std::str::from_utf8(&raw).is_err(),
        "the body should be 8-bit VISCII"
    );

    // nhomthu reads it as a leave request, name and all...
    let eml = dir.path().join("alpine.eml");
    std::fs::write(&eml, &raw).unwrap();
    let inspect: serde_json::Value = serde_json::from_str(&nhomthu(
        &config,
        &["inspect", eml.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    assert_eq!(inspect["decision"]["class"], "unsubscribe", "{inspect:#}");
    assert_eq!(inspect["subject"], "hủy đăng ký");
    assert_eq!(inspect["from"]["name"], "Nguyễn Văn Đức");
    assert_eq!(inspect["from"]["address"], p.teacher());

    // ...and acts on it: the teacher is asked to confirm leaving.
    nhomthu(&config, &["run", "--once"]);
    wait_for(&p.teacher(), "leave confirmation", |m| {
        subject(m).starts_with("Xác nhận rời nhóm thư")
    });
}
