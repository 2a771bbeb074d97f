//! The outbound queue: every mail is a row before it is a socket write.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// A mail to queue.
pub struct NewMail<'a> {
    /// What it is: confirm_subscribe, welcome, …
    pub kind: &'a str,
    /// The list it concerns.
    pub list_id: Option<&'a str>,
    /// The inbound message it answers.
    pub inbound_id: Option<i64>,
    /// Envelope sender.
    pub mail_from: &'a str,
    /// Envelope recipient.
    pub rcpt: &'a str,
    /// The whole message.
    pub raw: &'a [u8],
}

/// A queued mail due for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    /// Row id.
    pub id: i64,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipient.
    pub rcpt: String,
    /// The whole message.
    pub raw: Vec<u8>,
    /// Attempts so far.
    pub attempts: i64,
}

/// Queue a mail; returns its id.
pub async fn enqueue(conn: &mut AnyConnection, m: &NewMail<'_>) -> Result<i64, StoreError> {
    let t = now();
    let row = sqlx::query(
        "INSERT INTO outbound (kind, list_id, inbound_id, mail_from, rcpt, raw, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8) RETURNING id",
    )
    .bind(m.kind)
    .bind(m.list_id)
    .bind(m.inbound_id)
    .bind(m.mail_from)
    .bind(m.rcpt)
    .bind(m.raw.to_vec())
    .bind(t)
    .bind(t)
    .fetch_one(conn)
    .await?;
    Ok(row.get(0))
}

/// Mails queued to `rcpt` since `since` (Unix seconds), of any kind.
pub async fn count_to(conn: &mut AnyConnection, rcpt: &str, since: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM outbound WHERE rcpt = $1 AND created_at >= $2")
        .bind(rcpt)
        .bind(since)
        .fetch_one(conn)
        .await?;
    Ok(row.get(0))
}

/// Mails queued since `since` to addresses at `domain` (the part after `@`, lowercase, as
/// recipients are stored). The window is read along `outbound_by_time`: the rows of one
/// hour are few (the site-wide cap bounds them), so no index on the domain is needed.
pub async fn count_to_domain(
    conn: &mut AnyConnection,
    domain: &str,
    since: i64,
) -> Result<i64, StoreError> {
    let suffix = format!("@{}", domain.to_lowercase());
    let row = sqlx::query(
        "SELECT COUNT(*) FROM outbound
         WHERE created_at >= $1 AND substr(rcpt, length(rcpt) - length($2) + 1) = $2",
    )
    .bind(since)
    .bind(suffix)
    .fetch_one(conn)
    .await?;
    Ok(row.get(0))
}

/// Mails queued site-wide since `since`.
pub async fn count_since(conn: &mut AnyConnection, since: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM outbound WHERE created_at >= $1")
        .bind(since)
        .fetch_one(conn)
        .await?;
    Ok(row.get(0))
}

/// Up to `limit` mails due now, oldest first.
pub async fn due(pool: &AnyPool, limit: i64) -> Result<Vec<Due>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, mail_from, rcpt, raw, attempts FROM outbound
         WHERE status IN ('queued', 'deferred') AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            id: r.get(0),
            mail_from: r.get(1),
            rcpt: r.get(2),
            raw: r.get(3),
            attempts: r.get(4),
        })
        .collect())
}

/// The mail left the system through `relay` (the relay's name, or `outbox`).
pub async fn mark_sent(pool: &AnyPool, id: i64, relay: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbound SET status = 'sent', attempts = attempts + 1, sent_at = $1, relay = $2, last_error = NULL WHERE id = $3")
        .bind(now())
        .bind(relay)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A temporary failure: try again at `next_attempt_at`.
pub async fn mark_deferred(
    pool: &AnyPool,
    id: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbound SET status = 'deferred', attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3")
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A permanent failure, or retries exhausted.
pub async fn mark_failed(pool: &AnyPool, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbound SET status = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
/// What an answer was: `(kind, list_id, rcpt)`.
pub async fn describe(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, Option<String>, String)>, StoreError> {
    let row = sqlx::query("SELECT kind, list_id, rcpt FROM outbound WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}
