//! The operator's endpoints, for a scraper and a supervisor rather than a person:
//!
//! - `GET /metrics`: the process's counters in the Prometheus text format, with the
//!   queue gauges read from the store and the mailboxes' poll lags refreshed first.
//! - `GET /healthz`: 200 with a small JSON body when the database answers `SELECT 1`,
//!   every mailbox was read recently and no delivery lane is stuck (`health.rs` says what
//!   that means); 503 with the same body, naming what fails, otherwise.

use super::State;
use crate::delivery::Lane;
use crate::health;
use crate::store::queue::{self, Queue};
use crate::telemetry;
use axum::Router;
use axum::extract;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a count of the waiting rows is reused: a count walks an index, the rest of a
/// scrape is a few index seeks.
const COUNT_FOR: Duration = Duration::from_secs(15);

pub(super) fn routes() -> Router<State> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
}

async fn metrics(extract::State(rt): extract::State<State>) -> Response {
    let Some(handle) = telemetry::install() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder\n").into_response();
    };
    match read_queue(&rt).await {
        Ok(q) => telemetry::queue(&q),
        Err(e) => tracing::warn!(error = %e, "queue gauges not refreshed"),
    }
    let now = Instant::now();
    for mailbox in &rt.config.mailboxes {
        let interval = health::poll_interval(mailbox);
        let lag = health::polls().mailbox(mailbox.name(), interval, now).lag;
        telemetry::poll_lag(mailbox.name(), lag.as_secs_f64());
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Both queues, with counts at most `COUNT_FOR` old.
async fn read_queue(rt: &State) -> Result<Queue, crate::store::StoreError> {
    static COUNTS: Mutex<Option<(Instant, (i64, i64))>> = Mutex::new(None);
    let pool = rt.store.pool();
    let kept = *COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let counts = match kept {
        Some((at, counts)) if at.elapsed() < COUNT_FOR => counts,
        _ => {
            let counts = queue::waiting(pool).await?;
            *COUNTS.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), counts));
            counts
        }
    };
    let (answers_age, deliveries_age) = queue::oldest_due(pool).await?;
    Ok(Queue {
        answers: queue::Lane {
            waiting: counts.0,
            oldest_due_seconds: answers_age,
        },
        deliveries: queue::Lane {
            waiting: counts.1,
            oldest_due_seconds: deliveries_age,
        },
    })
}

async fn healthz(extract::State(rt): extract::State<State>) -> Response {
    let pool = rt.store.pool();
    let mut failing = Vec::new();
    let database = queue::ping(pool).await;
    if let Err(e) = &database {
        failing.push(format!("database: {e}"));
    }
    let now = Instant::now();
    let mut mailboxes = Vec::new();
    for mailbox in &rt.config.mailboxes {
        let name = mailbox.name();
        let interval = health::poll_interval(mailbox);
        let h = health::polls().mailbox(name, interval, now);
        if !h.ok {
            let why = match (&h.error, h.polled) {
                (Some(e), false) => format!("never read: {e}"),
                (Some(e), true) => format!("not read for {} s: {e}", h.lag.as_secs()),
                (None, _) => format!("not read for {} s", h.lag.as_secs()),
            };
            failing.push(format!("mailbox {name}: {why}"));
        }
        mailboxes.push(json!({
            "name": name,
            "ok": h.ok,
            "seconds_since_poll": h.lag.as_secs(),
            "limit_seconds": health::stale_after(interval).as_secs(),
            "error": h.error,
        }));
    }
    let delivery = match (&database, queue::oldest_due(pool).await) {
        (Ok(()), Ok((answers, posts))) => {
            let mut lanes = serde_json::Map::new();
            for (lane, name, age) in [
                (Lane::Answers, "answers", answers),
                (Lane::Posts, "posts", posts),
            ] {
                let age = Duration::from_secs(age.max(0) as u64);
                let stuck = health::polls().stuck(lane, age, now);
                if stuck {
                    failing.push(format!(
                        "delivery {name}: due for {} s and nothing sent for over {} s",
                        age.as_secs(),
                        health::STUCK.as_secs()
                    ));
                }
                lanes.insert(
                    name.into(),
                    json!({ "ok": !stuck, "oldest_due_seconds": age.as_secs() }),
                );
            }
            serde_json::Value::Object(lanes)
        }
        (_, Err(e)) if database.is_ok() => {
            failing.push(format!("delivery: {e}"));
            json!(null)
        }
        _ => json!(null),
    };
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if failing.is_empty() { "ok" } else { "failing" },
        "failing": failing,
        "database": database.is_ok(),
        "mailboxes": mailboxes,
        "delivery": delivery,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
