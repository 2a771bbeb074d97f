//! Whether a message looks machine-made enough for its plain text to be read as a
//! bounce: a mailer's sender address, the null return path, Auto-Submitted:
//! auto-generated, or a bounce subject; never an auto-reply (out-of-office, vacation)
//! unless a mailer's own address sent it.

use super::{has_header, header_text, root_headers};
use mail_parser::Message;

/// Whether `msg` was made by a mail system, so that its text may be read as a report.
/// Bounce evidence (a mailer's sender, a bounce subject, X-Failed-Recipients, an NDR
/// header) wins over auto-reply headers, which some mailers put on bounces too
/// (`Precedence: bulk`, `Auto-Submitted: auto-replied`).
pub(super) fn made(msg: &Message<'_>) -> bool {
    let evidence = sent_by_daemon(msg)
        || bounce_subject(msg)
        || has_header(msg, "X-MS-Exchange-Message-Is-Ndr")
        || has_header(msg, "X-Failed-Recipients");
    if evidence {
        return true;
    }
    if auto_reply(msg) {
        return false;
    }
    null_return_path(msg)
        || matches!(
            auto_submitted(msg).as_deref(),
            Some("auto-generated" | "auto-notified")
        )
}

/// Whether the subject says delivery failed or is delayed, in any common language.
pub(super) fn bounce_subject(msg: &Message<'_>) -> bool {
    super::phrases::bounce_subject(msg_subject(msg))
}

/// The subject, decoded; empty when there is none.
pub(super) fn msg_subject<'a>(msg: &'a Message<'_>) -> &'a str {
    header_text(msg, "Subject").unwrap_or("")
}

/// The local part of From is a mail system's: mailer-daemon, postmaster, mail-daemon.
fn sent_by_daemon(msg: &Message<'_>) -> bool {
    super::header_addresses(msg, "From")
        .first()
        .is_some_and(|a| {
            let local = a.split('@').next().unwrap_or("");
            matches!(
                local,
                "mailer-daemon" | "mailerdaemon" | "mail-daemon" | "postmaster"
            )
        })
        || from_is_bare_daemon(msg)
}

/// `From: MAILER-DAEMON` with no domain at all, or `From: MAILER-DAEMON <>` (dma), as
/// some mailers write it.
fn from_is_bare_daemon(msg: &Message<'_>) -> bool {
    root_headers(msg)
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("From"))
        .filter_map(|h| h.value().as_address())
        .flat_map(|a| a.iter())
        .any(|a| {
            a.address
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .or(a.name.as_deref())
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("mailer-daemon"))
        })
}

/// Return-Path is the null path `<>`.
fn null_return_path(msg: &Message<'_>) -> bool {
    root_headers(msg)
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("Return-Path"))
        .any(|h| {
            let raw = msg
                .raw_message
                .get(h.offset_start() as usize..h.offset_end() as usize)
                .unwrap_or(&[]);
            let raw: Vec<u8> = raw
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            raw == b"<>"
        })
}

/// The Auto-Submitted keyword, lowercase, without parameters.
fn auto_submitted(msg: &Message<'_>) -> Option<String> {
    header_text(msg, "Auto-Submitted").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether the message declares itself an auto-reply (RFC 3834 and the headers
/// autoresponders use).
fn auto_reply(msg: &Message<'_>) -> bool {
    if auto_submitted(msg).as_deref() == Some("auto-replied") {
        return true;
    }
    if ["X-Autoreply", "X-Autorespond", "X-Autoresponder"]
        .iter()
        .any(|h| has_header(msg, h))
    {
        return true;
    }
    header_text(msg, "Precedence").is_some_and(|p| p.trim().eq_ignore_ascii_case("auto_reply"))
}
