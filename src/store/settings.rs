//! Site settings kept in the database: the secret behind unsubscribe links, made once.

use super::StoreError;
use rand::RngCore;
use sqlx::{AnyPool, Row};

/// The site's secret (hex, 256 bits), created on first use. Two processes racing to
/// create it agree: the first insert wins and both read it back.
pub async fn secret(pool: &AnyPool) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh = data_encoding::HEXLOWER.encode(&bytes);
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(fresh)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT value FROM settings WHERE name = 'secret'")
        .fetch_one(pool)
        .await?;
    Ok(row.get(0))
}
