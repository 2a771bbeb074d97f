//! A request to join: a mail with any content to a list's registration address.

use super::{ActionError, Ctx, answer};
use crate::compose::Kind;
use crate::store::inbound::Disposition;
use crate::store::members::{self, Change, Status};
use crate::store::tokens::Action;
use sqlx::AnyConnection;

/// Answer a registration for each list: a confirmation request, or "already a member".
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    lists: &[String],
) -> Result<Disposition, ActionError> {
    let Some(from) = &ctx.msg.from else {
        return Ok(Disposition::Ignored);
    };
    // A forged From would aim the confirmation at a victim: answer nothing.
    if let Some(why) = crate::rules::auth::forged(ctx.msg, ctx.config) {
        tracing::warn!(address = %from.address, %why, "registration with a forged From: no answer");
        return Ok(Disposition::Ignored);
    }
    let actor = ctx.actor();
    for id in lists {
        let Some(list) = ctx.config.list(id) else {
            continue;
        };
        let member = members::get(&mut *conn, id, &from.address).await?;
        if member.as_ref().map(|m| m.status) == Some(Status::Confirmed) {
            answer::send(conn, ctx, Kind::AlreadyMember, list, &from.address, None).await?;
            continue;
        }
        if member.is_none() {
            members::apply(
                &mut *conn,
                &Change {
                    list_id: id,
                    address: &from.address,
                    display_name: from.name.as_deref(),
                    status: Status::Pending,
                    source: "email",
                    action: "request",
                    actor: &actor,
                    inbound_id: Some(ctx.inbound_id),
                    reason: "registration mail received; confirmation requested",
                },
            )
            .await?;
        }
        let sent = answer::send(
            conn,
            ctx,
            Kind::ConfirmSubscribe,
            list,
            &from.address,
            Some(Action::Subscribe),
        )
        .await?;
        tracing::info!(list = id, address = %from.address, sent, "registration");
    }
    Ok(Disposition::Handled)
}
