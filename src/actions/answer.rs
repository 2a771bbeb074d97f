//! Queue one of the system's answers, within the caps that keep an open registration
//! address from being aimed at a victim's mailbox.

use super::{ActionError, Ctx};
use crate::compose::{self, Answer, Held, Kind};
use crate::config::List;
use crate::store::{self, outbound, tokens};
use sqlx::AnyConnection;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Whether another answer to `rcpt` stays within the per-address and site-wide caps.
async fn allowed(conn: &mut AnyConnection, ctx: &Ctx<'_>, rcpt: &str) -> Result<bool, ActionError> {
    let cap = ctx.config.limits.answers_per_address_per_day;
    let to_rcpt = outbound::count_to(&mut *conn, rcpt, store::now() - DAY).await?;
    if to_rcpt >= i64::from(cap) {
        tracing::warn!(
            rcpt,
            sent = to_rcpt,
            "answer dropped: per-address daily cap reached"
        );
        return Ok(false);
    }
    site_allows(conn, ctx, rcpt).await
}

/// Whether the site-wide hourly cap allows another answer.
async fn site_allows(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    rcpt: &str,
) -> Result<bool, ActionError> {
    let cap = ctx.config.limits.answers_per_hour;
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
    if capped && !allowed(&mut *conn, ctx, rcpt).await? {
        return Ok(false);
    }
    let pending = action.map(|action| tokens::Pending {
        list_id: list.id().to_string(),
        address: rcpt.to_string(),
        action,
        post_id: None,
    });
    queue(conn, ctx, kind, list, rcpt, pending, None).await?;
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
    if !site_allows(&mut *conn, ctx, moderator).await? {
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
        ctx,
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
    ctx: &Ctx<'_>,
    kind: Kind,
    list: &List,
    rcpt: &str,
    pending: Option<tokens::Pending>,
    held: Option<&Held<'_>>,
) -> Result<(), ActionError> {
    let ttl = i64::from(ctx.config.site.token_ttl_hours) * HOUR;
    let token = match pending {
        Some(pending) => {
            let (token, hash) = crate::token::generate();
            tokens::insert(&mut *conn, &hash, &pending, Some(ctx.inbound_id), ttl).await?;
            Some(token)
        }
        None => None,
    };
    let from = ctx.msg.from.as_ref();
    let to_name = from
        .filter(|p| p.address == rcpt)
        .and_then(|p| p.name.as_deref());
    let raw = compose::build(
        ctx.config,
        ctx.templates,
        &Answer {
            kind,
            list,
            to: rcpt,
            to_name,
            token: token.as_deref(),
            expires_at: store::now() + ttl,
            in_reply_to: ctx.msg.message_id.as_deref(),
            held,
        },
    )?;
    outbound::enqueue(
        conn,
        &outbound::NewMail {
            kind: kind.name(),
            list_id: Some(list.id()),
            inbound_id: Some(ctx.inbound_id),
            mail_from: ctx.config.site.noreply.get_ref(),
            rcpt,
            raw: &raw,
        },
    )
    .await?;
    Ok(())
}
