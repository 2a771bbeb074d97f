//! Delivery status notifications (RFC 3464): a multipart/report whose
//! message/delivery-status part has one group of fields per recipient (Final-Recipient,
//! Original-Recipient, Action, Status, Diagnostic-Code), and usually the returned
//! message or its headers.

use super::fields::{self, Group};
use super::status;
use super::{
    Kind, Outcome, Recipient, Recipients, Report, body_text, formats, is_message_part, machine,
    normalize_address, original, part_text,
};
use mail_parser::Message;
use std::borrow::Cow;

/// What a DSN says was done for one recipient (RFC 3464 §2.3.3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Failed,
    Delayed,
    /// delivered, relayed, expanded: a success.
    Done,
}

/// The report a delivery-status part makes of `msg`; or, from a machine-made message
/// without one, the DSN fields written in its text (Amazon WorkMail and SES, some
/// gateways).
pub(super) fn read(msg: &Message<'_>) -> Outcome {
    let mut texts: Vec<Cow<'_, str>> = msg
        .parts
        .iter()
        .filter(|p| is_message_part(p, &["delivery-status", "global-delivery-status"]))
        .filter_map(part_text)
        .collect();
    if texts.is_empty() {
        match fields_in_text(msg) {
            Some(text) => texts.push(Cow::Owned(text)),
            None => return Outcome::NotMine,
        }
    }
    let mut per_message = Group::default();
    let mut per_recipient: Vec<Group> = Vec::new();
    for text in &texts {
        for group in fields::groups(text) {
            for g in group.split_before(&["original-recipient", "final-recipient"]) {
                if g.has("final-recipient") || g.has("original-recipient") {
                    per_recipient.push(g);
                } else if per_recipient.is_empty() {
                    per_message.extend(g);
                }
            }
        }
    }

    // The human-readable part often has the server's words when the DSN fields do not.
    let scan = formats::scan_body(msg);
    let words_for = |address: &str| {
        scan.as_ref().and_then(|s| {
            s.found
                .iter()
                .find(|f| f.address == address)
                .and_then(|f| f.diagnostic.as_deref())
                .map(|d| super::lines::server_words(d).to_string())
        })
    };

    let mut recipients = Recipients::default();
    let mut any_done = false;
    let mut all_delayed = true;
    for g in &per_recipient {
        let final_recipient = g.get("final-recipient").and_then(typed_address);
        let Some(address) = g
            .get("original-recipient")
            .and_then(typed_address)
            .or_else(|| final_recipient.clone())
        else {
            continue;
        };
        let status_field = g.get("status");
        let action = action(g.get("action"), status_field);
        if action == Action::Done {
            any_done = true;
            continue;
        }
        let diagnostic = g
            .get("diagnostic-code")
            .map(strip_type)
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string)
            .or_else(|| words_for(&address))
            .or_else(|| final_recipient.as_deref().and_then(words_for));
        let status = status::status(status_field, diagnostic.as_deref());
        // "Delayed" with words saying the message expired is the last word, not a
        // warning (OpenSMTPD writes its expiry reports so). Status x.4.7 alone is not
        // enough: Exchange gives it to its delay warnings.
        let delayed = action == Action::Delayed && !expired(diagnostic.as_deref());
        all_delayed &= delayed;
        let permanent =
            !delayed && status::permanent(status.as_deref(), diagnostic.as_deref(), None);
        recipients.push(Recipient {
            address,
            status,
            permanent,
            diagnostic: diagnostic.as_deref().and_then(status::diagnostic),
        });
    }

    let (kind, recipients) = if !recipients.list.is_empty() {
        let kind = if all_delayed {
            Kind::Delay
        } else {
            Kind::Failure
        };
        (kind, recipients.list)
    } else if any_done {
        // A success notice: delivered, relayed or expanded, nothing failed.
        return Outcome::Nothing;
    } else {
        // The fields name nobody: take what the human-readable part names, if anything.
        match scan {
            Some(s) => {
                let kind = if s.delay { Kind::Delay } else { Kind::Failure };
                (kind, formats::recipients(&s, msg))
            }
            None => (Kind::Failure, Vec::new()),
        }
    };

    let mut original = original::from_parts(msg).unwrap_or_default();
    let field = |name: &str| {
        per_message
            .get(name)
            .or_else(|| per_recipient.first().and_then(|g| g.get(name)))
    };
    if original.return_path.is_none() {
        original.return_path = field("x-postfix-sender").and_then(typed_address);
    }
    if original.message_id.is_none() {
        original.message_id = field("x-original-message-id").and_then(original::message_id);
    }
    Outcome::Found(Report {
        kind,
        format: "rfc3464",
        recipients,
        feedback_type: None,
        original,
    })
}

/// The text of a machine-made `msg` when it holds DSN per-recipient fields: a group
/// with Final-Recipient (or Original-Recipient) and Status or Action, before any
/// quoted original.
fn fields_in_text(msg: &Message<'_>) -> Option<String> {
    if !machine::made(msg) {
        return None;
    }
    let body = body_text(msg);
    let text = original::quote_start(&body)
        .and_then(|q| body.get(..q))
        .unwrap_or(&body);
    let has = fields::groups(text).into_iter().any(|g| {
        (g.has("final-recipient") || g.has("original-recipient"))
            && (g.has("status") || g.has("action"))
    });
    has.then(|| text.to_string())
}

/// What the Action field says, or, without one, what the status class implies.
fn action(field: Option<&str>, status_field: Option<&str>) -> Action {
    let word = field
        .and_then(|a| a.split([' ', '(', ';']).next())
        .map(|a| a.trim().to_ascii_lowercase());
    match word.as_deref() {
        Some("failed") => Action::Failed,
        Some("delayed") => Action::Delayed,
        Some("delivered" | "relayed" | "expanded") => Action::Done,
        _ => match status_field
            .and_then(status::enhanced)
            .as_deref()
            .and_then(|s| s.get(..1))
        {
            Some("2") => Action::Done,
            _ => Action::Failed,
        },
    }
}

/// Whether a recipient's words say its message expired in the queue.
fn expired(diagnostic: Option<&str>) -> bool {
    diagnostic.is_some_and(|d| {
        let lower = d.to_ascii_lowercase();
        lower.contains("envelope expired") || lower.contains("message expired")
    })
}

/// The address of a typed field like `rfc822; a@b` (the type is optional).
fn typed_address(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, a)| a);
    original::angle_address(value).or_else(|| normalize_address(value))
}

/// A Diagnostic-Code without its type (`smtp; `, `x-unix; `).
fn strip_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest))
            if !kind.is_empty()
                && kind.len() <= 20
                && kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            rest.trim()
        }
        _ => value.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_lose_their_type() {
        assert_eq!(
            typed_address("rfc822; <A.B@School.test>").as_deref(),
            Some("a.b@school.test")
        );
        assert_eq!(typed_address("a@b.test").as_deref(), Some("a@b.test"));
        assert_eq!(typed_address("x400; c=vn;a= ;p=x"), None);
        assert_eq!(strip_type("smtp; 550 5.1.1 no"), "550 5.1.1 no");
        assert_eq!(strip_type("550 5.1.1 no; really"), "550 5.1.1 no; really");
    }

    #[test]
    fn actions_and_their_absence() {
        assert!(action(Some("failed"), None) == Action::Failed);
        assert!(action(Some("Delayed (will retry)"), None) == Action::Delayed);
        assert!(action(Some("relayed"), Some("5.0.0")) == Action::Done);
        assert!(action(None, Some("2.0.0")) == Action::Done);
        assert!(action(None, Some("4.4.1")) == Action::Failed);
    }
}
