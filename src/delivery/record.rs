//! The outcomes of a post's copies, written as they come back. Each send hands its
//! `(delivery id, Outcome)` to a [`Recorder`] as soon as its SMTP transaction ends; the
//! writer beside the sends commits them through `store::deliveries::record`, one
//! transaction per batch of at most [`BATCH`] outcomes or after at most [`WAIT`], whichever
//! comes first, and once more when the sends of a page are over (or stop for shutdown).
//!
//! A crash therefore forgets at most the batch being written and the one filling (the
//! channel holds at most [`BATCH`]), besides the transactions still in flight: see
//! [`window`].

use crate::actions::bounce::{self, Refused};
use crate::config::Config;
use crate::store::deliveries::{self, Outcome};
use crate::store::{Store, StoreError};
use crate::templates::Templates;
use std::time::Duration;
use tokio::sync::mpsc;

/// Outcomes written per transaction at most.
pub const BATCH: usize = 50;
/// Longest an outcome waits for its batch to fill before it is written.
pub const WAIT: Duration = Duration::from_secs(1);

/// Copies a crash can resend at most, with `in_flight` transactions open at once (the
/// sum of the relays' `connections`, each carrying `per_transaction` copies: 1 when
/// personalised, up to `max_recipients` in batch mode): the transactions in flight plus
/// the outcomes not yet committed, one batch being written and one waiting in the channel.
pub fn window(in_flight: usize, per_transaction: usize) -> usize {
    in_flight * per_transaction + 2 * BATCH
}

/// One attempt's result, handed over as soon as the attempt ends.
#[derive(Debug, Clone)]
pub struct Done {
    /// The deliveries row.
    pub id: i64,
    /// What became of it.
    pub outcome: Outcome,
    /// Set when it failed for good because the receiving server refused it: scored as a
    /// bounce of the member when written.
    pub refused: Option<Refused>,
}

/// The sending side: cheap to clone, one per send.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Done>,
}

impl Recorder {
    /// Hand over an outcome; waits while a batch is being written and the next is full,
    /// so that no more than two batches are ever unwritten.
    pub async fn push(&self, done: Done) {
        // The writer only goes away after a failed write: the pass fails with its error.
        let _ = self.tx.send(done).await;
    }
}

/// A recorder and its writer: run the writer beside the sends (`tokio::join!`); it
/// returns once every [`Recorder`] is dropped and the last outcomes are written.
pub fn recorder<'a>(
    store: &'a Store,
    config: &'a Config,
    templates: &'a Templates,
) -> (
    Recorder,
    impl std::future::Future<Output = Result<usize, StoreError>> + 'a,
) {
    let (tx, rx) = mpsc::channel(BATCH);
    (Recorder { tx }, write(store, config, templates, rx))
}

/// Write what arrives, batch by batch; returns how many outcomes were written.
async fn write(
    store: &Store,
    config: &Config,
    templates: &Templates,
    mut rx: mpsc::Receiver<Done>,
) -> Result<usize, StoreError> {
    let mut written = 0;
    let mut batch: Vec<Done> = Vec::with_capacity(BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + WAIT;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(d)) => batch.push(d),
                // Every sender is gone (the page is over), or the batch waited long enough.
                Ok(None) | Err(_) => break,
            }
        }
        // Refusals are scored before their rows are marked failed: a crash in between
        // sends the copy again, and the once-a-day rule keeps the second refusal from
        // counting twice.
        for r in batch.iter().filter_map(|d| d.refused.as_ref()) {
            if let Err(e) = bounce::refused(store, config, templates, r).await {
                tracing::error!(list = %r.list_id, address = %r.address, error = %e, "cannot score a refusal");
            }
        }
        let outcomes: Vec<(i64, Outcome)> = batch.drain(..).map(|d| (d.id, d.outcome)).collect();
        deliveries::record(store.pool(), &outcomes).await?;
        written += outcomes.len();
    }
    Ok(written)
}
