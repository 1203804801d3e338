//! Admin-only user management: `/api/v1/admin/users`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::Passwords;
use crate::auth::{AdminRole, Auth, Role};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::users::model::{Email, Validator, display_name};
use crate::users::store::{self, UserChanges, UserRow};

/// A user as the admin API shows it (never the password hash).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    #[schema(example = "maria.lopez@news.example.com")]
    pub email: String,
    #[schema(example = "María López")]
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            role: row.role(),
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            disabled: row.disabled,
            created_at: crate::time::utc(row.created_at),
            updated_at: crate::time::utc(row.updated_at),
        }
    }
}

/// A new user.
#[derive(Deserialize, ToSchema)]
pub struct CreateUser {
    /// Unique, compared case-insensitively.
    #[schema(example = "maria.lopez@news.example.com", format = Email, max_length = 254)]
    pub email: String,
    /// Shown in bylines: 1–120 characters, not blank, no control characters.
    #[schema(
        example = "María López",
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: String,
    #[schema(value_type = Role, example = "author")]
    pub role: String,
    /// 12 to 1024 characters.
    #[schema(min_length = 12, max_length = 1024, example = "correct horse battery staple")]
    pub password: String,
}

impl crate::fields::Input for CreateUser {}

/// Changes to a user; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: Option<String>,
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Disabling ends the user's sessions at once.
    pub disabled: Option<bool>,
    /// Sets a new password (12 to 1024 characters) and ends the user's sessions.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
}

impl crate::fields::Input for UpdateUser {}

fn parse_role(raw: &str) -> Result<Role, FieldError> {
    Role::parse(raw).ok_or_else(|| FieldError::new("role", "must be contributor, author, editor or admin"))
}

/// Validates and creates a user (also used by the CLI and the first-start bootstrap).
pub fn create_user(
    conn: &mut crate::db::DbConn,
    passwords: &Passwords,
    input: CreateUser,
) -> Result<UserRow, ApiError> {
    let user = new_user(passwords, input)?;
    Ok(store::insert(conn, &user)?)
}

/// Validates a new user and hashes the password (slow on purpose: done before any database
/// write starts, so no write waits for argon2).
pub fn new_user(passwords: &Passwords, input: CreateUser) -> Result<store::NewUser, ApiError> {
    let mut v = Validator::default();
    let email = v.check(Email::parse(&input.email, "email"));
    let name = v.check(display_name(&input.display_name, "display_name"));
    let role = v.check(parse_role(&input.role));
    if let Err(ApiError::Validation { errors, .. }) = Passwords::validate(&input.password, "password") {
        errors.into_iter().for_each(|e| v.push(e));
    }
    v.finish()?;
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let now = crate::time::now();
    let user = store::NewUser {
        id: crate::time::new_id(),
        email: email.display,
        email_normalized: email.normalized,
        display_name: name,
        role: role.as_str().into(),
        password_hash: passwords.hash(&input.password)?,
        disabled: false,
        session_version: 0,
        created_at: now,
        updated_at: now,
    };
    Ok(user)
}

const NOT_FOUND: &str = "user";

/// Whether a signed-in admin (not an API key) is acting on their own account. An admin cannot
/// delete, disable or demote themselves, nor set their own password without the current one
/// (`POST /api/v1/auth/password`): a stolen access token must not be able to take the account
/// over or lock its owner out.
fn is_self(auth: &Auth<AdminRole>, id: &str) -> bool {
    auth.principal.api_key_id.is_none() && auth.principal.user_id.as_deref() == Some(id)
}

/// List users (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<User>),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<User>>, ApiError> {
    let page = query.parse::<String>(&state.cursors)?;
    let limit = page.limit;
    let rows = state
        .db
        .run(move |conn| store::list(conn, page.after.as_deref(), limit))
        .await?;
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| r.id.clone(),
        User::from,
    )))
}

/// Create a user (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    request_body = CreateUser,
    responses(
        (status = 201, body = User, headers(("Location" = String, description = "The new user's URL"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/users")]
pub async fn create(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    body: Valid<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let passwords = state.passwords.clone();
    let input = body.into_inner();
    let user = web::block(move || new_user(&passwords, input))
        .await
        .map_err(ApiError::internal)??;
    let row = state.db.write(move |conn| store::insert(conn, &user)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/admin/users/{}", row.id)))
        .json(User::from(row)))
}

/// One user (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = User)
    )
)]
#[get("/admin/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| store::find(conn, &id))
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    Ok(web::Json(row.into()))
}

/// Change a user (admin): details, role, disabled, password.
///
/// Disabling a user or setting their password ends their sessions at once. The last enabled
/// admin cannot be demoted or disabled (409); nor can signed-in admins disable or demote
/// themselves or set their own password here (409: use `POST /api/v1/auth/password`).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last enabled admin would be lost, the email is taken, or an admin tried to disable, demote or re-password themselves", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Auth<AdminRole>,
    id: web::Path<String>,
    body: Valid<UpdateUser>,
) -> Result<web::Json<User>, ApiError> {
    let input = body.into_inner();
    if is_self(&auth, &id) {
        if input.disabled == Some(true) {
            return Err(ApiError::Conflict("You cannot disable your own account".into()));
        }
        if input.role.as_deref().is_some_and(|r| r != Role::Admin.as_str()) {
            return Err(ApiError::Conflict("You cannot lower your own role".into()));
        }
        if input.password.is_some() {
            return Err(ApiError::Conflict(
                "Change your own password with POST /api/v1/auth/password (it needs the current one)".into(),
            ));
        }
    }
    let mut v = Validator::default();
    let email = input
        .email
        .as_deref()
        .and_then(|e| v.check(Email::parse(e, "email")));
    let name = input
        .display_name
        .as_deref()
        .and_then(|n| v.check(display_name(n, "display_name")));
    let role = input.role.as_deref().and_then(|r| v.check(parse_role(r)));
    if let Some(Err(ApiError::Validation { errors, .. })) = input
        .password
        .as_deref()
        .map(|p| Passwords::validate(p, "password"))
    {
        errors.into_iter().for_each(|e| v.push(e));
    }
    v.finish()?;
    let password_hash = match input.password {
        Some(password) => {
            let passwords = state.passwords.clone();
            Some(
                web::block(move || passwords.hash(&password))
                    .await
                    .map_err(ApiError::internal)??,
            )
        }
        None => None,
    };
    let changes = UserChanges {
        email_normalized: email.as_ref().map(|e| e.normalized.clone()),
        email: email.map(|e| e.display),
        display_name: name,
        role: role.map(|r| r.as_str().to_owned()),
        password_hash,
        disabled: input.disabled,
        updated_at: None,
    };
    let id = id.into_inner();
    let row = state
        .db
        .write(move |conn| {
            // Articles show their authors' display names: no event of §7 says so, but their
            // cached responses must go.
            crate::db::mark_stale([format!("author:{id}")]);
            store::update(conn, &id, changes.clone())
        })
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    Ok(web::Json(row.into()))
}

/// Delete a user (admin). The last enabled admin cannot be deleted, nor can a signed-in admin
/// delete themselves (409).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The last enabled admin, or the caller's own account", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/admin/users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if is_self(&auth, &id) {
        return Err(ApiError::Conflict("You cannot delete your own account".into()));
    }
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            crate::db::mark_stale([format!("author:{id}")]);
            store::delete(conn, &id)
        })
        .await
        .map_err(ApiError::not_found_as(NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}
