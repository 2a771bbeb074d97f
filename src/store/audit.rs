//! The audit log: one row for every membership change.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// A membership change to record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Unix seconds (filled in when read back).
    pub at: i64,
    /// The list.
    pub list_id: String,
    /// The member's address.
    pub address: String,
    /// What happened: subscribe, unsubscribe, request, remove, add, sync.
    pub action: String,
    /// Status before.
    pub old_status: Option<String>,
    /// Status after.
    pub new_status: Option<String>,
    /// Who: `mail` (a message), `operator:NAME`, `config`.
    pub actor: String,
    /// The inbound message that caused it, if any.
    pub inbound_id: Option<i64>,
    /// Why, in a sentence.
    pub reason: String,
}

/// Record a change.
pub async fn record(conn: &mut AnyConnection, e: &Entry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, list_id, address, action, old_status, new_status, actor, inbound_id, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now())
    .bind(&e.list_id)
    .bind(&e.address)
    .bind(&e.action)
    .bind(&e.old_status)
    .bind(&e.new_status)
    .bind(&e.actor)
    .bind(e.inbound_id)
    .bind(&e.reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// The changes of one list, optionally for one address, oldest first.
pub async fn history(
    pool: &AnyPool,
    list_id: &str,
    address: Option<&str>,
) -> Result<Vec<Entry>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, list_id, address, action, old_status, new_status, actor, inbound_id, reason
         FROM audit WHERE list_id = $1 AND ($2 = '' OR address = $3) ORDER BY id",
    )
    .bind(list_id)
    .bind(address.unwrap_or(""))
    .bind(address.unwrap_or(""))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            at: r.get(0),
            list_id: r.get(1),
            address: r.get(2),
            action: r.get(3),
            old_status: r.get(4),
            new_status: r.get(5),
            actor: r.get(6),
            inbound_id: r.get(7),
            reason: r.get(8),
        })
        .collect())
}
