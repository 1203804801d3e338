//! Events: every change a reader or an integrator could notice (PRODUCT.md §7), recorded in the
//! `events` outbox table inside the same transaction as the change, so an event exists exactly
//! when its change was committed. Response caches and webhooks build on this seam.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::events;
use crate::db::{DbConn, StoreError};
use crate::time::{new_id, now};

/// The kinds of events PRODUCT.md §7 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ArticlePublished,
    ArticleUpdated,
    ArticleUnpublished,
    ArticleScheduled,
    ArticleCorrected,
    ArticleDeleted,
    ImageUpdated,
    ImageDeleted,
    CommentCreated,
    CommentApproved,
    TagUpdated,
    TagDeleted,
    SiteUpdated,
    Ping,
}

impl EventType {
    pub const ALL: [EventType; 14] = [
        EventType::ArticlePublished,
        EventType::ArticleUpdated,
        EventType::ArticleUnpublished,
        EventType::ArticleScheduled,
        EventType::ArticleCorrected,
        EventType::ArticleDeleted,
        EventType::ImageUpdated,
        EventType::ImageDeleted,
        EventType::CommentCreated,
        EventType::CommentApproved,
        EventType::TagUpdated,
        EventType::TagDeleted,
        EventType::SiteUpdated,
        EventType::Ping,
    ];

    /// The name on the wire (`article.published`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ArticlePublished => "article.published",
            EventType::ArticleUpdated => "article.updated",
            EventType::ArticleUnpublished => "article.unpublished",
            EventType::ArticleScheduled => "article.scheduled",
            EventType::ArticleCorrected => "article.corrected",
            EventType::ArticleDeleted => "article.deleted",
            EventType::ImageUpdated => "image.updated",
            EventType::ImageDeleted => "image.deleted",
            EventType::CommentCreated => "comment.created",
            EventType::CommentApproved => "comment.approved",
            EventType::TagUpdated => "tag.updated",
            EventType::TagDeleted => "tag.deleted",
            EventType::SiteUpdated => "site.updated",
            EventType::Ping => "ping",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// An event about to be recorded: what happened, to what, what it looks like now, and which
/// cache keys it makes stale.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: EventType,
    /// `<resource>:<id>`, e.g. `article:0193…`.
    pub subject: String,
    pub data: serde_json::Value,
    pub surrogate_keys: Vec<String>,
}

impl NewEvent {
    pub fn new(
        event_type: EventType,
        subject: impl Into<String>,
        data: &impl Serialize,
        surrogate_keys: Vec<String>,
    ) -> Result<Self, StoreError> {
        Ok(NewEvent {
            event_type,
            subject: subject.into(),
            data: serde_json::to_value(data).map_err(StoreError::internal)?,
            surrogate_keys,
        })
    }
}

/// A recorded event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub data: String,
    pub surrogate_keys: String,
    pub created_at: NaiveDateTime,
    pub dispatched_at: Option<NaiveDateTime>,
}

/// Writes events into the outbox. Call it inside the transaction of the change (`Db::write`),
/// so the events roll back with it.
pub fn record(conn: &mut DbConn, new: impl IntoIterator<Item = NewEvent>) -> Result<(), StoreError> {
    let at = now();
    for event in new {
        crate::db::mark_stale(event.surrogate_keys.iter().cloned());
        diesel::insert_into(events::table)
            .values((
                events::id.eq(new_id()),
                events::event_type.eq(event.event_type.as_str()),
                events::subject.eq(&event.subject),
                events::data.eq(event.data.to_string()),
                events::surrogate_keys.eq(event.surrogate_keys.join(" ")),
                events::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Events about one subject, oldest first.
pub fn for_subject(conn: &mut DbConn, subject: &str) -> Result<Vec<EventRow>, StoreError> {
    Ok(events::table
        .filter(events::subject.eq(subject))
        .order(events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::EventType;

    #[test]
    fn every_event_name_parses_back() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("article.exploded"), None);
    }
}
