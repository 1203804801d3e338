//! Keyed rate limits (login attempts, comment posting) on the `governor` crate's GCRA.
//! Limits are per process: behind a load balancer each instance enforces its own.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Allows `burst` events per key in `window`, refilling evenly.
pub struct KeyedLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyedLimiter {
    pub fn new(burst: u32, window: Duration) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = window / burst.get();
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        KeyedLimiter {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one event for `key`; `Err(seconds)` says how long to wait when over the limit.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}
