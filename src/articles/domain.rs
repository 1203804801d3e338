//! The article lifecycle as plain rules: the aggregate's content (`Snapshot`, `Hero`, `Seo`),
//! who may change or publish an article, what each transition (publish, schedule, unpublish,
//! archive, restore) does to the working copy, and `ArticleError`, what they fail with. No SQL
//! and no HTTP here: the store loads and persists what these rules decide inside one
//! transaction, and handlers map `ArticleError` to a problem at the edge.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::articles::model::{Block, Status};
use crate::auth::{Principal, Role};
use crate::db::{Failure, StoreError};
use crate::error::FieldError;
use crate::http::conditional::IfMatch;

/// Everything an article operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("article was not found")]
    NotFound,
    #[error("revision was not found")]
    RevisionNotFound,
    #[error("another article has this slug")]
    SlugTaken,
    /// Publishing before the embargo ends, or embargoing a public article (409).
    #[error("{0}")]
    Embargoed(String),
    /// The client's `If-Match` names another version, or the article changed while saving.
    #[error("{0}")]
    Stale(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// Field-level problems, each named by its path (`body[3].level`).
    #[error("{} fields are invalid", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(StoreError),
}

impl ArticleError {
    pub fn invalid(field: &str, message: &str) -> Self {
        ArticleError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for ArticleError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ArticleError::NotFound,
            other => ArticleError::Store(other),
        }
    }
}

impl Failure for ArticleError {
    fn is_retryable(&self) -> bool {
        matches!(self, ArticleError::Store(e) if e.is_retryable())
    }
}

/// The hero image of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hero {
    pub image_id: String,
    #[serde(default)]
    pub caption: Option<String>,
}

/// SEO fields; None means "derive a default".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seo {
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    pub og_image: Option<String>,
    pub canonical_url: Option<String>,
}

/// Everything an editor can change, as a whole: the working copy of a save and the content of
/// a revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: Option<String>,
    /// Absent from revisions saved before kickers existed.
    #[serde(default)]
    pub kicker: Option<String>,
    pub body: Vec<Block>,
    pub hero: Option<Hero>,
    pub status: Status,
    pub publish_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    /// Not public in any form before this time (PRODUCT.md §10). Absent from older revisions.
    #[serde(default)]
    pub embargo_until: Option<NaiveDateTime>,
    /// Leaves every public surface at this time. Absent from older revisions.
    #[serde(default)]
    pub unpublish_at: Option<NaiveDateTime>,
    pub comments_enabled: bool,
    pub seo: Seo,
    /// User ids, in byline order.
    pub authors: Vec<String>,
    /// Tag ids, in order.
    pub tags: Vec<String>,
}

impl Snapshot {
    /// A new, empty draft by `authors`.
    pub fn draft(authors: Vec<String>) -> Snapshot {
        Snapshot {
            slug: String::new(),
            headline: String::new(),
            standfirst: String::new(),
            dateline: None,
            kicker: None,
            body: Vec::new(),
            hero: None,
            status: Status::Draft,
            publish_at: None,
            published_at: None,
            embargo_until: None,
            unpublish_at: None,
            comments_enabled: true,
            seo: Seo::default(),
            authors,
            tags: Vec::new(),
        }
    }
}

/// What a save needs to know of the article as stored before it: its version tag, its status
/// as readers see it now, and who owns it.
#[derive(Debug, Clone)]
pub struct Current {
    pub etag: String,
    pub status: Status,
    pub created_by: Option<String>,
    /// User ids of its authors.
    pub authors: Vec<String>,
}

impl Current {
    /// Whether `user` wrote or created the article.
    pub fn is_owned_by(&self, user: Option<&str>) -> bool {
        user.is_some_and(|u| self.created_by.as_deref() == Some(u) || self.authors.iter().any(|a| a == u))
    }

    /// The client's `If-Match`, when sent, must name this version (strong comparison).
    pub fn check(&self, if_match: Option<&IfMatch>) -> Result<(), ArticleError> {
        match if_match {
            Some(tag) if !tag.holds_for(&self.etag) => Err(ArticleError::Stale(
                "The article changed since you loaded it (If-Match does not match its ETag); reload and retry",
            )),
            _ => Ok(()),
        }
    }
}

/// Who may edit (and delete): editors any article; others their own; contributors only while
/// it is a draft.
pub fn may_edit(principal: &Principal, current: &Current) -> Result<(), ArticleError> {
    if principal.has(Role::Editor) {
        return Ok(());
    }
    if !current.is_owned_by(principal.user_id.as_deref()) {
        return Err(ArticleError::Forbidden(
            "You may only change your own articles".into(),
        ));
    }
    if principal.role == Role::Contributor && current.status != Status::Draft {
        return Err(ArticleError::Forbidden(
            "Contributors may only change their own drafts".into(),
        ));
    }
    Ok(())
}

/// Who may publish, schedule, unpublish, archive: authors their own, editors any.
pub fn may_publish(principal: &Principal, current: &Current) -> Result<(), ArticleError> {
    if !principal.has(Role::Author) {
        return Err(ArticleError::Forbidden(format!(
            "This needs the author role or higher; you are {}",
            principal.role.as_str()
        )));
    }
    if principal.has(Role::Editor) || current.is_owned_by(principal.user_id.as_deref()) {
        Ok(())
    } else {
        Err(ArticleError::Forbidden(
            "Authors may only publish their own articles".into(),
        ))
    }
}

/// Who may make, list and revoke preview links of an article: editors any, others their own.
pub fn may_preview(principal: &Principal, current: &Current) -> Result<(), ArticleError> {
    if principal.has(Role::Editor) || current.is_owned_by(principal.user_id.as_deref()) {
        Ok(())
    } else {
        Err(ArticleError::Forbidden(
            "You may only preview your own articles".into(),
        ))
    }
}

fn require_body(s: &Snapshot) -> Result<(), ArticleError> {
    if s.body.is_empty() {
        Err(ArticleError::invalid(
            "body",
            "an article needs a body before it can be published",
        ))
    } else {
        Ok(())
    }
}

/// Publish now. A republished article keeps its first publication time; one taken down and
/// published again gets a new one. An empty body is invalid.
///
/// `backdate` sets the public date in the past (archives, imports): editors and admins only
/// (403 otherwise); a future one is invalid (that is what scheduling is for). Publishing before
/// the embargo ends is a conflict (409), whatever the date.
pub fn publish(
    s: &mut Snapshot,
    current: &Current,
    principal: &Principal,
    backdate: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> Result<(), ArticleError> {
    if let Some(end) = s.embargo_until.filter(|end| *end > at) {
        return Err(ArticleError::Embargoed(format!(
            "The article is embargoed until {}; schedule it for then or later",
            end.and_utc().to_rfc3339()
        )));
    }
    require_body(s)?;
    match backdate {
        Some(date) => {
            if !principal.has(Role::Editor) {
                return Err(ArticleError::Forbidden(
                    "Only editors and admins may set the publication date".into(),
                ));
            }
            if date > at {
                return Err(ArticleError::invalid(
                    "published_at",
                    "is in the future; schedule the article for that time instead",
                ));
            }
            s.published_at = Some(date);
        }
        None if current.status != Status::Published || s.published_at.is_none() => {
            s.published_at = Some(at);
        }
        None => {}
    }
    s.status = Status::Published;
    s.publish_at = None;
    check_times(s)
}

/// Public from `at` (worked out at read time; a past time publishes at once), never before
/// an embargo still in force (`now` is before its end) ends.
pub fn schedule(s: &mut Snapshot, at: NaiveDateTime, now: NaiveDateTime) -> Result<(), ArticleError> {
    require_body(s)?;
    if let Some(end) = s.embargo_until.filter(|end| at < *end && now < *end) {
        return Err(ArticleError::invalid(
            "publish_at",
            &format!(
                "is before the embargo ends ({}); schedule at or after it",
                end.and_utc().to_rfc3339()
            ),
        ));
    }
    s.status = Status::Scheduled;
    s.publish_at = Some(at);
    s.published_at = Some(at);
    check_times(s)
}

/// Sets the embargo (`None` lifts it). A public article cannot be embargoed (409: unpublish it
/// first); a scheduled one only until its publication time (422).
pub fn embargo(
    s: &mut Snapshot,
    current: &Current,
    until: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> Result<(), ArticleError> {
    if let Some(end) = until.filter(|end| *end > at) {
        if current.status == Status::Published {
            return Err(ArticleError::Embargoed(
                "The article is public; unpublish it before embargoing it".into(),
            ));
        }
        if let Some(publish_at) = s.publish_at.filter(|p| *p < end && s.status == Status::Scheduled) {
            return Err(ArticleError::invalid(
                "embargo_until",
                &format!(
                    "is after the scheduled publish_at ({}); reschedule first",
                    publish_at.and_utc().to_rfc3339()
                ),
            ));
        }
    }
    s.embargo_until = until;
    Ok(())
}

/// Times that must agree whatever changed them: a scheduled unpublish comes after the
/// publication (422 on `unpublish_at`).
pub fn check_times(s: &Snapshot) -> Result<(), ArticleError> {
    let from = s.publish_at.or(s.published_at);
    match (s.unpublish_at, from) {
        (Some(until), Some(from)) if until <= from => Err(ArticleError::invalid(
            "unpublish_at",
            "must be after the publication time (publish_at)",
        )),
        _ => Ok(()),
    }
}

/// The status readers see at `at`, worked out from what is stored: a scheduled article whose
/// time has come is published; a public one whose `unpublish_at` has passed is a draft again
/// (the scheduler then stores that, once); one still under embargo is not public yet.
pub fn effective_status(
    stored: Status,
    published_at: Option<NaiveDateTime>,
    embargo_until: Option<NaiveDateTime>,
    unpublish_at: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> Status {
    let status = match stored {
        Status::Scheduled if published_at.is_some_and(|p| p <= at) => Status::Published,
        other => other,
    };
    if status != Status::Published {
        return status;
    }
    if unpublish_at.is_some_and(|u| u <= at) {
        Status::Draft
    } else if embargo_until.is_some_and(|e| e > at) {
        Status::Scheduled
    } else {
        Status::Published
    }
}

/// Back to draft: no longer public, no publication time, no scheduled unpublish.
pub fn unpublish(s: &mut Snapshot) {
    s.status = Status::Draft;
    s.publish_at = None;
    s.published_at = None;
    s.unpublish_at = None;
}

/// Out of the public API, kept.
pub fn archive(s: &mut Snapshot) {
    s.status = Status::Archived;
    s.publish_at = None;
}

/// Takes a revision's content (headline, standfirst, dateline, kicker, body, hero, SEO,
/// comments switch) as the working copy; status and slug stay. `tags` and `authors` are the
/// revision's, when they all still exist (the caller checked): otherwise the current ones stay,
/// so a tag or author deleted since never fails the restore.
pub fn restore(s: &mut Snapshot, old: Snapshot, tags: Option<Vec<String>>, authors: Option<Vec<String>>) {
    s.headline = old.headline;
    s.standfirst = old.standfirst;
    s.dateline = old.dateline;
    s.kicker = old.kicker;
    s.body = old.body;
    s.hero = old.hero;
    s.seo = old.seo;
    s.comments_enabled = old.comments_enabled;
    if let Some(tags) = tags {
        s.tags = tags;
    }
    if let Some(authors) = authors {
        s.authors = authors;
    }
}

/// An article as readers see it at one moment: its effective status (a scheduled article whose
/// time has come counts as published) and when it is (or was) due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub status: Status,
    pub publish_at: Option<chrono::NaiveDateTime>,
}

/// The events a save of an article causes, from what readers saw before and see after
/// (PRODUCT.md §7): going public is `article.published`, leaving is `article.unpublished`, any
/// save while public is `article.updated`, and a new or moved future time is
/// `article.scheduled`. Saves of drafts nobody can see cause none.
pub fn save_events(before: Visibility, after: Visibility) -> Vec<crate::events::EventType> {
    use crate::events::EventType;
    let was_public = before.status == Status::Published;
    let is_public = after.status == Status::Published;
    let mut events = Vec::new();
    match (was_public, is_public) {
        (false, true) => events.push(EventType::ArticlePublished),
        (true, false) => events.push(EventType::ArticleUnpublished),
        (true, true) => events.push(EventType::ArticleUpdated),
        (false, false) => {}
    }
    if after.status == Status::Scheduled
        && (before.status != Status::Scheduled || before.publish_at != after.publish_at)
    {
        events.push(EventType::ArticleScheduled);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, id: &str) -> Principal {
        Principal {
            user_id: Some(id.to_owned()),
            api_key_id: None,
            role,
        }
    }

    fn current(status: Status, owner: &str) -> Current {
        Current {
            etag: "\"v1\"".into(),
            status,
            created_by: Some(owner.into()),
            authors: vec![owner.into()],
        }
    }

    #[test]
    fn contributors_edit_only_their_own_drafts() {
        let me = principal(Role::Contributor, "me");
        assert!(may_edit(&me, &current(Status::Draft, "me")).is_ok());
        assert!(may_edit(&me, &current(Status::Published, "me")).is_err());
        assert!(may_edit(&me, &current(Status::Draft, "other")).is_err());
        assert!(
            may_edit(
                &principal(Role::Editor, "ed"),
                &current(Status::Published, "other")
            )
            .is_ok()
        );
    }

    #[test]
    fn authors_publish_their_own_and_editors_any() {
        assert!(may_publish(&principal(Role::Author, "me"), &current(Status::Draft, "me")).is_ok());
        assert!(may_publish(&principal(Role::Author, "me"), &current(Status::Draft, "x")).is_err());
        assert!(may_publish(&principal(Role::Contributor, "me"), &current(Status::Draft, "me")).is_err());
        assert!(may_publish(&principal(Role::Editor, "ed"), &current(Status::Draft, "x")).is_ok());
    }

    #[test]
    fn publishing_needs_a_body_and_keeps_the_first_publication_time() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let me = principal(Role::Author, "me");
        let mut s = Snapshot::draft(vec![]);
        assert!(matches!(
            publish(&mut s, &current(Status::Draft, "me"), &me, None, at),
            Err(ArticleError::Invalid(_))
        ));
        s.body = vec![Block::Divider {}];
        publish(&mut s, &current(Status::Draft, "me"), &me, None, at).unwrap();
        let later = at + chrono::Duration::hours(1);
        publish(&mut s, &current(Status::Published, "me"), &me, None, later).unwrap();
        assert_eq!(s.published_at, Some(at));
        unpublish(&mut s);
        assert_eq!((s.status, s.published_at), (Status::Draft, None));
    }

    #[test]
    fn a_weak_or_other_if_match_is_stale() {
        let c = current(Status::Draft, "me");
        assert!(c.check(None).is_ok());
        let req = |v: &str| {
            actix_web::test::TestRequest::default()
                .insert_header(("If-Match", v))
                .to_http_request()
        };
        assert!(c.check(IfMatch::of(&req("\"v1\"")).as_ref()).is_ok());
        assert!(c.check(IfMatch::of(&req("W/\"v1\"")).as_ref()).is_err());
        assert!(c.check(IfMatch::of(&req("\"v0\"")).as_ref()).is_err());
    }

    #[test]
    fn saves_cause_the_events_readers_would_notice() {
        use crate::events::EventType as E;
        let at = |status| Visibility {
            status,
            publish_at: None,
        };
        let later = chrono::DateTime::from_timestamp(2_000_000_000, 0).map(|t| t.naive_utc());
        let scheduled = Visibility {
            status: Status::Scheduled,
            publish_at: later,
        };
        assert_eq!(save_events(at(Status::Draft), at(Status::Draft)), vec![]);
        assert_eq!(
            save_events(at(Status::Draft), at(Status::Published)),
            vec![E::ArticlePublished]
        );
        assert_eq!(
            save_events(at(Status::Published), at(Status::Published)),
            vec![E::ArticleUpdated]
        );
        assert_eq!(
            save_events(at(Status::Published), at(Status::Draft)),
            vec![E::ArticleUnpublished]
        );
        assert_eq!(
            save_events(at(Status::Published), at(Status::Archived)),
            vec![E::ArticleUnpublished]
        );
        assert_eq!(
            save_events(at(Status::Draft), scheduled),
            vec![E::ArticleScheduled]
        );
        assert_eq!(save_events(scheduled, scheduled), vec![]);
        assert_eq!(
            save_events(at(Status::Published), scheduled),
            vec![E::ArticleUnpublished, E::ArticleScheduled]
        );
    }

    #[test]
    fn embargoes_block_publishing_and_early_schedules_and_unpublish_follows_publication() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let hour = chrono::Duration::hours(1);
        let ed = principal(Role::Editor, "ed");
        let mut s = Snapshot::draft(vec![]);
        s.body = vec![Block::Divider {}];
        s.embargo_until = Some(at + hour);
        let draft = current(Status::Draft, "ed");
        assert!(matches!(
            publish(&mut s, &draft, &ed, None, at),
            Err(ArticleError::Embargoed(_))
        ));
        assert!(matches!(schedule(&mut s, at, at), Err(ArticleError::Invalid(_))));
        schedule(&mut s, at + hour, at).unwrap();
        // Once the embargo has passed, any time will do.
        schedule(&mut s, at, at + hour * 2).unwrap();
        schedule(&mut s, at + hour, at).unwrap();
        s.unpublish_at = Some(at);
        assert!(check_times(&s).is_err());
        s.unpublish_at = Some(at + hour * 2);
        assert!(check_times(&s).is_ok());
        let public = current(Status::Published, "ed");
        assert!(matches!(
            embargo(&mut s, &public, Some(at + hour), at),
            Err(ArticleError::Embargoed(_))
        ));
        let mut with_body = Snapshot::draft(vec![]);
        with_body.body = vec![Block::Divider {}];
        assert!(matches!(
            publish(
                &mut with_body,
                &draft,
                &principal(Role::Author, "ed"),
                Some(at),
                at
            ),
            Err(ArticleError::Forbidden(_))
        ));
    }

    #[test]
    fn readers_see_the_status_the_clock_gives() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let (before, after) = (
            Some(at - chrono::Duration::hours(1)),
            Some(at + chrono::Duration::hours(1)),
        );
        use Status::*;
        assert_eq!(effective_status(Scheduled, before, None, None, at), Published);
        assert_eq!(effective_status(Scheduled, after, None, None, at), Scheduled);
        assert_eq!(effective_status(Published, before, None, before, at), Draft);
        assert_eq!(effective_status(Published, before, None, after, at), Published);
        assert_eq!(effective_status(Published, before, after, None, at), Scheduled);
        assert_eq!(effective_status(Draft, None, None, before, at), Draft);
    }
}
