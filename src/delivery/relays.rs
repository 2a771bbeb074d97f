//! The relays of `[[delivery.relay]]`, each with its pool of connections, its rate (a
//! pacing clock) and its rolling daily quota. Work goes round-robin to relays with quota
//! left; when every quota is spent, the rest waits for the window to move.
//!
//! Two lanes share each relay: the system's answers and posts. Posts may use only
//! `1 - answers_share` of each relay's rate and daily quota; answers may use all of it. A
//! post waits for a slot on the posts' own, slower clock and then takes the next slot
//! on the relay's clock, which answers take directly. Posts thus never book the relay's
//! clock ahead: between two of them there is always room, and an answer gets the next
//! free slot, within one interval of the relay's rate, however long the fan-out.

use super::smtp::SmtpSink;
use super::{Accepted, Envelope, Lane, SendError};
use crate::config::Config;
use crate::store::{Store, StoreError, relay_use};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Seconds in the quota window.
const DAY: i64 = 86_400;
/// How long work waits when every relay's quota is spent.
pub const QUOTA_PAUSE: i64 = 600;

struct Relay {
    name: String,
    sink: SmtpSink,
    /// The relay's rate: every message, of either lane, takes a slot on it.
    clock: Option<Clock>,
    /// The posts' share of that rate: a post takes a slot here first.
    posts_clock: Option<Clock>,
    /// The whole daily quota (answers may use it all).
    quota: Option<u64>,
    /// The part of it posts may use.
    posts_quota: Option<u64>,
    /// Messages sent in the last 24 hours, refreshed from the database each posts pass.
    used: AtomicU64,
    connections: usize,
}

/// A pacing clock: the earliest instant its next message may start.
struct Clock {
    next_free: Mutex<Instant>,
    interval: Duration,
}

impl Clock {
    /// A clock for `rate` messages per second (None: no limit).
    fn new(rate: Option<f64>) -> Option<Clock> {
        rate.filter(|r| r.is_finite() && *r > 0.0).map(|r| Clock {
            next_free: Mutex::new(Instant::now()),
            interval: Duration::from_secs_f64(1.0 / r),
        })
    }

    /// Book the next slot and wait for it.
    async fn tick(&self) {
        let wait = {
            let mut next = self.next_free.lock().expect("pacing clock");
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + self.interval;
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Messages `relay` took in the quota window (the last 24 hours), posts and answers.
pub async fn used_today(store: &Store, relay: &str) -> Result<u64, StoreError> {
    let since = crate::store::now() - DAY;
    let used = relay_use::sent_since(store.pool(), relay, since).await?;
    Ok(used.max(0) as u64)
}

/// The part of a relay's rate posts may use: all but `share` of it.
pub fn posts_rate(rate: f64, share: f64) -> f64 {
    rate * (1.0 - share)
}

/// The part of a relay's daily quota posts may use: all but `share` of it.
pub fn posts_quota(quota: u64, share: f64) -> u64 {
    (quota as f64 * (1.0 - share)).floor() as u64
}

/// Every configured relay, seen from one lane (cheap to copy: the relays are shared).
#[derive(Clone)]
pub struct Relays {
    relays: Arc<[Relay]>,
    turn: Arc<AtomicUsize>,
    lane: Lane,
}

impl Relays {
    /// Connect nothing yet; build the pools. The lane is posts until [`Relays::lane`].
    pub fn new(config: &Config) -> Result<Relays, SendError> {
        let share = *config.delivery.answers_share.get_ref();
        let relays = config
            .delivery
            .relays
            .iter()
            .map(|r| {
                Ok(Relay {
                    name: r.name().to_string(),
                    sink: SmtpSink::new(r, config)?,
                    clock: Clock::new(r.rate_per_second),
                    posts_clock: Clock::new(r.rate_per_second.map(|rate| posts_rate(rate, share))),
                    quota: r.daily_quota,
                    posts_quota: r.daily_quota.map(|q| posts_quota(q, share)),
                    used: AtomicU64::new(0),
                    connections: r.connections.max(1) as usize,
                })
            })
            .collect::<Result<Vec<_>, SendError>>()?;
        Ok(Relays {
            relays: relays.into(),
            turn: Arc::new(AtomicUsize::new(0)),
            lane: Lane::Posts,
        })
    }

    /// The same relays, sending for `lane`.
    pub fn lane(&self, lane: Lane) -> Relays {
        Relays {
            lane,
            ..self.clone()
        }
    }

    /// Reload each relay's use of its quota over the last 24 hours: posts and answers.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        for r in self.relays.iter() {
            r.used
                .store(used_today(store, &r.name).await?, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Messages in flight at once over all relays.
    pub fn concurrency(&self) -> usize {
        self.relays
            .iter()
            .map(|r| r.connections)
            .sum::<usize>()
            .max(1)
    }

    /// Send through the next relay with quota left for this lane, at its pace; returns
    /// its name and each recipient's fate.
    pub async fn send(&self, e: &Envelope<'_>) -> Result<Accepted, SendError> {
        let n = self.relays.len();
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let relay = &self.relays[(start + i) % n];
            let limit = match self.lane {
                Lane::Answers => relay.quota,
                Lane::Posts => relay.posts_quota,
            };
            // Reserve one message of quota; give it back if the send fails.
            let reserved = relay
                .used
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| match limit {
                    Some(q) if u >= q => None,
                    _ => Some(u + 1),
                });
            if reserved.is_err() {
                continue;
            }
            if self.lane == Lane::Posts
                && let Some(clock) = &relay.posts_clock
            {
                clock.tick().await;
            }
            if let Some(clock) = &relay.clock {
                clock.tick().await;
            }
            return match relay.sink.send(e).await {
                Ok(each) => {
                    if each.iter().all(Result::is_err) {
                        // Every recipient refused: no message left.
                        relay.used.fetch_sub(1, Ordering::SeqCst);
                    }
                    Ok((relay.name.clone(), each))
                }
                Err(err) => {
                    relay.used.fetch_sub(1, Ordering::SeqCst);
                    Err(err)
                }
            };
        }
        Err(SendError::no_capacity(crate::store::now() + QUOTA_PAUSE))
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, posts_quota};
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn posts_leave_the_answers_share_of_the_quota() {
        assert_eq!(posts_quota(10_000, 0.1), 9_000);
        assert_eq!(posts_quota(500, 0.05), 475);
        assert_eq!(posts_quota(9, 0.1), 8);
        assert_eq!(posts_quota(10, 0.0), 10);
    }

    /// Posts tick their own clock, then the relay's; an answer that arrives in the middle
    /// of a paced run gets the relay's next slot, not a place behind the posts.
    #[tokio::test(start_paused = true)]
    async fn an_answer_finds_a_slot_between_paced_posts() {
        let relay = Clock::new(Some(100.0)).unwrap();
        let posts = Clock::new(Some(90.0)).unwrap();
        let start = Instant::now();
        // Twenty posts booked at once, as a page's copies in flight are.
        let run_posts = async {
            let mut sent = Vec::new();
            let fire = (0..20).map(|_| async {
                posts.tick().await;
                relay.tick().await;
                Instant::now()
            });
            for t in futures::future::join_all(fire).await {
                sent.push(t);
            }
            sent
        };
        let answer = async {
            tokio::time::sleep(Duration::from_millis(55)).await;
            let asked = Instant::now();
            relay.tick().await;
            Instant::now() - asked
        };
        let (sent, waited) = tokio::join!(run_posts, answer);
        assert!(
            waited <= Duration::from_millis(10),
            "the answer waited {waited:?} behind the posts"
        );
        let last = *sent.iter().max().unwrap() - start;
        // 20 posts at 90/s take about 211 ms; the answer costs them one slot at most.
        assert!(last >= Duration::from_millis(200), "posts ran at {last:?}");
        // Every two sends, of either lane, are at least the relay's interval apart.
        let mut all = sent.clone();
        all.sort();
        for w in all.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(10) - Duration::from_micros(1));
        }
    }
}
