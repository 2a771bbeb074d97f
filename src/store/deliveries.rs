//! Per-recipient delivery state of posts: queued → sent, or deferred (retried with
//! backoff) → failed with the server's answer. Results are written in batches, one
//! transaction per batch, so the queue moves at the speed of the relays, not of fsync.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// A recipient due for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    /// Row id.
    pub id: i64,
    /// The post.
    pub post_id: i64,
    /// The list the member receives it through.
    pub list_id: String,
    /// The recipient.
    pub rcpt: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted by the relay.
    Sent {
        /// The relay's name.
        relay: String,
    },
    /// A temporary failure: try again at the given Unix second.
    Deferred {
        /// When.
        next_attempt_at: i64,
        /// What the server said.
        error: String,
    },
    /// No relay had quota left: wait until then, without counting an attempt.
    Postponed {
        /// When.
        until: i64,
        /// Why.
        error: String,
    },
    /// A permanent failure (5xx) or the retry lifetime ran out.
    Failed {
        /// What the server said.
        error: String,
    },
}

/// Where a pass through the queue stands. Rows are read in the order of the
/// `deliveries_due` index, `(status, next_attempt_at, id)`: deferred rows first, then
/// queued ones, each page an index range, so a page costs the same at the end of a
/// million-row queue as at its start (ordering by id alone would sort every due row for
/// every page). A row re-queued during the pass lands behind its own due time, after the
/// pass's `now` whenever `retry_seconds` > 0, so a pass attempts each row at most once.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// Rows due at or before this Unix second are read (fixed for the pass).
    now: i64,
    /// Index into [`PASS_ORDER`]; past its end, the pass is over.
    status: usize,
    /// The last row read: its due time and id.
    at: i64,
    id: i64,
}

/// The statuses a pass reads, in order.
const PASS_ORDER: [&str; 2] = ["deferred", "queued"];

impl Cursor {
    /// A pass over every row due now.
    pub fn new() -> Cursor {
        Cursor {
            now: now(),
            status: 0,
            at: i64::MIN,
            id: i64::MIN,
        }
    }
}

impl Default for Cursor {
    fn default() -> Cursor {
        Cursor::new()
    }
}

const DUE_COLUMNS: &str = "id, post_id, list_id, rcpt, attempts, next_attempt_at";

fn due_row(r: &sqlx::any::AnyRow) -> (Due, i64) {
    (
        Due {
            id: r.get(0),
            post_id: r.get(1),
            list_id: r.get(2),
            rcpt: r.get(3),
            attempts: r.get(4),
        },
        r.get(5),
    )
}

/// The next `limit` recipients of the pass (fewer only at its end): memory stays flat.
pub async fn due(pool: &AnyPool, cursor: &mut Cursor, limit: i64) -> Result<Vec<Due>, StoreError> {
    let mut out: Vec<Due> = Vec::new();
    while (out.len() as i64) < limit && cursor.status < PASS_ORDER.len() {
        let status = PASS_ORDER[cursor.status];
        // The rest of the rows due at the cursor's second (one fan-out shares a second)…
        let want = limit - out.len() as i64;
        let same = sqlx::query(&format!(
            "SELECT {DUE_COLUMNS} FROM deliveries
             WHERE status = $1 AND next_attempt_at = $2 AND id > $3 ORDER BY id LIMIT $4"
        ))
        .bind(status)
        .bind(cursor.at)
        .bind(cursor.id)
        .bind(want)
        .fetch_all(pool)
        .await?;
        let full = same.len() as i64 == want;
        for r in &same {
            let (d, _) = due_row(r);
            cursor.id = d.id;
            out.push(d);
        }
        if full {
            break;
        }
        // …then the rows of the later seconds, up to the pass's `now`.
        let want = limit - out.len() as i64;
        let later = sqlx::query(&format!(
            "SELECT {DUE_COLUMNS} FROM deliveries
             WHERE status = $1 AND next_attempt_at > $2 AND next_attempt_at <= $3
             ORDER BY next_attempt_at, id LIMIT $4"
        ))
        .bind(status)
        .bind(cursor.at)
        .bind(cursor.now)
        .bind(want)
        .fetch_all(pool)
        .await?;
        let full = later.len() as i64 == want;
        for r in &later {
            let (d, at) = due_row(r);
            cursor.at = at;
            cursor.id = d.id;
            out.push(d);
        }
        if !full {
            // This status is done: on to the next.
            cursor.status += 1;
            cursor.at = i64::MIN;
            cursor.id = i64::MIN;
        }
    }
    Ok(out)
}

/// Ids per `UPDATE … WHERE id IN (…)` when marking a batch sent.
const IDS_PER_UPDATE: usize = 500;

/// Write the outcomes of a batch of attempts in one transaction. Successes, the bulk of
/// any batch, are marked a few hundred ids per statement.
pub async fn record(pool: &AnyPool, outcomes: &[(i64, Outcome)]) -> Result<(), StoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let t = now();
    let mut tx = pool.begin().await?;
    let mut sent: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for (id, outcome) in outcomes {
        let q = match outcome {
            Outcome::Sent { relay } => {
                sent.entry(relay.as_str()).or_default().push(*id);
                continue;
            }
            Outcome::Deferred {
                next_attempt_at,
                error,
            } => sqlx::query(
                "UPDATE deliveries SET status = 'deferred', attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
            )
            .bind(*next_attempt_at)
            .bind(error.as_str())
            .bind(*id),
            Outcome::Postponed { until, error } => sqlx::query(
                "UPDATE deliveries SET status = 'deferred', next_attempt_at = $1, last_error = $2 WHERE id = $3",
            )
            .bind(*until)
            .bind(error.as_str())
            .bind(*id),
            Outcome::Failed { error } => sqlx::query(
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2",
            )
            .bind(error.as_str())
            .bind(*id),
        };
        q.execute(&mut *tx).await?;
    }
    for (relay, ids) in sent {
        for chunk in ids.chunks(IDS_PER_UPDATE) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $1, relay = $2, last_error = NULL WHERE id IN ({})",
                list.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(t).bind(relay);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Counts per status for one post.
pub async fn summary(pool: &AnyPool, post_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) FROM deliveries WHERE post_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(post_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Failed and deferred recipients of a post with what the server said.
pub async fn problems(
    pool: &AnyPool,
    post_id: i64,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT rcpt, status, COALESCE(last_error, '') FROM deliveries
         WHERE post_id = $1 AND status IN ('failed', 'deferred') ORDER BY status, rcpt",
    )
    .bind(post_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The list and recipient of a delivery: `(post_id, list_id, rcpt)`.
pub async fn recipient(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(i64, String, String)>, StoreError> {
    let row = sqlx::query("SELECT post_id, list_id, rcpt FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// The list `rcpt` received post `post_id` through, if the post was sent to them.
pub async fn list_of(
    conn: &mut AnyConnection,
    post_id: i64,
    rcpt: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT list_id FROM deliveries WHERE post_id = $1 AND rcpt = $2")
        .bind(post_id)
        .bind(rcpt)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.get(0)))
}
