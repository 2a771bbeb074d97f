//! Queue one of the system's answers, within the caps that keep an open registration
//! address from being aimed at a victim's mailbox: per address per day, per recipient
//! domain per hour (a flood of forged requests for one organisation's addresses), and
//! site-wide per hour.

use super::{ActionError, Ctx};
use crate::compose::{self, Answer, Held, Kind};
use crate::config::{Config, List};
use crate::message::Person;
use crate::store::{self, members, outbound, settings, tokens};
use crate::templates::Templates;
use sqlx::AnyConnection;

/// What an answer is built from: the site, and the message it answers, if any.
pub struct Env<'a> {
    /// The site configuration.
    pub config: &'a Config,
    /// The mail templates.
    pub templates: &'a Templates,
    /// The inbound message behind it.
    pub inbound_id: Option<i64>,
    /// Its author: their display name greets them when the answer goes to them.
    pub from: Option<&'a Person>,
    /// Its Message-ID, for threading.
    pub in_reply_to: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    /// The answer environment of this message.
    pub fn env(&self) -> Env<'a> {
        Env {
            config: self.config,
            templates: self.templates,
            inbound_id: Some(self.inbound_id),
            from: self.msg.from.as_ref(),
            in_reply_to: self.msg.message_id.as_deref(),
        }
    }
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Whether another answer to `rcpt` stays within the per-address, per-domain and
/// site-wide caps.
async fn allowed(conn: &mut AnyConnection, env: &Env<'_>, rcpt: &str) -> Result<bool, ActionError> {
    let limits = &env.config.limits;
    let to_rcpt = outbound::count_to(&mut *conn, rcpt, store::now() - DAY).await?;
    if to_rcpt >= i64::from(limits.answers_per_address_per_day) {
        tracing::warn!(
            rcpt,
            sent = to_rcpt,
            "answer dropped: per-address daily cap reached"
        );
        return Ok(false);
    }
    if let Some((_, domain)) = rcpt.rsplit_once('@') {
        let to_domain = outbound::count_to_domain(&mut *conn, domain, store::now() - HOUR).await?;
        if to_domain >= i64::from(limits.answers_per_domain_per_hour) {
            tracing::warn!(
                rcpt,
                domain,
                sent = to_domain,
                "answer dropped: per-domain hourly cap reached"
            );
            return Ok(false);
        }
    }
    site_allows(conn, env, rcpt).await
}

/// Whether the site-wide hourly cap allows another answer.
async fn site_allows(
    conn: &mut AnyConnection,
    env: &Env<'_>,
    rcpt: &str,
) -> Result<bool, ActionError> {
    let cap = env.config.limits.answers_per_hour;
    let site = outbound::count_since(conn, store::now() - HOUR).await?;
    if site >= i64::from(cap) {
        tracing::warn!(
            rcpt,
            sent = site,
            "answer dropped: site-wide hourly cap reached"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Queue an answer about `list` to `rcpt`. With `action`, a fresh confirmation token for
/// it is stored and written into the mail. Returns false when a cap dropped it.
pub async fn send(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    kind: Kind,
    list: &List,
    rcpt: &str,
    action: Option<tokens::Action>,
) -> Result<bool, ActionError> {
    // A welcome or goodbye follows a reply carrying a valid token, which only the
    // address's owner can send: it cannot be aimed at anyone, so no cap applies.
    let capped = !matches!(kind, Kind::Welcome | Kind::Goodbye);
    if capped
        && ctx.msg.from.as_ref().is_some_and(|f| f.address == rcpt)
        && let Some(why) = crate::rules::auth::forged(ctx.msg, ctx.config)
    {
        tracing::warn!(rcpt, %why, "answer dropped: the request's From is forged");
        return Ok(false);
    }
    notice(conn, &ctx.env(), kind, list, rcpt, action, capped).await
}

/// Queue a notice about `list` to `rcpt`, with a fresh token for `action` if given,
/// within the caps when `capped`. Returns false when a cap dropped it.
pub async fn notice(
    conn: &mut AnyConnection,
    env: &Env<'_>,
    kind: Kind,
    list: &List,
    rcpt: &str,
    action: Option<tokens::Action>,
    capped: bool,
) -> Result<bool, ActionError> {
    if capped && !allowed(&mut *conn, env, rcpt).await? {
        return Ok(false);
    }
    let pending = action.map(|action| tokens::Pending {
        list_id: list.id().to_string(),
        address: rcpt.to_string(),
        action,
        post_id: None,
    });
    queue(conn, env, kind, list, rcpt, pending, None).await?;
    Ok(true)
}

/// Ask a moderator to decide a held post. Moderators are operators: only the site-wide
/// cap applies. Returns false when it dropped the notice.
pub async fn notify_moderator(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    list: &List,
    moderator: &str,
    held: &Held<'_>,
) -> Result<bool, ActionError> {
    let env = ctx.env();
    if !site_allows(&mut *conn, &env, moderator).await? {
        return Ok(false);
    }
    let pending = tokens::Pending {
        list_id: list.id().to_string(),
        address: moderator.to_string(),
        action: tokens::Action::Moderate,
        post_id: Some(held.post_id),
    };
    queue(
        conn,
        &env,
        Kind::Moderate,
        list,
        moderator,
        Some(pending),
        Some(held),
    )
    .await?;
    Ok(true)
}

/// Store the token (if any), build the mail and queue it.
async fn queue(
    conn: &mut AnyConnection,
    env: &Env<'_>,
    kind: Kind,
    list: &List,
    rcpt: &str,
    pending: Option<tokens::Pending>,
    held: Option<&Held<'_>>,
) -> Result<(), ActionError> {
    let ttl = i64::from(env.config.site.token_ttl_hours) * HOUR;
    let token = match pending {
        Some(pending) => {
            let (token, hash) = crate::token::generate();
            tokens::insert(&mut *conn, &hash, &pending, env.inbound_id, ttl).await?;
            Some(token)
        }
        None => None,
    };
    // The name the answered mail gives, else the one stored with the membership.
    let stored = match env.from.filter(|p| p.address == rcpt && p.name.is_some()) {
        Some(_) => None,
        None => members::get(&mut *conn, list.id(), rcpt)
            .await?
            .and_then(|m| m.display_name),
    };
    let to_name = env
        .from
        .filter(|p| p.address == rcpt)
        .and_then(|p| p.name.as_deref())
        .or(stored.as_deref());
    let link = match (crate::links::base(env.config), &token) {
        (Some(base), _) if kind == Kind::ArchiveLink => {
            let secret = settings::secret(&mut *conn).await?;
            Some(crate::web::archive::member_link(
                base,
                &secret,
                list.id(),
                rcpt,
            ))
        }
        (Some(base), Some(token)) => match (kind, held) {
            (Kind::ConfirmSubscribe | Kind::ConfirmUnsubscribe, _) => {
                Some(crate::links::confirm(base, token))
            }
            (Kind::Moderate, Some(held)) => {
                let secret = settings::secret(&mut *conn).await?;
                Some(crate::links::moderate(base, &secret, held.post_id, rcpt))
            }
            _ => None,
        },
        _ => None,
    };
    let raw = compose::build(
        env.config,
        env.templates,
        &Answer {
            kind,
            list,
            to: rcpt,
            to_name,
            token: token.as_deref(),
            expires_at: store::now() + ttl,
            in_reply_to: env.in_reply_to,
            held,
            link: link.as_deref(),
        },
    )?;
    outbound::enqueue(
        conn,
        &outbound::NewMail {
            kind: kind.name(),
            list_id: Some(list.id()),
            inbound_id: env.inbound_id,
            mail_from: env.config.site.noreply.get_ref(),
            rcpt,
            raw: &raw,
        },
    )
    .await?;
    Ok(())
}
