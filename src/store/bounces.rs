//! Bounce and complaint reports as they touch members: one row per recipient a report
//! names, and the member's decaying score (see `[bounces]` in the configuration).

use super::StoreError;
use crate::config::Bounces;
use sqlx::{AnyConnection, AnyPool, Row};

const DAY: f64 = 86_400.0;

/// One recipient of a report, and what it did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Event {
    /// Unix seconds (filled in when read back).
    pub at: i64,
    /// The report's inbound message (none for a refusal at SMTP time).
    pub inbound_id: Option<i64>,
    /// failure | delay | complaint | refused (by the receiving server, at SMTP time).
    pub kind: String,
    /// What the return path named: `delivery ID`, `post ID`, `answer ID`.
    pub verp: Option<String>,
    /// The list, when known.
    pub list_id: Option<String>,
    /// The recipient.
    pub address: Option<String>,
    /// A permanent failure.
    pub permanent: bool,
    /// The enhanced status code.
    pub status: Option<String>,
    /// The remote server's words.
    pub diagnostic: Option<String>,
    /// What it did: `scored 1.5`, `disabled`, `unsubscribed`, or `none: why`.
    pub effect: String,
}

/// Record an event.
pub async fn record(conn: &mut AnyConnection, e: &Event) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bounces (at, inbound_id, kind, verp, list_id, address, permanent, status, diagnostic, effect)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(super::now())
    .bind(e.inbound_id)
    .bind(&e.kind)
    .bind(&e.verp)
    .bind(&e.list_id)
    .bind(&e.address)
    .bind(i64::from(e.permanent))
    .bind(&e.status)
    .bind(&e.diagnostic)
    .bind(&e.effect)
    .execute(conn)
    .await?;
    Ok(())
}

/// The events of one member, newest first, with the reports naming the address that
/// could not be tied to any list.
pub async fn of_member(
    pool: &AnyPool,
    list_id: &str,
    address: &str,
) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, inbound_id, kind, verp, list_id, address, permanent, status, diagnostic, effect
         FROM bounces WHERE (list_id = $1 OR list_id IS NULL) AND address = $2 ORDER BY id DESC",
    )
    .bind(list_id)
    .bind(address)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Event {
            at: r.get(0),
            inbound_id: r.get(1),
            kind: r.get(2),
            verp: r.get(3),
            list_id: r.get(4),
            address: r.get(5),
            permanent: r.get::<i64, _>(6) != 0,
            status: r.get(7),
            diagnostic: r.get(8),
            effect: r.get(9),
        })
        .collect())
}

/// A member's score as stored (decay is applied when the next bounce counts).
pub async fn score(
    pool: &AnyPool,
    list_id: &str,
    address: &str,
) -> Result<Option<f64>, StoreError> {
    let row = sqlx::query("SELECT bounce_score FROM members WHERE list_id = $1 AND address = $2")
        .bind(list_id)
        .bind(address)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A member's score after a bounce of `weight` at `now`, from the stored `score` last
/// raised at `at` by `last_weight`, and the weight and time to store with it. Bounces
/// count once a day: within a day of the day's first counted bounce (`at`), only a
/// heavier one counts, by the difference, and the day keeps its start; after it, the
/// old score has halved every half-life and the bounce counts whole.
pub fn next_score(
    policy: &Bounces,
    stored: (f64, Option<i64>, f64),
    weight: f64,
    now: i64,
) -> (f64, f64, i64) {
    let (score, at, last_weight) = stored;
    let Some(at) = at else {
        return (weight, weight, now);
    };
    let elapsed = (now - at).max(0) as f64;
    if elapsed < DAY {
        return (
            score + (weight - last_weight).max(0.0),
            weight.max(last_weight),
            at,
        );
    }
    let half_life = policy.half_life_days.get_ref() * DAY;
    let decayed = if half_life > 0.0 {
        score * 0.5f64.powf(elapsed / half_life)
    } else {
        0.0
    };
    (decayed + weight, weight, now)
}

/// A confirmed member's bounce state: `(score, bounce_at, bounce_weight)`.
pub async fn state(
    conn: &mut AnyConnection,
    list_id: &str,
    address: &str,
) -> Result<Option<(f64, Option<i64>, f64)>, StoreError> {
    let row = sqlx::query(
        "SELECT bounce_score, bounce_at, bounce_weight FROM members
         WHERE list_id = $1 AND address = $2 AND status = 'confirmed'",
    )
    .bind(list_id)
    .bind(address)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// Store a member's new score, raised at `now` by `weight`.
pub async fn set_score(
    conn: &mut AnyConnection,
    list_id: &str,
    address: &str,
    (score, weight, at): (f64, f64, i64),
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE members SET bounce_score = $1, bounce_weight = $2, bounce_at = $3
         WHERE list_id = $4 AND address = $5",
    )
    .bind(score)
    .bind(weight)
    .bind(at)
    .bind(list_id)
    .bind(address)
    .execute(conn)
    .await?;
    Ok(())
}

/// Disabled members due a notice: fewer than `notices` sent, the last `interval` seconds
/// ago or more. `(list_id, address)`.
pub async fn due_notices(
    pool: &AnyPool,
    notices: u32,
    interval: i64,
    now: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT list_id, address FROM members
         WHERE status = 'disabled' AND disabled_at IS NOT NULL AND notices_sent < $1
           AND (notice_at IS NULL OR notice_at <= $2)
         ORDER BY disabled_at LIMIT 1000",
    )
    .bind(i64::from(notices))
    .bind(now - interval)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Note that a notice went to a disabled member at `now`.
pub async fn noticed(
    conn: &mut AnyConnection,
    list_id: &str,
    address: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE members SET notices_sent = notices_sent + 1, notice_at = $1
         WHERE list_id = $2 AND address = $3",
    )
    .bind(now)
    .bind(list_id)
    .bind(address)
    .execute(conn)
    .await?;
    Ok(())
}

/// Members disabled at `cutoff` or before: `(list_id, address, score)`.
pub async fn due_removals(
    pool: &AnyPool,
    cutoff: i64,
) -> Result<Vec<(String, String, f64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT list_id, address, bounce_score FROM members
         WHERE status = 'disabled' AND disabled_at IS NOT NULL AND disabled_at <= $1
         ORDER BY disabled_at LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Bounces {
        Bounces::default()
    }

    #[test]
    fn scores_decay_and_count_once_a_day() {
        let p = policy();
        let t0 = 1_000_000;
        let first = next_score(&p, (0.0, None, 0.0), 1.0, t0);
        assert_eq!(first, (1.0, 1.0, t0));
        // The same day: a second hard bounce adds nothing, a soft one after a hard neither.
        let same_day = next_score(&p, (1.0, Some(t0), 1.0), 1.0, t0 + 3600);
        assert_eq!(same_day, (1.0, 1.0, t0));
        // A soft bounce, then a hard one the same day: the difference counts, whatever
        // second it comes in.
        let harder = next_score(&p, (0.5, Some(t0), 0.5), 1.0, t0 + 60);
        assert_eq!(harder, (1.0, 1.0, t0));
        // A week later the old score is half.
        let week = next_score(&p, (2.0, Some(t0), 1.0), 1.0, t0 + 7 * 86_400);
        assert!((week.0 - 2.0).abs() < 1e-9, "{week:?}");
        // Three daily hard bounces reach the default threshold of 3 only barely not:
        // decay takes a little each day.
        let mut s = (0.0, None, 0.0);
        for day in 0..4 {
            let t = t0 + day * 86_400;
            let (score, w, at) = next_score(&p, s, 1.0, t);
            s = (score, Some(at), w);
        }
        assert!(s.0 > 3.0 && s.0 < 4.0, "{s:?}");
    }
}
