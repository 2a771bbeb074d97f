//! What `/healthz` judges the process by, kept as the work goes on: when each mailbox was
//! last read successfully (or why it was not), and when each delivery lane last sent
//! something. One per process, like the metrics recorder: the mailbox tasks and the
//! delivery lanes write it with one-line calls, the web side reads it.
//!
//! - A mailbox is healthy when it was read successfully within
//!   `max(3 × its poll interval, 60 s)` ([`stale_after`]). One never read since the start
//!   is given that long from the start, unless an attempt has already failed: then it is
//!   failing at once (a wrong host, port or password is not worth a minute's wait).
//! - A lane is stuck when its longest-due row has been due for more than [`STUCK`] and
//!   the lane has sent nothing for that long (counting from the start).

use crate::config::Mailbox;
use crate::delivery::Lane;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A lane whose oldest due row waited this long while nothing left is stuck.
pub const STUCK: Duration = Duration::from_secs(15 * 60);
/// The shortest staleness allowed to any mailbox.
const MIN_STALE: Duration = Duration::from_secs(60);

/// The process's record.
pub fn polls() -> &'static Polls {
    static POLLS: LazyLock<Polls> = LazyLock::new(|| Polls::new(Instant::now()));
    &POLLS
}

/// Something left in `lane` just now.
pub fn sent(lane: Lane) {
    polls().sent(lane, Instant::now());
}

/// How often a mailbox is read when all is well: the Maildir's poll, or the IMAP poll
/// (also the longest IDLE).
pub fn poll_interval(mailbox: &Mailbox) -> Duration {
    match &mailbox.imap {
        Some(imap) if mailbox.maildir.is_none() => Duration::from_secs(imap.poll_seconds.max(1)),
        _ => crate::source::maildir::POLL,
    }
}

/// How long a mailbox may go unread before it is failing.
pub fn stale_after(interval: Duration) -> Duration {
    (interval * 3).max(MIN_STALE)
}

/// The last successful read of each mailbox, the last error, the last send per lane.
pub struct Polls {
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    mailboxes: HashMap<String, Poll>,
    answers_sent: Option<Instant>,
    posts_sent: Option<Instant>,
}

#[derive(Default)]
struct Poll {
    ok: Option<Instant>,
    error: Option<String>,
}

/// How one mailbox stands.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxHealth {
    /// Healthy.
    pub ok: bool,
    /// Seconds since the last successful read (since the start while there was none).
    pub lag: Duration,
    /// Whether it was ever read successfully.
    pub polled: bool,
    /// The error of the last attempt, when it failed.
    pub error: Option<String>,
}

impl Polls {
    /// A record for a process started at `started`.
    pub fn new(started: Instant) -> Polls {
        Polls {
            started,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data: a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `mailbox` was read successfully.
    pub fn ok(&self, mailbox: &str) {
        self.ok_at(mailbox, Instant::now());
    }

    /// `mailbox` was read successfully at `at`.
    pub fn ok_at(&self, mailbox: &str, at: Instant) {
        let mut s = self.state();
        let poll = s.mailboxes.entry(mailbox.to_owned()).or_default();
        poll.ok = Some(at);
        poll.error = None;
    }

    /// Reading `mailbox` failed.
    pub fn failed(&self, mailbox: &str, error: &dyn std::fmt::Display) {
        let mut s = self.state();
        s.mailboxes.entry(mailbox.to_owned()).or_default().error = Some(error.to_string());
    }

    /// Something left in `lane` at `at`.
    pub fn sent(&self, lane: Lane, at: Instant) {
        let mut s = self.state();
        match lane {
            Lane::Answers => s.answers_sent = Some(at),
            Lane::Posts => s.posts_sent = Some(at),
        }
    }

    /// How `mailbox`, read every `interval`, stands at `now`.
    pub fn mailbox(&self, mailbox: &str, interval: Duration, now: Instant) -> MailboxHealth {
        let s = self.state();
        let poll = s.mailboxes.get(mailbox);
        let ok_at = poll.and_then(|p| p.ok);
        let error = poll.and_then(|p| p.error.clone());
        let lag = now.saturating_duration_since(ok_at.unwrap_or(self.started));
        let fresh = lag <= stale_after(interval);
        MailboxHealth {
            ok: fresh && (ok_at.is_some() || error.is_none()),
            lag,
            polled: ok_at.is_some(),
            error,
        }
    }

    /// Whether `lane` is stuck at `now`, its longest-due row due for `oldest_due`.
    pub fn stuck(&self, lane: Lane, oldest_due: Duration, now: Instant) -> bool {
        let s = self.state();
        let last = match lane {
            Lane::Answers => s.answers_sent,
            Lane::Posts => s.posts_sent,
        };
        let quiet = now.saturating_duration_since(last.unwrap_or(self.started));
        oldest_due > STUCK && quiet > STUCK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn staleness_is_three_intervals_but_never_under_a_minute() {
        assert_eq!(stale_after(2 * S), 60 * S);
        assert_eq!(stale_after(60 * S), 180 * S);
    }

    #[test]
    fn a_mailbox_read_recently_is_healthy_and_turns_stale() {
        let t0 = Instant::now();
        let p = Polls::new(t0);
        p.ok_at("dangky", t0 + 10 * S);
        assert!(p.mailbox("dangky", 2 * S, t0 + 70 * S).ok);
        let late = p.mailbox("dangky", 2 * S, t0 + 71 * S);
        assert!(!late.ok);
        assert_eq!(late.lag, 61 * S);
        // A failure after a recent success does not fail it before it is stale.
        p.failed("dangky", &"i/o: gone");
        assert!(p.mailbox("dangky", 2 * S, t0 + 20 * S).ok);
        assert_eq!(
            p.mailbox("dangky", 2 * S, t0 + 20 * S).error.as_deref(),
            Some("i/o: gone")
        );
    }

    #[test]
    fn a_mailbox_never_read_has_its_grace_unless_it_failed() {
        let t0 = Instant::now();
        let p = Polls::new(t0);
        assert!(p.mailbox("a", 2 * S, t0 + 30 * S).ok);
        assert!(!p.mailbox("a", 2 * S, t0 + 61 * S).ok);
        p.failed("b", &"imap: connection refused");
        let b = p.mailbox("b", 2 * S, t0 + S);
        assert!(!b.ok && !b.polled);
        p.ok_at("b", t0 + 2 * S);
        assert!(p.mailbox("b", 2 * S, t0 + 3 * S).ok);
    }

    #[test]
    fn a_lane_is_stuck_only_when_rows_wait_and_nothing_leaves() {
        let t0 = Instant::now();
        let p = Polls::new(t0);
        let later = t0 + STUCK + 10 * S;
        assert!(p.stuck(Lane::Posts, STUCK + S, later));
        assert!(!p.stuck(Lane::Posts, STUCK - S, later));
        p.sent(Lane::Posts, t0 + 20 * S);
        assert!(!p.stuck(Lane::Posts, STUCK + S, later));
        assert!(p.stuck(Lane::Answers, STUCK + S, later));
    }
}
