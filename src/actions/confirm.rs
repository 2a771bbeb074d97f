//! A reply to a confirmation request, or its link pressed on the web page. The token, not the From address, says who and what:
//! a reply from another address of the same person still confirms the address the
//! request was sent to. A wrong, foreign or used token does nothing and answers nothing.

use super::{ActionError, Ctx, answer, post};
use crate::compose::Kind;
use crate::config::List;
use crate::store::inbound::Disposition;
use crate::store::members::{self, Change, Status};
use crate::store::tokens::{self, Action, Pending, Taken};
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
        if pending.action == Action::Moderate {
            post::moderate(conn, ctx, &pending).await?;
            disposition = Disposition::Handled;
            continue;
        }
        let how = Confirming {
            actor: &actor,
            inbound_id: Some(ctx.inbound_id),
            by: "by replying to the confirmation request",
        };
        apply(conn, &ctx.env(), list, &pending, &how).await?;
        tracing::info!(list = %pending.list_id, address = %pending.address, action = pending.action.as_str(), "confirmed");
        disposition = Disposition::Handled;
    }
    Ok(disposition)
}

/// How a confirmation came: who, and by what means, for the audit.
pub struct Confirming<'a> {
    /// The audit actor: `mail:ID`, `web:confirm`.
    pub actor: &'a str,
    /// The inbound mail behind it, if any.
    pub inbound_id: Option<i64>,
    /// How it was confirmed, ending the audit reason ("by replying to …").
    pub by: &'a str,
}

/// Apply a valid join or leave token for `list`, audited, and welcome or say goodbye
/// when the status changed: the one path of a confirmation, by reply or by link.
/// Returns the status before.
pub async fn apply(
    conn: &mut AnyConnection,
    env: &answer::Env<'_>,
    list: &List,
    pending: &Pending,
    how: &Confirming<'_>,
) -> Result<Option<Status>, ActionError> {
    let (status, action, what, kind) = match pending.action {
        Action::Unsubscribe => (
            Status::Unsubscribed,
            "unsubscribe",
            "leave confirmed",
            Kind::Goodbye,
        ),
        Action::Subscribe | Action::Moderate => {
            (Status::Confirmed, "subscribe", "confirmed", Kind::Welcome)
        }
    };
    let reason = format!("{what} {}", how.by);
    let before = members::apply(
        &mut *conn,
        &Change {
            list_id: &pending.list_id,
            address: &pending.address,
            display_name: None,
            status,
            source: "email",
            action,
            actor: how.actor,
            inbound_id: how.inbound_id,
            reason: &reason,
        },
    )
    .await?;
    // A welcome or goodbye follows a valid token, which only the address's owner holds:
    // it cannot be aimed at anyone, so no cap applies.
    if before != Some(status) {
        answer::notice(conn, env, kind, list, &pending.address, None, false).await?;
    }
    Ok(before)
}

/// What a confirmation link did.
#[derive(Debug)]
pub enum Linked {
    /// Confirmed now: the token's request, and the status before.
    Confirmed(Pending, Option<Status>),
    /// The token was used before.
    Used(Pending),
    /// The token expired.
    Expired(Pending),
    /// No join or leave token of this system (or its list is gone).
    Unknown,
}

/// The confirmation link was pressed: the token confirms exactly as a reply carrying it
/// would. A moderation token is no confirmation: moderators have their own page.
pub async fn by_link(
    conn: &mut AnyConnection,
    env: &answer::Env<'_>,
    token: &str,
) -> Result<Linked, ActionError> {
    let hash = crate::token::hash(token);
    match tokens::peek(&mut *conn, &hash).await? {
        Taken::Valid(p) | Taken::Used(p) | Taken::Expired(p) if p.action == Action::Moderate => {
            return Ok(Linked::Unknown);
        }
        Taken::Unknown => return Ok(Linked::Unknown),
        _ => {}
    }
    let pending = match tokens::take(&mut *conn, &hash).await? {
        Taken::Valid(p) => p,
        Taken::Used(p) => return Ok(Linked::Used(p)),
        Taken::Expired(p) => return Ok(Linked::Expired(p)),
        Taken::Unknown => return Ok(Linked::Unknown),
    };
    let Some(list) = env.config.list(&pending.list_id) else {
        tracing::warn!(list = %pending.list_id, "token for a list no longer configured");
        return Ok(Linked::Unknown);
    };
    let how = Confirming {
        actor: "web:confirm",
        inbound_id: None,
        by: "through the confirmation link",
    };
    let before = apply(conn, env, list, &pending, &how).await?;
    tracing::info!(list = %pending.list_id, address = %pending.address, action = pending.action.as_str(), "confirmed through the link");
    Ok(Linked::Confirmed(pending, before))
}
