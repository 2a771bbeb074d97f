//! The relays of `[[delivery.relay]]`, each with its pool of connections, its rate (a
//! pacing clock) and its rolling daily quota. Work goes round-robin to relays with quota
//! left; when every quota is spent, the rest waits for the window to move.

use super::smtp::SmtpSink;
use super::{Envelope, SendError};
use crate::config::Config;
use crate::store::{Store, StoreError, deliveries};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Seconds in the quota window.
const DAY: i64 = 86_400;
/// How long work waits when every relay's quota is spent.
pub const QUOTA_PAUSE: i64 = 600;

struct Relay {
    name: String,
    sink: SmtpSink,
    /// Earliest instant the next message may start, for `rate_per_second`.
    next_free: Mutex<Instant>,
    interval: Option<Duration>,
    quota: Option<u64>,
    /// Messages sent in the last 24 hours, refreshed from the database each pass.
    used: AtomicU64,
    connections: usize,
}

/// Every configured relay.
pub struct Relays {
    relays: Vec<Relay>,
    turn: AtomicUsize,
}

impl Relays {
    /// Connect nothing yet; build the pools.
    pub fn new(config: &Config) -> Result<Relays, SendError> {
        let relays = config
            .delivery
            .relays
            .iter()
            .map(|r| {
                Ok(Relay {
                    name: r.name().to_string(),
                    sink: SmtpSink::new(r, config)?,
                    next_free: Mutex::new(Instant::now()),
                    interval: r
                        .rate_per_second
                        .filter(|r| *r > 0.0)
                        .map(|r| Duration::from_secs_f64(1.0 / r)),
                    quota: r.daily_quota,
                    used: AtomicU64::new(0),
                    connections: r.connections.max(1) as usize,
                })
            })
            .collect::<Result<Vec<_>, SendError>>()?;
        Ok(Relays {
            relays,
            turn: AtomicUsize::new(0),
        })
    }

    /// Reload each relay's use of its quota over the last 24 hours.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let since = crate::store::now() - DAY;
        for r in &self.relays {
            let used = deliveries::sent_by_relay_since(store.pool(), &r.name, since).await?;
            r.used.store(used.max(0) as u64, Ordering::SeqCst);
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

    /// Send through the next relay with quota left, at its pace; returns its name.
    pub async fn send(&self, e: &Envelope<'_>) -> Result<String, SendError> {
        let n = self.relays.len();
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let relay = &self.relays[(start + i) % n];
            // Reserve one message of quota; give it back if the send fails.
            let reserved = relay
                .used
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| match relay.quota {
                    Some(q) if u >= q => None,
                    _ => Some(u + 1),
                });
            if reserved.is_err() {
                continue;
            }
            relay.pace().await;
            return match relay.sink.send(e).await {
                Ok(()) => Ok(relay.name.clone()),
                Err(err) => {
                    relay.used.fetch_sub(1, Ordering::SeqCst);
                    Err(err)
                }
            };
        }
        Err(SendError::no_capacity(crate::store::now() + QUOTA_PAUSE))
    }
}

impl Relay {
    /// Wait for this relay's next slot.
    async fn pace(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let wait = {
            let mut next = self.next_free.lock().expect("pacing clock");
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + interval;
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
