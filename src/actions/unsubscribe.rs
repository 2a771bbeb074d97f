//! A request to leave ("hủy đăng ký"): confirmed by reply, like joining, so that a forged
//! From cannot remove anyone.

use super::{ActionError, Ctx, answer};
use crate::compose::Kind;
use crate::store::inbound::Disposition;
use crate::store::members::{self, Status};
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
