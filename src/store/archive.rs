//! The archive's reads: accepted posts of a list, by month or one by one with their raw
//! message, and the full-text index over their subjects and bodies (SQLite FTS5, or a
//! PostgreSQL tsvector with a GIN index). Held and rejected posts are never read here.
//! The index is per post, never per member: each accepted post is indexed once.

use super::{StoreError, now};
use sqlx::{AnyConnection, AnyPool, Row};

/// An accepted post as the archive lists it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Post id.
    pub id: i64,
    /// The subject, NFC.
    pub subject: String,
    /// Unix seconds received.
    pub created_at: i64,
    /// Every list addressed.
    pub lists: Vec<String>,
}

const COLUMNS: &str = "id, subject, created_at, lists";

/// The condition "the post was addressed to the list bound at `$n`".
fn addressed_to(n: usize) -> String {
    format!("(',' || lists || ',') LIKE ('%,' || ${n} || ',%')")
}

fn entry(r: &sqlx::any::AnyRow) -> Entry {
    let lists: String = r.get(3);
    Entry {
        id: r.get(0),
        subject: r.get(1),
        created_at: r.get(2),
        lists: lists.split(',').map(str::to_string).collect(),
    }
}

/// When each accepted post of a list was received, newest first (for the months).
pub async fn dates(pool: &AnyPool, list_id: &str) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT created_at FROM posts WHERE status = 'accepted' AND {} ORDER BY created_at DESC",
        addressed_to(1)
    ))
    .bind(list_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The accepted posts of a list received in `[from, to)`, oldest first; at most `limit`.
/// Raw messages are read one at a time (`posts::raw`): a month of large attachments never
/// sits in memory at once.
pub async fn between(
    pool: &AnyPool,
    list_id: &str,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM posts WHERE status = 'accepted' AND {}
         AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id LIMIT $4",
        addressed_to(1)
    ))
    .bind(list_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry).collect())
}

/// The newest accepted posts of a list.
pub async fn latest(pool: &AnyPool, list_id: &str, limit: i64) -> Result<Vec<Entry>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM posts WHERE status = 'accepted' AND {}
         ORDER BY created_at DESC, id DESC LIMIT $2",
        addressed_to(1)
    ))
    .bind(list_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry).collect())
}

/// One accepted post of a list with its raw message.
pub async fn post(
    pool: &AnyPool,
    list_id: &str,
    id: i64,
) -> Result<Option<(Entry, Vec<u8>)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, raw FROM posts WHERE id = $2 AND status = 'accepted' AND {}",
        addressed_to(1)
    ))
    .bind(list_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (entry(&r), r.get(4))))
}

/// Accepted posts not indexed yet, oldest first.
pub async fn unindexed(pool: &AnyPool, limit: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM posts p WHERE status = 'accepted'
         AND NOT EXISTS (SELECT 1 FROM archive_docs d WHERE d.post_id = p.id)
         ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Index one post's folded subject and body, once: a post indexed meanwhile by another
/// request is left as it is.
pub async fn index(
    conn: &mut AnyConnection,
    post_id: i64,
    subject: &str,
    body: &str,
) -> Result<(), StoreError> {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query(
            "INSERT INTO archive_docs (post_id, indexed_at, terms)
             VALUES ($1, $2, setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'B'))
             ON CONFLICT (post_id) DO NOTHING",
        )
        .bind(post_id)
        .bind(now())
        .bind(subject)
        .bind(body)
        .execute(conn)
        .await?;
        return Ok(());
    }
    let fresh = sqlx::query(
        "INSERT INTO archive_docs (post_id, indexed_at) VALUES ($1, $2) ON CONFLICT (post_id) DO NOTHING",
    )
    .bind(post_id)
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if fresh == 1 {
        sqlx::query("INSERT INTO archive_fts (rowid, subject, body) VALUES ($1, $2, $3)")
            .bind(post_id)
            .bind(subject)
            .bind(body)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Accepted posts to any of `lists` matching every word of `words` (folded, alphanumeric),
/// best first: a page of them and the number of all.
pub async fn search(
    pool: &AnyPool,
    lists: &[String],
    words: &[String],
    limit: i64,
    offset: i64,
) -> Result<(Vec<Entry>, i64), StoreError> {
    if lists.is_empty() || words.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut conn = pool.acquire().await?;
    let postgres = conn.backend_name().eq_ignore_ascii_case("postgresql");
    let within: Vec<String> = (0..lists.len()).map(|i| addressed_to(i + 2)).collect();
    let within = within.join(" OR ");
    let (from, rank) = if postgres {
        (
            "posts p JOIN archive_docs d ON d.post_id = p.id \
             WHERE d.terms @@ to_tsquery('simple', $1)",
            "ts_rank(d.terms, to_tsquery('simple', $1)) DESC",
        )
    } else {
        (
            "posts p JOIN archive_fts f ON f.rowid = p.id WHERE archive_fts MATCH $1",
            "bm25(archive_fts, 10.0, 1.0)",
        )
    };
    // Every word must match; the words are alphanumeric, so quoting makes them literal.
    let query = if postgres {
        words.join(" & ")
    } else {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let n = lists.len() + 2;
    let sql = format!(
        "SELECT p.id, p.subject, p.created_at, p.lists FROM {from}
         AND p.status = 'accepted' AND ({within})
         ORDER BY {rank}, p.created_at DESC LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let mut q = sqlx::query(&sql).bind(query.clone());
    for list in lists {
        q = q.bind(list);
    }
    let rows = q.bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    let count_sql = format!("SELECT COUNT(*) FROM {from} AND p.status = 'accepted' AND ({within})");
    let mut q = sqlx::query(&count_sql).bind(query);
    for list in lists {
        q = q.bind(list);
    }
    let total: i64 = q.fetch_one(&mut *conn).await?.get(0);
    Ok((rows.iter().map(entry).collect(), total))
}
