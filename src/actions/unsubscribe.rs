//! A request to leave ("hủy đăng ký"): confirmed by reply, like joining, so that a forged
//! From cannot remove anyone.

use super::{ActionError, Ctx, answer};
use crate::compose::Kind;
use crate::config::List;
use crate::store::inbound::Disposition;
use crate::store::members::{self, Change, Status};
use crate::store::settings;
use crate::store::tokens::Action;
use sqlx::AnyConnection;

/// Send a leave confirmation to members, a "not a member" notice to others.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    lists: &[String],
) -> Result<Disposition, ActionError> {
    let Some(from) = &ctx.msg.from else {
        return Ok(Disposition::Ignored);
    };
    for id in lists {
        let Some(list) = ctx.config.list(id) else {
            continue;
        };
        let status = members::get(&mut *conn, id, &from.address)
            .await?
            .map(|m| m.status);
        match status {
            Some(Status::Confirmed | Status::Pending | Status::Disabled) => {
                answer::send(
                    conn,
                    ctx,
                    Kind::ConfirmUnsubscribe,
                    list,
                    &from.address,
                    Some(Action::Unsubscribe),
                )
                .await?;
            }
            Some(Status::Unsubscribed) | None => {
                answer::send(conn, ctx, Kind::NotMember, list, &from.address, None).await?;
            }
        }
        tracing::info!(list = id, address = %from.address, "unsubscribe requested");
    }
    Ok(Disposition::Handled)
}

/// Mail to a member's List-Unsubscribe address. When the address's code was made for the
/// sender, the member leaves at once (the code proves the list mail went to them);
/// otherwise the usual confirm-by-reply flow runs, so a forged From removes nobody.
pub async fn one_click(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    list_id: &str,
    tag: &str,
) -> Result<Disposition, ActionError> {
    let Some(from) = &ctx.msg.from else {
        return Ok(Disposition::Ignored);
    };
    let secret = settings::secret(&mut *conn).await?;
    if crate::unsubscribe::verify(&secret, tag, &from.address) != Some(list_id) {
        return handle(conn, ctx, &[list_id.to_string()]).await;
    }
    let Some(list) = ctx.config.list(list_id) else {
        return Ok(Disposition::Ignored);
    };
    let how = Leaving {
        actor: &ctx.actor(),
        inbound_id: Some(ctx.inbound_id),
        reason: "List-Unsubscribe mail from the member's address",
    };
    leave(conn, &ctx.env(), list, &from.address, &how).await?;
    tracing::info!(list = list_id, address = %from.address, "left through List-Unsubscribe");
    Ok(Disposition::Handled)
}

/// How a member leaves at once (their own proof in hand): who did it and why, for the audit.
pub struct Leaving<'a> {
    /// The audit actor: `mail:ID`, `web:one-click`, …
    pub actor: &'a str,
    /// The inbound mail behind it, if any.
    pub inbound_id: Option<i64>,
    /// The audit reason.
    pub reason: &'a str,
}

/// `address` leaves `list` at once, audited; a member who was on it is sent the goodbye.
/// The one path for a proven leave, by mail (List-Unsubscribe) or by the web (one-click
/// link, member page). Returns the status before.
pub async fn leave(
    conn: &mut AnyConnection,
    env: &answer::Env<'_>,
    list: &List,
    address: &str,
    how: &Leaving<'_>,
) -> Result<Option<Status>, ActionError> {
    let before = members::apply(
        &mut *conn,
        &Change {
            list_id: list.id(),
            address,
            display_name: None,
            status: Status::Unsubscribed,
            source: "email",
            action: "unsubscribe",
            actor: how.actor,
            inbound_id: how.inbound_id,
            reason: how.reason,
        },
    )
    .await?;
    if before != Some(Status::Unsubscribed) && before.is_some() {
        answer::notice(conn, env, Kind::Goodbye, list, address, None, false).await?;
    }
    Ok(before)
}
