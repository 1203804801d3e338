//! The memory budget of image work (`MASTHEAD_IMAGE_MEMORY_BUDGET`): a semaphore whose permits
//! are kibibytes. Every decode (upload checks and renditions) first takes as many permits as
//! its estimated peak memory, waits in line (first come, first served) while the budget is
//! spent, and gives up after `MASTHEAD_IMAGE_QUEUE_TIMEOUT_SECS` so the client gets a 503 with
//! `Retry-After` instead of the server running out of memory. A job may take a conservative
//! estimate and hand back what it does not need once the image's header is read
//! ([`Reservation::shrink_to`]).
//!
//! When the last reservation of a burst is given back, the allocator is asked to return freed
//! memory to the system (glibc's `malloc_trim`): glibc keeps what a burst of decodes freed in
//! its per-thread arenas, so resident memory otherwise stayed at the burst's peak for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Always `Some` until dropped.
    permit: Option<OwnedSemaphorePermit>,
    semaphore: Arc<Semaphore>,
    total_kib: u32,
}

/// A trim is under way (one at a time is enough).
static TRIMMING: AtomicBool = AtomicBool::new(false);

impl Drop for Reservation {
    fn drop(&mut self) {
        drop(self.permit.take());
        if self.semaphore.available_permits() == self.total_kib as usize {
            return_freed_memory();
        }
    }
}

/// Asks glibc to give the memory image work freed back to the system, on a thread of its own
/// (a trim walks every arena and may take milliseconds). Other allocators return memory on
/// their own; nothing to do there.
#[cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(
        unsafe_code,
        reason = "malloc_trim is a C function; it only releases free memory"
    )
)]
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if !TRIMMING.swap(true, Ordering::AcqRel) {
        let spawned = std::thread::Builder::new()
            .name("masthead-malloc-trim".into())
            .spawn(|| {
                // SAFETY: malloc_trim only releases free memory; it has no preconditions.
                unsafe { libc::malloc_trim(0) };
                TRIMMING.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            TRIMMING.store(false, Ordering::Release);
        }
    }
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
            Ok(Ok(permit)) => Ok(Reservation {
                permit: Some(permit),
                semaphore: self.semaphore.clone(),
                total_kib: self.total_kib,
            }),
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
        self.permit.as_ref().map_or(0, |p| p.num_permits() as u64 * KIB)
    }

    /// Gives back everything above `bytes` (never grows).
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = to_kib(bytes) as usize;
        if let Some(permit) = self.permit.as_mut() {
            let held = permit.num_permits();
            if keep < held {
                drop(permit.split(held - keep));
            }
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
