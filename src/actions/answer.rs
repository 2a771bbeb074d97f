//! Queue one of the system's answers, within the caps that keep an open registration
//! address from being aimed at a victim's mailbox.

use super::{ActionError, Ctx};
use crate::compose::{self, Answer, Kind};
use crate::config::List;
use crate::store::{self, outbound, tokens};
use sqlx::AnyConnection;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Whether another answer to `rcpt` stays within the per-address and site-wide caps.
async fn allowed(conn: &mut AnyConnection, ctx: &Ctx<'_>, rcpt: &str) -> Result<bool, ActionError> {
    let limits = &ctx.config.limits;
    let now = store::now();
    let to_rcpt = outbound::count_to(&mut *conn, rcpt, now - DAY).await?;
    if to_rcpt >= i64::from(limits.answers_per_address_per_day) {
        tracing::warn!(
            rcpt,
            sent = to_rcpt,
            "answer dropped: per-address daily cap reached"
        );
        return Ok(false);
    }
    let site = outbound::count_since(&mut *conn, now - HOUR).await?;
    if site >= i64::from(limits.answers_per_hour) {
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
    let ttl = i64::from(ctx.config.site.token_ttl_hours) * HOUR;
    let token = match action {
        Some(action) => {
            let (token, hash) = crate::token::generate();
            let pending = tokens::Pending {
                list_id: list.id().to_string(),
                address: rcpt.to_string(),
                action,
            };
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
    Ok(true)
}
