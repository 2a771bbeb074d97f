//! Site settings kept in the database: the secret behind unsubscribe links, made once.

use super::StoreError;
use rand::RngCore;
use sqlx::{AnyConnection, Row};

/// The site's secret (hex, 256 bits), created on first use. Two processes racing to
/// create it agree: the first insert wins and both read it back.
pub async fn secret(conn: &mut AnyConnection) -> Result<String, StoreError> {
    // Read first: the daemon asks on every delivery pass, and only the first run writes.
    if let Some(row) = sqlx::query("SELECT value FROM settings WHERE name = 'secret'")
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(row.get(0));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh = data_encoding::HEXLOWER.encode(&bytes);
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(fresh)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT value FROM settings WHERE name = 'secret'")
        .fetch_one(conn)
        .await?;
    Ok(row.get(0))
}
