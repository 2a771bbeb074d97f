//! What each relay has taken: copies of posts (`deliveries`) and answers (`outbound`)
//! alike count against its daily quota.

use super::StoreError;
use sqlx::{AnyPool, Row};

/// Messages of either queue that `relay` accepted since `since` (Unix seconds).
pub async fn sent_since(pool: &AnyPool, relay: &str, since: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM deliveries WHERE relay = $1 AND sent_at >= $2) \
              + (SELECT COUNT(*) FROM outbound WHERE relay = $1 AND sent_at >= $2)",
    )
    .bind(relay)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(row.get(0))
}
