//! The scheduler: an article whose `publish_at` has passed is public from that moment, and one
//! whose `unpublish_at` has passed is gone from that moment (both worked out at read time);
//! this task makes it say so: it marks the article published (or back to draft) and records
//! `article.published` (or `article.unpublished`) once, within `MASTHEAD_SCHEDULER_INTERVAL`,
//! whether or not anyone read it, with any number of instances (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`; SQLite: one writer).

pub mod store;

use store::Due;

use std::sync::Arc;

use crate::config::Settings;
use crate::db::{Db, DbConn, StoreError};
use crate::error::ApiError;
use crate::events::{self, EventType};
use crate::time::now;
use crate::webhooks::Wakeup;

/// Articles handled per transaction.
const BATCH: i64 = 100;

/// Runs until the task is dropped (the server stopping aborts it).
pub async fn run(db: Db, settings: Arc<Settings>, wakeup: Wakeup) {
    loop {
        match fire_due(&db, settings.clone()).await {
            Ok(0) => tokio::time::sleep(settings.scheduler_interval).await,
            // A full batch: there may be more, go again at once.
            Ok(n) if n as i64 >= BATCH => wakeup.wake(),
            Ok(_) => {
                wakeup.wake();
                tokio::time::sleep(settings.scheduler_interval).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "scheduler round failed; trying again next interval");
                tokio::time::sleep(settings.scheduler_interval).await;
            }
        }
    }
}

/// One round: every due scheduled article becomes published, with its event, and every image
/// whose rights expired is announced. Returns how many events it recorded.
pub async fn fire_due(db: &Db, settings: Arc<Settings>) -> Result<usize, ApiError> {
    db.write(move |conn| {
        let published = fire_due_in(conn, &settings, None)?;
        // Images whose rights expired: `image.updated` once per expiry, so webhooks and CDN
        // purges follow a withdrawal by the clock too.
        let withdrawn = crate::images::rights::record_due_withdrawals(conn, &settings, now())?;
        Ok(published + withdrawn)
    })
    .await
}

/// Inside a write transaction: publishes the due scheduled articles and unpublishes those whose
/// `unpublish_at` has passed (or only `only`, if it is due), recording `article.published` or
/// `article.unpublished` once for each. Article saves call it for their article first, so a
/// save just after the due time sees that event before its own.
pub fn fire_due_in(conn: &mut DbConn, settings: &Settings, only: Option<&str>) -> Result<usize, StoreError> {
    let mut fired = 0;
    for (due, event) in [
        (Due::Publish, EventType::ArticlePublished),
        (Due::Unpublish, EventType::ArticleUnpublished),
    ] {
        for id in store::claim_due(conn, due, now(), only, BATCH)? {
            let row = match due {
                Due::Publish => store::mark_published(conn, &id)?,
                Due::Unpublish => store::mark_unpublished(conn, &id)?,
            };
            // A save that set a time already past announced the change itself: no second event.
            let subject = format!("article:{id}");
            if store::last_transition(conn, &subject)?.as_deref() == Some(event.as_str()) {
                continue;
            }
            let caused = crate::articles::changes::scheduled_events(conn, settings, row, event)?;
            events::record(conn, caused)?;
            tracing::info!(article = %id, event = event.as_str(), "scheduled change of an article");
            fired += 1;
        }
    }
    Ok(fired)
}
