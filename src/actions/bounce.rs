//! A delivery report about mail the system sent. Only a report that came back to a
//! genuine VERP return path touches a member, and only the member that path names: a
//! copy of a post scores its recipient on the list it was sent through; a batch of copies
//! scores the recipients the report names among those the post went to; a bounce of one
//! of the system's own answers (a confirmation request, a notice) never touches
//! membership. Delay warnings are kept and count for nothing.
//!
//! A refusal at SMTP time (the relay's 5xx to `RCPT TO` or `DATA` for a member's copy, or
//! a 4xx that outlived the delivery's lifetime) is the same news without the mail: it is
//! scored by [`refused`] as a report about that member would be, at most once a day.

use super::answer::Env;
use super::{ActionError, Ctx, disabled};
use crate::bounce::{Kind, Recipient, Report};
use crate::config::Config;
use crate::store::Store;
use crate::store::bounces::{self, Event};
use crate::store::inbound::Disposition;
use crate::store::{deliveries, outbound, settings};
use crate::templates::Templates;
use crate::verp::{Found, Verp};
use sqlx::AnyConnection;

/// Record the report and score whom it names.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    report: Option<&Report>,
    found: Option<&Found>,
) -> Result<Disposition, ActionError> {
    let secret = settings::secret(&mut *conn).await?;
    let verp = found.and_then(|f| f.verified(&secret));
    let base = Event {
        inbound_id: Some(ctx.inbound_id),
        kind: kind_name(report).into(),
        verp: found.map(|f| f.verp.to_string()),
        ..Event::default()
    };
    let none = |why: &str| format!("none: {why}");
    let Some(report) = report else {
        let effect = none("the report's format is not recognised");
        bounces::record(conn, &Event { effect, ..base }).await?;
        return Ok(Disposition::Ignored);
    };
    let why_not = match (found, verp, report.kind) {
        (_, _, Kind::Delay) => Some("a delay warning: the mail is still being retried"),
        (None, _, _) => Some("not returned to a VERP address, so tied to no delivery"),
        (Some(_), None, _) => Some("the return path's code is not genuine"),
        (_, Some(Verp::Answer(_)), _) => {
            Some("a bounce of the system's own answer never touches membership")
        }
        _ => None,
    };
    if let Some(why) = why_not {
        // A bounced answer is recorded once, against the answer's own recipient.
        if let Some(Verp::Answer(id)) = verp
            && let Some((kind, list_id, rcpt)) = outbound::describe(&mut *conn, id).await?
        {
            let event = Event {
                list_id,
                address: Some(rcpt),
                diagnostic: Some(format!("answer: {kind}")),
                effect: none(why),
                ..base
            };
            bounces::record(conn, &event).await?;
        } else {
            record_each(conn, &base, &report.recipients, &none(why)).await?;
        }
        return Ok(Disposition::Ignored);
    }
    let mut scored = false;
    match verp {
        Some(Verp::Delivery(id)) => {
            let Some((_, list_id, rcpt)) = deliveries::recipient(&mut *conn, id).await? else {
                let effect = none(&format!("delivery {id} does not exist"));
                record_each(conn, &base, &report.recipients, &effect).await?;
                return Ok(Disposition::Ignored);
            };
            // One copy, one recipient, whatever address the report names (a forward).
            let worst = report
                .recipients
                .iter()
                .find(|r| r.permanent)
                .or(report.recipients.first());
            let (permanent, status, diagnostic) = match worst {
                Some(r) => (r.permanent, r.status.clone(), r.diagnostic.clone()),
                None => (true, None, None),
            };
            let event = Event {
                list_id: Some(list_id),
                address: Some(rcpt),
                permanent,
                status,
                diagnostic,
                ..base
            };
            score(conn, &ctx.env(), event).await?;
            scored = true;
        }
        Some(Verp::Post(post_id)) => {
            for r in &report.recipients {
                let list_id = deliveries::list_of(&mut *conn, post_id, &r.address).await?;
                let event = event_for(&base, r);
                match list_id {
                    Some(list_id) => {
                        let event = Event {
                            list_id: Some(list_id),
                            ..event
                        };
                        score(conn, &ctx.env(), event).await?;
                        scored = true;
                    }
                    None => {
                        let effect = none(&format!("not a recipient of post {post_id}"));
                        bounces::record(conn, &Event { effect, ..event }).await?;
                    }
                }
            }
        }
        // Every other case was answered above.
        _ => {}
    }
    Ok(if scored {
        Disposition::Handled
    } else {
        Disposition::Ignored
    })
}

/// A member's copy the receiving server refused at SMTP time, for good.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The deliveries row.
    pub delivery: i64,
    /// The list it went through.
    pub list_id: String,
    /// The member.
    pub address: String,
    /// A 5xx (a 4xx that ran out of time is not).
    pub permanent: bool,
    /// The server's reply, e.g. `550 5.1.1 <…>: Recipient address rejected`.
    pub reply: String,
}

/// Score a refusal at SMTP time as a bounce of that member (a hard one for a 5xx), in
/// its own transaction: at most once a day, disabled at the threshold with the audit
/// line "refused by the receiving server: <reply>".
pub async fn refused(
    store: &Store,
    config: &Config,
    templates: &Templates,
    r: &Refused,
) -> Result<(), ActionError> {
    let env = Env {
        config,
        templates,
        inbound_id: None,
        from: None,
        in_reply_to: None,
    };
    let event = Event {
        inbound_id: None,
        kind: "refused".into(),
        verp: Some(Verp::Delivery(r.delivery).to_string()),
        list_id: Some(r.list_id.clone()),
        address: Some(r.address.clone()),
        permanent: r.permanent,
        status: enhanced_status(&r.reply),
        diagnostic: Some(r.reply.clone()),
        ..Event::default()
    };
    let mut tx = store.begin().await?;
    score(&mut tx, &env, event).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// The enhanced status code of an SMTP reply (`550 5.1.1 …` → `5.1.1`).
fn enhanced_status(reply: &str) -> Option<String> {
    let code = reply.split_whitespace().nth(1)?;
    let parts: Vec<&str> = code.split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| code.to_string())
}

/// Raise the member's score by the bounce's weight; disable at the threshold.
async fn score(
    conn: &mut AnyConnection,
    env: &Env<'_>,
    mut event: Event,
) -> Result<(), ActionError> {
    let policy = &env.config.bounces;
    let (Some(list_id), Some(address)) = (event.list_id.clone(), event.address.clone()) else {
        return Ok(());
    };
    let Some(stored) = bounces::state(&mut *conn, &list_id, &address).await? else {
        event.effect = "none: not a confirmed member (left, disabled or removed already)".into();
        bounces::record(conn, &event).await?;
        return Ok(());
    };
    let weight = if event.permanent {
        *policy.hard_weight.get_ref()
    } else {
        *policy.soft_weight.get_ref()
    };
    let now = crate::store::now();
    let (score, counted, at) = bounces::next_score(policy, stored, weight, now);
    bounces::set_score(&mut *conn, &list_id, &address, (score, counted, at)).await?;
    let threshold = *policy.threshold.get_ref();
    if score >= threshold {
        let why = match (event.kind.as_str(), &event.diagnostic) {
            ("refused", Some(reply)) => format!(
                "refused by the receiving server: {reply} (bounce score {score:.2} reached the threshold {threshold})"
            ),
            _ => format!(
                "bounce score {score:.2} reached the threshold {threshold}{}",
                event
                    .status
                    .as_ref()
                    .map(|s| format!(" (last: {s})"))
                    .unwrap_or_default()
            ),
        };
        disabled::disable(conn, env, &list_id, &address, &why).await?;
        event.effect = format!("disabled (score {score:.2})");
    } else {
        event.effect = format!("scored {score:.2}");
    }
    tracing::info!(list = %list_id, %address, score, effect = %event.effect, "bounce");
    bounces::record(conn, &event).await?;
    Ok(())
}

fn event_for(base: &Event, r: &Recipient) -> Event {
    Event {
        address: Some(r.address.clone()),
        permanent: r.permanent,
        status: r.status.clone(),
        diagnostic: r.diagnostic.clone(),
        ..base.clone()
    }
}

/// One event per recipient named (one for the report when it names nobody).
async fn record_each(
    conn: &mut AnyConnection,
    base: &Event,
    recipients: &[Recipient],
    effect: &str,
) -> Result<(), ActionError> {
    if recipients.is_empty() {
        let event = Event {
            effect: effect.into(),
            ..base.clone()
        };
        bounces::record(conn, &event).await?;
        return Ok(());
    }
    for r in recipients {
        let event = Event {
            effect: effect.into(),
            ..event_for(base, r)
        };
        bounces::record(&mut *conn, &event).await?;
    }
    Ok(())
}

fn kind_name(report: Option<&Report>) -> &'static str {
    match report.map(|r| r.kind) {
        Some(Kind::Delay) => "delay",
        Some(Kind::Complaint) => "complaint",
        _ => "failure",
    }
}

#[cfg(test)]
mod tests {
    use super::enhanced_status;

    #[test]
    fn the_enhanced_status_of_a_reply() {
        assert_eq!(
            enhanced_status("550 5.1.1 <a@b>: Recipient address rejected").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_status("450 4.2.1 busy").as_deref(), Some("4.2.1"));
        assert_eq!(enhanced_status("550 no such user"), None);
        assert_eq!(enhanced_status("550"), None);
    }
}
