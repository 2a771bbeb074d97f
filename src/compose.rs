//! The system's own answers (confirmations, welcomes, notices) as complete messages, built
//! with lettre's builder so no header is ever glued from strings. Every answer is marked
//! `Auto-Submitted: auto-replied` (RFC 3834) and carries the loop header, so no
//! well-behaved system answers it and this one recognises it if it comes back.

use crate::classify::LOOP_HEADER;
use crate::config::{Config, List};
use crate::templates::{Rendered, TemplateError, Templates};
use crate::text::one_line;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
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
}

impl Kind {
    /// Every answer, for checking that each list can render them all.
    pub const ALL: [Kind; 8] = [
        Kind::ConfirmSubscribe,
        Kind::ConfirmUnsubscribe,
        Kind::Welcome,
        Kind::Goodbye,
        Kind::AlreadyMember,
        Kind::NotMember,
        Kind::Moderate,
        Kind::Disabled,
    ];

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
    /// Why it is held.
    pub reason: &'a str,
}

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".into())
    }
}

#[derive(Clone)]
struct Loop(String);

impl Header for Loop {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(LOOP_HEADER)
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Loop(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
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
        .header(AutoSubmitted)
        .header(Loop(site.domain.clone()));
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
