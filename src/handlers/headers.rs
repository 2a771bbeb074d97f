//! Header hygiene and the list's own fields.
//!
//! Dropped from the received message:
//! - delivery traces of our own inbox that would leak or be wrong downstream:
//!   `Return-Path` (the MTA sets the new one), `Delivered-To`, `X-Original-To`,
//!   `Envelope-To`, `Bcc`, `Resent-Bcc`;
//! - verdicts of our receiving server, meaningless and misleading once resent:
//!   `Authentication-Results` (the trusted one is read first, for the ARC set's
//!   `ARC-Authentication-Results`), `Received-SPF`;
//! - signatures the list's changes (subject prefix, footer) would break (RFC 6377
//!   practice): `DKIM-Signature`, `DomainKey-Signature`; the site signs anew;
//! - fields the list owns or replaces: every `List-*` (another list's, or forged),
//!   `Precedence`, `X-Nhomthu-Loop`, `Sender`, `Errors-To`, `X-Original-From`;
//! - read-receipt requests (`Disposition-Notification-To`, `Return-Receipt-To`,
//!   `X-Confirm-Reading-To`): honoured by 100,000 clients they flood the author.
//!
//! `Received` lines are kept (they are the trace a postmaster needs), and so are the ARC sets
//! of earlier hops (`ARC-Seal`, `ARC-Message-Signature`, `ARC-Authentication-Results`):
//! they are made to travel, and the site's own set extends them. No `Sender` is added:
//! the envelope sender (VERP) says who handles bounces, and `List-Id` says which list sent it.
//!
//! Added, in this order, at the end of the header block: `Date` and `Message-ID` when the
//! post had none, `List-Id` (RFC 2919, `"Name" <id.domain>`, the name RFC 2047-encoded when
//! it is not ASCII), `List-Post` (`<mailto:list>` for a discussion list, `NO` otherwise),
//! `List-Help` and `List-Archive` (`<base_url/lists/ID>`, only when the site has a
//! `base_url`: mail to the registration address is a join request, not a help request),
//! `List-Subscribe` (`<mailto:registration>`, when the list has a registration address),
//! `Precedence: list` and the loop header.

use super::{Draft, Field, HandlerError, mailto};
use crate::config::{Config, List, ListKind};
use crate::list_fields::{LOOP_HEADER, ListId};
use lettre::message::header::{Date, HeaderName, HeaderValue, MessageId};

/// Exact names (lowercase) dropped from the received message.
const DROPPED: &[&str] = &[
    "return-path",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "bcc",
    "resent-bcc",
    "authentication-results",
    "received-spf",
    "dkim-signature",
    "domainkey-signature",
    "precedence",
    "sender",
    "errors-to",
    "x-original-from",
    "disposition-notification-to",
    "return-receipt-to",
    "x-confirm-reading-to",
];

/// Name prefixes (lowercase) dropped from the received message.
const DROPPED_PREFIXES: &[&str] = &["list-"];

/// Whether a received field named `name` (lowercase) is dropped.
pub(super) fn dropped(name: &str) -> bool {
    DROPPED.contains(&name)
        || name.eq_ignore_ascii_case(LOOP_HEADER)
        || DROPPED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Drop what must not go out, then add the list's fields.
pub(super) fn apply(draft: &mut Draft, list: &List, config: &Config) -> Result<(), HandlerError> {
    draft.remove(dropped);
    let site = &config.site;

    if !draft.has("Date") {
        draft.push(Field::from_header(&Date::now()));
    }
    if !draft.has("Message-ID") {
        let id: u128 = rand::random();
        draft.push(Field::from_header(&MessageId::from(format!(
            "<{id:032x}@{}>",
            site.domain
        ))));
    }

    draft.push(Field::from_header(&ListId::new(
        &list.name,
        list.id(),
        &site.domain,
    )));
    let post = match list.kind {
        ListKind::Discussion => format!(
            "<{}>",
            mailto(list.address.get_ref(), None, "list address")?
        ),
        ListKind::Announce | ListKind::Managed => "NO".to_string(),
    };
    draft.push(Field::text("List-Post", &post));
    let page = site
        .base_url
        .as_deref()
        .map(|base| format!("<{}/lists/{}>", base.trim_end_matches('/'), list.id()));
    if let Some(page) = &page {
        draft.push(Field::text("List-Help", page));
    }
    if list.kind != ListKind::Managed
        && let Some(registration) = list.registration.first()
    {
        let uri = mailto(registration.get_ref(), None, "registration address")?;
        draft.push(Field::text("List-Subscribe", &format!("<{uri}>")));
    }
    if let Some(page) = &page {
        draft.push(Field::text("List-Archive", page));
    }
    draft.push(Field::text("Precedence", "list"));
    draft.push(Field::from_value(HeaderValue::new(
        HeaderName::new_from_ascii_str(LOOP_HEADER),
        site.domain.clone(),
    )));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::arc::Chain;
    use super::super::testing::*;
    use super::super::{Draft, prepare};
    use super::*;

    fn run(raw: &[u8], list: &str, config: &Config) -> Vec<u8> {
        let mut draft = Draft::parse(raw).unwrap();
        apply(&mut draft, config.list(list).unwrap(), config).unwrap();
        let mut out = draft.head();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&draft.body);
        out
    }

    #[test]
    fn leaks_and_stale_verdicts_are_dropped() {
        let config = config("");
        let out = run(&circular(b"%PDF"), "thpt", &config);
        for name in [
            "Return-Path",
            "Delivered-To",
            "X-Original-To",
            "Bcc",
            "Authentication-Results",
            "DKIM-Signature",
        ] {
            assert_eq!(count_fields(&out, name), 0, "{name}");
        }
        assert_eq!(count_fields(&out, "Received"), 1, "trace kept");
        assert_eq!(count_fields(&out, "ARC-Seal"), 1, "earlier ARC sets kept");
        assert_eq!(count_fields(&out, "Precedence"), 1);
        assert_eq!(count_fields(&out, "List-Id"), 1, "the old List-Id is gone");
        let msg = parse(&out);
        assert_eq!(msg.header_raw("Precedence").map(str::trim), Some("list"));
        assert_eq!(
            msg.header_raw(LOOP_HEADER).map(str::trim),
            Some("moet.edu.vn")
        );
        assert_eq!(msg.message_id(), Some("cv123.2026@moet.edu.vn"), "kept");
    }

    #[test]
    fn the_list_fields_of_an_announce_list() {
        let config = config("");
        let out = run(&circular(b"%PDF"), "thpt", &config);
        let msg = parse(&out);
        let list_id = msg.header("List-Id").and_then(|h| h.as_address());
        let list_id = list_id.and_then(|a| a.first()).unwrap();
        assert_eq!(list_id.name.as_deref(), Some("Trường THPT"));
        assert_eq!(list_id.address.as_deref(), Some("thpt.moet.edu.vn"));
        let raw_id = msg.header_raw("List-Id").unwrap();
        assert!(raw_id.is_ascii() && raw_id.contains("=?utf-8?"), "{raw_id}");
        assert!(
            raw_id.trim_end().ends_with("<thpt.moet.edu.vn>"),
            "{raw_id}"
        );
        assert_eq!(msg.header_raw("List-Post").map(str::trim), Some("NO"));
        assert_eq!(
            msg.header_raw("List-Subscribe").map(str::trim),
            Some("<mailto:dangky@moet.edu.vn>")
        );
        assert_eq!(
            msg.header_raw("List-Archive").map(str::trim),
            Some("<https://nhomthu.moet.edu.vn/lists/thpt>")
        );
        assert_eq!(
            msg.header_raw("List-Help").map(str::trim),
            Some("<https://nhomthu.moet.edu.vn/lists/thpt>")
        );
    }

    #[test]
    fn discussion_lists_take_posts_and_managed_lists_take_no_registration() {
        let config = config("");
        let out = run(&plain_post(), "thaoluan", &config);
        assert_eq!(
            parse(&out).header_raw("List-Post").map(str::trim),
            Some("<mailto:thaoluan@moet.edu.vn>")
        );
        let out = run(&plain_post(), "sogd", &config);
        assert_eq!(count_fields(&out, "List-Subscribe"), 0);
        assert_eq!(
            parse(&out).header_raw("List-Post").map(str::trim),
            Some("NO")
        );
    }

    #[test]
    fn no_base_url_no_archive() {
        let mut config = config("");
        config.site.base_url = None;
        let out = run(&plain_post(), "thpt", &config);
        assert_eq!(count_fields(&out, "List-Archive"), 0);
        assert_eq!(count_fields(&out, "List-Help"), 0);
    }

    #[test]
    fn missing_date_and_message_id_are_added() {
        let config = config("");
        let out = run(
            b"From: a@b.vn\r\nTo: thpt@moet.edu.vn\r\nSubject: x\r\n\r\nbody\r\n",
            "thpt",
            &config,
        );
        let msg = parse(&out);
        assert!(msg.date().is_some());
        assert!(msg.message_id().unwrap().ends_with("@moet.edu.vn"));
    }

    #[test]
    fn a_list_name_cannot_inject_a_header() {
        let mut config = config("");
        config.lists[0].name = "Trường THPT\r\nBcc: victim@example.com\r\nX-Evil: 1".into();
        let copy = prepare(
            &circular(b"%PDF"),
            &config.lists[0],
            &config,
            &templates(),
            &Default::default(),
            Chain::None,
        )
        .unwrap();
        let out = copy.personal(&personal()).unwrap();
        assert_eq!(count_fields(&out, "Bcc"), 0);
        assert_eq!(count_fields(&out, "X-Evil"), 0);
        assert_eq!(count_fields(&out, "List-Id"), 1);
        for line in header_lines(&out) {
            assert!(
                !line.to_ascii_lowercase().starts_with("bcc"),
                "injected line {line:?}"
            );
        }
        let msg = parse(&out);
        let list_id = msg.header("List-Id").and_then(|h| h.as_address());
        let list_id = list_id.and_then(|a| a.first()).unwrap();
        assert_eq!(list_id.address.as_deref(), Some("thpt.moet.edu.vn"));
        assert!(list_id.name.as_deref().unwrap().starts_with("Trường THPT"));
    }

    #[test]
    fn ascii_names_are_quoted_and_ids_are_dot_atoms() {
        let render = |name: &str| {
            let field = Field::from_header(&ListId::new(name, "Trường A", "moet.edu.vn"));
            String::from_utf8(field.raw).unwrap()
        };
        assert_eq!(
            render("THPT Ha Noi"),
            "List-Id: \"THPT Ha Noi\" <tr--ng-a.moet.edu.vn>\r\n"
        );
        // Specials that a quoted string would need escaped: encoded words instead.
        let special = render("THPT \"A\", <Ha Noi>");
        assert!(special.starts_with("List-Id: =?utf-8?b?"), "{special}");
        let msg = format!("{special}\r\nbody");
        let msg = parse(msg.as_bytes());
        let id = msg.header("List-Id").and_then(|h| h.as_address());
        let id = id.and_then(|a| a.first()).unwrap();
        assert_eq!(id.name.as_deref(), Some("THPT \"A\", <Ha Noi>"));
        assert_eq!(id.address.as_deref(), Some("tr--ng-a.moet.edu.vn"));
    }
}
