//! What editors send: the article write (`ArticleInput`, create and PATCH, with absent vs
//! null as [`Patch`]), the schedule and publish bodies, all typed (`crate::fields`: each field's
//! rule is its type), and `apply_input`, which checks what needs the database and applies the
//! valid write to the working copy (422 with every field's path at once).

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use utoipa::ToSchema;

use crate::articles::body;
use crate::articles::domain::{self, ArticleError, Current, Hero, Snapshot};
use crate::articles::model::{
    self, AUTHORS_MAX, BODY_BLOCKS_MAX, Block, HEADLINE_MAX, STANDFIRST_MAX, TAGS_MAX,
};
use crate::articles::store;
use crate::auth::{Principal, Role};
use crate::db::DbConn;
use crate::error::{ApiError, FieldError};
use crate::fields::{self, Bounded, HttpUrl, Id, InlineHtml, Input, NotBlank, Patch, PlainText, Slug, Time};
use crate::time::now;

/// The hero image in a write.
#[derive(Deserialize, ToSchema, Clone)]
pub struct HeroInput {
    #[schema(
        value_type = String,
        max_length = 100,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub image_id: Id<100>,
    #[serde(default, deserialize_with = "InlineHtml::optional")]
    #[schema(value_type = Option<String>)]
    pub caption: Option<InlineHtml>,
}

/// SEO fields in a write; a null clears a field back to its default.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct SeoInput {
    /// At most 300 characters as sent; empty or null: the headline.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub meta_title: Patch<PlainText<300>>,
    /// At most 1 000 characters as sent; empty or null: the standfirst.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub meta_description: Patch<PlainText<1000>>,
    /// Image id of the share image (at most 100 characters).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub og_image: Patch<PlainText<100>>,
    /// An absolute http(s) URL; null: the default from `MASTHEAD_PUBLIC_URL`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$")]
    pub canonical_url: Patch<HttpUrl>,
}

/// An article write (create or PATCH). On PATCH absent fields stay as they are; `null` clears
/// `dateline`, `kicker`, `hero` and SEO fields. Status changes go through the action endpoints.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct ArticleInput {
    /// 1–300 characters as sent, markup stripped (required on create).
    #[schema(
        value_type = Option<String>,
        example = "Harbour bridge reopens after storm repairs",
        max_length = 300,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub headline: Option<NotBlank<HEADLINE_MAX>>,
    /// Lowercase letters, digits and single hyphens. Derived from the headline when absent on
    /// create; a changed slug keeps the old one as a 301 redirect.
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<Slug>,
    /// Plain text, at most 1 000 characters as sent.
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub standfirst: Option<PlainText<STANDFIRST_MAX>>,
    /// At most 100 characters as sent; empty or null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "PORTSMOUTH", max_length = 100)]
    pub dateline: Patch<PlainText<100>>,
    /// The label over the headline ("Exclusive", "Analysis"): at most 60 characters as sent;
    /// empty or null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "Analysis", max_length = 60)]
    pub kicker: Patch<PlainText<60>>,
    /// RFC 3339: the article is not public in any form before this time (previews excepted);
    /// null lifts the embargo. Embargoing a public article is 409; an embargo after the
    /// scheduled `publish_at` is 422.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-03T00:01:00Z")]
    pub embargo_until: Patch<Time>,
    /// RFC 3339: the article leaves every public surface at this time (`article.unpublished`
    /// once); null cancels it. It must come after the publication time (422).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-31T23:59:00Z")]
    pub unpublish_at: Patch<Time>,
    /// Blocks: `paragraph {text}`, `heading {level 2–4, text}`, `image {image_id, caption?}`,
    /// `quote {text, attribution?}`, `embed {url, provider?}`, `list {ordered, items[]}`,
    /// `divider {}`. A 422 names every bad block by its path (`body[3].level`).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Block>>, max_items = 1000)]
    pub body: Patch<Bounded<IgnoredAny, BODY_BLOCKS_MAX>>,
    /// The blocks of `body`, parsed one by one (`articles::body`) by [`Input::from_json`]:
    /// serde checks only that `body` is null or an array of at most 1 000 items.
    #[serde(skip)]
    pub blocks: Vec<Block>,
    #[serde(default)]
    #[schema(value_type = Option<HeroInput>)]
    pub hero: Patch<HeroInput>,
    /// User ids, in byline order (defaults to the caller on create); at most 20.
    #[schema(value_type = Option<Vec<String>>, max_items = 20)]
    pub authors: Option<Bounded<String, AUTHORS_MAX>>,
    /// Tag ids or slugs; at most 50.
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    pub tags: Option<Bounded<String, TAGS_MAX>>,
    pub comments_enabled: Option<bool>,
    pub seo: Option<SeoInput>,
}

impl Input for ArticleInput {
    /// The fields by serde, and the body's blocks one by one, so that one 422 lists both.
    fn from_json(value: Value) -> Result<Self, Vec<FieldError>> {
        let blocks = match value.get("body") {
            // Anything else (null, not an array, too long) is the `body` field's own business.
            Some(Value::Array(raw)) if raw.len() <= BODY_BLOCKS_MAX => body::parse(raw),
            _ => Ok(Vec::new()),
        };
        match (fields::parse::<ArticleInput>(value), blocks) {
            (Ok(input), Ok(blocks)) => Ok(ArticleInput { blocks, ..input }),
            (Ok(_), Err(errors)) | (Err(errors), Ok(_)) => Err(errors),
            (Err(mut errors), Err(block_errors)) => {
                errors.extend(block_errors);
                Err(errors)
            }
        }
    }
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

/// Applies a parsed write to the working copy: the rules that need the database (tags and
/// authors exist, the slug is free) and the article's times; 422 with every invalid field at once.
pub fn apply_input(
    conn: &mut DbConn,
    input: ArticleInput,
    s: &mut Snapshot,
    principal: &Principal,
    creating: bool,
    article_id: Option<&str>,
    current: Option<&Current>,
) -> Result<(), ArticleError> {
    let mut errors: Vec<FieldError> = Vec::new();
    match input.headline {
        Some(NotBlank(h)) => s.headline = h,
        None if creating => errors.push(FieldError::new("headline", "is required")),
        None => {}
    }
    if let Some(PlainText(sf)) = input.standfirst {
        s.standfirst = sf;
    }
    if let Some(d) = input.dateline.change() {
        s.dateline = d.and_then(PlainText::non_empty);
    }
    if let Some(k) = input.kicker.change() {
        s.kicker = k.and_then(PlainText::non_empty);
    }
    if let Some(u) = input.unpublish_at.change() {
        s.unpublish_at = u.map(|Time(t)| t);
    }
    if !input.body.is_absent() {
        // Null clears the body, as does an empty array.
        s.body = input.blocks;
    }
    if let Some(hero) = input.hero.change() {
        s.hero = hero.map(|h| Hero {
            image_id: h.image_id.0,
            caption: h.caption.map(|c| c.0),
        });
    }
    if let Some(c) = input.comments_enabled {
        s.comments_enabled = c;
    }
    if let Some(seo) = input.seo {
        if let Some(t) = seo.meta_title.change() {
            s.seo.meta_title = t.and_then(PlainText::non_empty);
        }
        if let Some(d) = seo.meta_description.change() {
            s.seo.meta_description = d.and_then(PlainText::non_empty);
        }
        if let Some(i) = seo.og_image.change() {
            s.seo.og_image = i.and_then(PlainText::non_empty);
        }
        if let Some(u) = seo.canonical_url.change() {
            s.seo.canonical_url = u.map(|HttpUrl(u)| u);
        }
    }
    let tags = match input.tags {
        Some(Bounded(refs)) => match store::resolve_tags(conn, &refs) {
            Ok(ids) => Some(ids),
            Err(ArticleError::Invalid(e)) => {
                errors.extend(e);
                None
            }
            Err(other) => return Err(other),
        },
        None => None,
    };
    if let Some(Bounded(authors)) = input.authors {
        let mut ids: Vec<String> = Vec::new();
        for a in authors {
            if !ids.contains(&a) {
                ids.push(a);
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
            Err(ArticleError::Invalid(e)) => errors.extend(e),
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(ArticleError::Invalid(errors));
    }
    if let Some(until) = input.embargo_until.change() {
        let until = until.map(|Time(t)| t);
        match current {
            Some(current) => domain::embargo(s, current, until, now())?,
            None => s.embargo_until = until,
        }
    }
    domain::check_times(s)?;
    if let Some(tags) = tags {
        s.tags = tags;
    }
    match input.slug {
        Some(Slug(slug)) => {
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
    pub publish_at: Time,
}

impl crate::fields::Input for ScheduleInput {}

/// Options of a publish (the body may be absent or `{}`).
#[derive(Deserialize, ToSchema, Default)]
pub struct PublishInput {
    /// RFC 3339, in the past: the public date of an archived or imported article (editors and
    /// admins). The article sorts by it in lists and its canonical URL uses its date.
    #[schema(value_type = Option<String>, format = DateTime, example = "2019-05-01T08:00:00Z")]
    pub published_at: Option<Time>,
}

impl PublishInput {
    /// The optional JSON body of a publish: none or `{}` publishes now.
    pub fn from_body(body: &[u8]) -> Result<PublishInput, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(PublishInput::default());
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("Malformed JSON: {e}")))?;
        fields::parse(value).map_err(ApiError::validation)
    }
}
