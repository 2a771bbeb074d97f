//! One inbound message's way through the system: already seen? → parse → classify →
//! (with `[site] verify = "self"`, for a post or a request: nhomthu's own DKIM check,
//! through DNS) → handler, with the inbound record and every effect in one transaction.
//! Whatever fails is quarantined with its reason, so no message can block its mailbox.
//!
//! The DKIM check runs here, asynchronously, so that `classify` and the rules stay pure:
//! its result is stored in `Inbound::verified` and the rules decide from it. It runs after
//! classification only to spare DNS for machine mail (bounces, auto-replies), which no
//! rule reads it for.

use crate::actions::{self, Ctx};
use crate::classify::{self, Class};
use crate::config::{Config, Mailbox, Verify};
use crate::dns::Resolver;
use crate::message::Inbound;
use crate::source::{Ack, Fetched};
use crate::store::inbound::{self, Disposition, Record};
use crate::store::{Store, StoreError};
use crate::templates::Templates;
use futures::FutureExt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the pipeline needs, shared by every mailbox task.
pub struct Runtime {
    /// The configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// The mail templates.
    pub templates: std::sync::Arc<Templates>,
    /// The process's resolver: DMARC policies and DKIM keys.
    pub dns: Resolver,
}

/// Process one message and say how to acknowledge it. An `Err` means nothing could be
/// committed (the database is unreachable): leave the message where it is and retry.
pub async fn process(rt: &Runtime, mailbox: &Mailbox, msg: &Fetched) -> Result<Ack, StoreError> {
    let name = mailbox.name();
    if let Some((_, disposition)) = inbound::seen(rt.store.pool(), name, &msg.key).await? {
        tracing::debug!(mailbox = name, key = %msg.key, "already processed");
        return Ok(ack_for(disposition));
    }
    if msg.raw.len() > rt.config.limits.max_message_bytes {
        let reason = format!(
            "message of {} bytes exceeds max_message_bytes = {}",
            msg.raw.len(),
            rt.config.limits.max_message_bytes
        );
        return quarantine(rt, name, msg, None, &reason).await;
    }
    // A panic in a library on hostile bytes is one more reason to quarantine, never a
    // stopped mailbox.
    let mut parsed = match catch_unwind(|| Inbound::parse(&msg.raw)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            return quarantine(rt, name, msg, None, "unparseable: no header fields found").await;
        }
        Err(panic) => {
            let reason = format!("the parser failed on this message: {}", panic_text(&panic));
            return quarantine(rt, name, msg, None, &reason).await;
        }
    };
    let decision = match catch_unwind(AssertUnwindSafe(|| {
        classify::classify(&parsed, &rt.config, mailbox)
    })) {
        Ok(decision) => decision,
        Err(panic) => {
            let reason = format!("classification failed: {}", panic_text(&panic));
            return quarantine(rt, name, msg, Some(&parsed), &reason).await;
        }
    };
    if decision.class == Class::Invalid {
        return quarantine(rt, name, msg, Some(&parsed), &decision.reason).await;
    }
    if let Err(panic) = AssertUnwindSafe(verify(rt, &msg.raw, &decision.class, &mut parsed))
        .catch_unwind()
        .await
    {
        let reason = format!("DKIM verification failed: {}", panic_text(&panic));
        return quarantine(rt, name, msg, Some(&parsed), &reason).await;
    }

    let attempt = async {
        let mut tx = rt.store.begin().await?;
        let id = inbound::record(
            &mut tx,
            &record(
                name,
                msg,
                &parsed,
                decision.class.name(),
                &decision.reason,
                Disposition::Handled,
            ),
        )
        .await?;
        let ctx = Ctx {
            config: &rt.config,
            templates: &rt.templates,
            msg: &parsed,
            inbound_id: id,
            raw: &msg.raw,
        };
        let disposition = actions::handle(&mut tx, &ctx, &decision).await?;
        if disposition != Disposition::Handled {
            inbound::set_disposition(&mut tx, id, disposition).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok::<_, actions::ActionError>(disposition)
    };
    let outcome = AssertUnwindSafe(attempt)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(actions::ActionError::Panic(panic_text(&panic))));
    match outcome {
        Ok(disposition) => {
            crate::telemetry::inbound(name, decision.class.name());
            tracing::info!(
                mailbox = name,
                key = %msg.key,
                class = decision.class.name(),
                from = parsed.from.as_ref().map(|f| f.address.as_str()),
                reason = %decision.reason,
                "processed"
            );
            Ok(ack_for(disposition))
        }
        Err(e) => {
            let reason = format!("{} handler failed: {e}", decision.class.name());
            quarantine(rt, name, msg, Some(&parsed), &reason).await
        }
    }
}

/// With `verify = "self"`, check the DKIM signatures of a post or a request (the mail whose
/// From the rules and the answer caps trust) and keep the result for them.
async fn verify(rt: &Runtime, raw: &[u8], class: &Class, msg: &mut Inbound) {
    let consulted = matches!(
        class,
        Class::Post { .. } | Class::Registration { .. } | Class::Unsubscribe { .. }
    );
    if rt.config.site.verify != Verify::Itself || !consulted {
        return;
    }
    if let Some(from) = &msg.from {
        let check = rt.dns.self_check(raw, &from.address).await;
        tracing::debug!(from = %from.address, ?check, "DKIM verified by nhomthu");
        msg.verified = Some(check);
    }
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

fn ack_for(disposition: Disposition) -> Ack {
    match disposition {
        Disposition::Quarantined => Ack::Quarantined,
        Disposition::Handled | Disposition::Ignored => Ack::Processed,
    }
}

fn record<'a>(
    mailbox: &'a str,
    msg: &'a Fetched,
    parsed: &'a Inbound,
    class: &'a str,
    reason: &'a str,
    disposition: Disposition,
) -> Record<'a> {
    Record {
        mailbox,
        source_key: &msg.key,
        message_id: parsed.message_id.as_deref(),
        sender: parsed.from.as_ref().map(|f| f.address.as_str()),
        subject: Some(parsed.subject.as_str()),
        class,
        reason,
        disposition,
        raw: (disposition == Disposition::Quarantined).then_some(msg.raw.as_slice()),
    }
}

/// Keep the raw message and the reason for an operator.
async fn quarantine(
    rt: &Runtime,
    mailbox: &str,
    msg: &Fetched,
    parsed: Option<&Inbound>,
    reason: &str,
) -> Result<Ack, StoreError> {
    tracing::warn!(mailbox, key = %msg.key, reason, "quarantined");
    let mut tx = rt.store.begin().await?;
    let empty = Inbound::default();
    let parsed = parsed.unwrap_or(&empty);
    inbound::record(
        &mut tx,
        &record(
            mailbox,
            msg,
            parsed,
            "invalid",
            reason,
            Disposition::Quarantined,
        ),
    )
    .await?;
    tx.commit().await?;
    crate::telemetry::inbound(mailbox, "invalid");
    Ok(Ack::Quarantined)
}
