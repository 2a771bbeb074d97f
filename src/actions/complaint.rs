//! An abuse report (ARF, RFC 5965): a recipient marked list mail as spam. The member is
//! unsubscribed from the list at once, audited, and sent nothing more. Who complained is
//! proven, never guessed: by the original's genuine VERP return path, or by its
//! per-recipient List-Unsubscribe code checked against the reported recipient.

use super::{ActionError, Ctx};
use crate::bounce::Report;
use crate::store::bounces::{self, Event};
use crate::store::inbound::Disposition;
use crate::store::members::{self, Change, Status};
use crate::store::{deliveries, settings};
use crate::verp::{Found, Verp};
use crate::{address, unsubscribe};
use sqlx::AnyConnection;

/// Unsubscribe the complaining member from the list the complaint is about.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    report: &Report,
    found: Option<&Found>,
) -> Result<Disposition, ActionError> {
    let secret = settings::secret(&mut *conn).await?;
    let mut members_named: Vec<(String, String)> = Vec::new();
    match found.and_then(|f| f.verified(&secret)) {
        Some(Verp::Delivery(id)) => {
            if let Some((_, list_id, rcpt)) = deliveries::recipient(&mut *conn, id).await? {
                members_named.push((list_id, rcpt));
            }
        }
        Some(Verp::Post(post_id)) => {
            for r in &report.recipients {
                if let Some(list_id) = deliveries::list_of(&mut *conn, post_id, &r.address).await? {
                    members_named.push((list_id, r.address.clone()));
                }
            }
        }
        _ => {}
    }
    if members_named.is_empty() {
        members_named = by_unsubscribe_code(ctx, &secret, report);
    }
    let base = Event {
        inbound_id: Some(ctx.inbound_id),
        kind: "complaint".into(),
        verp: found.map(|f| f.verp.to_string()),
        diagnostic: report.feedback_type.clone(),
        ..Event::default()
    };
    if members_named.is_empty() {
        let why = match found {
            Some(f) if f.verified(&secret).is_none() => {
                "the original's return path code is not genuine"
            }
            _ => {
                "the report names no member the system can prove (no VERP, no genuine unsubscribe code)"
            }
        };
        let event = Event {
            address: report.recipients.first().map(|r| r.address.clone()),
            effect: format!("none: {why}"),
            ..base
        };
        bounces::record(conn, &event).await?;
        return Ok(Disposition::Ignored);
    }
    let reporter = ctx
        .msg
        .from
        .as_ref()
        .map(|f| f.address.as_str())
        .unwrap_or("an unnamed reporter");
    let reason = format!(
        "abuse report ({}) from {reporter}: the member marked the list's mail as spam",
        report.feedback_type.as_deref().unwrap_or("abuse")
    );
    let actor = ctx.actor();
    for (list_id, address) in members_named {
        let before = members::apply(
            &mut *conn,
            &Change {
                list_id: &list_id,
                address: &address,
                display_name: None,
                status: Status::Unsubscribed,
                source: "complaint",
                action: "complaint",
                actor: &actor,
                inbound_id: Some(ctx.inbound_id),
                reason: &reason,
            },
        )
        .await?;
        let effect = match before {
            Some(Status::Unsubscribed) => "none: not a member any more".to_string(),
            None => "none: never a member".to_string(),
            Some(_) => "unsubscribed".to_string(),
        };
        tracing::info!(list = %list_id, %address, %effect, "complaint");
        let event = Event {
            list_id: Some(list_id),
            address: Some(address),
            effect,
            ..base.clone()
        };
        bounces::record(&mut *conn, &event).await?;
    }
    Ok(Disposition::Handled)
}

/// `(list, address)` pairs proven by a per-recipient unsubscribe address in the original
/// (`norply+u-LIST-CODE@`) whose code is genuine for a recipient the report names.
fn by_unsubscribe_code(ctx: &Ctx<'_>, secret: &str, report: &Report) -> Vec<(String, String)> {
    let noreply = ctx.config.site.noreply.get_ref();
    let mut found = Vec::new();
    for target in &report.original.list_unsubscribe {
        if !address::same(target, noreply) {
            continue;
        }
        let target = address::normalize(target);
        let Some(tag) = target
            .split_once('@')
            .and_then(|(local, _)| local.split_once('+'))
            .map(|(_, tag)| tag)
        else {
            continue;
        };
        for r in &report.recipients {
            if let Some(list) = unsubscribe::verify(secret, tag, &r.address)
                && ctx.config.list(list).is_some()
                && !found.iter().any(|(l, a)| l == list && *a == r.address)
            {
                found.push((list.to_string(), r.address.clone()));
            }
        }
    }
    found
}
