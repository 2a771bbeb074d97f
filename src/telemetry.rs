//! What the process counts, in the `nhomthu_` namespace, through the `metrics` facade.
//! The daemon installs one Prometheus recorder per process ([`install`]) and `/metrics`
//! renders it (`web/ops.rs`); without a recorder (the commands, `run --once`, the unit
//! tests) every count is a no-op. Counters are counted where the thing happens, each by a
//! one-line call; the queue gauges are read from the store when `/metrics` is scraped.

use crate::store::deliveries::Outcome;
use crate::store::queue::Queue;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Inbound messages recorded, by `mailbox` and `class` (`invalid` for the quarantined).
pub const INBOUND: &str = "nhomthu_inbound_messages_total";
/// Attempts at the system's answers, by `result`: `sent`, `deferred`, `failed`.
pub const ANSWERS: &str = "nhomthu_answers_total";
/// Attempts at copies of posts, by `result`: `sent`, `deferred`, `postponed` (no relay
/// quota left), `failed`.
pub const DELIVERIES: &str = "nhomthu_deliveries_total";
/// Bounce reports read (failures and delay warnings alike).
pub const BOUNCES: &str = "nhomthu_bounces_total";
/// Abuse reports (ARF) read.
pub const COMPLAINTS: &str = "nhomthu_complaints_total";
/// Answers queued or deferred, due or not.
pub const ANSWERS_WAITING: &str = "nhomthu_answers_waiting";
/// Copies of posts queued or deferred, due or not.
pub const DELIVERIES_WAITING: &str = "nhomthu_deliveries_waiting";
/// How long the longest-due answer has been due (0 when none is).
pub const ANSWERS_OLDEST: &str = "nhomthu_answers_oldest_due_seconds";
/// How long the longest-due copy of a post has been due (0 when none is).
pub const DELIVERIES_OLDEST: &str = "nhomthu_deliveries_oldest_due_seconds";
/// Seconds since a mailbox was last read successfully, by `mailbox` (since the start
/// while it never was).
pub const POLL_LAG: &str = "nhomthu_mailbox_poll_lag_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the process's Prometheus recorder (once; later calls return the same handle).
/// None when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle);
    }
    match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => {
            let handle = HANDLE.get_or_init(|| handle);
            describe();
            Some(handle)
        }
        // Two callers raced: the first one's recorder is the process's.
        Err(_) if HANDLE.get().is_some() => HANDLE.get(),
        Err(e) => {
            tracing::error!(error = %e, "cannot install the metrics recorder");
            None
        }
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(INBOUND, "Inbound messages recorded, by mailbox and class.");
    describe_counter!(ANSWERS, "Attempts at the system's answers, by result.");
    describe_counter!(DELIVERIES, "Attempts at copies of posts, by result.");
    describe_counter!(BOUNCES, "Bounce reports read.");
    describe_counter!(COMPLAINTS, "Abuse reports read.");
    describe_gauge!(ANSWERS_WAITING, "Answers queued or deferred.");
    describe_gauge!(DELIVERIES_WAITING, "Copies of posts queued or deferred.");
    describe_gauge!(
        ANSWERS_OLDEST,
        Unit::Seconds,
        "How long the longest-due answer has been due."
    );
    describe_gauge!(
        DELIVERIES_OLDEST,
        Unit::Seconds,
        "How long the longest-due copy of a post has been due."
    );
    describe_gauge!(
        POLL_LAG,
        Unit::Seconds,
        "Seconds since the mailbox was last read successfully."
    );
    // Shown at 0 from the start, so that a rate has a beginning.
    for result in ["sent", "deferred", "failed"] {
        metrics::counter!(ANSWERS, "result" => result).absolute(0);
    }
    for result in ["sent", "deferred", "postponed", "failed"] {
        metrics::counter!(DELIVERIES, "result" => result).absolute(0);
    }
    metrics::counter!(BOUNCES).absolute(0);
    metrics::counter!(COMPLAINTS).absolute(0);
}

/// One inbound message recorded in `mailbox` as `class`.
pub fn inbound(mailbox: &str, class: &str) {
    let labels = [("mailbox", mailbox.to_owned()), ("class", class.to_owned())];
    metrics::counter!(INBOUND, &labels).increment(1);
    match class {
        "bounce" => metrics::counter!(BOUNCES).increment(1),
        "complaint" => metrics::counter!(COMPLAINTS).increment(1),
        _ => {}
    }
}

/// One attempt at an answer ended in `result` (`sent`, `deferred`, `failed`).
pub fn answer(result: &'static str) {
    metrics::counter!(ANSWERS, "result" => result).increment(1);
    if result == "sent" {
        crate::health::sent(crate::delivery::Lane::Answers);
    }
}

/// The outcomes of attempts at copies of posts, as recorded.
pub fn deliveries(outcomes: &[(i64, Outcome)]) {
    for (_, outcome) in outcomes {
        let result = match outcome {
            Outcome::Sent { .. } => "sent",
            Outcome::Deferred { .. } => "deferred",
            Outcome::Postponed { .. } => "postponed",
            Outcome::Failed { .. } => "failed",
        };
        metrics::counter!(DELIVERIES, "result" => result).increment(1);
        if result == "sent" {
            crate::health::sent(crate::delivery::Lane::Posts);
        }
    }
}

/// Set the queue gauges.
pub fn queue(q: &Queue) {
    metrics::gauge!(ANSWERS_WAITING).set(q.answers.waiting as f64);
    metrics::gauge!(DELIVERIES_WAITING).set(q.deliveries.waiting as f64);
    metrics::gauge!(ANSWERS_OLDEST).set(q.answers.oldest_due_seconds as f64);
    metrics::gauge!(DELIVERIES_OLDEST).set(q.deliveries.oldest_due_seconds as f64);
}

/// Set a mailbox's poll lag.
pub fn poll_lag(mailbox: &str, seconds: f64) {
    metrics::gauge!(POLL_LAG, "mailbox" => mailbox.to_owned()).set(seconds);
}
