//! Pending confirmations, stored by the hash of their token.

use super::{StoreError, now};
use sqlx::{AnyConnection, Row};

/// What a token confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Join the list.
    Subscribe,
    /// Leave the list.
    Unsubscribe,
    /// Decide a held post (approve, or reject when the reply says so).
    Moderate,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Subscribe => "subscribe",
            Action::Unsubscribe => "unsubscribe",
            Action::Moderate => "moderate",
        }
    }
}

/// A token row.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The list.
    pub list_id: String,
    /// The address it was sent to.
    pub address: String,
    /// What it confirms.
    pub action: Action,
    /// The held post, for moderation tokens.
    pub post_id: Option<i64>,
}

/// The outcome of presenting a token.
#[derive(Debug, Clone)]
pub enum Taken {
    /// Valid: now marked used.
    Valid(Pending),
    /// Used before (a second reply to the same mail).
    Used(Pending),
    /// Past its expiry.
    Expired(Pending),
    /// Not a token of this system.
    Unknown,
}

/// Store a new token.
pub async fn insert(
    conn: &mut AnyConnection,
    hash: &str,
    pending: &Pending,
    inbound_id: Option<i64>,
    ttl_seconds: i64,
) -> Result<(), StoreError> {
    let t = now();
    sqlx::query(
        "INSERT INTO tokens (hash, list_id, address, action, inbound_id, created_at, expires_at, post_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(hash)
    .bind(&pending.list_id)
    .bind(&pending.address)
    .bind(pending.action.as_str())
    .bind(inbound_id)
    .bind(t)
    .bind(t + ttl_seconds)
    .bind(pending.post_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a token is, without using it: a page may show what it confirms.
/// `Taken::Valid` here means "would be valid", nothing is marked.
pub async fn peek(conn: &mut AnyConnection, hash: &str) -> Result<Taken, StoreError> {
    let row = sqlx::query(
        "SELECT list_id, address, action, expires_at, used_at, post_id FROM tokens WHERE hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Taken::Unknown);
    };
    let action: String = row.get(2);
    let pending = Pending {
        list_id: row.get(0),
        address: row.get(1),
        action: match action.as_str() {
            "unsubscribe" => Action::Unsubscribe,
            "moderate" => Action::Moderate,
            _ => Action::Subscribe,
        },
        post_id: row.get(5),
    };
    let expires_at: i64 = row.get(3);
    let used_at: Option<i64> = row.get(4);
    Ok(if used_at.is_some() {
        Taken::Used(pending)
    } else if expires_at < now() {
        Taken::Expired(pending)
    } else {
        Taken::Valid(pending)
    })
}

/// Use a token: single-use even when two replies race, since only one UPDATE can
/// change `used_at` from NULL.
pub async fn take(conn: &mut AnyConnection, hash: &str) -> Result<Taken, StoreError> {
    let pending = match peek(&mut *conn, hash).await? {
        Taken::Valid(pending) => pending,
        other => return Ok(other),
    };
    let done = sqlx::query("UPDATE tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL")
        .bind(now())
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(if done.rows_affected() == 1 {
        Taken::Valid(pending)
    } else {
        Taken::Used(pending)
    })
}
