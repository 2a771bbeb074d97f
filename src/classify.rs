//! Classification: every inbound message becomes exactly one [`Class`], with the reason.
//! Pure and synchronous: it reads the message and the configuration and acts on nothing,
//! which is what lets `nhomthu inspect` explain a decision without making it.
//!
//! The order matters and is the safety argument: the system's own mail, machine-made mail
//! (bounces, auto-replies, other lists) are recognised before anything that could answer
//! or change membership.

use crate::bounce::{Kind, Report};
use crate::config::{Config, Mailbox};
use crate::message::Inbound;
use crate::verp::{self, Found};
use crate::{address, text, token};
use serde::Serialize;

use crate::list_fields::{LOOP_HEADER, X_LOOP};

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Class {
    /// Not processable (no sender): quarantined.
    Invalid,
    /// The system's own mail came back.
    Loop,
    /// An out-of-office reply, an auto-responder, or traffic from another list.
    AutoReply,
    /// A delivery report about mail the system sent: a failure or a delay warning.
    Bounce {
        /// What it reports, when its format is recognised.
        report: Option<Report>,
        /// The VERP return path it came back to, its code not yet checked.
        verp: Option<Found>,
    },
    /// An abuse report (ARF): a recipient marked the system's mail as spam.
    Complaint {
        /// What it reports.
        report: Report,
        /// The VERP return path of the original, its code not yet checked.
        verp: Option<Found>,
    },
    /// A reply carrying confirmation tokens.
    Confirmation {
        /// The tokens found, lowercased.
        tokens: Vec<String>,
    },
    /// A request to leave the given lists.
    Unsubscribe {
        /// List ids.
        lists: Vec<String>,
    },
    /// A post to the given lists (their aliases are among the recipients).
    Post {
        /// List ids, in the order addressed.
        lists: Vec<String>,
    },
    /// Mail to a member's List-Unsubscribe address (`norply+u-LIST-MAC@`): the mail
    /// client's "Unsubscribe" button.
    ListUnsubscribe {
        /// The list named in the address.
        list: String,
        /// The address's plus-tag, checked by the handler against the sender.
        tag: String,
    },
    /// A request to join the given lists.
    Registration {
        /// List ids.
        lists: Vec<String>,
    },
    /// None of the above: recorded and left alone.
    Unknown,
}

impl Class {
    /// Short name for logs and the database.
    pub fn name(&self) -> &'static str {
        match self {
            Class::Invalid => "invalid",
            Class::Loop => "loop",
            Class::AutoReply => "auto_reply",
            Class::Bounce { .. } => "bounce",
            Class::Complaint { .. } => "complaint",
            Class::Confirmation { .. } => "confirmation",
            Class::Unsubscribe { .. } => "unsubscribe",
            Class::Post { .. } => "post",
            Class::ListUnsubscribe { .. } => "list_unsubscribe",
            Class::Registration { .. } => "registration",
            Class::Unknown => "unknown",
        }
    }
}

/// A class and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The class.
    #[serde(flatten)]
    pub class: Class,
    /// One sentence saying why.
    pub reason: String,
}

fn decide(class: Class, reason: impl Into<String>) -> Decision {
    Decision {
        class,
        reason: reason.into(),
    }
}

/// Sender local parts that are machines: never answered.
const MACHINE_SENDERS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "bounces",
];

/// Folded subject beginnings of out-of-office replies (Outlook in English and
/// Vietnamese, Gmail, German, French, …).
const AUTO_SUBJECTS: &[&str] = &[
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "out of office",
    "out of the office",
    "tra loi tu dong",
    "thu tra loi tu dong",
    "vang mat",
    "vacation reply",
    "away from my mail",
    "abwesenheitsnotiz",
    "abwesend",
    "reponse automatique",
    "absence du bureau",
    "risposta automatica",
    "respuesta automatica",
    "fuera de la oficina",
    "resposta automatica",
    "automatisch antwoord",
    "автоответ",
    "自动回复",
];

/// Phrases asking to leave, written with diacritics (both tone-mark placements).
const LEAVE: &[&str] = &[
    "hủy đăng ký",
    "huỷ đăng ký",
    "hủy đăng kí",
    "huỷ đăng kí",
    "rời nhóm",
    "unsubscribe",
];

/// The same phrases as written without diacritics. Only text written wholly without them
/// is matched against these: in "Nguyễn Văn Huy đăng ký", "Huy" is a name.
const LEAVE_PLAIN: &[&str] = &["huy dang ky", "huy dang ki", "roi nhom", "unsubscribe"];

/// The leave phrase `text` contains, if any.
fn asks_to_leave(text: &str) -> Option<&'static str> {
    let phrases = if text.is_ascii() { LEAVE_PLAIN } else { LEAVE };
    phrases.iter().copied().find(|p| text::has_phrase(text, p))
}

/// Classify a message read from `mailbox`.
pub fn classify(msg: &Inbound, config: &Config, mailbox: &Mailbox) -> Decision {
    let domain = &config.site.domain;
    if msg
        .header(LOOP_HEADER)
        .any(|v| v.trim().eq_ignore_ascii_case(domain))
    {
        return decide(Class::Loop, format!("carries {LOOP_HEADER}: {domain}"));
    }
    let noreply = config.site.noreply.get_ref();
    if msg
        .header(X_LOOP)
        .any(|v| address::same(v.trim().trim_matches(['<', '>']), noreply))
    {
        return decide(Class::Loop, format!("carries {X_LOOP}: {noreply}"));
    }
    // Reports first: many come from a bare "MAILER-DAEMON" with no address at all.
    if let Some(decision) = report(msg, config) {
        return decision;
    }
    let Some(from) = &msg.from else {
        return decide(Class::Invalid, "the message has no From address");
    };
    if config
        .own_addresses()
        .any(|own| address::same(own, &from.address))
    {
        return decide(
            Class::Loop,
            format!("sent from the system's own address {}", from.address),
        );
    }

    let local = from.address.split('@').next().unwrap_or("");
    let local_base = local.split('+').next().unwrap_or(local);
    let returned = returned_to(msg, config);
    if msg.content_type == "multipart/report" {
        let kind = msg.report_type.as_deref().unwrap_or("unknown");
        let reason = format!("a multipart/report ({kind}) in a format not recognised");
        let class = Class::Bounce {
            report: None,
            verp: returned,
        };
        return decide(class, reason);
    }
    if let Some(reason) = auto_reply_reason(msg) {
        return decide(Class::AutoReply, reason);
    }
    if local_base == "mailer-daemon" || local_base == "postmaster" {
        let reason = format!(
            "sent by {} in a format not recognised: no address is scored",
            from.address
        );
        let class = Class::Bounce {
            report: None,
            verp: returned,
        };
        return decide(class, reason);
    }
    if MACHINE_SENDERS.contains(&local_base) {
        return decide(
            Class::AutoReply,
            format!("sent from the machine address {}", from.address),
        );
    }
    if let Some(found) = returned {
        // A person or a machine answering the envelope sender of list mail: nobody to
        // confirm or subscribe, and no report to read.
        return decide(
            Class::Unknown,
            format!(
                "sent to the return path of {} but not a delivery report",
                found.verp
            ),
        );
    }

    if let Some((list, tag)) = unsubscribe_address(msg, config) {
        let reason = format!("sent to the List-Unsubscribe address of {list}");
        return decide(Class::ListUnsubscribe { list, tag }, reason);
    }

    let posted = posted_lists(msg, config);
    if posted.iter().any(|id| {
        config
            .list(id)
            .is_some_and(|l| mailbox.reads(l.address.get_ref()))
    }) {
        let reason = format!("sent to the list address of {}", posted.join(", "));
        return decide(Class::Post { lists: posted }, reason);
    }

    let mut places = msg.recipients.join(" ");
    places.push(' ');
    places.push_str(&msg.subject);
    places.push(' ');
    places.push_str(&msg.thread_ids.join(" "));
    places.push(' ');
    places.push_str(&msg.body);
    let tokens = token::find_all(&places);
    if !tokens.is_empty() {
        return decide(
            Class::Confirmation { tokens },
            "carries a confirmation code (a reply to a confirmation request)",
        );
    }

    let lists = registration_lists(msg, config, mailbox);
    if lists.is_empty() {
        let to_noreply = msg
            .recipients
            .iter()
            .any(|r| address::same(r, config.site.noreply.get_ref()));
        let reason = if to_noreply {
            "mail to the no-reply address without a confirmation code"
        } else {
            "not addressed to a registration address of any list"
        };
        return decide(Class::Unknown, reason);
    }
    if let Some(word) =
        asks_to_leave(&text::bare_subject(&msg.subject)).or_else(|| asks_to_leave(msg.first_line()))
    {
        return decide(
            Class::Unsubscribe { lists },
            format!("asks to leave (\"{word}\" in the subject or first line)"),
        );
    }
    let reason = format!("mail to the registration address of {}", lists.join(", "));
    decide(Class::Registration { lists }, reason)
}

/// The report `msg` carries, as a decision.
fn report(msg: &Inbound, config: &Config) -> Option<Decision> {
    let mut report = msg.report.clone()?;
    // A report never names the site's own addresses (a list, the no-reply address and
    // its VERP forms, a registration address) as failed or complaining.
    report.recipients.retain(|r| {
        !config
            .own_addresses()
            .any(|own| address::same(own, &r.address))
    });
    let noreply = config.site.noreply.get_ref();
    let named: Vec<&str> = report
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    let names = if named.is_empty() {
        "no recipient named".to_string()
    } else {
        named.join(", ")
    };
    let format = report.format;
    if report.kind == Kind::Complaint {
        let verp = verp::find(noreply, report.original.return_path.as_deref());
        let ty = report.feedback_type.as_deref().unwrap_or("abuse");
        let reason = format!("a complaint ({format}, feedback-type {ty}) about {names}");
        return Some(decide(Class::Complaint { report, verp }, reason));
    }
    let verp = returned_to(msg, config)
        .or_else(|| verp::find(noreply, report.original.return_path.as_deref()));
    let what = match report.kind {
        Kind::Delay => "a delay warning (still being retried)".to_string(),
        _ if report.recipients.iter().any(|r| r.permanent) => "a permanent failure".into(),
        _ => "a temporary failure".into(),
    };
    let via = verp
        .as_ref()
        .map(|f| format!(", returned for {}", f.verp))
        .unwrap_or_default();
    let reason = format!("{what} ({format}) for {names}{via}");
    Some(decide(
        Class::Bounce {
            report: Some(report),
            verp,
        },
        reason,
    ))
}

/// The VERP return path among the recipients (a report or reply sent to the envelope
/// sender of the system's mail).
fn returned_to(msg: &Inbound, config: &Config) -> Option<Found> {
    verp::find(
        config.site.noreply.get_ref(),
        msg.recipients.iter().map(String::as_str),
    )
}

/// Why the message is machine-made, if it is (RFC 3834 and the headers clients use).
fn auto_reply_reason(msg: &Inbound) -> Option<String> {
    if let Some(v) = msg.header("auto-submitted").next()
        && !v.trim().eq_ignore_ascii_case("no")
    {
        return Some(format!("Auto-Submitted: {v}"));
    }
    for name in [
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-autoreply-from",
        "x-mail-autoreply",
        "x-vacation",
        "x-fc-machinegenerated",
    ] {
        if let Some(v) = msg.header(name).next()
            && !matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0")
        {
            return Some(format!("carries {name}"));
        }
    }
    // Microsoft: `X-Autogenerated: Reply`, `X-POST-MessageClass: 9; Autoresponder`, and
    // the inbox-rule loop marker Exchange puts on what a rule sent.
    for (name, word) in [
        ("x-autogenerated", "reply"),
        ("x-post-messageclass", "autoresponder"),
        ("x-ms-exchange-inbox-rules-loop", ""),
        ("x-ms-exchange-generated-message-source", ""),
        ("delivered-to", "autoresponder"),
    ] {
        if let Some(v) = msg
            .header(name)
            .find(|v| v.to_ascii_lowercase().contains(word))
        {
            return Some(format!("{name}: {v}"));
        }
    }
    if let Some(v) = msg.header("x-auto-response-suppress").next() {
        let v = v.to_ascii_lowercase();
        if v.contains("all") || v.contains("oof") || v.contains("autoreply") {
            return Some(format!("X-Auto-Response-Suppress: {v}"));
        }
    }
    if let Some(v) = msg
        .header("precedence")
        .chain(msg.header("x-precedence"))
        .next()
    {
        let p = v.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {p}"));
        }
    }
    if msg.header("list-id").next().is_some() || msg.header("list-unsubscribe").next().is_some() {
        return Some("mail from a mailing list (List-Id)".into());
    }
    if msg.header("return-path").any(|v| v.trim() == "<>") {
        return Some("null return path (<>)".into());
    }
    let subject = text::fold(&msg.subject);
    AUTO_SUBJECTS
        .iter()
        .find(|s| subject.starts_with(*s))
        .map(|s| format!("subject begins like an automatic reply (\"{s}\")"))
}

/// The list and plus-tag of a List-Unsubscribe address among the recipients.
fn unsubscribe_address(msg: &Inbound, config: &Config) -> Option<(String, String)> {
    let noreply = config.site.noreply.get_ref();
    msg.recipients.iter().find_map(|r| {
        if !address::same(r, noreply) {
            return None;
        }
        let (local, _) = r.split_once('@')?;
        let (_, tag) = local.split_once('+')?;
        let rest = tag.strip_prefix(crate::unsubscribe::PREFIX)?;
        let (list, _) = rest.rsplit_once('-')?;
        config.list(list)?;
        Some((list.to_string(), tag.to_string()))
    })
}

/// The lists whose alias is among the recipients, in the order addressed.
fn posted_lists(msg: &Inbound, config: &Config) -> Vec<String> {
    let mut lists: Vec<String> = Vec::new();
    for r in &msg.recipients {
        if let Some(list) = config
            .lists
            .iter()
            .find(|l| address::same(l.address.get_ref(), r))
            && !lists.iter().any(|id| id == list.id())
        {
            lists.push(list.id().to_string());
        }
    }
    lists
}

/// The lists whose registration address the message was sent to, among the addresses
/// this mailbox reads. When the recipients show none of the system's addresses (Bcc), a
/// mailbox that reads a single registration address stands for it.
fn registration_lists(msg: &Inbound, config: &Config, mailbox: &Mailbox) -> Vec<String> {
    let mut lists: Vec<String> = Vec::new();
    let mut readable = Vec::new();
    for list in &config.lists {
        for reg in &list.registration {
            let reg = reg.get_ref();
            if !mailbox.reads(reg) {
                continue;
            }
            readable.push(list.id());
            if msg.recipients.iter().any(|r| address::same(r, reg))
                && !lists.iter().any(|l| l == list.id())
            {
                lists.push(list.id().to_string());
            }
        }
    }
    readable.dedup();
    let to_own_address = msg
        .recipients
        .iter()
        .any(|r| config.own_addresses().any(|own| address::same(own, r)));
    if lists.is_empty() && readable.len() == 1 && !to_own_address {
        lists.push(readable[0].to_string());
    }
    lists
}
