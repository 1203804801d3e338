//! API keys for integrations (admin only): created with a role and optional expiry, the secret
//! shown once, stored hashed, revocable.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::store::{self, ApiKeyRow, NewApiKey};
use crate::auth::tokens::{hash_secret, new_api_key};
use crate::auth::{AdminRole, Auth, Role};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{naive, new_id, now, utc};

/// A new API key.
#[derive(Deserialize, ToSchema)]
pub struct CreateApiKey {
    /// 1–120 characters, not blank, no control characters.
    #[schema(
        example = "Homepage renderer",
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[schema(value_type = Role, example = "editor")]
    pub role: String,
    /// When the key stops working (RFC 3339, in the future); never when absent.
    #[schema(value_type = Option<String>, format = DateTime, example = "2030-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
}

impl crate::fields::Input for CreateApiKey {}

/// An API key as listed (the secret is never shown again).
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The key's public beginning, to recognise it.
    #[schema(example = "mh_Xk3vQ9aB")]
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A freshly created key with its secret: store it now, it is not shown again.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(row: ApiKeyRow) -> Self {
        ApiKey {
            role: Role::parse(&row.role).unwrap_or(Role::Contributor),
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            expires_at: row.expires_at.map(utc),
            last_used_at: row.last_used_at.map(utc),
            revoked_at: row.revoked_at.map(utc),
            created_at: utc(row.created_at),
        }
    }
}

/// Create an API key (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    request_body = CreateApiKey,
    responses(
        (status = 201, body = CreatedApiKey, headers(("Location" = String, description = "The new key's URL"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    auth: Auth<AdminRole>,
    body: Valid<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let CreateApiKey {
        name,
        role,
        expires_at,
    } = body.into_inner();
    let mut errors = Vec::new();
    // The same limits as the spec states: counted as sent, stored trimmed.
    if name.trim().is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "must be 1 to 120 characters, not blank, without control characters",
        ));
    }
    let name = name.trim().to_owned();
    let role = Role::parse(&role);
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            "must be contributor, author, editor or admin",
        ));
    }
    let expires_at = match expires_at.as_deref() {
        None => None,
        Some(raw) => match DateTime::parse_from_rfc3339(raw) {
            Ok(at) if at.with_timezone(&Utc) > Utc::now() => Some(naive(at.with_timezone(&Utc))),
            Ok(_) => {
                errors.push(FieldError::new("expires_at", "must be in the future"));
                None
            }
            Err(_) => {
                errors.push(FieldError::new("expires_at", "must be an RFC 3339 time"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let role = role.unwrap_or(Role::Contributor);
    let (secret, prefix) = new_api_key();
    let new_key = NewApiKey {
        id: new_id(),
        name,
        role: role.as_str().into(),
        prefix,
        secret_hash: hash_secret(&secret),
        created_by: auth.principal.user_id.clone(),
        expires_at,
        created_at: now(),
    };
    let row = state
        .db
        .write(move |conn| store::insert_api_key(conn, &new_key))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/admin/api-keys/{}", row.id)))
        .json(CreatedApiKey {
            key: row.into(),
            secret,
        }))
}

/// List API keys (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<ApiKey>),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ApiKey>>, ApiError> {
    let page = query.parse::<String>(&state.cursors)?;
    let limit = page.limit;
    let rows = state
        .db
        .run(move |conn| store::list_api_keys(conn, page.after.as_deref(), limit))
        .await?;
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| r.id.clone(),
        ApiKey::from,
    )))
}

/// Revoke an API key (admin). It stops working at once.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked")
    )
)]
#[delete("/admin/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| store::revoke_api_key(conn, &id))
        .await
        .map_err(ApiError::not_found_as("API key"))?;
    Ok(HttpResponse::NoContent().finish())
}
