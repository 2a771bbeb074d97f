//! Membership rows: one per (list, address).

use super::audit::{self, Entry};
use super::{StoreError, now};
use futures::stream::{BoxStream, StreamExt};
use sqlx::{AnyConnection, AnyPool, Row};
use std::fmt;

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Asked to join, has not confirmed.
    Pending,
    /// Receives the list's mail.
    Confirmed,
    /// Left.
    Unsubscribed,
    /// Delivery stopped (bounces, operator).
    Disabled,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Unsubscribed => "unsubscribed",
            Status::Disabled => "disabled",
        }
    }

    /// Parse a stored or typed name.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "confirmed" => Some(Status::Confirmed),
            "unsubscribed" => Some(Status::Unsubscribed),
            "disabled" => Some(Status::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member of a list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    /// The list.
    pub list_id: String,
    /// Normalised address.
    pub address: String,
    /// Display name from the registration mail, if any.
    pub display_name: Option<String>,
    /// Where the member stands.
    pub status: Status,
    /// Who made the last change of membership: email, operator, config.
    pub source: String,
    /// Unix seconds of the first request.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// Unix seconds of the confirmation, if confirmed.
    pub confirmed_at: Option<i64>,
}

const COLUMNS: &str =
    "list_id, address, display_name, status, source, created_at, updated_at, confirmed_at";

fn from_row(r: &sqlx::any::AnyRow) -> Member {
    let status: String = r.get(3);
    Member {
        list_id: r.get(0),
        address: r.get(1),
        display_name: r.get(2),
        status: Status::parse(&status).unwrap_or(Status::Disabled),
        source: r.get(4),
        created_at: r.get(5),
        updated_at: r.get(6),
        confirmed_at: r.get(7),
    }
}

/// The member row, if any.
pub async fn get(
    conn: &mut AnyConnection,
    list_id: &str,
    address: &str,
) -> Result<Option<Member>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM members WHERE list_id = $1 AND address = $2"
    ))
    .bind(list_id)
    .bind(address)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// A change of membership, written with its audit row.
pub struct Change<'a> {
    /// The list.
    pub list_id: &'a str,
    /// The member's normalised address.
    pub address: &'a str,
    /// Display name, kept if already known.
    pub display_name: Option<&'a str>,
    /// The new status.
    pub status: Status,
    /// Who made this change of membership: email, operator, config.
    pub source: &'a str,
    /// Audit action name.
    pub action: &'a str,
    /// Audit actor.
    pub actor: &'a str,
    /// The inbound message behind it.
    pub inbound_id: Option<i64>,
    /// Why.
    pub reason: &'a str,
}

/// Apply a change and audit it. Returns the previous status (None: no row before).
/// A change to the status the member already has writes nothing.
pub async fn apply(
    conn: &mut AnyConnection,
    change: &Change<'_>,
) -> Result<Option<Status>, StoreError> {
    let before = get(&mut *conn, change.list_id, change.address).await?;
    let old = before.as_ref().map(|m| m.status);
    if old == Some(change.status) {
        return Ok(old);
    }
    let t = now();
    let confirmed_at = (change.status == Status::Confirmed).then_some(t);
    if before.is_some() {
        sqlx::query(
            "UPDATE members SET status = $1, updated_at = $2,
                 confirmed_at = COALESCE($3, confirmed_at),
                 display_name = COALESCE(display_name, $4), source = $5
             WHERE list_id = $6 AND address = $7",
        )
        .bind(change.status.as_str())
        .bind(t)
        .bind(confirmed_at)
        .bind(change.display_name)
        .bind(change.source)
        .bind(change.list_id)
        .bind(change.address)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO members (list_id, address, display_name, status, source, created_at, updated_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(change.list_id)
        .bind(change.address)
        .bind(change.display_name)
        .bind(change.status.as_str())
        .bind(change.source)
        .bind(t)
        .bind(t)
        .bind(confirmed_at)
        .execute(&mut *conn)
        .await?;
    }
    audit::record(
        conn,
        &Entry {
            at: t,
            list_id: change.list_id.into(),
            address: change.address.into(),
            action: change.action.into(),
            old_status: old.map(|s| s.as_str().into()),
            new_status: Some(change.status.as_str().into()),
            actor: change.actor.into(),
            inbound_id: change.inbound_id,
            reason: change.reason.into(),
        },
    )
    .await?;
    Ok(old)
}

/// Stream the members of a list, optionally of one status, by address: memory stays
/// flat however long the list is.
pub fn stream<'a>(
    pool: &'a AnyPool,
    list_id: &'a str,
    status: Option<Status>,
) -> BoxStream<'a, Result<Member, StoreError>> {
    let status = status.map(|s| s.as_str()).unwrap_or("");
    sqlx::query(
        "SELECT list_id, address, display_name, status, source, created_at, updated_at, confirmed_at
         FROM members WHERE list_id = $1 AND ($2 = '' OR status = $3) ORDER BY address",
    )
    .bind(list_id)
    .bind(status)
    .bind(status)
    .fetch(pool)
    .map(|r| r.map(|row| from_row(&row)).map_err(StoreError::from))
    .boxed()
}

/// Addresses of a list's members from a given source with a given status.
pub async fn addresses_from(
    conn: &mut AnyConnection,
    list_id: &str,
    source: &str,
    status: Status,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT address FROM members WHERE list_id = $1 AND source = $2 AND status = $3",
    )
    .bind(list_id)
    .bind(source)
    .bind(status.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Count of members per status for a list.
pub async fn counts(pool: &AnyPool, list_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) FROM members WHERE list_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(list_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}
