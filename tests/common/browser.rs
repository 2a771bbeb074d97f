//! A real browser for tests: headless Chromium driven through chromedriver (W3C WebDriver
//! over HTTP on loopback). Include it with `#[path = "common/browser.rs"] mod browser;`.
//!
//! [`Browser::start`] starts a chromedriver of its own on a free loopback port (chromedriver
//! binds 127.0.0.1 and ::1 only, unless given `--allowed-ips`, which it is not), and
//! chromedriver starts Chromium with a private profile directory and the flags for root in
//! a container. Dropping the [`Browser`] ends the session and kills chromedriver's whole
//! process group, then any process still using the profile directory: no Chromium
//! outlives its test. `scripts/browser install` installs the two binaries (run from here
//! when they are missing); their paths come from `NHOMTHU_CHROMIUM` and
//! `NHOMTHU_CHROMEDRIVER`, or Debian's.
//!
//! For a quick look at a page, [`page_text`] opens a URL and returns its visible text;
//! [`Browser::click_button`] presses a page's first button and waits for the next page.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one WebDriver command, a start or a navigation may take.
const WAIT: Duration = Duration::from_secs(60);
/// The window, so that screenshots have one size everywhere.
const WINDOW: &str = "--window-size=1024,640";

/// Chromium's flags: headless, as root in a container (no sandbox, no GPU, no /dev/shm).
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--lang=vi",
    WINDOW,
];

/// One headless Chromium, with its chromedriver and its WebDriver session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: tempfile::TempDir,
}

/// Opens `url` in a fresh browser and returns the page's visible text.
pub fn page_text(url: &str) -> String {
    let browser = Browser::start();
    browser.open(url);
    browser.text()
}

/// The binary `var` names, or Debian's at `debian`, which `scripts/browser install` puts
/// there (once per test binary) when it is missing, as the other test servers are set up.
fn binary(var: &str, debian: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var_os(var).unwrap_or_else(|| debian.into()));
    if !path.exists() && std::env::var_os(var).is_none() {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/browser");
            let status = std::process::Command::new(script)
                .arg("install")
                .status()
                .expect("run scripts/browser");
            assert!(status.success(), "scripts/browser install failed");
        });
    }
    assert!(
        path.exists(),
        "{var}: nothing at {} (run scripts/browser install)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver listening on a free port of loopback; another port when the one chosen
/// was taken meanwhile.
fn driver(chromedriver: &Path, log: &Path) -> (Child, u16) {
    let deadline = Instant::now() + WAIT;
    for _ in 0..3 {
        let port = free_port();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which Drop kills whole, Chromium included.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (driver, port);
            }
            if driver.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                let _ = driver.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("chromedriver did not start:\n{log}");
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        let chromium = binary("NHOMTHU_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("NHOMTHU_CHROMEDRIVER", "/usr/bin/chromedriver");
        let profile = tempfile::Builder::new()
            .prefix("nhomthu-browser.")
            .tempdir()
            .unwrap();
        let log = profile.path().join("chromedriver.log");
        let (driver, port) = driver(&chromedriver, &log);
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            profile,
        };
        let user_data = browser.profile.path().join("profile");
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let reply = browser.request("POST", "/session", Some(capabilities));
        browser.session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}\n{}", browser.log()))
            .to_string();
        browser
    }

    /// Navigates to `url` and waits until it has loaded.
    pub fn open(&self, url: &str) {
        self.command("POST", "url", json!({ "url": url }));
    }

    /// The URL of the page shown.
    pub fn url(&self) -> String {
        string(self.command("GET", "url", Value::Null))
    }

    /// The page's title.
    pub fn title(&self) -> String {
        string(self.command("GET", "title", Value::Null))
    }

    /// The page's visible text, as a person reads it (the body's rendered text).
    pub fn text(&self) -> String {
        self.text_of("body")
    }

    /// The visible text of the first element matching the CSS `selector`.
    pub fn text_of(&self, selector: &str) -> String {
        let element = self.find(selector);
        string(self.command("GET", &format!("element/{element}/text"), Value::Null))
    }

    /// Whether an element matches the CSS `selector`.
    pub fn has(&self, selector: &str) -> bool {
        let found = self.command(
            "POST",
            "elements",
            json!({ "using": "css selector", "value": selector }),
        );
        found.as_array().is_some_and(|a| !a.is_empty())
    }

    /// The page's source as the browser holds it now (the serialised DOM).
    pub fn source(&self) -> String {
        string(self.command("GET", "source", Value::Null))
    }

    /// Clicks the first element matching the CSS `selector` and waits for the page it
    /// leads to: the old document is gone and the new one has loaded.
    pub fn click(&self, selector: &str) {
        let element = self.find(selector);
        let old = self.find("html");
        self.command("POST", &format!("element/{element}/click"), json!({}));
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, _) = self.raw(
                "GET",
                &format!("/session/{}/element/{old}/name", self.session),
                None,
            );
            if status == 404 {
                let state = self.script("return document.readyState");
                if state == "complete" {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "clicking {selector} led to no new page; still at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the page's first button (a form's submit button) and waits for the next page.
    pub fn click_button(&self) {
        self.click("button, input[type=submit]");
    }

    /// Runs JavaScript `body` (a function body: `return ...`) in the page.
    pub fn script(&self, body: &str) -> Value {
        self.command(
            "POST",
            "execute/sync",
            json!({ "script": body, "args": [] }),
        )
    }

    /// Saves a PNG screenshot of the window to `path`, creating its directory.
    pub fn screenshot(&self, path: &Path) {
        let png = string(self.command("GET", "screenshot", Value::Null));
        let png = data_encoding::BASE64.decode(png.as_bytes()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Ends the session and stops the browser (what dropping it does).
    pub fn close(self) {}

    /// The private directory of this browser (its profile and chromedriver's log).
    pub fn dir(&self) -> PathBuf {
        self.profile.path().to_path_buf()
    }

    /// chromedriver's log, for failure messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.profile.path().join("chromedriver.log"))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The reference of the first element matching `selector`.
    fn find(&self, selector: &str) -> String {
        let found = self.command(
            "POST",
            "element",
            json!({ "using": "css selector", "value": selector }),
        );
        // {"element-6066-…": "id"}: the reference is the one value.
        let id = found.as_object().and_then(|o| o.values().next().cloned());
        string(id.unwrap_or(Value::Null))
    }

    /// A command of the session; panics with WebDriver's error and the page's URL.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}/{path}", self.session);
        let body = (method == "POST").then_some(body);
        self.request(method, &path, body)["value"].take()
    }

    /// A WebDriver request; panics unless it succeeds.
    fn request(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, reply) = self.raw(method, path, body);
        if status != 200 {
            panic!(
                "WebDriver {method} {path}: {status} {reply}\n{}",
                self.log()
            );
        }
        reply
    }

    /// One HTTP/1.1 exchange with chromedriver: the status and the JSON reply.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("chromedriver is gone: {e}\n{}", self.log()));
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        // chromedriver keeps the connection open: read the head, then Content-Length bytes.
        let mut reader = std::io::BufReader::new(stream);
        let fail = |e: std::io::Error| panic!("WebDriver {method} {path}: {e}\n{}", self.log());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or_else(fail) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let length = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        });
        let mut body = Vec::new();
        match length {
            Some(n) => {
                body.resize(n, 0);
                reader
                    .read_exact(&mut body)
                    .map(|()| 0)
                    .unwrap_or_else(fail);
            }
            None => {
                reader.read_to_end(&mut body).unwrap_or_else(fail);
            }
        }
        let body = String::from_utf8_lossy(&body);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

fn string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => panic!("expected a string from WebDriver, got {other}"),
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Chromium shuts down with its session; a dead driver leaves it to the kills.
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    stream,
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    self.session, self.port
                );
                let _ = stream.read(&mut [0; 1024]);
            }
        }
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Anything that left the group but still uses this profile.
        for pid in processes_using(self.profile.path()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Processes whose command line names `dir` (this browser's private profile).
pub fn processes_using(dir: &Path) -> Vec<u32> {
    let dir = dir.to_string_lossy();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(dir.as_ref()))
        })
        .collect()
}
