//! A request to leave ("hủy đăng ký"): confirmed by reply, like joining, so that a forged
//! From cannot remove anyone.

use super::{ActionError, Ctx, answer};
use crate::compose::Kind;
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
    let before = members::apply(
        &mut *conn,
        &Change {
            list_id,
            address: &from.address,
            display_name: None,
            status: Status::Unsubscribed,
            source: "email",
            action: "unsubscribe",
            actor: &ctx.actor(),
            inbound_id: Some(ctx.inbound_id),
            reason: "List-Unsubscribe mail from the member's address",
        },
    )
    .await?;
    if before != Some(Status::Unsubscribed) && before.is_some() {
        answer::send(conn, ctx, Kind::Goodbye, list, &from.address, None).await?;
    }
    tracing::info!(list = list_id, address = %from.address, "left through List-Unsubscribe");
    Ok(Disposition::Handled)
}
