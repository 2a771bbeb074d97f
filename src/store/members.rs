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
    /// Whether the member paused delivery (from their page): still a member, sent no posts.
    pub paused: bool,
}

const COLUMNS: &str =
    "list_id, address, display_name, status, source, created_at, updated_at, confirmed_at, paused";

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
        paused: r.get::<i64, _>(8) != 0,
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

/// Every membership of `address`, by list.
pub async fn of_address(
    conn: &mut AnyConnection,
    address: &str,
) -> Result<Vec<Member>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM members WHERE address = $1 ORDER BY list_id"
    ))
    .bind(address)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Pause or resume delivery to a member, audited (`pause` / `resume`, the status
/// unchanged). Returns whether it was paused before; None when there is no such member.
/// Only a confirmed member's delivery changes.
pub async fn set_paused(
    conn: &mut AnyConnection,
    list_id: &str,
    address: &str,
    paused: bool,
    actor: &str,
    reason: &str,
) -> Result<Option<bool>, StoreError> {
    let Some(member) = get(&mut *conn, list_id, address).await? else {
        return Ok(None);
    };
    if member.paused == paused || member.status != Status::Confirmed {
        return Ok(Some(member.paused));
    }
    let t = now();
    sqlx::query(
        "UPDATE members SET paused = $1, updated_at = $2 WHERE list_id = $3 AND address = $4",
    )
    .bind(i64::from(paused))
    .bind(t)
    .bind(list_id)
    .bind(address)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        &Entry {
            at: t,
            list_id: list_id.into(),
            address: address.into(),
            action: if paused { "pause" } else { "resume" }.into(),
            old_status: Some(member.status.as_str().into()),
            new_status: Some(member.status.as_str().into()),
            actor: actor.into(),
            inbound_id: None,
            reason: reason.into(),
        },
    )
    .await?;
    Ok(Some(member.paused))
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
        update_member(&mut *conn, change, t).await?;
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

/// Rows per multi-row statement in [`apply_many`]. sqlx binds SQLite's `$N` parameters by
/// name, a cost that grows with the square of the parameters in a statement: at 9 a row,
/// 50 rows was the fastest (100,000 members in under 3 s, a fourth of one `apply` each).
const ROWS_PER_STATEMENT: usize = 50;

/// Apply many changes, with exactly the effects (and audit rows, in order) of [`apply`]
/// called on each in turn, in a few multi-row statements: the current statuses are read
/// a chunk at a time, new members inserted and their audit rows written a chunk per
/// statement. Returns the previous status of each change, in order.
pub async fn apply_many(
    conn: &mut AnyConnection,
    changes: &[Change<'_>],
) -> Result<Vec<Option<Status>>, StoreError> {
    let mut before = Vec::with_capacity(changes.len());
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
        before.extend(apply_chunk(conn, chunk).await?);
    }
    Ok(before)
}

async fn apply_chunk(
    conn: &mut AnyConnection,
    changes: &[Change<'_>],
) -> Result<Vec<Option<Status>>, StoreError> {
    use std::collections::HashMap;
    // What the table holds now, for every member the chunk touches.
    let mut current: HashMap<(&str, &str), Option<Status>> = HashMap::new();
    let mut lists: Vec<&str> = changes.iter().map(|c| c.list_id).collect();
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        let mut addresses: Vec<&str> = changes
            .iter()
            .filter(|c| c.list_id == list)
            .map(|c| c.address)
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        let placeholders: Vec<String> = (0..addresses.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT address, status FROM members WHERE list_id = $1 AND address IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(list);
        for a in &addresses {
            q = q.bind(*a);
        }
        let found: HashMap<String, String> = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for a in addresses {
            let status = found
                .get(a)
                .map(|s| Status::parse(s).unwrap_or(Status::Disabled));
            current.insert((list, a), status);
        }
    }

    let t = now();
    let mut before = Vec::with_capacity(changes.len());
    let mut inserts: Vec<&Change<'_>> = Vec::new();
    let mut audits: Vec<(&Change<'_>, Option<Status>)> = Vec::new();
    for change in changes {
        let key = (change.list_id, change.address);
        let old = current.get(&key).copied().flatten();
        before.push(old);
        if old == Some(change.status) {
            continue;
        }
        if old.is_some() {
            // A member already there (or inserted earlier in this chunk): the rare case of
            // an import, written as `apply` writes it, after the pending inserts.
            insert_members(&mut *conn, &inserts, t).await?;
            inserts.clear();
            update_member(&mut *conn, change, t).await?;
        } else {
            inserts.push(change);
        }
        audits.push((change, old));
        current.insert(key, Some(change.status));
    }
    insert_members(&mut *conn, &inserts, t).await?;
    insert_audits(conn, &audits, t).await?;
    Ok(before)
}

async fn update_member(
    conn: &mut AnyConnection,
    change: &Change<'_>,
    t: i64,
) -> Result<(), StoreError> {
    let confirmed_at = (change.status == Status::Confirmed).then_some(t);
    sqlx::query(
        // Disabling starts the notice clock; any other status clears the bounce record.
        "UPDATE members SET status = $1, updated_at = $2,
             confirmed_at = COALESCE($3, confirmed_at),
             display_name = COALESCE(display_name, $4), source = $5,
             bounce_score = CASE WHEN $1 = 'disabled' THEN bounce_score ELSE 0 END,
             bounce_weight = CASE WHEN $1 = 'disabled' THEN bounce_weight ELSE 0 END,
             bounce_at = CASE WHEN $1 = 'disabled' THEN bounce_at ELSE NULL END,
             disabled_at = CASE WHEN $1 = 'disabled' THEN $2 ELSE NULL END,
             notices_sent = 0, notice_at = NULL, paused = 0
         WHERE list_id = $6 AND address = $7",
    )
    .bind(change.status.as_str())
    .bind(t)
    .bind(confirmed_at)
    .bind(change.display_name)
    .bind(change.source)
    .bind(change.list_id)
    .bind(change.address)
    .execute(conn)
    .await?;
    Ok(())
}

/// `VALUES ($1, …, $n), ($n+1, …), …` for `rows` rows of `columns` parameters.
fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_members(
    conn: &mut AnyConnection,
    rows: &[&Change<'_>],
    t: i64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO members (list_id, address, display_name, status, source, created_at, updated_at, confirmed_at)
         VALUES {}",
        values(rows.len(), 8)
    );
    let mut q = sqlx::query(&sql);
    for c in rows {
        q = q
            .bind(c.list_id)
            .bind(c.address)
            .bind(c.display_name)
            .bind(c.status.as_str())
            .bind(c.source)
            .bind(t)
            .bind(t)
            .bind((c.status == Status::Confirmed).then_some(t));
    }
    q.execute(conn).await?;
    Ok(())
}

async fn insert_audits(
    conn: &mut AnyConnection,
    rows: &[(&Change<'_>, Option<Status>)],
    t: i64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO audit (at, list_id, address, action, old_status, new_status, actor, inbound_id, reason)
         VALUES {}",
        values(rows.len(), 9)
    );
    let mut q = sqlx::query(&sql);
    for (c, old) in rows {
        q = q
            .bind(t)
            .bind(c.list_id)
            .bind(c.address)
            .bind(c.action)
            .bind(old.map(Status::as_str))
            .bind(Some(c.status.as_str()))
            .bind(c.actor)
            .bind(c.inbound_id)
            .bind(c.reason);
    }
    q.execute(conn).await?;
    Ok(())
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
        "SELECT list_id, address, display_name, status, source, created_at, updated_at, confirmed_at, paused
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
