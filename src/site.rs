//! Site settings (PRODUCT.md §8): `GET /api/v1/site` for front ends (name, description, logo,
//! public URL, locale, social accounts) and admin `PATCH /api/v1/admin/site`. Stored as JSON
//! values in the `site_settings` key/value table.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{AdminRole, Auth};
use crate::config::Settings;
use crate::db::schema::site_settings;
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, FieldError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::caching::{self, CacheInfo, Fresh};
use crate::http::json::Valid;
use crate::state::AppState;
use crate::time::{now, utc};

/// What a front end needs to render the masthead and share links.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Site {
    #[schema(example = "The Harbour Gazette")]
    pub name: String,
    pub description: String,
    /// The logo image, expanded (null when no logo is set).
    #[schema(value_type = Option<crate::images::ImageDto>)]
    pub logo: Option<Value>,
    /// The logo's image id, if set.
    pub logo_image_id: Option<String>,
    /// `MASTHEAD_PUBLIC_URL`.
    pub public_url: String,
    #[schema(example = "en-GB")]
    pub locale: String,
    /// Social accounts by network, e.g. `{"twitter": "@gazette", "facebook": "…"}`.
    #[schema(value_type = Object)]
    pub social: BTreeMap<String, String>,
}

/// Changes to the site settings; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Default, Clone)]
pub struct UpdateSite {
    /// 1–200 characters as sent, not blank (stored trimmed).
    #[schema(
        example = "The Harbour Gazette",
        max_length = 200,
        pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$"
    )]
    pub name: Option<String>,
    /// At most 1 000 characters.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// An image id, or null to remove the logo.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[\s\S]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][\s\S]*$")]
    pub logo_image_id: Option<Value>,
    /// A language tag such as `en` or `en-GB`.
    #[schema(example = "en-GB", pattern = r"^[A-Za-z0-9_-]{1,35}$")]
    pub locale: Option<String>,
    /// Replaces the social accounts (network → handle or URL).
    #[schema(schema_with = social_input_schema)]
    pub social: Option<BTreeMap<String, String>>,
}

impl crate::fields::Input for UpdateSite {}

/// Most social accounts the site lists (422 beyond).
pub const SOCIAL_MAX: usize = 50;

/// `social` in a write: at most 50 entries, network names of 1–50 characters, values of at
/// most 500, or null.
fn social_input_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some(
            "Replaces the social accounts (network → handle or URL): at most 50 of them, \
             network names of 1–50 characters, values of at most 500.",
        ))
        .max_properties(Some(SOCIAL_MAX))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(50)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(500)),
        ))
        .build()
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn load(conn: &mut DbConn) -> Result<(BTreeMap<String, Value>, Option<NaiveDateTime>), StoreError> {
    let rows: Vec<(String, String, NaiveDateTime)> = site_settings::table
        .select((
            site_settings::key,
            site_settings::value,
            site_settings::updated_at,
        ))
        .load(conn)?;
    let latest = rows.iter().map(|r| r.2).max();
    Ok((
        rows.into_iter()
            .filter_map(|(k, v, _)| serde_json::from_str(&v).ok().map(|v| (k, v)))
            .collect(),
        latest,
    ))
}

fn put(conn: &mut DbConn, key: &str, value: &Value) -> Result<(), StoreError> {
    let text = value.to_string();
    let at = now();
    let updated = diesel::update(site_settings::table.find(key))
        .set((site_settings::value.eq(&text), site_settings::updated_at.eq(at)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(site_settings::table)
            .values((
                site_settings::key.eq(key),
                site_settings::value.eq(&text),
                site_settings::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The site settings with defaults filled in.
pub fn read(conn: &mut DbConn, settings: &Settings) -> Result<(Site, Option<NaiveDateTime>), StoreError> {
    let public_url = settings.public_url.as_str();
    let (map, latest) = load(conn)?;
    let logo_image_id = map
        .get("logo_image_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // A logo whose rights expired is withdrawn like any image: null until they are extended
    // (`logo_image_id` still says which image is set).
    let at = crate::time::now();
    let logo = match &logo_image_id {
        Some(id) => crate::images::load_many(conn, std::slice::from_ref(id))?
            .get(id)
            .filter(|row| !row.is_withdrawn(at))
            .and_then(|row| serde_json::to_value(crate::images::to_public(row, settings)).ok()),
        None => None,
    };
    let text = |k: &str, default: &str| map.get(k).and_then(Value::as_str).unwrap_or(default).to_owned();
    let site = Site {
        name: text("name", "Masthead"),
        description: text("description", ""),
        logo,
        logo_image_id,
        public_url: public_url.to_owned(),
        locale: text("locale", "en"),
        social: map
            .get("social")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
    };
    Ok((site, latest))
}

/// Applies validated changes.
pub fn update(conn: &mut DbConn, input: UpdateSite) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    // Limits count the text as sent, like the spec's maxLength; it is stored trimmed.
    let name_too_long = input.name.as_ref().is_some_and(|n| n.chars().count() > 200);
    let name = input.name.map(|n| n.trim().to_owned());
    // Not blank: at least one character that is neither whitespace nor a control character
    // (the spec's pattern says the same).
    let blank = |t: &str| !t.chars().any(|c| !c.is_whitespace() && !c.is_control());
    if name_too_long || name.as_ref().is_some_and(|n| blank(n)) {
        errors.push(FieldError::new("name", "must be 1–200 characters"));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        errors.push(FieldError::new("description", "must be at most 1000 characters"));
    }
    let locale_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 35
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if input.locale.as_deref().is_some_and(|l| !locale_ok(l)) {
        errors.push(FieldError::new(
            "locale",
            "must be a language tag such as en or en-GB",
        ));
    }
    let logo = match &input.logo_image_id {
        None => None,
        Some(Value::Null) => Some(Value::Null),
        Some(Value::String(s)) if !blank(s) && s.chars().count() <= 100 => {
            Some(Value::String(s.trim().to_owned()))
        }
        Some(_) => {
            errors.push(FieldError::new("logo_image_id", "must be an image id or null"));
            None
        }
    };
    if let Some(social) = input.social.as_ref().filter(|s| s.len() > SOCIAL_MAX) {
        errors.push(FieldError::new(
            "social",
            format!("must list at most {SOCIAL_MAX} accounts, not {}", social.len()),
        ));
    } else if let Some(social) = &input.social {
        for (k, v) in social {
            if k.is_empty() || k.chars().count() > 50 || v.chars().count() > 500 {
                errors.push(FieldError::new(
                    format!("social.{k}"),
                    "must be a short network name and value",
                ));
            }
        }
    }
    if let Some(Value::String(id)) = &logo
        && crate::images::load_many(conn, std::slice::from_ref(id))?.is_empty()
    {
        errors.push(FieldError::new("logo_image_id", "no image with this id"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let saved = conn.transaction(|conn| -> Result<(), StoreError> {
        if let Some(name) = name {
            put(conn, "name", &Value::String(name))?;
        }
        if let Some(d) = input.description {
            put(conn, "description", &Value::String(d.trim().to_owned()))?;
        }
        if let Some(l) = input.locale {
            put(conn, "locale", &Value::String(l.trim().to_owned()))?;
        }
        if let Some(logo) = logo {
            put(conn, "logo_image_id", &logo)?;
        }
        if let Some(social) = input.social {
            put(
                conn,
                "social",
                &serde_json::to_value(social).map_err(|e| StoreError::Internal(e.to_string()))?,
            )?;
        }
        Ok(())
    });
    Ok(saved?)
}

/// The site: name, description, logo, public URL, locale and social accounts (cached).
#[utoipa::path(
    tag = "public",
    params(("If-None-Match" = Option<String>, Header, description = "A previous ETag; 304 if unchanged")),
    responses(
        (status = 200, body = Site, headers(
            ("ETag" = String, description = "Strong ETag of the body"),
            ("Cache-Control" = String, description = "public, max-age=…, stale-while-revalidate=…"),
            ("Surrogate-Key" = String, description = "site"))),
        (status = 304, description = "Not modified")
    )
)]
#[get("/site")]
pub async fn get_site(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    caching::cached(&req, &state.settings, &state.cache, &state.db, || async {
        let settings = state.settings.clone();
        let (site, latest) = state.db.run(move |conn| read(conn, &settings)).await?;
        // The logo's caption, credit and rights are the image's: its key purges this too.
        let keys = std::iter::once("site".to_owned())
            .chain(site.logo_image_id.iter().map(|id| format!("image:{id}")));
        let info = CacheInfo::new(keys).modified(latest.map(utc));
        Ok(Fresh::Cacheable(site, info))
    })
    .await
}

/// Change the site settings (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    request_body = UpdateSite,
    responses(
        (status = 200, body = Site),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/site")]
pub async fn update_site(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    body: Valid<UpdateSite>,
) -> Result<web::Json<Site>, ApiError> {
    let settings = state.settings.clone();
    let input = body.into_inner();
    let (site, _) = state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            update(conn, input.clone())?;
            let (site, latest) = read(conn, &settings)?;
            let event = NewEvent::new(EventType::SiteUpdated, "site", &site, vec!["site".to_owned()])?;
            events::record(conn, [event])?;
            Ok((site, latest))
        })
        .await?;
    Ok(web::Json(site))
}
