//! Webhook endpoints (admin, PRODUCT.md §7): manage webhooks, read the delivery log, ping, and
//! redeliver. The secret is in the answer that creates a webhook and nowhere else.

use std::net::{IpAddr, ToSocketAddrs};

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AdminRole, Auth};
use crate::config::{Environment, Settings};
use crate::error::{ApiError, FieldError, Problem};
use crate::events::{self, EventType, NewEvent};
use crate::http::json::Valid;
use crate::pagination::{Page, PageQuery, paginate};
use crate::state::AppState;
use crate::time::{new_id, now, utc};
use crate::webhooks::model::{self, EventFilter};
use crate::webhooks::store::{self, AttemptRow, DeliveryRow, WebhookChanges, WebhookRow};

/// A new webhook.
#[derive(Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: `http` or `https`. In production, hosts that resolve to
    /// loopback, link-local or private addresses are refused unless the server allows them.
    #[schema(
        example = "https://hooks.example.com/masthead",
        max_length = 2000,
        pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$"
    )]
    pub url: String,
    /// Event names to receive, or `["*"]` for every event.
    #[schema(value_type = Vec<EventName>, example = json!(["article.published", "article.updated"]), min_items = 1)]
    pub events: Vec<String>,
    /// A Standard Webhooks secret (`whsec_` + base64 of 24–65 bytes); generated when absent.
    #[schema(
        example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        pattern = r"^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
    )]
    pub secret: Option<String>,
    /// For people: what this webhook is for (at most 500 characters, line breaks allowed,
    /// no other control characters).
    #[schema(max_length = 500, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub description: Option<String>,
    /// Inactive webhooks receive nothing; pending deliveries wait. Default true.
    pub active: Option<bool>,
}

impl crate::fields::Input for CreateWebhook {}

/// Changes to a webhook; absent fields stay.
#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateWebhook {
    #[schema(
        max_length = 2000,
        pattern = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$"
    )]
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<EventName>>, min_items = 1)]
    pub events: Option<Vec<String>>,
    /// A new secret (rotation); it is not shown in the answer either.
    #[schema(pattern = r"^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
    pub secret: Option<String>,
    /// An empty string clears it.
    #[schema(max_length = 500, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    pub description: Option<String>,
    pub active: Option<bool>,
}

impl crate::fields::Input for UpdateWebhook {}

/// An event name (PRODUCT.md §7), or `*` for every event.
pub struct EventName;

impl utoipa::PartialSchema for EventName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut names = vec!["*"];
        names.extend(EventType::ALL.iter().map(|t| t.as_str()));
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .description(Some("An event name, or `*` for every event"))
            .into()
    }
}

impl utoipa::ToSchema for EventName {}

/// A webhook as listed (its secret is never shown again after creation).
#[derive(Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The event names it receives, or `["*"]`.
    #[schema(value_type = Vec<EventName>)]
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A freshly created webhook with its signing secret: store it now, it is not shown again.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Verify deliveries with it (any Standard Webhooks library takes it as is).
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// The state of a delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet delivered; `next_attempt_at` says when it is tried (again).
    Pending,
    /// A 2xx answer was received.
    Succeeded,
    /// Every attempt failed; `redeliver` tries again.
    Failed,
}

/// One event sent (or being sent) to one webhook.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The event's id: the `webhook-id` header, the same on every attempt and redelivery.
    pub event_id: String,
    /// The event's type.
    #[schema(value_type = EventName, example = "article.published")]
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last answer, if there was one.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed (status, timeout, refused connection…).
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// A delivery with every attempt made so far.
#[derive(Serialize, ToSchema)]
pub struct DeliveryWithAttempts {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            events: EventFilter::names_of_stored(&row.events),
            id: row.id,
            url: row.url,
            description: row.description,
            active: row.active,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            status: match row.status.as_str() {
                store::SUCCEEDED => DeliveryStatus::Succeeded,
                store::FAILED => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            id: row.id,
            event_id: row.event_id,
            event: row.event_type,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at.map(utc),
            created_at: utc(row.created_at),
            delivered_at: row.delivered_at.map(utc),
        }
    }
}

impl From<AttemptRow> for Attempt {
    fn from(row: AttemptRow) -> Self {
        Attempt {
            attempt: row.attempt,
            started_at: utc(row.started_at),
            duration_ms: row.duration_ms,
            status_code: row.status_code,
            error: row.error,
        }
    }
}

/// Refuses a target whose host is, or resolves to, a private address, in production unless
/// `MASTHEAD_WEBHOOK_ALLOW_PRIVATE` is set. Development allows every target.
async fn check_reachable_target(settings: &Settings, url: &url::Url) -> Result<(), FieldError> {
    if settings.environment != Environment::Production || settings.webhook_allow_private {
        return Ok(());
    }
    let refuse = || {
        FieldError::new(
            "url",
            "points to a loopback, link-local or private address; production refuses those \
             unless MASTHEAD_WEBHOOK_ALLOW_PRIVATE=true",
        )
    };
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let target = (name.to_owned(), url.port_or_known_default().unwrap_or(443));
            let resolved = web::block(move || {
                target
                    .to_socket_addrs()
                    .map(|a| a.map(|s| s.ip()).collect::<Vec<_>>())
            })
            .await
            .map_err(|_| FieldError::new("url", "its host could not be resolved"))?;
            match resolved {
                Ok(list) if !list.is_empty() => list,
                _ => return Err(FieldError::new("url", "its host could not be resolved")),
            }
        }
        None => return Err(FieldError::new("url", "must name a host")),
    };
    if addresses.into_iter().any(model::forbidden_ip) {
        return Err(refuse());
    }
    Ok(())
}

async fn parse_url(settings: &Settings, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match model::parse_target(raw) {
        Ok(url) => match check_reachable_target(settings, &url).await {
            Ok(()) => Some(raw.to_owned()),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn parse_description(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    if raw.chars().count() > 500 || raw.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters, without control characters",
        ));
        return None;
    }
    Some(raw.trim().to_owned())
}

fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// Create a webhook (admin). The answer carries the signing secret, once.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    request_body = CreateWebhook,
    responses(
        (status = 201, body = CreatedWebhook, headers(("Location" = String, description = "The new webhook's URL"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad URL, unknown event name, bad secret", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/admin/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    body: Valid<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let mut errors = Vec::new();
    let url = parse_url(&state.settings, &input.url, &mut errors).await;
    let events = collect(EventFilter::parse(&input.events), &mut errors);
    let secret = match input.secret {
        Some(s) => collect(model::parse_secret(&s), &mut errors).map(|_| s),
        None => Some(model::generate_secret()),
    };
    let description = match input.description.as_deref() {
        Some(d) => parse_description(d, &mut errors).map(|d| Some(d).filter(|d| !d.is_empty())),
        None => Some(None),
    };
    let (Some(url), Some(events), Some(secret), Some(description)) = (url, events, secret, description)
    else {
        return Err(ApiError::validation(errors));
    };
    let at = now();
    let row = WebhookRow {
        id: new_id(),
        url,
        events: events.to_stored(),
        secret: secret.clone(),
        description,
        active: input.active.unwrap_or(true),
        created_at: at,
        updated_at: at,
    };
    let row = state.db.write(move |conn| store::insert(conn, &row)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/admin/webhooks/{}", row.id)))
        .json(CreatedWebhook {
            webhook: row.into(),
            secret,
        }))
}

/// List webhooks (admin), oldest first.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Webhook>),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
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
        Webhook::from,
    )))
}

/// One webhook (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = Webhook))
)]
#[get("/admin/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<web::Json<Webhook>, ApiError> {
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| store::find(conn, &id))
        .await
        .map_err(ApiError::not_found_as("webhook"))?;
    Ok(web::Json(row.into()))
}

/// Change a webhook (admin): its URL, events, secret, description, or whether it is active.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, body = Webhook),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/admin/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
    body: Valid<UpdateWebhook>,
) -> Result<web::Json<Webhook>, ApiError> {
    let input = body.into_inner();
    let mut errors = Vec::new();
    let mut changes = WebhookChanges::default();
    if let Some(raw) = &input.url {
        changes.url = parse_url(&state.settings, raw, &mut errors).await;
    }
    if let Some(names) = &input.events {
        changes.events = collect(EventFilter::parse(names), &mut errors).map(|f| f.to_stored());
    }
    if let Some(secret) = &input.secret {
        changes.secret = collect(model::parse_secret(secret), &mut errors).map(|_| secret.clone());
    }
    if let Some(d) = &input.description {
        changes.description = parse_description(d, &mut errors).map(|d| Some(d).filter(|d| !d.is_empty()));
    }
    changes.active = input.active;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = id.into_inner();
    let row = state
        .db
        .write(move |conn| store::update(conn, &id, &changes))
        .await
        .map_err(ApiError::not_found_as("webhook"))?;
    state.webhooks.wake();
    Ok(web::Json(row.into()))
}

/// Delete a webhook (admin). Its pending deliveries stop; its delivery log goes with it.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/admin/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| store::delete(conn, &id))
        .await
        .map_err(ApiError::not_found_as("webhook"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a `ping` event to this webhook only (admin): 202 with its delivery, which the delivery
/// log then follows.
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 202, body = Delivery))
)]
#[post("/admin/webhooks/{id}/ping")]
pub async fn ping_webhook(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let delivery = state
        .db
        .write(move |conn| {
            let hook = store::find(conn, &id)?;
            let subject = format!("webhook:{}", hook.id);
            let data = serde_json::json!({"webhook_id": hook.id, "url": hook.url});
            events::record(
                conn,
                [NewEvent::new(
                    EventType::Ping,
                    subject.clone(),
                    &data,
                    Vec::new(),
                )?],
            )?;
            let event = store::latest_event(conn, &subject)?;
            // A ping is for this webhook alone: never fanned out to the others.
            store::mark_dispatched(conn, event.seq)?;
            store::insert_delivery(conn, &DeliveryRow::pending(&hook.id, &event, now()))
        })
        .await
        .map_err(ApiError::not_found_as("webhook"))?;
    state.webhooks.wake();
    Ok(HttpResponse::Accepted().json(Delivery::from(delivery)))
}

/// A webhook's deliveries, newest first (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id"), PageQuery),
    responses(
        (status = 200, body = Page<Delivery>),
        (status = 400, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/admin/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Delivery>>, ApiError> {
    let page = query.parse::<(NaiveDateTime, String)>(&state.cursors)?;
    let limit = page.limit;
    let id = id.into_inner();
    let rows = state
        .db
        .run(move |conn| {
            store::find(conn, &id)?;
            store::deliveries(conn, &id, page.after.clone(), limit)
        })
        .await
        .map_err(ApiError::not_found_as("webhook"))?;
    Ok(web::Json(paginate(
        rows,
        limit,
        &state.cursors,
        |r| (r.created_at, r.id.clone()),
        Delivery::from,
    )))
}

/// One delivery with every attempt made so far (admin).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("delivery_id" = String, Path, description = "Delivery id")
    ),
    responses((status = 200, body = DeliveryWithAttempts))
)]
#[get("/admin/webhooks/{id}/deliveries/{delivery_id}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    path: web::Path<(String, String)>,
) -> Result<web::Json<DeliveryWithAttempts>, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let (delivery, attempts) = state
        .db
        .run(move |conn| {
            let delivery = store::find_delivery(conn, &id, &delivery_id)?;
            let attempts = store::attempts(conn, &delivery.id)?;
            Ok((delivery, attempts))
        })
        .await
        .map_err(ApiError::not_found_as("delivery"))?;
    Ok(web::Json(DeliveryWithAttempts {
        delivery: delivery.into(),
        attempt_log: attempts.into_iter().map(Attempt::from).collect(),
    }))
}

/// Send a delivery's event again (admin): 202 with the new delivery (same event id, so a
/// receiver that already has it can tell).
#[utoipa::path(
    tag = "editorial",
    security(("bearerAuth" = ["admin"])),
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("delivery_id" = String, Path, description = "Delivery id")
    ),
    responses((status = 202, body = Delivery))
)]
#[post("/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    _auth: Auth<AdminRole>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = state
        .db
        .write(move |conn| {
            let old = store::find_delivery(conn, &id, &delivery_id)?;
            let event = store::event_by_seq(conn, old.event_seq)?;
            store::insert_delivery(conn, &DeliveryRow::pending(&id, &event, now()))
        })
        .await
        .map_err(ApiError::not_found_as("delivery"))?;
    state.webhooks.wake();
    Ok(HttpResponse::Accepted().json(Delivery::from(delivery)))
}
