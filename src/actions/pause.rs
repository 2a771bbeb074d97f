//! A member pauses delivery of a list's posts, or resumes it, from their own page: still a
//! member (nothing about the membership changes, and no mail is sent), but the fan-out
//! passes them by while paused. Audited as `pause` / `resume`.

use super::ActionError;
use crate::config::List;
use crate::store::members;
use sqlx::AnyConnection;

/// Pause (`paused`) or resume delivery of `list` to `address`, audited with `actor` and
/// `reason`. Only a confirmed member's delivery changes. Returns whether it was paused
/// before; None when `address` is not on the list.
pub async fn set(
    conn: &mut AnyConnection,
    list: &List,
    address: &str,
    paused: bool,
    actor: &str,
    reason: &str,
) -> Result<Option<bool>, ActionError> {
    let before = members::set_paused(conn, list.id(), address, paused, actor, reason).await?;
    tracing::info!(list = list.id(), address, paused, was = ?before, "delivery paused or resumed");
    Ok(before)
}
