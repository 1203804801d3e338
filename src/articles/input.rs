//! What editors send: the article write (`ArticleInput`, create and PATCH, with absent vs
//! null), the schedule body, and `apply_input`, which checks every field at once (422 with
//! each field's path) and applies the valid write to the working copy.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::articles::domain::{self, ArticleError, Current, Hero, Snapshot};
use crate::articles::model::{self, Block, Errors};
use crate::articles::store;
use crate::auth::{Principal, Role};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::time::{naive, now};

/// Distinguishes an absent field (None) from an explicit null (Some(Null)).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The hero image in a write.
#[derive(Deserialize, ToSchema)]
pub struct HeroInput {
    #[schema(
        max_length = 100,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub image_id: String,
    pub caption: Option<String>,
}

/// SEO fields in a write; a null clears a field back to its default.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct SeoInput {
    /// At most 300 characters as sent; empty or null: the headline.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub meta_title: Option<Value>,
    /// At most 1 000 characters as sent; empty or null: the standfirst.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub meta_description: Option<Value>,
    /// Image id of the share image (at most 100 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub og_image: Option<Value>,
    /// An absolute http(s) URL; null: the default from `MASTHEAD_PUBLIC_URL`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$")]
    pub canonical_url: Option<Value>,
}

/// An article write (create or PATCH). On PATCH absent fields stay as they are; `null` clears
/// `dateline`, `kicker`, `hero` and SEO fields. Status changes go through the action endpoints.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct ArticleInput {
    /// 1–300 characters as sent, markup stripped (required on create).
    #[schema(
        example = "Harbour bridge reopens after storm repairs",
        max_length = 300,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub headline: Option<String>,
    /// Lowercase letters, digits and single hyphens. Derived from the headline when absent on
    /// create; a changed slug keeps the old one as a 301 redirect.
    #[schema(max_length = 200, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// Plain text, at most 1 000 characters as sent.
    #[schema(max_length = 1000)]
    pub standfirst: Option<String>,
    /// At most 100 characters as sent; empty or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "PORTSMOUTH", max_length = 100)]
    pub dateline: Option<Value>,
    /// The label over the headline ("Exclusive", "Analysis"): at most 60 characters as sent;
    /// empty or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Analysis", max_length = 60)]
    pub kicker: Option<Value>,
    /// RFC 3339: the article is not public in any form before this time (previews excepted);
    /// null lifts the embargo. Embargoing a public article is 409; an embargo after the
    /// scheduled `publish_at` is 422.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-03T00:01:00Z")]
    pub embargo_until: Option<Value>,
    /// RFC 3339: the article leaves every public surface at this time (`article.unpublished`
    /// once); null cancels it. It must come after the publication time (422).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-31T23:59:00Z")]
    pub unpublish_at: Option<Value>,
    /// Blocks: `paragraph {text}`, `heading {level 2–4, text}`, `image {image_id, caption?}`,
    /// `quote {text, attribution?}`, `embed {url, provider?}`, `list {ordered, items[]}`,
    /// `divider {}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Block>>, max_items = 1000)]
    pub body: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<HeroInput>)]
    pub hero: Option<Value>,
    /// User ids, in byline order (defaults to the caller on create); at most 20.
    #[schema(max_items = 20)]
    pub authors: Option<Vec<String>>,
    /// Tag ids or slugs; at most 50.
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    pub comments_enabled: Option<bool>,
    pub seo: Option<SeoInput>,
}

/// The body of a create: an [`ArticleInput`] whose `headline` is required (a create without one
/// is 422). Only the spec uses this type; the handler reads an `ArticleInput`.
pub struct NewArticle;

impl utoipa::PartialSchema for NewArticle {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Schema, Type};
        use utoipa::openapi::{RefOr, schema::SchemaType};
        let mut schema = <ArticleInput as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.description = Some(
                "A new article: `headline` is required; everything else as in `ArticleInput`.".to_owned(),
            );
            if let Some(RefOr::T(Schema::Object(headline))) = object.properties.get_mut("headline") {
                headline.schema_type = SchemaType::Type(Type::String);
            }
            object.required.insert(0, "headline".to_owned());
        }
        schema
    }
}

impl ToSchema for NewArticle {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <ArticleInput as ToSchema>::schemas(schemas);
    }
}

/// An RFC 3339 time or null (which clears it).
fn nullable_time(value: &Value, field: &str, errors: &mut Errors) -> Option<Option<NaiveDateTime>> {
    match value {
        Value::Null => Some(None),
        Value::String(raw) => match parse_time(raw) {
            Some(t) => Some(Some(t)),
            None => {
                errors.push(
                    field,
                    "must be an RFC 3339 time such as 2026-12-03T00:01:00Z, or null",
                );
                None
            }
        },
        _ => {
            errors.push(field, "must be an RFC 3339 time or null");
            None
        }
    }
}

fn nullable_text(value: &Value, field: &str, max: usize, errors: &mut Errors) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => {
            let text = model::plain_text(s).trim().to_owned();
            // The limit counts the text as sent, like the spec's maxLength.
            if s.chars().count() > max {
                errors.push(field, format!("must be at most {max} characters"));
                None
            } else if text.is_empty() {
                Some(None)
            } else {
                Some(Some(text))
            }
        }
        _ => {
            errors.push(field, "must be a string or null");
            None
        }
    }
}

fn parse_hero(value: &Value, errors: &mut Errors) -> Option<Option<Hero>> {
    match value {
        Value::Null => Some(None),
        Value::Object(obj) => {
            let image_id = match obj.get("image_id") {
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 100 => {
                    Some(s.trim().to_owned())
                }
                _ => {
                    errors.push("hero.image_id", "is required: an image id");
                    None
                }
            };
            let caption = match obj.get("caption") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(model::sanitize_inline(s)).filter(|c| !c.is_empty()),
                Some(_) => {
                    errors.push("hero.caption", "must be a string");
                    None
                }
            };
            image_id.map(|image_id| Some(Hero { image_id, caption }))
        }
        _ => {
            errors.push("hero", "must be an object {image_id, caption?} or null");
            None
        }
    }
}

/// Applies a validated write to the working copy; 422 with every invalid field at once.
pub fn apply_input(
    conn: &mut DbConn,
    input: ArticleInput,
    s: &mut Snapshot,
    principal: &Principal,
    creating: bool,
    article_id: Option<&str>,
    current: Option<&Current>,
) -> Result<(), ArticleError> {
    let mut errors = Errors::default();
    match &input.headline {
        Some(h) => {
            if let Some(h) = model::headline(h, &mut errors) {
                s.headline = h;
            }
        }
        None if creating => errors.push("headline", "is required"),
        None => {}
    }
    if let Some(sf) = &input.standfirst
        && let Some(sf) = model::standfirst(sf, &mut errors)
    {
        s.standfirst = sf;
    }
    if let Some(d) = &input.dateline
        && let Some(d) = nullable_text(d, "dateline", 100, &mut errors)
    {
        s.dateline = d;
    }
    if let Some(k) = &input.kicker
        && let Some(k) = nullable_text(k, "kicker", 60, &mut errors)
    {
        s.kicker = k;
    }
    let embargo = input
        .embargo_until
        .as_ref()
        .and_then(|v| nullable_time(v, "embargo_until", &mut errors));
    if let Some(u) = &input.unpublish_at
        && let Some(u) = nullable_time(u, "unpublish_at", &mut errors)
    {
        s.unpublish_at = u;
    }
    if let Some(body) = &input.body {
        s.body = if body.is_null() {
            Vec::new()
        } else {
            model::parse_body(body, &mut errors)
        };
    }
    if let Some(hero) = &input.hero
        && let Some(hero) = parse_hero(hero, &mut errors)
    {
        s.hero = hero;
    }
    let slug = input
        .slug
        .as_deref()
        .and_then(|raw| model::parse_slug(raw, "slug", &mut errors));
    if let Some(c) = input.comments_enabled {
        s.comments_enabled = c;
    }
    if let Some(seo) = &input.seo {
        let fields: [(&Option<Value>, &str, usize, &mut Option<String>); 4] = [
            (&seo.meta_title, "seo.meta_title", 300, &mut s.seo.meta_title),
            (
                &seo.meta_description,
                "seo.meta_description",
                1000,
                &mut s.seo.meta_description,
            ),
            (&seo.og_image, "seo.og_image", 100, &mut s.seo.og_image),
            (
                &seo.canonical_url,
                "seo.canonical_url",
                2000,
                &mut s.seo.canonical_url,
            ),
        ];
        for (value, field, max, target) in fields {
            // An empty string is not a URL (null restores the default).
            if field == "seo.canonical_url"
                && let Some(Value::String(u)) = value
                && let Err(why) = model::check_http_url(u)
            {
                errors.push(field, why);
                continue;
            }
            if let Some(v) = value
                && let Some(v) = nullable_text(v, field, max, &mut errors)
            {
                if field == "seo.canonical_url"
                    && let Some(u) = &v
                    && let Err(why) = model::check_http_url(u)
                {
                    errors.push(field, why);
                    continue;
                }
                *target = v;
            }
        }
    }
    let tags = match &input.tags {
        Some(refs) if refs.len() > model::TAGS_MAX => {
            errors.push(
                "tags",
                format!("must list at most {} tags, not {}", model::TAGS_MAX, refs.len()),
            );
            None
        }
        Some(refs) => match store::resolve_tags(conn, refs) {
            Ok(ids) => Some(ids),
            Err(ArticleError::Invalid(e)) => {
                errors.0.extend(e);
                None
            }
            Err(other) => return Err(other),
        },
        None => None,
    };
    if let Some(authors) = input.authors.as_ref().filter(|a| a.len() > model::AUTHORS_MAX) {
        errors.push(
            "authors",
            format!(
                "must list at most {} authors, not {}",
                model::AUTHORS_MAX,
                authors.len()
            ),
        );
    } else if let Some(authors) = &input.authors {
        let mut ids: Vec<String> = Vec::new();
        for a in authors {
            if !ids.contains(a) {
                ids.push(a.clone());
            }
        }
        match store::check_authors(conn, &ids) {
            Ok(()) => {
                // Below editor, you cannot write yourself off your own article.
                if !principal.has(Role::Editor)
                    && let Some(me) = &principal.user_id
                    && !ids.contains(me)
                {
                    ids.insert(0, me.clone());
                }
                s.authors = ids;
            }
            Err(ArticleError::Invalid(e)) => errors.0.extend(e),
            Err(other) => return Err(other),
        }
    }
    if !errors.0.is_empty() {
        return Err(ArticleError::Invalid(errors.0));
    }
    if let Some(until) = embargo {
        match current {
            Some(current) => domain::embargo(s, current, until, now())?,
            None => s.embargo_until = until,
        }
    }
    domain::check_times(s)?;
    if let Some(tags) = tags {
        s.tags = tags;
    }
    match slug {
        Some(slug) => {
            if store::slug_in_use(conn, &slug, article_id)? {
                return Err(ArticleError::SlugTaken);
            }
            s.slug = slug;
        }
        None if creating => s.slug = store::unique_slug(conn, &model::slugify(&s.headline), None)?,
        None => {}
    }
    Ok(())
}

/// When to publish.
#[derive(Deserialize, ToSchema)]
pub struct ScheduleInput {
    /// RFC 3339 time; the article is public from this instant (a past time publishes at once).
    #[schema(value_type = String, format = DateTime, required = true, example = "2026-12-01T06:00:00Z")]
    pub publish_at: Option<String>,
}

impl ScheduleInput {
    /// The time to publish at: required, RFC 3339.
    pub fn at(&self) -> Result<NaiveDateTime, ArticleError> {
        let raw = self
            .publish_at
            .as_deref()
            .ok_or_else(|| ArticleError::invalid("publish_at", "is required (RFC 3339)"))?;
        DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| naive(t.with_timezone(&Utc)))
            .map_err(|_| {
                ArticleError::invalid(
                    "publish_at",
                    "must be an RFC 3339 time such as 2026-12-01T06:00:00Z",
                )
            })
    }
}

/// Options of a publish (the body may be absent or `{}`).
#[derive(Deserialize, ToSchema, Default)]
pub struct PublishInput {
    /// RFC 3339, in the past: the public date of an archived or imported article (editors and
    /// admins). The article sorts by it in lists and its canonical URL uses its date.
    #[schema(value_type = Option<String>, format = DateTime, example = "2019-05-01T08:00:00Z")]
    pub published_at: Option<String>,
}

impl PublishInput {
    /// The optional JSON body of a publish: none or `{}` publishes now.
    pub fn from_body(body: &[u8]) -> Result<PublishInput, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(PublishInput::default());
        }
        serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::invalid("body", e.to_string())
            } else {
                ApiError::BadRequest(format!("Malformed JSON: {e}"))
            }
        })
    }

    /// The backdated publication time, if one was given.
    pub fn published_at(&self) -> Result<Option<NaiveDateTime>, ApiError> {
        self.published_at
            .as_deref()
            .map(|raw| {
                parse_time(raw).ok_or_else(|| {
                    ApiError::invalid(
                        "published_at",
                        "must be an RFC 3339 time such as 2019-05-01T08:00:00Z",
                    )
                })
            })
            .transpose()
    }
}

/// An RFC 3339 time as stored (UTC, no offset).
fn parse_time(raw: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| naive(t.with_timezone(&Utc)))
}
