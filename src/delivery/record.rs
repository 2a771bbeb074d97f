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
        crate::telemetry::deliveries(&outcomes);
        written += outcomes.len();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{BATCH, Done, recorder, window};
    use crate::config::Config;
    use crate::store::Store;
    use crate::store::deliveries::Outcome;
    use crate::templates::Templates;
    use sqlx::Row;

    const ROWS: i64 = 120;

    async fn store(dir: &std::path::Path) -> Store {
        let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        for id in 1..=ROWS {
            sqlx::query(
                "INSERT INTO deliveries (id, post_id, list_id, rcpt, status, next_attempt_at)
                 VALUES ($1, 1, 'thpt', $2, 'queued', 0)",
            )
            .bind(id)
            .bind(format!("gv{id}@school.test"))
            .execute(store.pool())
            .await
            .unwrap();
        }
        store
    }

    async fn sent(store: &Store) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0)
    }

    fn config() -> Config {
        toml::from_str(
            "[site]\ndomain = \"moet.test\"\nname = \"Bộ\"\nnoreply = \"norply@moet.test\"\n\n[delivery]\n",
        )
        .unwrap()
    }

    fn done(id: i64) -> Done {
        Done {
            id,
            outcome: Outcome::Sent {
                relay: "sink".into(),
            },
            refused: None,
        }
    }

    #[test]
    fn the_window_is_the_transactions_in_flight_and_two_batches() {
        assert_eq!(window(4, 1), 104);
        assert_eq!(window(4, 100), 500);
        assert_eq!(window(1, 1), 1 + 2 * BATCH);
    }

    /// However fast the outcomes come, no more than two batches are ever unwritten, and
    /// the last ones are written when the sends are over.
    #[tokio::test]
    async fn never_more_than_two_batches_are_unwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (config, templates) = (config(), Templates::new(dir.path()));
        let (rec, writer) = recorder(&store, &config, &templates);
        let sends = async {
            for id in 1..=ROWS {
                rec.push(done(id)).await;
                let unwritten = id - sent(&store).await;
                assert!(
                    unwritten <= 2 * BATCH as i64,
                    "{unwritten} outcomes unwritten after {id}"
                );
            }
            drop(rec);
        };
        let (written, ()) = tokio::join!(writer, sends);
        assert_eq!(written.unwrap(), ROWS as usize);
        assert_eq!(sent(&store).await, ROWS);
    }

    /// A batch that does not fill is written after at most `WAIT`, while the sends go on.
    #[tokio::test]
    async fn a_batch_that_does_not_fill_is_written_without_waiting_for_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (config, templates) = (config(), Templates::new(dir.path()));
        let (rec, writer) = recorder(&store, &config, &templates);
        let sends = async {
            for id in 1..=3 {
                rec.push(done(id)).await;
            }
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            while sent(&store).await < 3 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "three outcomes still unwritten while the sends go on"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            drop(rec);
        };
        let (written, ()) = tokio::join!(writer, sends);
        assert_eq!(written.unwrap(), 3);
    }
}
