//! The system's own answers (confirmations, welcomes, notices): one recipient each,
//! DKIM-signed as they leave, each with its own VERP return path `norply+a<id>-<code>@`.
//! They leave in the answers' lane: beside a fan-out, not behind it, within the share of
//! each relay's rate and quota that posts may not use (and whatever posts leave unused).

use super::{Envelope, Lane, Pass, SendError, Sink, backoff};
use crate::address;
use crate::config::Config;
use crate::handlers;
use crate::store::{self, Store, StoreError, outbound};
use crate::verp::Verp;
use futures::StreamExt;

/// Rows claimed per round.
const BATCH: i64 = 200;

/// Attempt every answer due now.
pub async fn deliver_answers(
    config: &Config,
    store: &Store,
    sink: &Sink,
    secret: &str,
) -> Result<Pass, StoreError> {
    let noreply = config.site.noreply.get_ref();
    let sink = &sink.lane(Lane::Answers);
    let mut pass = Pass::default();
    loop {
        let due = outbound::due(store.pool(), BATCH).await?;
        if due.is_empty() {
            return Ok(pass);
        }
        let results: Vec<_> = futures::stream::iter(due)
            .map(|m| {
                // The row's sender with its own VERP tag: a bounce names the answer.
                let from = if address::same(&m.mail_from, noreply) {
                    Verp::Answer(m.id).address(noreply, secret)
                } else {
                    m.mail_from.clone()
                };
                async move {
                    let to = [m.rcpt.as_str()];
                    let r = match handlers::sign_message(config, &m.raw) {
                        Ok(raw) => {
                            let envelope = Envelope {
                                from: &from,
                                to: &to,
                                raw: &raw,
                                name: format!("{:010}", m.id),
                            };
                            sink.send(&envelope).await
                        }
                        Err(e) => Err(SendError::permanent(e.to_string())),
                    };
                    (m, r)
                }
            })
            .buffer_unordered(sink.concurrency())
            .collect()
            .await;
        let mut progressed = false;
        for (m, result) in results {
            match result {
                Ok(relay) => {
                    outbound::mark_sent(store.pool(), m.id, &relay).await?;
                    pass.sent += 1;
                    crate::telemetry::answer("sent");
                    progressed = true;
                }
                Err(e) => {
                    let attempts = m.attempts + 1;
                    if e.permanent || attempts >= i64::from(config.delivery.max_attempts) {
                        tracing::warn!(id = m.id, rcpt = %m.rcpt, error = %e, "delivery failed");
                        outbound::mark_failed(store.pool(), m.id, &e.message).await?;
                        pass.failed += 1;
                        crate::telemetry::answer("failed");
                        progressed = true;
                    } else {
                        let at = e
                            .retry_at
                            .unwrap_or(store::now() + backoff(config, attempts));
                        tracing::info!(id = m.id, rcpt = %m.rcpt, error = %e, at, "delivery deferred");
                        outbound::mark_deferred(store.pool(), m.id, at, &e.message).await?;
                        pass.deferred += 1;
                        crate::telemetry::answer("deferred");
                    }
                }
            }
        }
        if !progressed {
            // Everything in this round was deferred: the rest waits for its next attempt.
            return Ok(pass);
        }
    }
}
