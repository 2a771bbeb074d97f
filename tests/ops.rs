//! The operator's endpoints on the real daemon: `/metrics` speaks the Prometheus text
//! format (every line checked) and counts a registration, and `/healthz` is 200 while
//! every mailbox is read, then 503 naming a mailbox that cannot be.

#[path = "common/maildir.rs"]
mod maildir;

use maildir::{DOMAIN, Options, Site, registration, wait_until};
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One GET on loopback: the status code and the body; None while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// One sample of the exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    chars.next().is_some_and(first_ok) && chars.all(|c| first_ok(c) || c.is_ascii_digit())
}

fn number(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `{a="x",b="y"}` at the start of `s`: the labels and the rest of the line.
fn labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut out = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((out, r));
        }
        let (name, r) = rest.split_once("=\"").ok_or("label without =\"")?;
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = r.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, '\n') => return Err("newline in label value".into()),
                (_, c) => value.push(c),
            }
        };
        if out.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &r[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("labels not separated by ,".into());
        }
    }
}

/// Every line of a text exposition (format 0.0.4), strictly: `# HELP name text`,
/// `# TYPE name type` (once per family, before its samples), `name{labels} value
/// [timestamp]`, or empty.
fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = HashSet::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for (n, line) in text.lines().enumerate() {
        let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let (kind, rest) = rest
                .split_once(' ')
                .ok_or_else(|| err("bare comment".into()))?;
            let (name, arg) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_name(name, true) {
                return Err(err(format!("bad metric name {name:?}")));
            }
            match kind {
                "HELP" => {
                    if !helps.insert(name.to_string()) {
                        return Err(err("HELP twice".into()));
                    }
                    // Only \\ and \n are escapes in HELP text.
                    if arg.replace("\\\\", "").replace("\\n", "").contains('\\') {
                        return Err(err("bad escape in HELP".into()));
                    }
                }
                "TYPE" => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                        return Err(err(format!("bad type {arg:?}")));
                    }
                    if types.insert(name.to_string(), arg.to_string()).is_some() {
                        return Err(err("TYPE twice".into()));
                    }
                    if samples.iter().any(|s: &Sample| s.name == name) {
                        return Err(err("TYPE after its samples".into()));
                    }
                }
                _ => return Err(err(format!("comment {kind:?}, neither HELP nor TYPE"))),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("comment without a space".into()));
        }
        let split = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..split];
        if !is_name(name, true) {
            return Err(err(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[split..].starts_with('{') {
            labels(&line[split..]).map_err(err)?
        } else {
            (BTreeMap::new(), &line[split..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before the value".into()))?;
        let mut fields = rest.split(' ');
        let value = fields
            .next()
            .and_then(number)
            .ok_or_else(|| err("bad value".into()))?;
        if let Some(ts) = fields.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(err("bad timestamp".into()));
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(err("sample before its TYPE".into()));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn metrics(port: u16) -> Vec<Sample> {
    let (code, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(code, 200, "{body}");
    parse(&body).unwrap_or_else(|e| panic!("not the text format: {e}\n{body}"))
}

fn health(port: u16) -> Option<(u16, serde_json::Value)> {
    let (code, body) = get(port, "/healthz")?;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    Some((code, json))
}

#[test]
fn the_checker_refuses_what_is_not_the_text_format() {
    assert!(parse("# TYPE a counter\na 1\n").is_ok());
    assert!(parse("# TYPE a counter\na{x=\"1\",y=\"a\\\"b\"} 1 1700000000\n").is_ok());
    for bad in [
        "a 1\n",
        "# TYPE a counter\na{x=1} 1\n",
        "# TYPE a counter\na{x=\"1\"}1\n",
        "# TYPE a counter\na one\n",
        "# TYPE a counter\n# TYPE a gauge\na 1\n",
        "# TYPE a kind\na 1\n",
        "# TYPE 1a counter\n1a 1\n",
        "# TYPE a counter\na{x=\"1\" 1\n",
        "# TYPE a counter\na 1 2 3\n",
        "# comment\n",
        "# HELP a bad \\x escape\n# TYPE a counter\na 1\n",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn metrics_count_a_registration_and_healthz_names_a_mailbox_that_cannot_be_read() {
    let port = free_port();
    let site = Site::new(Options {
        site_extra: format!(
            "base_url = \"https://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\""
        ),
        ..Options::default()
    });
    let mut daemon = site.start();
    assert!(
        wait_until(WAIT, || health(port).is_some_and(|(code, _)| code == 200)),
        "healthz never 200: {:?}\n{}",
        health(port),
        daemon.tail(30)
    );

    site.deliver(&registration(
        "gv@school.test",
        "Cô Lan",
        &format!("dangky-THPT@{DOMAIN}"),
    ));
    let sent = || {
        value(
            &metrics(port),
            "nhomthu_answers_total",
            &[("result", "sent")],
        )
    };
    assert!(
        wait_until(WAIT, || sent() == Some(1.0)),
        "the confirmation was not counted as sent: {:?}\n{}",
        sent(),
        daemon.tail(30)
    );
    let samples = metrics(port);
    let inbound = |class| {
        value(
            &samples,
            "nhomthu_inbound_messages_total",
            &[("mailbox", "dangky"), ("class", class)],
        )
    };
    assert_eq!(inbound("registration"), Some(1.0));
    assert_eq!(inbound("confirmation"), None);
    for (counter, result) in [
        ("nhomthu_deliveries_total", Some("sent")),
        ("nhomthu_answers_total", Some("failed")),
        ("nhomthu_bounces_total", None),
        ("nhomthu_complaints_total", None),
    ] {
        let labels: Vec<_> = result.map(|r| ("result", r)).into_iter().collect();
        assert_eq!(value(&samples, counter, &labels), Some(0.0), "{counter}");
    }
    for gauge in [
        "nhomthu_answers_waiting",
        "nhomthu_deliveries_waiting",
        "nhomthu_answers_oldest_due_seconds",
        "nhomthu_deliveries_oldest_due_seconds",
    ] {
        assert_eq!(value(&samples, gauge, &[]), Some(0.0), "{gauge}");
    }
    let lag = value(
        &samples,
        "nhomthu_mailbox_poll_lag_seconds",
        &[("mailbox", "dangky")],
    )
    .expect("the poll lag of dangky");
    assert!((0.0..60.0).contains(&lag), "lag {lag}");

    let (code, body) = health(port).unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["mailboxes"][0]["name"], "dangky");

    // The same site with a second mailbox on an IMAP server that is not there.
    daemon.term();
    assert!(daemon.wait(WAIT).is_some(), "the daemon did not stop");
    let closed = free_port();
    let mut toml = std::fs::read_to_string(&site.config).unwrap();
    toml.push_str(&format!(
        "\n[[mailbox]]\nname = \"broken\"\naddresses = [\"hopthu@{DOMAIN}\"]\n\
         [mailbox.imap]\nhost = \"127.0.0.1\"\nport = {closed}\ntls = \"starttls\"\n\
         user = \"hopthu\"\npassword_env = \"PATH\"\npoll_seconds = 1\n"
    ));
    std::fs::write(&site.config, toml).unwrap();
    let daemon = site.start();
    let failing = || {
        health(port)
            .filter(|(code, _)| *code == 503)
            .map(|(_, body)| body)
    };
    assert!(
        wait_until(WAIT, || failing().is_some()),
        "healthz never 503: {:?}\n{}",
        health(port),
        daemon.tail(30)
    );
    let body = failing().unwrap();
    assert_eq!(body["status"], "failing");
    let reasons: Vec<&str> = body["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 1, "{body}");
    assert!(
        reasons[0].starts_with("mailbox broken: never read"),
        "{body}"
    );
    assert_eq!(body["database"], true);
    let dangky = &body["mailboxes"][0];
    assert_eq!(
        (&dangky["name"], &dangky["ok"]),
        (&"dangky".into(), &true.into())
    );
}
