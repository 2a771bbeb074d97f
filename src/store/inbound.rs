//! Inbound messages seen: the idempotence record and the quarantine.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Its handler acted on it.
    Handled,
    /// Recorded and deliberately left alone (auto-replies, loops, unknown mail).
    Ignored,
    /// Could not be processed: kept raw with the reason for an operator.
    Quarantined,
}

impl Disposition {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Handled => "handled",
            Disposition::Ignored => "ignored",
            Disposition::Quarantined => "quarantined",
        }
    }
}

/// A message to record.
pub struct Record<'a> {
    /// The mailbox it came from.
    pub mailbox: &'a str,
    /// Its key in that mailbox.
    pub source_key: &'a str,
    /// Its Message-ID.
    pub message_id: Option<&'a str>,
    /// Its From address.
    pub sender: Option<&'a str>,
    /// Its subject.
    pub subject: Option<&'a str>,
    /// The class name.
    pub class: &'a str,
    /// Why it got that class, or why it was quarantined.
    pub reason: &'a str,
    /// What became of it.
    pub disposition: Disposition,
    /// The raw bytes, kept for quarantined messages.
    pub raw: Option<&'a [u8]>,
}

/// Whether a message was already processed: its row id and disposition.
pub async fn seen(
    pool: &AnyPool,
    mailbox: &str,
    source_key: &str,
) -> Result<Option<(i64, Disposition)>, StoreError> {
    let row =
        sqlx::query("SELECT id, disposition FROM inbound WHERE mailbox = $1 AND source_key = $2")
            .bind(mailbox)
            .bind(source_key)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|r| {
        let d: String = r.get(1);
        let d = match d.as_str() {
            "handled" => Disposition::Handled,
            "ignored" => Disposition::Ignored,
            _ => Disposition::Quarantined,
        };
        (r.get(0), d)
    }))
}

/// Record a message; returns its row id.
pub async fn record(conn: &mut AnyConnection, r: &Record<'_>) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO inbound (mailbox, source_key, message_id, sender, subject, class, reason, disposition, raw, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(r.mailbox)
    .bind(r.source_key)
    .bind(r.message_id)
    .bind(r.sender)
    .bind(r.subject)
    .bind(r.class)
    .bind(r.reason)
    .bind(r.disposition.as_str())
    .bind(r.raw.map(<[u8]>::to_vec))
    .bind(now())
    .fetch_one(conn)
    .await?;
    Ok(row.get(0))
}

/// Change the disposition after the handler ran.
pub async fn set_disposition(
    conn: &mut AnyConnection,
    id: i64,
    disposition: Disposition,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE inbound SET disposition = $1 WHERE id = $2")
        .bind(disposition.as_str())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A quarantined message, for operators.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quarantined {
    /// Row id.
    pub id: i64,
    /// The mailbox it came from.
    pub mailbox: String,
    /// Its From address, if it had one.
    pub sender: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// Why it was quarantined.
    pub reason: String,
    /// Unix seconds.
    pub received_at: i64,
}

/// The quarantine, newest first.
pub async fn quarantined(pool: &AnyPool) -> Result<Vec<Quarantined>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, mailbox, sender, subject, reason, received_at FROM inbound
         WHERE disposition = 'quarantined' ORDER BY id DESC",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Quarantined {
            id: r.get(0),
            mailbox: r.get(1),
            sender: r.get(2),
            subject: r.get(3),
            reason: r.get(4),
            received_at: r.get(5),
        })
        .collect())
}
