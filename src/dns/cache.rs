//! The cache mail-auth's lookups consult (its `ResolverCache` trait): parsed records kept
//! until the TTL of the DNS answer they came from runs out. mail-auth ships no cache of its
//! own; moka, already compiled in as hickory-resolver's response cache, is bounded,
//! concurrent and expires each entry at its own time, which a `HashMap` would need a
//! sweeper for.

use mail_auth::ResolverCache;
use moka::Expiry;
use std::borrow::Borrow;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Entries with the instant their record stops being valid.
pub struct TtlCache<K, V> {
    /// The entries.
    entries: moka::sync::Cache<K, (V, Instant)>,
}

/// Each entry expires when its record does.
struct UntilValid;

impl<K, V> Expiry<K, (V, Instant)> for UntilValid {
    fn expire_after_create(
        &self,
        _: &K,
        value: &(V, Instant),
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.1.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &(V, Instant),
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.1.saturating_duration_since(updated_at))
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries (the least used go first).
    pub fn new(capacity: u64) -> Self {
        TtlCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilValid)
                .build(),
        }
    }
}

impl<K, V> ResolverCache<K, V> for TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // moka hides an expired entry before its eviction runs; the check is for clarity.
        self.entries
            .get(name)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(v, _)| v)
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.remove(name).map(|(v, _)| v)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        if valid_until > Instant::now() {
            self.entries.insert(key, (value, valid_until));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_until_their_ttl_and_no_longer() {
        let cache: TtlCache<Box<str>, u32> = TtlCache::new(10);
        let now = Instant::now();
        cache.insert("long.test.".into(), 1, now + Duration::from_secs(3600));
        cache.insert("short.test.".into(), 2, now + Duration::from_millis(50));
        cache.insert("gone.test.".into(), 3, now);
        assert_eq!(cache.get("long.test."), Some(1));
        assert_eq!(cache.get("short.test."), Some(2));
        assert_eq!(cache.get("gone.test."), None, "a TTL of zero is not kept");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get("short.test."), None, "expired with its record");
        assert_eq!(cache.get("long.test."), Some(1));
        // A new answer replaces the old one with its own TTL.
        cache.insert(
            "long.test.".into(),
            4,
            Instant::now() + Duration::from_millis(30),
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("long.test."), None);
        assert_eq!(cache.remove("nothing.test."), None);
    }
}
