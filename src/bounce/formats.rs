//! Bounces without a message/delivery-status part: the plain-text reports of Postfix,
//! qmail, Yahoo, Exim, Sendmail, Exchange, Gmail, GroupWise and Lotus Domino, each known
//! by its own sentences. Read only from a machine-made message (see [`super::machine`]),
//! and only the text before the quoted original, so that the original's own headers
//! (its From, its To) never count as failed recipients.

use super::lines::{self, ADDRESS, Found, after_line, angle_paragraphs, indented_entries, merge};
use super::status;
use super::{
    Kind, Outcome, Recipient, Recipients, Report, body_text, generic, has_header, header_addresses,
    is_system_address, machine, original, phrases,
};
use mail_parser::Message;
use regex::Regex;
use std::sync::LazyLock;

/// What the text of a bounce says.
pub(super) struct Scan {
    /// The format recognised.
    pub format: &'static str,
    /// A delay warning rather than a failure.
    pub delay: bool,
    /// What the report says of all its recipients: permanent (`Some(true)`) or
    /// temporary errors.
    pub hint: Option<bool>,
    /// The failed addresses, in order.
    pub found: Vec<Found>,
}

/// The report the text of `msg` makes, when `msg` is machine-made and its text is a
/// known bounce format.
pub(super) fn read(msg: &Message<'_>) -> Outcome {
    if !machine::made(msg) {
        return Outcome::NotMine;
    }
    let body = body_text(msg);
    let quote = original::quote_start(&body);
    let Some(scan) = scan(&body, quote, msg) else {
        return Outcome::NotMine;
    };
    let recipients = recipients(&scan, msg);
    if recipients.is_empty()
        && !scan.found.is_empty()
        && scan.found.iter().all(|f| success(f.diagnostic.as_deref()))
    {
        // Every address it names was delivered: a success notice.
        return Outcome::Nothing;
    }
    let original = original::from_parts(msg)
        .or_else(|| quote.and_then(|q| original::from_quote(&body, q)))
        .unwrap_or_default();
    Outcome::Found(Report {
        kind: if scan.delay {
            Kind::Delay
        } else {
            Kind::Failure
        },
        format: scan.format,
        recipients,
        feedback_type: None,
        original,
    })
}

/// What the human-readable text of `msg` says, whoever sent it (for a DSN, whose
/// fields may lack the server's words).
pub(super) fn scan_body(msg: &Message<'_>) -> Option<Scan> {
    let body = body_text(msg);
    scan(&body, original::quote_start(&body), msg)
}

/// The recipients of `scan`: the bounce's own addresses (its sender, the addresses it
/// was sent to, mailer-daemon and postmaster), the returned mail's author and delivered
/// ones left out.
pub(super) fn recipients(scan: &Scan, msg: &Message<'_>) -> Vec<Recipient> {
    let own: Vec<String> = [
        "From",
        "Sender",
        "To",
        "Cc",
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "Return-Path",
    ]
    .iter()
    .flat_map(|h| header_addresses(msg, h))
    .chain(original::authors(msg))
    .collect();
    let mut out = Recipients::default();
    for f in &scan.found {
        if is_system_address(&f.address) || own.contains(&f.address) {
            continue;
        }
        let words = f.diagnostic.as_deref().map(lines::server_words);
        let status = status::status(None, words);
        if status.as_deref().is_some_and(|s| s.starts_with('2')) {
            continue;
        }
        let permanent = !scan.delay && status::permanent(status.as_deref(), words, scan.hint);
        out.push(Recipient {
            address: f.address.clone(),
            status,
            permanent,
            diagnostic: words.and_then(status::diagnostic),
        });
    }
    out.list
}

/// Whether `words` report a delivery (a 2.x.x code).
fn success(words: Option<&str>) -> bool {
    status::status(None, words.map(lines::server_words)).is_some_and(|s| s.starts_with('2'))
}

/// Whether `lower` contains any of `phrases`.
fn any(lower: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| lower.contains(p))
}

const POSTFIX: [&str; 3] = [
    "this is the mail system at host",
    "this is the postfix program at host",
    "i'm sorry to have to inform you that your message could not",
];
const QMAIL: [&str; 2] = [
    "this is the qmail-send program at",
    "i'm afraid i wasn't able to deliver your message to the following addresses",
];
const YAHOO: [&str; 1] = ["sorry, we were unable to deliver your message to the following address"];
const EXIM: [&str; 3] = [
    "this message was created automatically by mail delivery software",
    "a message that you sent could not be delivered to one or more of its",
    "a message that you sent has not yet been delivered to one or more of its",
];
const SENDMAIL: [&str; 4] = [
    "----- the following addresses had permanent fatal errors -----",
    "----- the following addresses had transient non-fatal errors -----",
    "----- transcript of session follows -----",
    "the original message was received at",
];
const EXCHANGE: [&str; 8] = [
    "delivery has failed to these recipients or groups",
    "delivery has failed to these recipients or distribution lists",
    "delivery is delayed to these recipients or groups",
    "your message did not reach some or all of the intended recipients",
    "the following recipient(s) cannot be reached",
    "the following recipient(s) could not be reached",
    "did not reach the following recipient(s)",
    "diagnostic information for administrators",
];
const GMAIL: [&str; 11] = [
    "delivery to the following recipient failed permanently",
    "delivery to the following recipients failed permanently",
    "delivery to the following recipient has been delayed",
    "delivery to the following recipients have been delayed",
    "** address not found **",
    "** message not delivered **",
    "** message blocked **",
    "** delivery incomplete **",
    "the response from the remote server was:",
    "the error that the other server returned was:",
    "there was a temporary problem delivering your message to",
];
const GROUPWISE: [&str; 1] = ["the message that you sent was undeliverable to the following"];
const DOMINO: [&str; 3] = [
    "not listed in domino directory",
    "not listed in public name & address book",
    "\nwas not delivered to:",
];

/// A bounce's own words, as the format readers look at them.
pub(super) struct Text<'a> {
    /// The text before any quoted original.
    pub text: &'a str,
    /// `text`, ASCII-lowercased.
    pub lower: String,
    /// `text` folded ([`crate::text::fold`]), for the phrases of every language.
    pub folded: String,
    /// `text`'s lines.
    pub lines: Vec<&'a str>,
    /// The whole message.
    pub msg: &'a Message<'a>,
    /// Whether the message returns the original (attached or quoted).
    pub returned: bool,
}

/// One format: how it is recognised, how its addresses are read, and the sentences of
/// its delay warnings. Adding a format is one row in [`FORMATS`] and one reader.
struct Format {
    name: &'static str,
    /// Whether a text is in this format (its fingerprint).
    known: fn(&Text) -> bool,
    /// The failed addresses it names, with their words.
    read: fn(&Text) -> Vec<Found>,
    /// Sentences (lowercase) that make it a delay warning.
    delay: &'static [&'static str],
}

/// The formats, tried in order; the generic reader comes last.
const FORMATS: &[Format] = &[
    Format {
        name: "postfix",
        known: |t| any(&t.lower, &POSTFIX),
        read: |t| postfix(&t.lines),
        delay: &[
            "this is a warning only",
            "your message could not be delivered for more than",
        ],
    },
    Format {
        name: "qmail",
        known: |t| any(&t.lower, &QMAIL),
        read: |t| angle_paragraphs(&t.lines),
        delay: &[],
    },
    Format {
        name: "yahoo",
        known: |t| any(&t.lower, &YAHOO),
        read: |t| angle_paragraphs(&t.lines),
        delay: &[],
    },
    Format {
        name: "exim",
        known: |t| any(&t.lower, &EXIM),
        read: |t| exim(&t.lines),
        delay: &["has not yet been delivered to one or more of its"],
    },
    Format {
        name: "sendmail",
        known: |t| any(&t.lower, &SENDMAIL) && t.lower.contains("-----"),
        read: |t| sendmail(&t.lines),
        delay: &[
            "this is a warning message only",
            "transient non-fatal errors",
            "will keep trying until message is",
            "warning: message still undelivered after",
        ],
    },
    Format {
        name: "exchange",
        known: |t| {
            any(&t.lower, &EXCHANGE)
                || has_header(t.msg, "X-MS-Exchange-Message-Is-Ndr")
                || YOUR_MESSAGE_TO.is_match(t.text)
        },
        read: |t| exchange(t.text, &t.lines),
        delay: &[
            "delivery is delayed to these recipients or groups",
            "this message hasn't been delivered yet",
            "delivery of your message has been delayed",
        ],
    },
    Format {
        name: "gmail",
        known: |t| any(&t.lower, &GMAIL) || WASNT_DELIVERED.is_match(t.text),
        read: |t| gmail(t.text, &t.lines),
        delay: &[
            "has been delayed",
            "have been delayed",
            "** delivery incomplete **",
            "there was a temporary problem delivering",
        ],
    },
    Format {
        name: "groupwise",
        known: |t| any(&t.lower, &GROUPWISE),
        read: |t| groupwise(&t.lines),
        delay: &[],
    },
    Format {
        name: "domino",
        known: |t| any(&t.lower, &DOMINO) || NOT_DELIVERED_TO.is_match(t.text),
        read: |t| domino(t.text, &t.lines),
        delay: &[],
    },
    Format {
        name: "generic",
        known: |t| {
            phrases::says_failure(&t.folded)
                || phrases::says_delay(&t.folded)
                || phrases::bounce_subject(machine::msg_subject(t.msg))
                || has_header(t.msg, "X-Failed-Recipients")
                || (t.returned && generic::reply(t.text).is_some())
        },
        read: |t| generic::read(&t.lines, t.msg),
        delay: &[],
    },
];

/// The format of the bounce's own words (`body` before the quoted original that starts
/// at `quote`, if any) and what they say, if it is a known one.
fn scan(body: &str, quote: Option<usize>, msg: &Message<'_>) -> Option<Scan> {
    let text = quote.and_then(|q| body.get(..q)).unwrap_or(body);
    let text = super::cut(text, super::MAX_TEXT);
    let t = Text {
        text,
        lower: text.to_ascii_lowercase(),
        folded: crate::text::fold(text),
        lines: text.lines().collect(),
        msg,
        returned: quote.is_some() || original::from_parts(msg).is_some(),
    };
    let subject = machine::msg_subject(msg).trim().to_lowercase();
    let format = FORMATS.iter().find(|f| (f.known)(&t))?;
    let mut found = (format.read)(&t);
    if format.name != "generic" {
        // A known layout that names nobody: X-Failed-Recipients, or the words around
        // the addresses, may; and the server's reply may stand apart from its list.
        let nearby = generic::read(&t.lines, msg);
        if found.is_empty() {
            found = nearby;
        } else {
            for f in found
                .iter_mut()
                .filter(|f| f.diagnostic.as_deref().and_then(generic::reply).is_none())
            {
                if let Some(words) = nearby
                    .iter()
                    .find(|n| n.address == f.address)
                    .and_then(|n| n.diagnostic.as_deref())
                    .filter(|w| generic::reply(w).is_some())
                {
                    f.diagnostic = Some(words.to_string());
                }
            }
        }
    }
    let delay = any(&t.lower, format.delay)
        || delay_subject(&subject)
        || (format.name == "generic" && generic_delay(&t, &found));
    Some(Scan {
        format: format.name,
        delay,
        hint: hint(&t.lower),
        found,
    })
}

/// Whether a bounce read by the generic reader is a delay warning: it says delivery is
/// delayed, and no address it names failed with a 5xx reply.
fn generic_delay(t: &Text, found: &[Found]) -> bool {
    phrases::says_delay(&t.folded)
        && !found.iter().any(|f| {
            let words = f.diagnostic.as_deref().map(lines::server_words);
            status::status(None, words).is_some_and(|s| s.starts_with('5'))
        })
        && (!phrases::says_failure(&t.folded) || !found.is_empty())
}

/// Whether a subject (lowercase) announces a delay warning.
fn delay_subject(subject: &str) -> bool {
    [
        "delayed mail",
        "warning: message",
        "warning: could not send message for past",
        "delivery status notification (delay)",
        "delivery delayed",
    ]
    .iter()
    .any(|s| subject.starts_with(s))
        || subject.contains("(delay)")
}

/// What a report says of all its recipients, if it says so.
fn hint(lower: &str) -> Option<bool> {
    if any(
        lower,
        &[
            "permanent error",
            "failed permanently",
            "permanent fatal error",
            "permanent failure",
        ],
    ) {
        Some(true)
    } else if any(
        lower,
        &[
            "temporary error",
            "temporary failure",
            "transient non-fatal",
        ],
    ) {
        Some(false)
    } else {
        None
    }
}

/// Postfix: `<address>: words` paragraphs after "The mail system".
fn postfix(lines: &[&str]) -> Vec<Found> {
    let start = after_line(lines, |l| {
        l == "the mail system" || l == "the postfix program"
    })
    .unwrap_or(0);
    angle_paragraphs(lines.get(start..).unwrap_or(&[]))
}

/// Exim: the indented list after "The following address(es) failed:" (or, in a
/// warning, "… has not yet been delivered is:").
fn exim(lines: &[&str]) -> Vec<Found> {
    let start = after_line(lines, |l| {
        l.ends_with("failed:") || l.contains("to which the message has not yet been delivered")
    });
    let mut found = start
        .map(|s| indented_entries(lines, s))
        .unwrap_or_default();
    // "(generated from alias@…)": the address the sender used is the alias.
    for f in &mut found {
        let Some(words) = f.diagnostic.as_deref() else {
            continue;
        };
        if let Some(rest) = words.strip_prefix("(generated from ")
            && let Some((alias, after)) = rest.split_once(')')
            && let Some(alias) = super::normalize_address(alias)
        {
            let after = after.trim().to_string();
            f.address = alias;
            f.diagnostic = (!after.is_empty()).then_some(after);
        }
    }
    found
}

/// A Sendmail transcript line about one address: `<a@b>... User unknown`, also after
/// `<<< 550 5.1.1 `.
static SENDMAIL_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:<<<\s*)?(?:[245][0-9][0-9][ \-](?:[245]\.[0-9]{{1,3}}\.[0-9]{{1,3}}\s+)?)?<?({ADDRESS})>?\.\.\.\s*(.*)$"
    ))
    .expect("valid regex")
});

/// Sendmail: the addresses under "----- The following addresses had … errors -----"
/// with their `(reason: …)`, then the transcript's `<address>... words` lines.
fn sendmail(lines: &[&str]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    if let Some(start) = after_line(lines, |l| {
        l.contains("the following addresses had") && l.contains("errors")
    }) {
        for line in lines.iter().skip(start) {
            let t = line.trim();
            if t.is_empty() || t.starts_with("-----") || found.len() >= super::MAX_RECIPIENTS {
                break;
            }
            if t.to_ascii_lowercase().starts_with("(reason:") {
                let reason = t.get("(reason:".len()..).unwrap_or("");
                if let Some(last) = found.last_mut() {
                    last.add_words(reason.strip_suffix(')').unwrap_or(reason));
                }
            } else if !t.starts_with('(')
                && let Some(address) =
                    super::normalize_address(t.split_whitespace().next().unwrap_or(""))
            {
                merge(&mut found, vec![Found::new(address, None)], false);
            }
        }
    }
    if let Some(start) = after_line(lines, |l| {
        l.contains("----- transcript of session follows -----")
    }) {
        let mut transcript = Vec::new();
        for line in lines.iter().skip(start) {
            let t = line.trim();
            if t.starts_with("-----") || transcript.len() >= super::MAX_RECIPIENTS {
                break;
            }
            if let Some(c) = SENDMAIL_LINE.captures(t)
                && let Some(address) = c.get(1).and_then(|m| super::normalize_address(m.as_str()))
            {
                let words = t.strip_prefix("<<<").unwrap_or(t);
                transcript.push(Found::new(address, Some(words)));
            }
        }
        merge(&mut found, transcript, false);
    }
    found
}

/// "Your message to X couldn't be delivered." (Office 365).
static YOUR_MESSAGE_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)your message to\s+<?({ADDRESS})>?\s+couldn(?:'|\x{{2019}})?t be delivered"
    ))
    .expect("valid regex")
});

/// "'a@b' on 17/11/2025 8:13 AM" (Exchange 2003).
static ON_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^\s*'?<?({ADDRESS})>?'?\s+on\s+\S")).expect("valid regex")
});

/// Exchange and Office 365: the addresses under "Delivery has failed to these
/// recipients or groups:" (each followed by an explanation), "Your message to X couldn't
/// be delivered", the Exchange 2003 list, and the server's words under "Diagnostic
/// information for administrators:".
fn exchange(text: &str, lines: &[&str]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for c in YOUR_MESSAGE_TO
        .captures_iter(text)
        .take(super::MAX_RECIPIENTS)
    {
        if let Some(a) = c.get(1).and_then(|m| super::normalize_address(m.as_str())) {
            merge(&mut found, vec![Found::new(a, None)], false);
        }
    }
    let is_end = |lower: &str| {
        lower.starts_with("diagnostic information for administrators")
            || lower.starts_with("original message headers")
            || lower.starts_with("sent by microsoft exchange")
            || lower.starts_with("____")
    };
    if let Some(start) = after_line(lines, |l| {
        l.starts_with("delivery has failed to these recipients")
            || l.starts_with("delivery is delayed to these recipients")
    }) {
        let mut section: Vec<Found> = Vec::new();
        for line in lines.iter().skip(start) {
            let t = line.trim();
            if is_end(&t.to_ascii_lowercase()) {
                break;
            }
            if t.is_empty() {
                continue;
            }
            match lines::first_address(t) {
                Some(a) if section.len() < super::MAX_RECIPIENTS => {
                    section.push(Found::new(a, None))
                }
                Some(_) => {}
                None => {
                    if let Some(last) = section.last_mut() {
                        last.add_words(t);
                    }
                }
            }
        }
        merge(&mut found, section, false);
    }
    if let Some(start) = after_line(lines, |l| {
        l.starts_with("the following recipient(s) c")
            || l.starts_with("did not reach the following")
    }) {
        let mut listed: Vec<Found> = Vec::new();
        for line in lines.iter().skip(start) {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(c) = ON_DATE.captures(line)
                && let Some(a) = c.get(1).and_then(|m| super::normalize_address(m.as_str()))
            {
                if listed.len() < super::MAX_RECIPIENTS {
                    listed.push(Found::new(a, None));
                }
            } else if line.starts_with([' ', '\t'])
                && let Some(last) = listed.last_mut()
            {
                last.add_words(line);
            } else if !listed.is_empty() {
                break;
            }
        }
        merge(&mut found, listed, false);
    }
    if let Some(start) = after_line(lines, |l| {
        l.starts_with("diagnostic information for administrators")
    }) {
        merge(&mut found, exchange_admin(lines, start), true);
    }
    found
}

/// The "Diagnostic information for administrators" section: an address alone on its
/// line, then the server's words (`#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##`,
/// `Remote Server returned '550 5.1.10 …'`).
fn exchange_admin(lines: &[&str], start: usize) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut open = false;
    for line in lines.iter().skip(start) {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("original message headers") {
            break;
        }
        if t.is_empty() || lower.starts_with("generating server:") {
            open = false;
            continue;
        }
        if let Some(a) = super::normalize_address(t) {
            if out.len() >= super::MAX_RECIPIENTS {
                break;
            }
            out.push(Found::new(a, None));
            open = true;
        } else if open && let Some(last) = out.last_mut() {
            let words = match lower.find("returned '") {
                Some(i) => t.get(i + "returned '".len()..).unwrap_or(t),
                None => t,
            };
            let words = words.trim_start_matches('#').trim_end_matches('#').trim();
            let words = words.strip_suffix('\'').unwrap_or(words);
            last.add_words(words);
        }
    }
    out
}

/// "Your message wasn't delivered to X because …", "There was a (temporary) problem
/// delivering your message to X." (Gmail).
static WASNT_DELIVERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:wasn(?:'|\x{{2019}})?t delivered to|problem delivering your message to)\s+<?({ADDRESS})>?"
    ))
    .expect("valid regex")
});

/// Gmail: the indented list after "Delivery to the following recipient failed
/// permanently:", or the address in "Your message wasn't delivered to X because …"; the
/// server's words after "The response from the remote server was:".
fn gmail(text: &str, lines: &[&str]) -> Vec<Found> {
    let mut found = after_line(lines, |l| {
        l.starts_with("delivery to the following recipient") && l.ends_with(':')
    })
    .map(|s| indented_entries(lines, s))
    .unwrap_or_default();
    for c in WASNT_DELIVERED
        .captures_iter(text)
        .take(super::MAX_RECIPIENTS)
    {
        if let Some(a) = c.get(1).and_then(|m| super::normalize_address(m.as_str())) {
            merge(&mut found, vec![Found::new(a, None)], false);
        }
    }
    let words = after_line(lines, |l| {
        l.starts_with("the response from the remote server was")
            || l.starts_with("the error that the other server returned was")
    })
    .and_then(|s| lines::paragraph(lines, s));
    if let Some(words) = words {
        for f in found.iter_mut().filter(|f| f.diagnostic.is_none()) {
            f.add_words(&words);
        }
    }
    found
}

/// GroupWise: the indented `address (reason)` lines after "The message that you sent
/// was undeliverable to the following:"; "Possible reason: …" for those without one.
fn groupwise(lines: &[&str]) -> Vec<Found> {
    let mut found = after_line(lines, |l| {
        l.starts_with("the message that you sent was undeliverable to the following")
    })
    .map(|s| indented_entries(lines, s))
    .unwrap_or_default();
    let reason = lines.iter().position(|l| {
        l.trim()
            .to_ascii_lowercase()
            .starts_with("possible reason:")
    });
    if let Some(i) = reason
        && let Some(words) = lines::paragraph(lines, i)
    {
        let words = words.get("possible reason:".len()..).unwrap_or("").trim();
        for f in found.iter_mut().filter(|f| f.diagnostic.is_none()) {
            f.add_words(words);
        }
    }
    found
}

/// "Your message was not delivered to X for the following reason: …" (Domino).
static NOT_DELIVERED_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)your message was not delivered to\s+<?({ADDRESS})>?(?:\s+for the following reason:?)?"
    ))
    .expect("valid regex")
});

/// Lotus Domino: the indented addresses between "was not delivered to:" and "because:"
/// (the words after it), or "Your message was not delivered to X for the following
/// reason: …".
fn domino(text: &str, lines: &[&str]) -> Vec<Found> {
    let mut found = after_line(lines, |l| l == "was not delivered to:")
        .map(|s| indented_entries(lines, s))
        .unwrap_or_default();
    for c in NOT_DELIVERED_TO
        .captures_iter(text)
        .take(super::MAX_RECIPIENTS)
    {
        if let (Some(a), Some(all)) = (
            c.get(1).and_then(|m| super::normalize_address(m.as_str())),
            c.get(0),
        ) {
            let rest: Vec<&str> = text
                .get(all.end()..)
                .unwrap_or("")
                .lines()
                .take(40)
                .collect();
            let words = lines::paragraph(&rest, 0);
            merge(&mut found, vec![Found::new(a, words.as_deref())], false);
        }
    }
    if let Some(words) =
        after_line(lines, |l| l == "because:").and_then(|s| lines::paragraph(lines, s))
    {
        for f in found.iter_mut().filter(|f| f.diagnostic.is_none()) {
            f.add_words(&words);
        }
    }
    found
}
