//! Delivery: two queues leave through one sink, each in its own lane. `answers.rs` sends
//! the system's own answers (the `outbound` table); `posts.rs` sends accepted posts to
//! their recipients (the `deliveries` table), personalised or batched, over the relays of
//! `relays.rs` within their rates and quotas. The two run side by side (the daemon gives
//! each its own task), and the relays keep `answers_share` of their rate and quota for
//! answers, so a confirmation never waits for a fan-out to end. An answer's row is written
//! after its attempt; a post's copies hand their outcomes to `record.rs`, which writes
//! them in small batches as they come back. A crash resends what was sent but not yet
//! written: `record::window` says how much that can be.

mod answers;
mod estimate;
mod file;
mod posts;
pub mod record;
mod relays;
mod smtp;

pub use answers::deliver_answers;
pub use estimate::estimate_seconds;
pub use posts::deliver_posts;
pub use relays::{posts_quota, used_today};

use crate::config::{Config, TransportKind};

/// A send attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// True for 5xx answers and malformed addresses: retrying cannot help.
    pub permanent: bool,
    /// Set when no relay had quota left: try again then, without counting an attempt.
    pub retry_at: Option<i64>,
    /// What the server or file system said.
    pub message: String,
    /// The receiving server's own reply when it refused the recipient (at `RCPT TO`) or
    /// the message (at `DATA`), as opposed to a connection, a login or a quota failing:
    /// a refusal says something about the address, and counts as a bounce once final.
    pub reply: Option<String>,
}

impl SendError {
    /// Retrying cannot help.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            retry_at: None,
            message: message.into(),
            reply: None,
        }
    }

    /// Retrying later may help.
    pub fn temporary(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            retry_at: None,
            message: message.into(),
            reply: None,
        }
    }

    /// Every relay's quota is spent until `at`.
    pub fn no_capacity(at: i64) -> SendError {
        SendError {
            permanent: false,
            retry_at: Some(at),
            message: "every relay's daily quota is spent".into(),
            reply: None,
        }
    }
}

/// One SMTP transaction: an envelope and the message.
pub struct Envelope<'a> {
    /// Envelope sender (MAIL FROM).
    pub from: &'a str,
    /// Envelope recipients (RCPT TO).
    pub to: &'a [&'a str],
    /// The message.
    pub raw: &'a [u8],
    /// A stable name for the file outbox (the same mail always gets the same file).
    pub name: String,
}

/// The relay that took a transaction, and each recipient's fate in it.
pub type Accepted = (String, Vec<Result<(), SendError>>);

/// Which queue a message leaves from. Answers may use all of each relay's rate and
/// quota, posts all but `[delivery] answers_share` of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The system's answers: confirmations, welcomes, notices.
    Answers,
    /// Copies of posts.
    Posts,
}

/// Where mail goes: a closed set of sinks. Cloning one shares its connections, pacing
/// clocks and quota counts.
#[derive(Clone)]
pub enum Sink {
    /// `.eml` files in a directory.
    File(file::FileSink),
    /// SMTP relays.
    Relays(relays::Relays),
}

impl Sink {
    /// The sink the configuration names.
    pub fn from_config(config: &Config) -> Result<Sink, SendError> {
        let d = &config.delivery;
        match d.transport.get_ref() {
            TransportKind::File => Ok(Sink::File(file::FileSink::new(&config.path(&d.outbox))?)),
            TransportKind::Smtp if d.relays.is_empty() => Err(SendError::permanent(
                "transport = \"smtp\" without [[delivery.relay]]",
            )),
            TransportKind::Smtp => Ok(Sink::Relays(relays::Relays::new(config)?)),
        }
    }

    /// The same sink, sending for `lane` (a sink starts in the posts' lane).
    pub fn lane(&self, lane: Lane) -> Sink {
        match self {
            Sink::File(s) => Sink::File(s.clone()),
            Sink::Relays(r) => Sink::Relays(r.lane(lane)),
        }
    }

    /// Send a one-recipient transaction; returns the name of the relay that took it.
    async fn send(&self, e: &Envelope<'_>) -> Result<String, SendError> {
        let (relay, mut each) = self.send_many(e).await?;
        match each.pop() {
            Some(Err(refused)) => Err(refused),
            _ => Ok(relay),
        }
    }

    /// Send one transaction to several recipients: the relay that took it, and what
    /// became of each recipient, in the order of `e.to` (some may be refused at `RCPT TO`
    /// while the others get the message). An error is the transaction's, for all of them.
    async fn send_many(&self, e: &Envelope<'_>) -> Result<Accepted, SendError> {
        match self {
            Sink::File(s) => s
                .send(e)
                .await
                .map(|()| ("outbox".to_string(), e.to.iter().map(|_| Ok(())).collect())),
            Sink::Relays(r) => r.send(e).await,
        }
    }

    fn concurrency(&self) -> usize {
        match self {
            Sink::File(_) => 1,
            Sink::Relays(r) => r.concurrency(),
        }
    }
}

/// Counts of one delivery pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Left the system.
    pub sent: usize,
    /// Will be retried.
    pub deferred: usize,
    /// Given up.
    pub failed: usize,
}

impl Pass {
    /// Add another pass's counts.
    pub fn add(&mut self, other: Pass) {
        self.sent += other.sent;
        self.deferred += other.deferred;
        self.failed += other.failed;
    }
}

/// Seconds to wait before attempt number `attempts + 1`: `retry_seconds` doubled per
/// attempt.
fn backoff(config: &Config, attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 16) as u32;
    config.delivery.retry_seconds.saturating_mul(1 << shift) as i64
}
