//! What an article change tells the rest of the system: the §7 events a save caused, each
//! carrying the article as the admin API shows it, and the response-cache keys the change
//! makes stale (recorded together in the save's transaction by `events::record`).

use crate::articles::store::ArticleRow;
use crate::articles::view::{ArticleDto, build_one};
use crate::config::Settings;
use crate::db::{DbConn, StoreError};
use crate::events::{EventType, NewEvent};

/// The outbox entries for events an article's save caused, carrying the article as the admin
/// API shows it and the cache keys its change makes stale.
pub fn article_events(caused: &[EventType], dto: &ArticleDto) -> Result<Vec<NewEvent>, StoreError> {
    let keys = event_keys(caused, dto);
    caused
        .iter()
        .map(|t| NewEvent::new(*t, format!("article:{}", dto.id), dto, keys.clone()))
        .collect()
}

/// The event of an article whose scheduled time has come (`article.published` or
/// `article.unpublished`), carrying
/// the article as the admin API shows it (the scheduler records it).
pub(crate) fn scheduled_events(
    conn: &mut DbConn,
    settings: &Settings,
    row: ArticleRow,
    event: EventType,
) -> Result<Vec<NewEvent>, StoreError> {
    let dto = build_one(conn, settings, row)?;
    article_events(&[event], &dto)
}

/// The keys a save of an article makes stale, as precisely as the save allows: responses
/// showing the article (`article:<id>`), the tag and author lists it may enter
/// (`articles:tag:<slug>`, `articles:author:<id>` of its tags and authors now; lists it leaves
/// carry its `article:<id>`), and, if it is or was public, searches (its words may have
/// changed) and tag pages (their counts). Only a change of what is public at all (published,
/// unpublished) touches every list (`articles`). Drafts and scheduled articles change nothing
/// readers see, but their key moves the cache's next due time.
pub fn event_keys(caused: &[EventType], dto: &ArticleDto) -> Vec<String> {
    let mut keys = vec![format!("article:{}", dto.id)];
    keys.extend(dto.tags.iter().map(|t| format!("articles:tag:{}", t.slug)));
    keys.extend(dto.authors.iter().map(|u| format!("articles:author:{}", u.id)));
    let public_set_changed = caused
        .iter()
        .any(|t| matches!(t, EventType::ArticlePublished | EventType::ArticleUnpublished));
    if public_set_changed {
        keys.push("articles".to_owned());
        // The transparency page lists the corrections of public articles only.
        keys.push("corrections".to_owned());
    }
    if public_set_changed || caused.contains(&EventType::ArticleUpdated) {
        keys.push("search".to_owned());
        keys.push("tags".to_owned());
    }
    keys
}

/// The `article.deleted` event: the article is gone, so every list, search and tag count that
/// may have shown it is stale.
pub fn deleted_events(gone: &ArticleRow) -> Result<Vec<NewEvent>, StoreError> {
    let data = serde_json::json!({"id": gone.id, "slug": gone.slug, "status": gone.status});
    let keys = ["articles", "search", "tags"]
        .into_iter()
        .map(str::to_owned)
        .chain([format!("article:{}", gone.id)])
        .collect();
    Ok(vec![NewEvent::new(
        EventType::ArticleDeleted,
        format!("article:{}", gone.id),
        &data,
        keys,
    )?])
}
