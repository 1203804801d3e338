//! The memory budget of image work (`MASTHEAD_IMAGE_MEMORY_BUDGET`): a semaphore whose permits
//! are kibibytes. Every decode (upload checks and renditions) first takes as many permits as
//! its estimated peak memory, waits in line (first come, first served) while the budget is
//! spent, and gives up after `MASTHEAD_IMAGE_QUEUE_TIMEOUT_SECS` so the client gets a 503 with
//! `Retry-After` instead of the server running out of memory. A job may take a conservative
//! estimate and hand back what it does not need once the image's header is read
//! ([`Reservation::shrink_to`]).
//!
//! The budget bounds the peak. Handing the memory a burst freed back to the system is the
//! allocator's job: the binary runs on jemalloc with background purging (`main.rs`,
//! docs/security.md, "Giving memory back"), which replaced a `malloc_trim` after each burst here.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const KIB: u64 = 1024;

/// The shared budget.
#[derive(Debug, Clone)]
pub struct ImageBudget {
    semaphore: Arc<Semaphore>,
    total_kib: u32,
    wait: Duration,
}

/// The budget stayed spent for the whole wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// A fair guess of when to try again, for `Retry-After`.
    pub retry_after_secs: u64,
}

/// Memory reserved for one job; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permit: OwnedSemaphorePermit,
}

fn to_kib(bytes: u64) -> u64 {
    bytes.div_ceil(KIB).max(1)
}

impl ImageBudget {
    /// A budget of `bytes` (at least 1 MiB) where a job waits at most `wait`.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let total_kib = u32::try_from(to_kib(bytes).max(1024)).unwrap_or(u32::MAX);
        ImageBudget {
            semaphore: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
            wait,
        }
    }

    /// The whole budget in bytes.
    pub fn total_bytes(&self) -> u64 {
        u64::from(self.total_kib) * KIB
    }

    /// What is free right now, in bytes.
    pub fn available_bytes(&self) -> u64 {
        self.semaphore.available_permits() as u64 * KIB
    }

    /// Reserves `bytes` (clamped to the whole budget: such a job runs alone), waiting in line
    /// for at most the configured time.
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, Busy> {
        let kib = to_kib(bytes).min(u64::from(self.total_kib)) as u32;
        let acquire = self.semaphore.clone().acquire_many_owned(kib);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Ok(Reservation { permit }),
            // Timed out (the semaphore is never closed).
            _ => Err(Busy {
                retry_after_secs: self.wait.as_secs().clamp(1, 30),
            }),
        }
    }
}

impl From<Busy> for crate::error::ApiError {
    fn from(busy: Busy) -> Self {
        crate::error::ApiError::Busy {
            detail: "Image work is at its memory budget; try again shortly".into(),
            retry_after_secs: busy.retry_after_secs,
        }
    }
}

impl Reservation {
    /// Reserved bytes.
    pub fn bytes(&self) -> u64 {
        self.permit.num_permits() as u64 * KIB
    }

    /// Gives back everything above `bytes` (never grows).
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = to_kib(bytes) as usize;
        let held = self.permit.num_permits();
        if keep < held {
            drop(self.permit.split(held - keep));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn jobs_wait_for_the_budget_and_give_up_after_the_wait() {
        let budget = ImageBudget::new(4 * 1024 * 1024, Duration::from_millis(50));
        let mut big = budget.reserve(3 * 1024 * 1024).await.unwrap();
        assert_eq!(budget.available_bytes(), 1024 * 1024);
        assert!(
            budget.reserve(2 * 1024 * 1024).await.is_err(),
            "does not fit while held"
        );
        big.shrink_to(1024 * 1024);
        assert_eq!(big.bytes(), 1024 * 1024);
        let second = budget.reserve(2 * 1024 * 1024).await.unwrap();
        // More than the whole budget is clamped: it waits until everything else is done.
        assert!(budget.reserve(u64::MAX).await.is_err());
        drop((big, second));
        let alone = budget.reserve(u64::MAX).await.unwrap();
        assert_eq!(alone.bytes(), budget.total_bytes());
    }
}
