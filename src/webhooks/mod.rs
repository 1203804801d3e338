//! Webhooks (PRODUCT.md §7): admin management and delivery log (`http`), the rules of targets,
//! secrets, signatures and retries (`model`), their tables (`store`), and the delivery worker
//! that runs inside `masthead serve` (`worker`). docs/webhooks.md is the integrator's guide.

pub mod http;
pub mod model;
pub mod store;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Wakes the worker of this process before its next poll (a ping, a redelivery, a delivery
/// that finished and may unblock the next one about the same subject). A wake-up given while
/// the worker is busy is kept for its next wait, so none is lost.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Waits for a wake-up, at most `max`.
    pub async fn wait(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.0.notified()).await;
    }
}
