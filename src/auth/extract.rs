//! The `Auth<MinRole>` extractor: authenticates the Bearer credential (access JWT or API key)
//! and refuses callers below the route's minimum role. Putting it in a handler's parameters is
//! how a route declares who may call it.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::tokens::{API_KEY_PREFIX, hash_secret};
use crate::auth::{Principal, Role, store};
use crate::db::StoreError;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users;
use crate::users::store::UserRow;

/// A minimum role, as a type.
pub trait MinRole {
    const ROLE: Role;
}

/// Any authenticated user (contributors and up).
pub struct ContributorRole;
/// Authors and up.
pub struct AuthorRole;
/// Editors and admins.
pub struct EditorRole;
/// Admins only.
pub struct AdminRole;

impl MinRole for ContributorRole {
    const ROLE: Role = Role::Contributor;
}
impl MinRole for AuthorRole {
    const ROLE: Role = Role::Author;
}
impl MinRole for EditorRole {
    const ROLE: Role = Role::Editor;
}
impl MinRole for AdminRole {
    const ROLE: Role = Role::Admin;
}

/// An authenticated caller whose role is at least `R::ROLE`.
pub struct Auth<R: MinRole> {
    pub principal: Principal,
    _role: PhantomData<R>,
}

impl<R: MinRole> Deref for Auth<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R: MinRole> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Resolved by `authenticate_requests` before extraction starts, so this is immediate and
        // a bad credential is reported before any problem with the body.
        let outcome = req.extensions().get::<AuthOutcome>().map(|o| o.0.clone());
        let result = match outcome {
            Some(Ok(principal)) => principal.require(R::ROLE).map(|()| Auth {
                principal,
                _role: PhantomData,
            }),
            Some(Err(e)) => Err(e),
            None => Err(unauthorized(
                "Authentication required: send `Authorization: Bearer <token>`",
            )),
        };
        std::future::ready(result)
    }
}

/// The result of authenticating a request's `Authorization` header.
#[derive(Clone)]
struct AuthOutcome(Result<Principal, ApiError>);

/// Middleware: authenticates any request that carries `Authorization` (tokens are checked
/// against the database, so a disabled account stops at once) and leaves the outcome for
/// `Auth<R>`.
pub async fn authenticate_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
    if header.is_some()
        && let Some(state) = req.app_data::<web::Data<AppState>>().cloned()
    {
        let outcome = authenticate(&state, header).await;
        req.extensions_mut().insert(AuthOutcome(outcome));
    }
    next.call(req).await
}

/// The caller behind an API key: the key must be live and its creator an enabled user; it acts
/// with the lesser of its own role and the creator's role now (a key never outranks the person
/// answerable for it). Records the use when the key is accepted.
fn api_key_principal(conn: &mut crate::db::DbConn, hash: &str) -> Result<Principal, ApiError> {
    let refuse = unauthorized;
    let key = store::find_api_key_by_hash(conn, hash)?.ok_or_else(|| refuse("Unknown API key"))?;
    if key.revoked_at.is_some() {
        return Err(refuse("This API key was revoked"));
    }
    if key.expires_at.is_some_and(|at| at <= crate::time::now()) {
        return Err(refuse("This API key has expired"));
    }
    let creator = match key.created_by.as_deref() {
        Some(id) => match users::store::find(conn, id) {
            Ok(user) => Some(user),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let creator = creator.ok_or_else(|| refuse("The account that created this API key no longer exists"))?;
    if creator.disabled {
        return Err(refuse("The account that created this API key is disabled"));
    }
    store::touch_api_key(conn, &key)?;
    let key_role = Role::parse(&key.role).unwrap_or(Role::Contributor);
    Ok(Principal {
        role: key_role.min(creator.role()),
        user_id: Some(creator.id),
        api_key_id: Some(key.id),
    })
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::Unauthorized(detail.to_owned())
}

/// Who sent `Authorization`, or a 401 saying why not.
pub async fn authenticate(state: &AppState, header: Option<String>) -> Result<Principal, ApiError> {
    let header = header
        .ok_or_else(|| unauthorized("Authentication required: send `Authorization: Bearer <token>`"))?;
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            token.trim().to_owned()
        }
        _ => {
            return Err(unauthorized(
                "Malformed Authorization header: expected `Bearer <token>`",
            ));
        }
    };

    if token.starts_with(API_KEY_PREFIX) {
        let hash = hash_secret(&token);
        return state.db.run(move |conn| api_key_principal(conn, &hash)).await;
    }

    let claims = state
        .jwt
        .verify(&token)
        .map_err(|reason| ApiError::Unauthorized(format!("Invalid access token: {reason}")))?;
    let user_id = claims.sub.clone();
    let user: Option<UserRow> = state
        .db
        .run(move |conn| match users::store::find(conn, &user_id) {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    let user = user.ok_or_else(|| unauthorized("The account of this token no longer exists"))?;
    if user.disabled {
        return Err(unauthorized("This account is disabled"));
    }
    if user.session_version != claims.ver {
        return Err(unauthorized("This session has ended; log in again"));
    }
    Ok(Principal {
        role: user.role(),
        user_id: Some(user.id),
        api_key_id: None,
    })
}
