//! Sessions: login, refresh-token rotation, logout, the caller's own account and password.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::tokens::{hash_secret, random_secret};
use crate::auth::{Auth, ContributorRole, Role, store};
use crate::db::StoreError;
use crate::error::{ApiError, Problem};
use crate::http::client_ip::client_ip;
use crate::http::json::Valid;
use crate::state::AppState;
use crate::time::{new_id, now};
use crate::users;

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "editor@news.example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

impl crate::fields::Input for LoginRequest {}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl crate::fields::Input for RefreshRequest {}

/// Tokens of a session: use `access_token` as `Authorization: Bearer …`; exchange
/// `refresh_token` at `/api/v1/auth/refresh` before the access token expires.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The user (for an API key: the admin who created it, if still present).
    pub id: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Role,
    /// Set when the caller authenticated with an API key.
    pub api_key_id: Option<String>,
}

/// A password change.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// 12 to 1024 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

impl crate::fields::Input for PasswordChange {}

fn login_rate_limited(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        detail: "Too many login attempts; wait before trying again".into(),
        retry_after_secs,
    }
}

/// Issues a new access token and a refresh token in `family_id`.
async fn issue_tokens(
    state: &AppState,
    user: &users::store::UserRow,
    family_id: String,
) -> Result<TokenPair, ApiError> {
    let access_token = state
        .jwt
        .issue(&user.id, user.role(), user.session_version)
        .map_err(ApiError::internal)?;
    let refresh_token = random_secret(32);
    let hash = hash_secret(&refresh_token);
    let user_id = user.id.clone();
    let expires_at = now() + chrono::Duration::from_std(state.settings.refresh_token_ttl).unwrap_or_default();
    state
        .db
        .write(move |conn| store::insert_refresh_token(conn, &user_id, &family_id, &hash, expires_at))
        .await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl.as_secs(),
    })
}

/// Log in with email and password.
///
/// Unknown email and wrong password answer the same 401, in similar time. Repeated attempts
/// per client address and per account are limited (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Valid<LoginRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let normalized = email.trim().to_lowercase();
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    state
        .login_by_address
        .check(&ip)
        .await
        .map_err(login_rate_limited)?;
    state
        .login_by_account
        .check(&normalized)
        .await
        .map_err(login_rate_limited)?;

    let lookup = normalized.clone();
    let user = state
        .db
        .run(move |conn| users::store::find_by_email(conn, &lookup))
        .await?;
    let hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let passwords = state.passwords.clone();
    let valid = web::block(move || passwords.verify(&password, hash.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    let user = match (valid, user) {
        (true, Some(user)) => user,
        _ => return Err(ApiError::Unauthorized("Email or password is incorrect".into())),
    };
    Ok(web::Json(issue_tokens(&state, &user, new_id()).await?))
}

/// Exchange a refresh token for new tokens (the old one stops working).
///
/// Presenting a refresh token that was already used revokes its whole family: whoever holds a
/// copy (a thief, or the legitimate client) must log in again.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Valid<RefreshRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let hash = hash_secret(body.refresh_token.trim());
    let outcome = state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            let Some(token) = store::find_refresh_token(conn, &hash)? else {
                return Ok(Err("Unknown refresh token"));
            };
            if token.revoked_at.is_some() {
                return Ok(Err("This session has ended; log in again"));
            }
            if token.used_at.is_some() || !store::claim_refresh_token(conn, &token.id)? {
                store::revoke_family(conn, &token.family_id)?;
                return Ok(Err(
                    "This refresh token was already used; the session has been revoked",
                ));
            }
            if token.expires_at <= now() {
                return Ok(Err("This refresh token has expired; log in again"));
            }
            let user = users::store::find(conn, &token.user_id)?;
            if user.disabled {
                return Ok(Err("This account is disabled"));
            }
            Ok(Ok((user, token.family_id)))
        })
        .await?;
    let (user, family_id) = outcome.map_err(|reason| ApiError::Unauthorized(reason.into()))?;
    Ok(web::Json(issue_tokens(&state, &user, family_id).await?))
}

/// End a session: its refresh token family is revoked.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out (also when the token was unknown)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Valid<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = hash_secret(body.refresh_token.trim());
    state
        .db
        .write(move |conn| -> Result<_, ApiError> {
            if let Some(token) = store::find_refresh_token(conn, &hash)? {
                store::revoke_family(conn, &token.family_id)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The authenticated caller.
#[utoipa::path(
    tag = "auth",
    security(("bearerAuth" = ["contributor"])),
    responses(
        (status = 200, body = Me)
    )
)]
#[get("/auth/me")]
pub async fn me(state: web::Data<AppState>, auth: Auth<ContributorRole>) -> Result<web::Json<Me>, ApiError> {
    let principal = auth.principal.clone();
    let user = match principal.user_id.clone() {
        Some(id) => {
            state
                .db
                .run(move |conn| match users::store::find(conn, &id) {
                    Ok(u) => Ok(Some(u)),
                    Err(StoreError::NotFound) => Ok(None),
                    Err(e) => Err(e),
                })
                .await?
        }
        None => None,
    };
    Ok(web::Json(Me {
        id: user.as_ref().map(|u| u.id.clone()),
        email: user.as_ref().map(|u| u.email.clone()),
        display_name: user.as_ref().map(|u| u.display_name.clone()),
        role: principal.role,
        api_key_id: principal.api_key_id,
    }))
}

/// Change your own password. Every session of the account ends (log in again).
///
/// A wrong `current_password` is 403.
#[utoipa::path(
    tag = "auth",
    security(("bearerAuth" = ["contributor"])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; all sessions were revoked"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong, or the caller is an API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password is too short or too long", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: Auth<ContributorRole>,
    body: Valid<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let Some(user_id) = auth
        .principal
        .user_id
        .clone()
        .filter(|_| auth.principal.api_key_id.is_none())
    else {
        return Err(ApiError::Forbidden("API keys have no password".into()));
    };
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    crate::auth::password::Passwords::validate(&new_password, "new_password")?;
    let lookup = user_id.clone();
    let user = state
        .db
        .run(move |conn| users::store::find(conn, &lookup))
        .await?;
    let passwords = state.passwords.clone();
    let new_hash = web::block(move || {
        if passwords.verify(&current_password, Some(&user.password_hash)) {
            passwords.hash(&new_password).map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(ApiError::internal)??
    // 403, not 422: the request is well-formed and valid, the caller just failed to prove they
    // know the password (and not 401: their token is fine, a client must not log them out).
    .ok_or_else(|| ApiError::Forbidden("The current password is not correct".into()))?;
    state
        .db
        .write(move |conn| {
            users::store::update(
                conn,
                &user_id,
                users::store::UserChanges {
                    password_hash: Some(new_hash.clone()),
                    ..Default::default()
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
