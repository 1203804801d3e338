//! Keyed rate limits (login attempts, comment posting) by the GCRA ("generic cell rate
//! algorithm"): `burst` events per key at once, refilling evenly over `window`.
//!
//! On SQLite (one instance) the state lives in the process, on the `governor` crate. On
//! PostgreSQL, where any number of instances share the database (PRODUCT.md §9), it lives in
//! the `rate_limits` table: one atomic `INSERT … ON CONFLICT DO UPDATE … WHERE` per event,
//! timed by the database's clock, so N instances enforce one limit, not N. If that statement
//! fails (the database briefly away), the event is counted by the process's own limiter, so
//! a limit still holds per instance.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::db::{Db, DbConn, StoreError};

/// Allows `burst` events per key in `window`, refilling evenly.
pub struct KeyedLimiter {
    /// Names this limiter's keys in the shared table (`login-ip`, `comment`, …).
    name: &'static str,
    burst: u32,
    window: Duration,
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    /// The database whose `rate_limits` table holds the state (PostgreSQL only).
    shared: Option<Db>,
    checks: AtomicU64,
}

/// Every this many shared checks, one also deletes the keys that are back to full.
const SWEEP_EVERY: u64 = 1000;

impl KeyedLimiter {
    /// A limiter of this process only.
    pub fn new(name: &'static str, burst: u32, window: Duration) -> Self {
        let burst = burst.max(1);
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let period = window / burst;
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst_nz);
        KeyedLimiter {
            name,
            burst,
            window,
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            shared: None,
            checks: AtomicU64::new(0),
        }
    }

    /// The same limiter, its state shared by every instance on `db` when it is PostgreSQL.
    pub fn shared_through(mut self, db: &Db) -> Self {
        if db.is_postgres() {
            self.shared = Some(db.clone());
        }
        self
    }

    /// Counts one event for `key`; `Err(seconds)` says how long to wait when over the limit.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        if let Some(db) = &self.shared {
            let sweep = self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
            let (full_key, interval, burst) = (
                format!("{}:{key}", self.name),
                self.interval_micros(),
                i64::from(self.burst),
            );
            let outcome = db
                .run(move |conn| {
                    if sweep {
                        sweep_full(conn)?;
                    }
                    shared_check(conn, &full_key, interval, burst)
                })
                .await;
            match outcome {
                Ok(decision) => return decision,
                Err(e) => {
                    tracing::warn!(error = %e, limiter = self.name, "shared rate limit unavailable; counting in this process");
                }
            }
        }
        self.check_local(key)
    }

    /// The refill time of one event, in microseconds.
    fn interval_micros(&self) -> i64 {
        let micros = self.window.as_micros() / u128::from(self.burst);
        i64::try_from(micros).unwrap_or(i64::MAX).max(1)
    }

    fn check_local(&self, key: &str) -> Result<(), u64> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

#[derive(diesel::QueryableByName)]
struct Tat {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = BigInt)]
    now: i64,
}

/// One event against the shared state of `key`. `tat` ("theoretical arrival time") is when the
/// key would be back to full; an event is allowed when, after adding its interval, that time is
/// at most `burst` intervals away. Allowed events move `tat` in the same statement; refused
/// ones leave it, so hammering a limited key does not push its end further out.
fn shared_check(
    conn: &mut DbConn,
    key: &str,
    interval: i64,
    burst: i64,
) -> Result<Result<(), u64>, StoreError> {
    let DbConn::Postgres(pg) = conn else {
        return Err(StoreError::Unavailable(
            "shared rate limits need PostgreSQL".into(),
        ));
    };
    let now = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";
    let allowed: Vec<Tat> = diesel::sql_query(format!(
        "INSERT INTO rate_limits AS r (key, tat) VALUES ($1, {now} + $2) \
         ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat, {now}) + $2 \
         WHERE GREATEST(r.tat, {now}) + $2 - {now} <= $2 * $3 \
         RETURNING r.tat, {now} AS now"
    ))
    .bind::<Text, _>(key)
    .bind::<BigInt, _>(interval)
    .bind::<BigInt, _>(burst)
    .load(pg)?;
    if !allowed.is_empty() {
        return Ok(Ok(()));
    }
    let current: Vec<Tat> = diesel::sql_query(format!(
        "SELECT tat, {now} AS now FROM rate_limits WHERE key = $1"
    ))
    .bind::<Text, _>(key)
    .load(pg)?;
    let wait_micros = current
        .first()
        .map_or(interval, |t| (t.tat + interval - t.now) - interval * burst)
        .max(1);
    let wait_micros = u64::try_from(wait_micros).unwrap_or(1);
    Ok(Err(wait_micros.div_ceil(1_000_000).max(1)))
}

/// Deletes the keys whose state is back to full (they behave as absent ones).
fn sweep_full(conn: &mut DbConn) -> Result<(), StoreError> {
    let DbConn::Postgres(pg) = conn else { return Ok(()) };
    diesel::sql_query(
        "DELETE FROM rate_limits WHERE tat < (extract(epoch from clock_timestamp()) * 1000000)::bigint",
    )
    .execute(pg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_local_limiter_allows_the_burst_then_says_how_long_to_wait() {
        let limiter = KeyedLimiter::new("test", 3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.check("a").await, Ok(()));
        }
        let wait = limiter.check("a").await.unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limiter.check("b").await, Ok(()), "keys are separate");
    }
}
