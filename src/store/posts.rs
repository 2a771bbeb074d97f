//! Posts: every message sent to a list alias, kept raw, held or accepted, and the fan-out
//! that turns an accepted post into one delivery row per distinct recipient.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// Where a post stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    /// Waiting for a moderator.
    Held,
    /// Fanned out to its recipients.
    Accepted,
    /// Refused by a moderator.
    Rejected,
}

impl PostStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Held => "held",
            PostStatus::Accepted => "accepted",
            PostStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> PostStatus {
        match s {
            "held" => PostStatus::Held,
            "accepted" => PostStatus::Accepted,
            _ => PostStatus::Rejected,
        }
    }
}

/// A post to record.
pub struct NewPost<'a> {
    /// The inbound message.
    pub inbound_id: i64,
    /// Its Message-ID.
    pub message_id: Option<&'a str>,
    /// The author's address.
    pub sender: &'a str,
    /// The subject.
    pub subject: &'a str,
    /// Every list addressed, the first one giving headers, prefix and footer.
    pub lists: &'a [String],
    /// Held or accepted.
    pub status: PostStatus,
    /// Why.
    pub reason: &'a str,
    /// The message as received.
    pub raw: &'a [u8],
}

/// A post as stored (without its raw bytes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Post {
    /// Row id.
    pub id: i64,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// The author.
    pub sender: String,
    /// The subject.
    pub subject: String,
    /// The first list addressed.
    pub list_id: String,
    /// Every list addressed.
    pub lists: Vec<String>,
    /// Where it stands.
    pub status: PostStatus,
    /// Why.
    pub reason: String,
    /// Recipients it was fanned out to.
    pub recipients: i64,
    /// Unix seconds received.
    pub created_at: i64,
    /// Who decided (moderators, operators), if anyone.
    pub decided_by: Option<String>,
}

const COLUMNS: &str = "id, message_id, sender, subject, list_id, lists, status, reason, recipients, created_at, decided_by";

fn from_row(r: &sqlx::any::AnyRow) -> Post {
    let lists: String = r.get(5);
    let status: String = r.get(6);
    Post {
        id: r.get(0),
        message_id: r.get(1),
        sender: r.get(2),
        subject: r.get(3),
        list_id: r.get(4),
        lists: lists.split(',').map(str::to_string).collect(),
        status: PostStatus::parse(&status),
        reason: r.get(7),
        recipients: r.get(8),
        created_at: r.get(9),
        decided_by: r.get(10),
    }
}

/// The post already recorded under this Message-ID from this sender, if any.
pub async fn find_copy(
    conn: &mut AnyConnection,
    message_id: &str,
    sender: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT id FROM posts WHERE message_id = $1 AND sender = $2")
        .bind(message_id)
        .bind(sender)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Record a post; returns its id.
pub async fn insert(conn: &mut AnyConnection, p: &NewPost<'_>) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO posts (inbound_id, message_id, sender, subject, list_id, lists, status, reason, raw, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(p.inbound_id)
    .bind(p.message_id)
    .bind(p.sender)
    .bind(p.subject)
    .bind(p.lists.first().map(String::as_str).unwrap_or(""))
    .bind(p.lists.join(","))
    .bind(p.status.as_str())
    .bind(p.reason)
    .bind(p.raw.to_vec())
    .bind(now())
    .fetch_one(conn)
    .await?;
    Ok(row.get(0))
}

/// One post.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Post>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM posts WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// The raw message of a post.
pub async fn raw(pool: &AnyPool, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query("SELECT raw FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Posts, newest first, optionally of one status.
pub async fn list(
    pool: &AnyPool,
    status: Option<PostStatus>,
    limit: i64,
) -> Result<Vec<Post>, StoreError> {
    let status = status.map(PostStatus::as_str).unwrap_or("");
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM posts WHERE ($1 = '' OR status = $2) ORDER BY id DESC LIMIT $3"
    ))
    .bind(status)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Record a moderator's or operator's decision on a held post. False when the post was
/// no longer held (decided before).
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    status: PostStatus,
    by: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE posts SET status = $1, decided_at = $2, decided_by = $3 WHERE id = $4 AND status = 'held'",
    )
    .bind(status.as_str())
    .bind(now())
    .bind(by)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `sender` has had a post accepted on `list_id` before.
pub async fn has_accepted_post(
    conn: &mut AnyConnection,
    list_id: &str,
    sender: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM posts WHERE list_id = $1 AND sender = $2 AND status = 'accepted'",
    )
    .bind(list_id)
    .bind(sender)
    .fetch_one(conn)
    .await?;
    let n: i64 = row.get(0);
    Ok(n > 0)
}

/// Fan an accepted post out: one queued delivery per distinct confirmed member of
/// `lists` who has not paused delivery, each through the first of those lists (by id) the member is on. One
/// statement, so memory stays flat however long the lists are. Returns the count.
pub async fn fan_out(
    conn: &mut AnyConnection,
    post_id: i64,
    lists: &[String],
) -> Result<i64, StoreError> {
    let placeholders: Vec<String> = (0..lists.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "INSERT INTO deliveries (post_id, list_id, rcpt, status, attempts, next_attempt_at)
         SELECT $1, MIN(list_id), address, 'queued', 0, $2 FROM members
         WHERE status = 'confirmed' AND paused = 0 AND list_id IN ({})
         GROUP BY address",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(post_id).bind(now());
    for list in lists {
        query = query.bind(list);
    }
    let n = query.execute(&mut *conn).await?.rows_affected() as i64;
    sqlx::query("UPDATE posts SET recipients = $1 WHERE id = $2")
        .bind(n)
        .bind(post_id)
        .execute(conn)
        .await?;
    Ok(n)
}
