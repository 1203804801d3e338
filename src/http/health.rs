//! Liveness (`/healthz`), readiness (`/readyz`, checks the database and the media storage) and Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::http::middleware::Metrics;
use crate::state::AppState;

/// Health status.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health { status: "ok".into() })
}

/// What `/readyz` found: `ok` for each dependency.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: String,
    /// Each dependency and what it answered.
    pub checks: Checks,
}

/// The dependencies `/readyz` checks.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    /// The database (SQLite or PostgreSQL) answers a query.
    #[schema(example = "ok")]
    pub database: String,
    /// The media storage (local directory or S3 bucket) can be listed.
    #[schema(example = "ok")]
    pub storage: String,
}

/// The database and the media storage answer; load balancers route traffic here only while
/// this is 200. A 503 names each dependency that is down.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "The database or the media storage is unreachable (the detail says which)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let media = state.media.clone();
    // Both at once: a hung dependency costs its own timeout, not the sum.
    let (database, storage) = futures_util::future::join(
        web::block(move || db.check_ready()),
        web::block(move || media.store.check_ready().map_err(|e| e.to_string())),
    )
    .await;
    let database = database.map_err(ApiError::internal)?;
    let storage = storage.map_err(ApiError::internal)?;
    let mut down = Vec::new();
    if let Err(reason) = &database {
        down.push(format!("the database is not reachable: {reason}"));
    }
    if let Err(reason) = &storage {
        down.push(format!("the media storage is not reachable: {reason}"));
    }
    if !down.is_empty() {
        let detail = down.join("; ");
        tracing::warn!(%detail, "readiness check failed");
        let mut detail = detail;
        detail[..1].make_ascii_uppercase();
        return Err(ApiError::ServiceUnavailable(detail));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Readiness {
            status: "ready".into(),
            checks: Checks {
                database: "ok".into(),
                storage: "ok".into(),
            },
        }))
}

/// Request counters in the Prometheus text format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>, state: web::Data<AppState>) -> HttpResponse {
    let mut text = metrics.render();
    text.push_str(&state.cache.render_metrics());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .insert_header(("Cache-Control", "no-store"))
        .body(text)
}
