//! Machine-made reports about mail the system sent: delivery status notifications
//! (RFC 3464 and the non-standard formats of the common MTAs), delay warnings and
//! complaint (abuse) reports (ARF, RFC 5965). Pure: [`read`] looks at a parsed message and
//! says what it reports, or `None` when it is not such a report.
//!
//! - `arf`: complaint reports (message/feedback-report);
//! - `dsn`: RFC 3464 notifications (message/delivery-status), preferred when present;
//! - `formats`: plain-text bounces of Postfix, qmail, Yahoo, Exim, Sendmail, Exchange,
//!   Gmail, GroupWise and Domino, read only from machine-made mail (`machine`), with the
//!   line layouts they share in `lines`;
//! - `original`: what a report shows of the returned message;
//! - `status`: status codes, permanence, diagnostics; `fields`: `Name: value` blocks.

mod arf;
mod dsn;
mod fields;
mod formats;
mod generic;
mod lines;
mod machine;
mod original;
mod phrases;
mod status;
#[cfg(test)]
mod tests;

use mail_parser::{HeaderValue, Message, MessagePart, MimeHeaders, PartType};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashSet;

/// What a report says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Delivery failed, permanently or for now (see each recipient's `permanent`).
    Failure,
    /// Delivery is delayed and still being tried: a warning, not a failure.
    Delay,
    /// A recipient complained (marked the mail as spam): an abuse report.
    Complaint,
}

/// One recipient a report names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The address, normalised (lowercase).
    pub address: String,
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`, when the report gives or implies one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A permanent failure (5.x.x) rather than a temporary one (4.x.x).
    pub permanent: bool,
    /// The remote server's words, trimmed to one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
}

/// What the report shows of the message it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Original {
    /// Its envelope sender (Return-Path, or ARF Original-Mail-From).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// Its Message-ID, without angle brackets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its List-Id value, e.g. `<thpt.moet.test>` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// The addresses (mailto: targets, without `mailto:` and parameters) of its
    /// List-Unsubscribe header.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub list_unsubscribe: Vec<String>,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Failure, delay or complaint.
    pub kind: Kind,
    /// The format recognised: `rfc3464`, `arf`, `postfix`, `exim`, `qmail`, `sendmail`,
    /// `exchange`, `gmail`, `yahoo`, `groupwise`, …
    pub format: &'static str,
    /// Every recipient named, in order. May be empty when the report names nobody
    /// (a redacted complaint, a bounce that quotes no address).
    pub recipients: Vec<Recipient>,
    /// For complaints: the Feedback-Type (`abuse`, `fraud`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
    /// What the report shows of the original message.
    pub original: Original,
}

/// The report `msg` is, if it is one.
///
/// Runs on every inbound message, hostile ones included: it never panics, looks at a
/// bounded amount of text, and answers `None` unless the message is plainly machine-made
/// (a multipart/report, or a mailer's own words from a mailer's address).
pub fn read(msg: &Message<'_>) -> Option<Report> {
    for reader in [arf::read, dsn::read, formats::read] {
        match reader(msg) {
            Outcome::NotMine => continue,
            Outcome::Nothing => return None,
            Outcome::Found(mut report) => {
                if report.recipients.is_empty() && report.kind != Kind::Complaint {
                    report.recipients = failed_recipients(msg, report.kind == Kind::Failure);
                }
                return Some(report);
            }
        }
    }
    None
}

/// The recipients `X-Failed-Recipients` names (Exim, Google), for a report whose own
/// fields and words name nobody; `permanent` unless the report is a delay warning.
fn failed_recipients(msg: &Message<'_>, permanent: bool) -> Vec<Recipient> {
    let mut out = Recipients::default();
    for address in header_addresses(msg, "X-Failed-Recipients") {
        out.push(Recipient {
            address,
            status: None,
            permanent,
            diagnostic: None,
        });
    }
    out.list
}

/// What one reader makes of a message.
enum Outcome {
    /// Not the kind of report this reader knows: ask the next one.
    NotMine,
    /// This reader's kind, but it reports nothing to act on (a success notice, a
    /// not-spam report): no other reader should guess.
    Nothing,
    /// A report.
    Found(Report),
}

/// Texts are read up to this many bytes.
const MAX_TEXT: usize = 256 * 1024;
/// A report names at most this many recipients.
const MAX_RECIPIENTS: usize = 1000;

/// `s` cut to at most `max` bytes, on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// An address as reports give it (`<a@b>`, `'a@b'`, `a@b.`, `mailto:a@b`, X.400's
/// `dda:SMTP=a@b`), normalised: lowercase, no brackets or quotes. `None` unless it is a
/// valid `local@domain` (see [`valid_address`]).
fn normalize_address(raw: &str) -> Option<String> {
    let a = raw
        .trim()
        .trim_start_matches(['<', '\'', '"', '(', '['])
        .trim_end_matches(['>', '\'', '"', ')', ']', '.', ',', ';', ':'])
        .trim();
    let a = a.strip_prefix("mailto:").unwrap_or(a);
    let a = strip_x400(a);
    valid_address(a).then(|| a.to_lowercase())
}

/// `a@b` out of the X.400 forms Exchange writes (`dda:SMTP=a@b`, `SMTP:a@b`, `smtp=a@b`).
fn strip_x400(a: &str) -> &str {
    let lower = a.get(..a.len().min(12)).unwrap_or("").to_ascii_lowercase();
    for prefix in ["dda:smtp=", "smtp=", "smtp:", "rfc822;", "rfc822:"] {
        if lower.starts_with(prefix) {
            return a.get(prefix.len()..).unwrap_or("").trim();
        }
    }
    a
}

/// Whether `a` is an address a mail system could have tried to deliver to: a dot-atom
/// local part (RFC 5322 atext, UTF-8 allowed as RFC 6531 does, no leading, trailing or
/// doubled dot) and a domain of dot-separated labels (letters, digits, inner hyphens) with
/// at least two labels, the last not all digits; at most 254 bytes, 64 in the local part.
fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let atom_ok = |atom: &str| !atom.is_empty() && atom.chars().all(|c| atext(c) || !c.is_ascii());
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
            })
    };
    let labels: Vec<&str> = domain.split('.').collect();
    a.len() <= 254
        && local.len() <= 64
        && local.split('.').all(atom_ok)
        && labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && !labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `address` is a mail system's own (mailer-daemon, postmaster), which a report
/// names as its sender, never as a failed recipient.
fn is_system_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    let local = local.split('+').next().unwrap_or(local);
    matches!(
        local,
        "mailer-daemon" | "mailerdaemon" | "mail-daemon" | "postmaster"
    )
}

/// The lowercase `type/subtype` of `part`, when it declares one.
fn content_type(part: &MessagePart<'_>) -> Option<(String, String)> {
    let ct = part.content_type()?;
    Some((
        ct.ctype().to_ascii_lowercase(),
        ct.subtype().unwrap_or("").to_ascii_lowercase(),
    ))
}

/// Whether `part` is `message/<one of subtypes>`.
fn is_message_part(part: &MessagePart<'_>, subtypes: &[&str]) -> bool {
    content_type(part).is_some_and(|(t, s)| t == "message" && subtypes.contains(&s.as_str()))
}

/// The content of `part` as text, whatever mail-parser made of it, capped.
fn part_text<'a>(part: &'a MessagePart<'_>) -> Option<Cow<'a, str>> {
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_ref()),
        PartType::Binary(b) | PartType::InlineBinary(b) => {
            String::from_utf8_lossy(b.get(..MAX_TEXT.min(b.len())).unwrap_or(&[]))
        }
        PartType::Message(m) => String::from_utf8_lossy(
            m.raw_message
                .get(..MAX_TEXT.min(m.raw_message.len()))
                .unwrap_or(&[]),
        ),
        PartType::Multipart(_) => return None,
    };
    Some(match text {
        Cow::Borrowed(t) => Cow::Borrowed(cut(t, MAX_TEXT)),
        Cow::Owned(t) => Cow::Owned(cut(&t, MAX_TEXT).to_string()),
    })
}

/// The readable text of `msg` itself (its text parts, HTML made text), not of the
/// messages it carries; capped.
fn body_text(msg: &Message<'_>) -> String {
    let mut body = String::new();
    for i in 0..msg.text_body.len() {
        if body.len() >= MAX_TEXT {
            break;
        }
        if let Some(t) = msg.body_text(i) {
            body.push_str(cut(&t, MAX_TEXT - body.len()));
            body.push('\n');
        }
    }
    body
}

/// The headers of the message itself.
fn root_headers<'a>(msg: &'a Message<'_>) -> &'a [mail_parser::Header<'a>] {
    msg.parts.first().map_or(&[], |p| p.headers.as_slice())
}

/// The first text value of header `name` of the message itself.
fn header_text<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a str> {
    root_headers(msg)
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .find_map(|h| match h.value() {
            HeaderValue::Text(t) => Some(t.as_ref()),
            HeaderValue::TextList(l) => l.first().map(|t| t.as_ref()),
            _ => None,
        })
}

/// Whether the message itself has header `name`, even empty.
fn has_header(msg: &Message<'_>, name: &str) -> bool {
    root_headers(msg)
        .iter()
        .any(|h| h.name().eq_ignore_ascii_case(name))
}

/// Every address in header `name` of the message itself, normalised.
fn header_addresses(msg: &Message<'_>, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for h in root_headers(msg)
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
    {
        match h.value() {
            HeaderValue::Address(a) => out.extend(
                a.iter()
                    .filter_map(|a| a.address.as_deref())
                    .filter_map(normalize_address),
            ),
            HeaderValue::Text(t) => out.extend(normalize_address(t)),
            HeaderValue::TextList(l) => out.extend(l.iter().filter_map(|t| normalize_address(t))),
            _ => {}
        }
    }
    out
}

/// The recipients of a report as they are found: in order, each address once.
#[derive(Default)]
struct Recipients {
    list: Vec<Recipient>,
    seen: HashSet<String>,
}

impl Recipients {
    /// Add `r` unless its address is there already or the list is full.
    fn push(&mut self, r: Recipient) {
        if self.list.len() < MAX_RECIPIENTS && self.seen.insert(r.address.clone()) {
            self.list.push(r);
        }
    }
}
