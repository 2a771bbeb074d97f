//! A reply to a confirmation request. The token, not the From address, says who and what:
//! a reply from another address of the same person still confirms the address the
//! request was sent to. A wrong, foreign or used token does nothing and answers nothing.

use super::{ActionError, Ctx, answer, post};
use crate::compose::Kind;
use crate::store::inbound::Disposition;
use crate::store::members::{self, Change, Status};
use crate::store::tokens::{self, Action, Taken};
use sqlx::AnyConnection;

/// Apply every valid token the reply carries.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    found: &[String],
) -> Result<Disposition, ActionError> {
    let actor = ctx.actor();
    let mut disposition = Disposition::Ignored;
    for token in found {
        let taken = tokens::take(&mut *conn, &crate::token::hash(token)).await?;
        let pending = match taken {
            Taken::Valid(p) => p,
            Taken::Used(p) => {
                tracing::info!(list = %p.list_id, address = %p.address, "token already used");
                continue;
            }
            Taken::Expired(p) => {
                // The person still wants in: a fresh request, within the same caps.
                if p.action == Action::Subscribe
                    && let Some(list) = ctx.config.list(&p.list_id)
                {
                    answer::send(
                        conn,
                        ctx,
                        Kind::ConfirmSubscribe,
                        list,
                        &p.address,
                        Some(Action::Subscribe),
                    )
                    .await?;
                    disposition = Disposition::Handled;
                }
                continue;
            }
            Taken::Unknown => {
                tracing::info!("unknown confirmation token");
                continue;
            }
        };
        let Some(list) = ctx.config.list(&pending.list_id) else {
            tracing::warn!(list = %pending.list_id, "token for a list no longer configured");
            continue;
        };
        let (status, action, reason, kind) = match pending.action {
            Action::Moderate => {
                post::moderate(conn, ctx, &pending).await?;
                disposition = Disposition::Handled;
                continue;
            }
            Action::Subscribe => (
                Status::Confirmed,
                "subscribe",
                "confirmed by replying to the confirmation request",
                Kind::Welcome,
            ),
            Action::Unsubscribe => (
                Status::Unsubscribed,
                "unsubscribe",
                "leave confirmed by replying to the confirmation request",
                Kind::Goodbye,
            ),
        };
        let before = members::apply(
            &mut *conn,
            &Change {
                list_id: &pending.list_id,
                address: &pending.address,
                display_name: None,
                status,
                source: "email",
                action,
                actor: &actor,
                inbound_id: Some(ctx.inbound_id),
                reason,
            },
        )
        .await?;
        if before != Some(status) {
            answer::send(conn, ctx, kind, list, &pending.address, None).await?;
        }
        tracing::info!(list = %pending.list_id, address = %pending.address, action, "confirmed");
        disposition = Disposition::Handled;
    }
    Ok(disposition)
}
