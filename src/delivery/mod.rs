//! Delivery: queued rows leave through the configured sink, and each row's state is
//! updated after the attempt. A crash between the write and the update resends that one
//! mail on restart (the in-flight window); the file sink names files by row id, so there
//! even that rewrites the same file.

mod file;
mod smtp;

use crate::config::{Config, TransportKind};
use crate::store::{self, Store, StoreError, outbound};
use futures::StreamExt;

/// Rows claimed per round.
const BATCH: i64 = 200;

/// A send attempt failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// True for 5xx answers and malformed addresses: retrying cannot help.
    pub permanent: bool,
    /// What the server or file system said.
    pub message: String,
}

/// Where mail goes: a closed set of sinks.
pub enum Sink {
    /// `.eml` files in a directory.
    File(file::FileSink),
    /// An SMTP relay.
    Smtp(smtp::SmtpSink),
}

impl Sink {
    /// The sink the configuration names.
    pub fn from_config(config: &Config) -> Result<Sink, SendError> {
        let d = &config.delivery;
        match d.transport.get_ref() {
            TransportKind::File => Ok(Sink::File(file::FileSink::new(&config.path(&d.outbox))?)),
            TransportKind::Smtp => {
                let smtp = d.relays.first().ok_or_else(|| SendError {
                    permanent: true,
                    message: "transport = \"smtp\" without [[delivery.relay]]".into(),
                })?;
                Ok(Sink::Smtp(smtp::SmtpSink::new(smtp, config)?))
            }
        }
    }

    async fn send(&self, m: &outbound::Due) -> Result<(), SendError> {
        match self {
            Sink::File(s) => s.send(m).await,
            Sink::Smtp(s) => s.send(m).await,
        }
    }

    fn concurrency(&self) -> usize {
        match self {
            Sink::File(_) => 1,
            Sink::Smtp(s) => s.connections,
        }
    }
}

/// Counts of one delivery pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Left the system.
    pub sent: usize,
    /// Will be retried.
    pub deferred: usize,
    /// Given up.
    pub failed: usize,
}

/// Attempt every mail due now; returns what happened.
pub async fn deliver_due(config: &Config, store: &Store, sink: &Sink) -> Result<Pass, StoreError> {
    let mut pass = Pass::default();
    loop {
        let due = outbound::due(store.pool(), BATCH).await?;
        if due.is_empty() {
            return Ok(pass);
        }
        let results: Vec<_> = futures::stream::iter(due)
            .map(|m| async move {
                let r = sink.send(&m).await;
                (m, r)
            })
            .buffer_unordered(sink.concurrency())
            .collect()
            .await;
        let mut progressed = false;
        for (m, result) in results {
            match result {
                Ok(()) => {
                    outbound::mark_sent(store.pool(), m.id).await?;
                    pass.sent += 1;
                    progressed = true;
                }
                Err(e) => {
                    let attempts = m.attempts + 1;
                    if e.permanent || attempts >= i64::from(config.delivery.max_attempts) {
                        tracing::warn!(id = m.id, rcpt = %m.rcpt, error = %e, "delivery failed");
                        outbound::mark_failed(store.pool(), m.id, &e.message).await?;
                        pass.failed += 1;
                        progressed = true;
                    } else {
                        let delay = config
                            .delivery
                            .retry_seconds
                            .saturating_mul(1 << attempts.min(16));
                        tracing::info!(id = m.id, rcpt = %m.rcpt, error = %e, delay, "delivery deferred");
                        outbound::mark_deferred(
                            store.pool(),
                            m.id,
                            store::now() + delay as i64,
                            &e.message,
                        )
                        .await?;
                        pass.deferred += 1;
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
