//! How the two queues stand, for `/metrics` and `/healthz`: rows waiting and how long the
//! longest-due row has been due, in `outbound` (answers) and `deliveries` (copies of
//! posts). Both read only the due indexes (`outbound_due`, `deliveries_due`, which lead
//! with `status`): the oldest due row is one index seek per status whatever the queue's
//! size; a count walks the index (measured on SQLite: about 90 ms at 700,000 waiting
//! rows), so its callers keep it for a while.

use super::{StoreError, now};
use sqlx::{AnyPool, Row};

/// The tables, with the due index each query reads.
const TABLES: [&str; 2] = ["outbound", "deliveries"];

/// One queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lane {
    /// Rows queued or deferred, due or not.
    pub waiting: i64,
    /// Seconds the longest-due row has been due; 0 when no row is due.
    pub oldest_due_seconds: i64,
}

/// Both queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// The system's answers.
    pub answers: Lane,
    /// Copies of posts.
    pub deliveries: Lane,
}

/// The database answers.
pub async fn ping(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").fetch_one(pool).await?;
    Ok(())
}

/// Rows waiting in each queue, `(answers, deliveries)`: walks the due indexes.
pub async fn waiting(pool: &AnyPool) -> Result<(i64, i64), StoreError> {
    let mut n = [0; 2];
    for (slot, table) in n.iter_mut().zip(TABLES) {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE status IN ('queued', 'deferred')");
        *slot = sqlx::query(&sql).fetch_one(pool).await?.get(0);
    }
    Ok((n[0], n[1]))
}

/// Seconds the longest-due row of each queue has been due, `(answers, deliveries)`: one
/// index seek per table and status.
pub async fn oldest_due(pool: &AnyPool) -> Result<(i64, i64), StoreError> {
    let t = now();
    let mut ages = [0; 2];
    for (slot, table) in ages.iter_mut().zip(TABLES) {
        let sql = format!(
            "SELECT (SELECT MIN(next_attempt_at) FROM {table} WHERE status = 'queued'),
                    (SELECT MIN(next_attempt_at) FROM {table} WHERE status = 'deferred')"
        );
        let row = sqlx::query(&sql).fetch_one(pool).await?;
        let first = [row.get::<Option<i64>, _>(0), row.get::<Option<i64>, _>(1)]
            .into_iter()
            .flatten()
            .min();
        *slot = first.map_or(0, |at| (t - at).max(0));
    }
    Ok((ages[0], ages[1]))
}
