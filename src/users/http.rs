//! Admin-only user management: `/api/v1/admin/users`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::Passwords;
use crate::auth::{AdminRole, Auth, Role};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::{Page, PageQuery, paginate};
use crate::startup::AppState;
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
    #[schema(example = "maria.lopez@news.example.com")]
    pub email: String,
    #[schema(example = "María López")]
    pub display_name: String,
    /// `contributor`, `author`, `editor` or `admin`.
    #[schema(example = "author")]
    pub role: String,
    /// At least 12 characters.
    pub password: String,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// Disabling ends the user's sessions at once.
    pub disabled: Option<bool>,
    /// Sets a new password (at least 12 characters) and ends the user's sessions.
    pub password: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, FieldError> {
    Role::parse(raw).ok_or_else(|| FieldError::new("role", "must be contributor, author, editor or admin"))
}

/// Validates and creates a user (also used by the CLI and the first-start bootstrap).
pub fn create_user(
    conn: &mut crate::db::DbConn,
    passwords: &Passwords,
    input: CreateUser,
) -> Result<UserRow, crate::db::StoreError> {
    let mut v = Validator::default();
    let email = v.check(Email::parse(&input.email, "email"));
    let name = v.check(display_name(&input.display_name, "display_name"));
    let role = v.check(parse_role(&input.role));
    if let Err(ApiError::Validation { errors, .. }) = Passwords::validate(&input.password, "password") {
        errors.into_iter().for_each(|e| v.push(e));
    }
    v.finish()?;
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(ApiError::internal("validated fields missing").into());
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
    store::insert(conn, &user)
}

const NOT_FOUND: &str = "user";

fn map_not_found(e: ApiError) -> ApiError {
    match e {
        ApiError::NotFound(_) => ApiError::not_found(NOT_FOUND),
        other => other,
    }
}

/// List users (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<User>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/users")]
pub async fn create(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let passwords = state.passwords.clone();
    let row = state
        .db
        .run(move |conn| create_user(conn, &passwords, body.into_inner()))
        .await?;
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
        (status = 200, body = User),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
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
        .map_err(map_not_found)?;
    Ok(web::Json(row.into()))
}

/// Change a user (admin): details, role, disabled, password.
///
/// Disabling a user or setting their password ends their sessions at once. The last enabled
/// admin cannot be demoted or disabled (409).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> Result<web::Json<User>, ApiError> {
    let input = body.into_inner();
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
        .run(move |conn| store::update(conn, &id, changes))
        .await
        .map_err(map_not_found)?;
    Ok(web::Json(row.into()))
}

/// Delete a user (admin). The last enabled admin cannot be deleted (409).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/admin/users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .run(move |conn| store::delete(conn, &id))
        .await
        .map_err(map_not_found)?;
    Ok(HttpResponse::NoContent().finish())
}
