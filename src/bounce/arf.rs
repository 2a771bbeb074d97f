//! Complaint (abuse) reports in the Abuse Reporting Format (RFC 5965): a
//! multipart/report whose message/feedback-report part names the feedback type, the
//! envelope sender and recipients of the reported message, with that message or its
//! headers attached. Mailbox providers redact the recipient at will.

use super::fields::{self, Group};
use super::{Kind, Outcome, Recipient, Recipients, Report, is_message_part, original, part_text};
use mail_parser::{Message, PartType};

/// Whether `msg` is a delivery report itself: the message it returns is then the
/// original, not a wrapped complaint.
fn is_delivery_report(msg: &Message<'_>) -> bool {
    msg.parts
        .iter()
        .any(|p| is_message_part(p, &["delivery-status", "global-delivery-status"]))
}

/// How deep a complaint may be wrapped: a report inside a forwarded message inside a
/// multipart/mixed (Hotmail, Outlook.com).
const MAX_DEPTH: usize = 3;

/// The report a message/feedback-report part makes of `msg`, or of a message it
/// carries, however deep (within [`MAX_DEPTH`]).
pub(super) fn read(msg: &Message<'_>) -> Outcome {
    read_at(msg, 0)
}

fn read_at(msg: &Message<'_>, depth: usize) -> Outcome {
    let mut report = Group::default();
    let mut found = false;
    for part in msg
        .parts
        .iter()
        .filter(|p| is_message_part(p, &["feedback-report"]))
    {
        found = true;
        if let Some(text) = part_text(part) {
            for g in fields::groups(&text) {
                report.extend(g);
            }
        }
    }
    if !found {
        if depth >= MAX_DEPTH || is_delivery_report(msg) {
            return Outcome::NotMine;
        }
        // A complaint forwarded or wrapped: look inside the messages it carries.
        return msg
            .parts
            .iter()
            .filter_map(|p| match &p.body {
                PartType::Message(inner) => Some(inner),
                _ => None,
            })
            .map(|inner| read_at(inner, depth + 1))
            .find(|o| !matches!(o, Outcome::NotMine))
            .unwrap_or(Outcome::NotMine);
    }
    let feedback_type = report
        .get("feedback-type")
        .and_then(|t| t.split([' ', ';', '(']).next())
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    // A not-spam report (RFC 6430) or an authentication failure report (RFC 6591, DMARC
    // forensics) is no complaint.
    if matches!(feedback_type.as_deref(), Some("not-spam" | "auth-failure")) {
        return Outcome::Nothing;
    }

    let mut recipients = Recipients::default();
    for value in report.all("original-rcpt-to") {
        if let Some(address) = original::angle_address(value).filter(|a| !redacted(a)) {
            recipients.push(Recipient {
                address,
                status: None,
                permanent: false,
                diagnostic: None,
            });
        }
    }
    let mut original = original::from_parts(msg).unwrap_or_default();
    if original.return_path.is_none() {
        original.return_path = report
            .get("original-mail-from")
            .and_then(original::angle_address);
    }
    Outcome::Found(Report {
        kind: Kind::Complaint,
        format: "arf",
        recipients: recipients.list,
        feedback_type,
        original,
    })
}

/// Whether a provider redacted `address`: a local part saying so, or made only of
/// `x`, `*` or `#`.
fn redacted(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    local.contains("redacted")
        || local.is_empty()
        || local
            .chars()
            .all(|c| matches!(c, 'x' | '*' | '#' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redacted_recipients_are_recognised() {
        assert!(redacted("redacted@outlook.com"));
        assert!(redacted("xxxxxxxx@hotmail.com"));
        assert!(redacted("***@yahoo.com"));
        assert!(!redacted("hocsinh.x@yahoo.com"));
    }
}
