//! A post to list aliases: the rules decide accept or hold; an accepted post is fanned out
//! to every distinct member of the addressed lists (and the lists they include) in the
//! same transaction; a held one waits for a moderator's reply or an operator.

use super::{ActionError, Ctx, answer};
use crate::compose::Held;
use crate::config::Config;
use crate::rules::{self, HoldCause, Verdict};
use crate::store::inbound::Disposition;
use crate::store::members;
use crate::store::posts::{self, NewPost, PostStatus};
use crate::store::tokens::Pending;
use crate::text;
use sqlx::AnyConnection;

/// Folded first-line words with which a moderator's reply rejects a post.
const REJECT: &[&str] = &["tu choi", "reject", "khong duyet"];

/// Record a post, then fan it out or ask the moderators.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    lists: &[String],
) -> Result<Disposition, ActionError> {
    let Some(from) = &ctx.msg.from else {
        return Ok(Disposition::Ignored);
    };
    if let Some(mid) = &ctx.msg.message_id
        && let Some(id) = posts::find_copy(&mut *conn, mid, &from.address).await?
    {
        tracing::info!(
            post = id,
            "a copy of a post already received through another alias"
        );
        return Ok(Disposition::Ignored);
    }
    // Every addressed list must accept: one that holds holds the whole post.
    let mut verdict = Verdict::Accept {
        reason: String::new(),
    };
    for id in lists {
        let Some(list) = ctx.config.list(id) else {
            continue;
        };
        let member = members::get(&mut *conn, id, &from.address)
            .await?
            .map(|m| m.status);
        let first_post = !posts::has_accepted_post(&mut *conn, id, &from.address).await?;
        verdict = rules::decide(ctx.msg, list, ctx.config, member, first_post);
        if matches!(verdict, Verdict::Hold { .. }) {
            break;
        }
    }
    let (status, cause, reason) = match &verdict {
        Verdict::Accept { reason } => (PostStatus::Accepted, None, reason.as_str()),
        Verdict::Hold { cause, reason } => (PostStatus::Held, Some(*cause), reason.as_str()),
    };
    let post_id = posts::insert(
        &mut *conn,
        &NewPost {
            inbound_id: ctx.inbound_id,
            message_id: ctx.msg.message_id.as_deref(),
            sender: &from.address,
            subject: &ctx.msg.subject,
            lists,
            status,
            reason,
            raw: ctx.raw,
        },
    )
    .await?;
    match status {
        PostStatus::Accepted => {
            let n = fan_out(conn, ctx.config, post_id, lists).await?;
            tracing::info!(post = post_id, recipients = n, reason, "post accepted");
        }
        PostStatus::Held | PostStatus::Rejected => {
            let held = Held {
                post_id,
                sender: &from.address,
                subject: &ctx.msg.subject,
                cause: cause.map_or("", HoldCause::name),
                reason,
            };
            let mut asked: Vec<&str> = Vec::new();
            for list in lists.iter().filter_map(|id| ctx.config.list(id)) {
                for moderator in &list.moderators {
                    let moderator = moderator.get_ref().as_str();
                    if !asked.contains(&moderator) {
                        answer::notify_moderator(conn, ctx, list, moderator, &held).await?;
                        asked.push(moderator);
                    }
                }
            }
            tracing::info!(
                post = post_id,
                reason,
                moderators = asked.len(),
                "post held"
            );
        }
    }
    Ok(Disposition::Handled)
}

/// Queue an accepted post for every distinct member of `lists` and the lists they
/// include; returns the number of recipients.
pub async fn fan_out(
    conn: &mut AnyConnection,
    config: &Config,
    post_id: i64,
    lists: &[String],
) -> Result<i64, ActionError> {
    Ok(posts::fan_out(conn, post_id, &config.expand(lists)).await?)
}

/// A moderator replied to a moderation notice: reject when the first line says so,
/// approve otherwise. A post decided before is left alone.
pub async fn moderate(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    pending: &Pending,
) -> Result<(), ActionError> {
    let Some(post_id) = pending.post_id else {
        return Ok(());
    };
    let first = text::fold(ctx.msg.first_line());
    let reject = REJECT.iter().any(|w| text::has_phrase(&first, w));
    let by = format!("moderator:{}", pending.address);
    decide(conn, ctx.config, post_id, !reject, &by).await?;
    Ok(())
}

/// Approve (and fan out) or reject a held post. Returns false when it was not held.
pub async fn decide(
    conn: &mut AnyConnection,
    config: &Config,
    post_id: i64,
    approve: bool,
    by: &str,
) -> Result<bool, ActionError> {
    let status = if approve {
        PostStatus::Accepted
    } else {
        PostStatus::Rejected
    };
    if !posts::decide(&mut *conn, post_id, status, by).await? {
        tracing::info!(post = post_id, by, "post already decided");
        return Ok(false);
    }
    if approve && let Some(post) = posts::get(&mut *conn, post_id).await? {
        let n = fan_out(conn, config, post_id, &post.lists).await?;
        tracing::info!(post = post_id, recipients = n, by, "post approved");
    } else {
        tracing::info!(post = post_id, by, "post rejected");
    }
    Ok(true)
}
