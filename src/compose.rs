//! The system's own answers (confirmations, welcomes, notices) as complete messages, built
//! with lettre's builder so no header is ever glued from strings.
//!
//! Every answer is list mail about one list, and says so the way list managers do, so
//! that receivers' filters file it as such (SpamAssassin's MAILING_LIST_MULTI): `List-Id`
//! of that list, `List-Help` (the list's page, with a `base_url`), `List-Unsubscribe`
//! (the leave request by mail) on answers to members, `Precedence: bulk`, `X-Loop` with
//! the no-reply address and the system's own loop header. `Auto-Submitted` (RFC 3834) is
//! `auto-replied` on answers to a person's mail and `auto-generated` on notices nobody's
//! mail asked for (a delivery paused by bounces, a held post for a moderator), so no
//! well-behaved system answers any of them and this one recognises them if they come back.

use crate::config::{Config, List, ListKind};
use crate::list_fields::{self, AutoSubmitted, LEAVE_SUBJECT, LOOP_HEADER, ListId, Plain, X_LOOP};
use crate::templates::{Rendered, TemplateError, Templates};
use crate::text::one_line;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message, SinglePart};
use minijinja::context;

/// An answer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// Its template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An address in it is not valid.
    #[error("address: {0}")]
    Address(#[from] lettre::address::AddressError),
    /// lettre refused the message.
    #[error("message: {0}")]
    Message(#[from] lettre::error::Error),
}

/// Which answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// "Reply to confirm joining."
    ConfirmSubscribe,
    /// "Reply to confirm leaving."
    ConfirmUnsubscribe,
    /// "You are a member now."
    Welcome,
    /// "You have left."
    Goodbye,
    /// "You are already a member."
    AlreadyMember,
    /// "You are not a member."
    NotMember,
    /// "A post is held: reply to approve."
    Moderate,
    /// "Mail to you bounced, so delivery is paused: reply to resume."
    Disabled,
    /// "Here is your link to the list's archive" (asked for on its page).
    ArchiveLink,
}

impl Kind {
    /// Every answer, for checking that each list can render them all.
    pub const ALL: [Kind; 9] = [
        Kind::ConfirmSubscribe,
        Kind::ConfirmUnsubscribe,
        Kind::Welcome,
        Kind::Goodbye,
        Kind::AlreadyMember,
        Kind::NotMember,
        Kind::Moderate,
        Kind::Disabled,
        Kind::ArchiveLink,
    ];

    /// RFC 3834's name for it: a notice nobody's mail asked for is `auto-generated`, an
    /// answer to a person's mail `auto-replied`.
    pub fn auto_submitted(self) -> AutoSubmitted {
        match self {
            Kind::Moderate | Kind::Disabled | Kind::ArchiveLink => AutoSubmitted::Generated,
            Kind::ConfirmSubscribe
            | Kind::ConfirmUnsubscribe
            | Kind::Welcome
            | Kind::Goodbye
            | Kind::AlreadyMember
            | Kind::NotMember => AutoSubmitted::Replied,
        }
    }

    /// Whether the recipient is a member of the list when it arrives, and so is offered a
    /// way to leave in `List-Unsubscribe`.
    fn to_member(self) -> bool {
        match self {
            Kind::Welcome | Kind::AlreadyMember | Kind::Disabled | Kind::ArchiveLink => true,
            Kind::ConfirmSubscribe
            | Kind::ConfirmUnsubscribe
            | Kind::Goodbye
            | Kind::NotMember
            | Kind::Moderate => false,
        }
    }

    /// Template and queue name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ConfirmSubscribe => "confirm_subscribe",
            Kind::ConfirmUnsubscribe => "confirm_unsubscribe",
            Kind::Welcome => "welcome",
            Kind::Goodbye => "goodbye",
            Kind::AlreadyMember => "already_member",
            Kind::NotMember => "not_member",
            Kind::Moderate => "moderate",
            Kind::Disabled => "disabled",
            Kind::ArchiveLink => "archive_link",
        }
    }
}

/// One answer to build.
pub struct Answer<'a> {
    /// Which answer.
    pub kind: Kind,
    /// The list it is about.
    pub list: &'a List,
    /// The recipient's address.
    pub to: &'a str,
    /// The recipient's display name, if known.
    pub to_name: Option<&'a str>,
    /// The confirmation token, for confirmation requests.
    pub token: Option<&'a str>,
    /// Unix seconds at which the token expires.
    pub expires_at: i64,
    /// The Message-ID of the mail being answered, for threading.
    pub in_reply_to: Option<&'a str>,
    /// The held post, for moderation notices.
    pub held: Option<&'a Held<'a>>,
    /// The page that does what the answer asks at the press of a button (the
    /// confirmation link, a moderator's page), when the site's web side runs.
    pub link: Option<&'a str>,
}

/// A held post, as a moderation notice describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Held<'a> {
    /// The post's id.
    pub post_id: i64,
    /// Its author.
    pub sender: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Why it is held: a [`crate::rules::HoldCause`] name, which the template says in
    /// the list's language.
    pub cause: &'a str,
    /// Why it is held, for operators (English, with the technical detail).
    pub reason: &'a str,
}

/// Render and build an answer; returns the raw message.
pub fn build(
    config: &Config,
    templates: &Templates,
    a: &Answer<'_>,
) -> Result<Vec<u8>, ComposeError> {
    let site = &config.site;
    let lang = a.list.language(site);
    // Text from outside becomes one line: a line break in a display name or a held
    // post's subject must not reach a header or split the rendered subject.
    let to_name = a.to_name.map(one_line).filter(|n| !n.is_empty());
    let held_lines = a
        .held
        .map(|h| (one_line(h.sender), one_line(h.subject), one_line(h.reason)));
    let held = match (a.held, &held_lines) {
        (Some(h), Some((sender, subject, reason))) => Some(Held {
            post_id: h.post_id,
            sender,
            subject,
            cause: h.cause,
            reason,
        }),
        _ => None,
    };
    let registration = a
        .list
        .registration
        .first()
        .map(|r| r.get_ref().as_str())
        .unwrap_or(a.list.address.get_ref());
    let Rendered { subject, body } = templates.render(
        a.list.id(),
        lang,
        a.kind.name(),
        context! {
            site_name => &site.name,
            base_url => &site.base_url,
            noreply => site.noreply.get_ref(),
            list_id => a.list.id(),
            list_name => &a.list.name,
            list_address => a.list.address.get_ref(),
            audience => &a.list.audience,
            registration => registration,
            address => a.to,
            name => to_name,
            token => a.token,
            expires => format_time(a.expires_at),
            held => held,
            link => a.link,
        },
    )?;
    let noreply = site.noreply.get_ref();
    let from = Mailbox::new(Some(one_line(&site.noreply_name)), noreply.parse()?);
    // A local part longer than 64 characters is invalid: then the plain address.
    let reply_to = match a.token {
        Some(token) if site.plus_address_tokens => crate::address::with_tag(noreply, token)
            .parse()
            .or_else(|_| noreply.parse())?,
        _ => noreply.parse()?,
    };
    let to = Mailbox::new(to_name, a.to.parse()?);
    let (subject, message_id) = match a.token {
        Some(token) => (
            format!("{subject} [{token}]"),
            format!("<{token}@{}>", site.domain),
        ),
        None => {
            let id: u128 = rand::random();
            (subject, format!("<{id:032x}@{}>", site.domain))
        }
    };
    let mut builder = Message::builder()
        .from(from)
        .reply_to(Mailbox::new(None, reply_to))
        .to(to)
        .subject(subject)
        .message_id(Some(message_id))
        .header(a.kind.auto_submitted())
        .header(ListId::new(&a.list.name, a.list.id(), &site.domain));
    for field in list_fields(config, a) {
        builder = builder.raw_header(field.header_value());
    }
    if let Some(parent) = a.in_reply_to {
        let parent = format!("<{}>", parent.trim_matches(|c| c == '<' || c == '>'));
        builder = builder.in_reply_to(parent.clone()).references(parent);
    }
    let message = builder.singlepart(
        SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(body),
    )?;
    Ok(message.formatted())
}

/// The list fields of an answer, after `List-Id`.
fn list_fields(config: &Config, a: &Answer<'_>) -> Vec<Plain> {
    let site = &config.site;
    let mut fields = Vec::new();
    if let Some(base) = &site.base_url {
        let page = format!("{}/lists/{}", base.trim_end_matches('/'), a.list.id());
        fields.push(Plain::new("List-Help", list_fields::uris([page.as_str()])));
    }
    let leave = a
        .list
        .registration
        .first()
        .filter(|_| a.kind.to_member() && a.list.kind != ListKind::Managed)
        .and_then(|r| list_fields::mailto(r.get_ref(), Some(LEAVE_SUBJECT)));
    if let Some(leave) = leave {
        fields.push(Plain::new(
            "List-Unsubscribe",
            list_fields::uris([leave.as_str()]),
        ));
    }
    fields.push(Plain::new("Precedence", "bulk"));
    fields.push(Plain::new(X_LOOP, site.noreply.get_ref().clone()));
    fields.push(Plain::new(LOOP_HEADER, site.domain.clone()));
    fields
}

/// A Unix time as a date people read, in Vietnam's time (UTC+7), with the zone named.
fn format_time(unix: i64) -> String {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(7));
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned(zone)
                .strftime("%H:%M %d/%m/%Y (UTC+7)")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_shown_in_vietnam_time() {
        // 2026-11-21 17:00:00 UTC is 2026-11-22 00:00 in Vietnam.
        assert_eq!(
            super::format_time(1_795_280_400),
            "00:00 22/11/2026 (UTC+7)"
        );
        assert_eq!(super::format_time(0), "07:00 01/01/1970 (UTC+7)");
    }
}
