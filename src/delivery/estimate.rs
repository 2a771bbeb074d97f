//! How long the waiting recipients take at the relays' rates and daily quotas, for
//! `nhomthu posts show`.

use super::relays::{posts_quota, posts_rate};
use crate::config::Config;

/// Seconds until `waiting` more copies of posts are sent at the relays' pace and quotas,
/// less the share kept for answers (None: no relay limits, so no estimate beyond "as fast
/// as the relays take them"). `quota_left` is what posts may still use today.
pub fn estimate_seconds(config: &Config, waiting: u64, quota_left: Option<u64>) -> Option<u64> {
    let share = *config.delivery.answers_share.get_ref();
    let rate: Option<f64> = config
        .delivery
        .relays
        .iter()
        .map(|r| r.rate_per_second.map(|rate| posts_rate(rate, share)))
        .sum();
    let daily: Option<u64> = config
        .delivery
        .relays
        .iter()
        .map(|r| r.daily_quota.map(|q| posts_quota(q, share)))
        .sum();
    let pace = |n: u64| rate.map(|r| (n as f64 / r).ceil() as u64);
    match (daily, quota_left) {
        (Some(daily), Some(left)) if waiting > left && daily > 0 => {
            // Today's quota, then whole days, then the remainder at the relays' pace.
            let after_today = waiting - left;
            let days = after_today.div_ceil(daily);
            let last = after_today - (days - 1) * daily;
            Some(86_400 * days + pace(last).unwrap_or(0))
        }
        _ => pace(waiting),
    }
}

#[cfg(test)]
mod tests {
    use super::estimate_seconds;

    fn config(relays: &str) -> crate::config::Config {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[site]\ndomain = \"d.test\"\nname = \"D\"\nnoreply = \"n@d.test\"\ntemplates = \"{}\"\n[delivery]\ntransport = \"file\"\n{relays}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates")
        );
        let path = dir.path().join("lists.toml");
        std::fs::write(&path, text).unwrap();
        crate::config::load(&path).unwrap()
    }

    #[test]
    fn quota_windows_and_rates_add_up() {
        let c = config(
            "answers_share = 0\n[[delivery.relay]]\nhost = \"a\"\nrate_per_second = 10\ndaily_quota = 2000\n\
             [[delivery.relay]]\nhost = \"b\"\nrate_per_second = 10\ndaily_quota = 2000\n",
        );
        // Within today's quota: at 20 messages/s.
        assert_eq!(estimate_seconds(&c, 1000, Some(4000)), Some(50));
        // 10,000 waiting, 4,000 left today: one more day for 4,000, then 2,000 at pace.
        assert_eq!(
            estimate_seconds(&c, 10_000, Some(4000)),
            Some(2 * 86_400 + 100)
        );
        let unpaced = config("[[delivery.relay]]\nhost = \"a\"\n");
        assert_eq!(estimate_seconds(&unpaced, 1000, None), None);
    }

    #[test]
    fn posts_go_at_what_the_answers_leave_them() {
        let c = config(
            "answers_share = 0.2\n[[delivery.relay]]\nhost = \"a\"\nrate_per_second = 10\ndaily_quota = 1000\n",
        );
        // 8 messages/s for posts.
        assert_eq!(estimate_seconds(&c, 400, Some(800)), Some(50));
        // 800 a day for posts: 400 today, 800 tomorrow, the last 200 the day after at pace.
        assert_eq!(estimate_seconds(&c, 1400, Some(400)), Some(2 * 86_400 + 25));
    }
}
