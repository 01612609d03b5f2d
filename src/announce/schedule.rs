//! Timing rules as pure functions: interval clamping, failure backoff, the BEP 15 retransmission
//! schedule. No state and no clock; the machine passes `now` and the values in.

use std::time::{Duration, Instant};

use rand_core::Rng;

use super::config::Config;

/// `now + d`, saturating at the largest `Instant` ([`is_never`]: a deadline past the end of the
/// clock's range never comes). Durations are capped at a year by [`Config::validate`], so the
/// saturation is only reachable with an `Instant` near the very end of its range; there a
/// deadline still never lands before `now + d` would, so nothing that waits is due again at once.
#[inline]
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or_else(|| end_of_time(now))
}

/// The largest `Instant` (found from `from` by bisection on `checked_add`; no clock is read).
#[cold]
fn end_of_time(from: Instant) -> Instant {
    let fits = |d: Duration| from.checked_add(d).is_some();
    let (mut lo, mut hi) = (0u64, u64::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(Duration::from_secs(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let (mut nlo, mut nhi) = (0u32, 999_999_999u32);
    while nlo < nhi {
        let mid = nlo + (nhi - nlo).div_ceil(2);
        if fits(Duration::new(lo, mid)) {
            nlo = mid;
        } else {
            nhi = mid - 1;
        }
    }
    from.checked_add(Duration::new(lo, nlo)).unwrap_or(from)
}

const NANO: Duration = Duration::from_nanos(1);

/// Whether `deadline` is the largest `Instant`: where [`later`] saturates, so it stands for a time
/// past the clock's range, which never comes. The machine's clock stops one nanosecond short of it
/// ([`clock`]), and `poll_timeout` reports no such deadline.
pub(crate) fn is_never(deadline: Instant) -> bool {
    deadline.checked_add(NANO).is_none()
}

/// The machine's clock at the caller's `now`: `now`, except the largest `Instant`, which stands
/// for "never" ([`is_never`]) and so is never reached: the clock stops a nanosecond before it.
pub(crate) fn clock(now: Instant) -> Instant {
    if is_never(now) {
        now.checked_sub(NANO).unwrap_or(now)
    } else {
        now
    }
}

/// The re-announce period and `min interval` in force after a reply: defaults for absent or
/// non-positive values, `min interval` within [`min_interval_floor`, `interval_ceiling`], and the
/// period within [max(`interval_floor`, min interval), `interval_ceiling`].
pub(crate) fn intervals(
    cfg: &Config,
    interval: Option<i64>,
    min_interval: Option<i64>,
) -> (Duration, Duration) {
    let secs = |v: Option<i64>| {
        v.and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n > 0)
            .map(Duration::from_secs)
    };
    let min = secs(min_interval)
        .unwrap_or(cfg.default_min_interval)
        .max(cfg.min_interval_floor)
        .min(cfg.interval_ceiling);
    let period = secs(interval)
        .unwrap_or(cfg.default_interval)
        .max(cfg.interval_floor)
        .max(min)
        .min(cfg.interval_ceiling);
    (period, min)
}

/// The wait before retrying after `failures` consecutive failed announce rounds (1 for the first):
/// libtorrent's `5 + 12.5 * failures^2` seconds (17, 55, 117, 205 ... s), capped at
/// [`Config::max_backoff`], then moved by up to [`Config::retry_jitter_percent`] either way.
pub(crate) fn backoff(cfg: &Config, failures: u32, rng: &mut impl Rng) -> Duration {
    let f = u64::from(failures);
    let base_ms = 5_000u64
        .saturating_add(12_500u64.saturating_mul(f.saturating_mul(f)))
        .min(u64::try_from(cfg.max_backoff.as_millis()).unwrap_or(u64::MAX));
    let spread = base_ms / 100 * u64::from(cfg.retry_jitter_percent);
    let jittered = if spread == 0 {
        base_ms
    } else {
        base_ms - spread + rng.next_u64() % (2 * spread + 1)
    };
    Duration::from_millis(jittered)
}

/// The wait after the `sends`-th UDP send of a request (1 for the first): `udp_rto * 2^(sends-1)`.
pub(crate) fn udp_wait(cfg: &Config, sends: u32) -> Duration {
    let doublings = sends.saturating_sub(1).min(8);
    cfg.udp_rto.saturating_mul(1 << doublings)
}

/// BEP 31 `retry in` minutes as a duration, capped at [`Config::max_retry_in`].
pub(crate) fn retry_in(cfg: &Config, minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes) * 60).min(cfg.max_retry_in)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn intervals_default_and_clamp() {
        let cfg = Config::default();
        let s = Duration::from_secs;
        assert_eq!(intervals(&cfg, None, None), (s(1800), s(60)));
        assert_eq!(intervals(&cfg, Some(0), Some(-5)), (s(1800), s(60)));
        assert_eq!(intervals(&cfg, Some(1), Some(1)), (s(120), s(60)));
        assert_eq!(intervals(&cfg, Some(i64::MAX), None), (s(7200), s(60)));
        assert_eq!(intervals(&cfg, Some(100), Some(900)), (s(900), s(900)));
        assert_eq!(
            intervals(&cfg, Some(100), Some(i64::MAX)),
            (s(7200), s(7200))
        );
    }

    #[test]
    fn backoff_follows_libtorrent_without_jitter() {
        let cfg = Config {
            retry_jitter_percent: 0,
            ..Config::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let secs: Vec<u64> = (1..=5)
            .map(|f| backoff(&cfg, f, &mut rng).as_millis() as u64 / 1000)
            .collect();
        assert_eq!(secs, [17, 55, 117, 205, 317]);
        assert_eq!(backoff(&cfg, u32::MAX, &mut rng), Duration::from_secs(3600));
    }

    #[test]
    fn backoff_jitter_stays_within_ten_percent() {
        let cfg = Config::default();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let d = backoff(&cfg, 1, &mut rng).as_millis();
            assert!((15_750..=19_250).contains(&d), "{d}");
        }
    }

    #[test]
    fn udp_wait_doubles_from_fifteen_seconds() {
        let cfg = Config::default();
        let waits: Vec<u64> = (1..=10).map(|n| udp_wait(&cfg, n).as_secs()).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1920, 3840, 3840]);
    }
}
