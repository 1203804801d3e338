//! Builds the application (routes, middleware, shared state) for the binary and the tests alike,
//! and binds it to a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::password::Passwords;
use crate::config::Settings;
use crate::db::Db;
use crate::error;
use crate::http::fallback::{RouteTable, not_found_or_not_allowed};
use crate::http::health;
use crate::http::middleware::{Metrics, standard_headers};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Creates the admin named by `MASTHEAD_BOOTSTRAP_ADMIN_*` when the database has no admin yet
/// (users made by `masthead demo` do not count), and says so in the log when it does not.
/// `serve` and `demo` both call it, so they work in either order.
pub fn bootstrap_admin(
    settings: &Settings,
    conn: &mut crate::db::DbConn,
    passwords: &Passwords,
) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (
        settings.bootstrap_admin_email.clone(),
        settings.bootstrap_admin_password.clone(),
    ) else {
        if settings.bootstrap_admin_email.is_some() || settings.bootstrap_admin_password.is_some() {
            tracing::warn!(
                "only one of MASTHEAD_BOOTSTRAP_ADMIN_EMAIL and MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD \
                 is set: no bootstrap admin is created; set both"
            );
        }
        return Ok(());
    };
    let normalized = email.trim().to_lowercase();
    if crate::users::store::find_by_email(conn, &normalized)?.is_some() {
        return Ok(());
    }
    if crate::users::store::count_admins(conn)? > 0 {
        tracing::warn!(
            %email,
            "MASTHEAD_BOOTSTRAP_ADMIN_EMAIL was not created: the database already has an admin \
             (the bootstrap admin is only made while there is none); sign in as that admin, or \
             run `masthead user create --role admin`"
        );
        return Ok(());
    }
    let input = crate::users::http::CreateUser {
        email: email.clone(),
        display_name: "Administrator".into(),
        role: "admin".into(),
        password: secrecy::ExposeSecret::expose_secret(&password).to_owned(),
    };
    crate::users::http::create_user(conn, passwords, input)
        .map_err(|e| anyhow::anyhow!("bootstrap admin {email}: {e}"))?;
    tracing::info!(%email, "created the bootstrap admin");
    Ok(())
}

/// Registers every documented route. Called for the running server and for `masthead openapi`,
/// so the spec and the routes come from the same place.
pub fn configure_routes(cfg: &mut ServiceConfig) {
    use crate::articles::{editorial as articles_admin, public as articles};
    use crate::auth::{api_keys, http as auth};
    use crate::comments::http as comments;
    use crate::corrections::http as corrections;
    use crate::feeds::http as feeds;
    use crate::images::{http as images, media};
    use crate::previews::http as previews;
    use crate::tags::http as tags;
    use crate::users::http as users;
    use crate::webhooks::http as webhooks;
    // actix tries routes in the order they are registered, and every route with a `{param}`
    // is a regex match on the path (regex-lite, no literal prefilter): the public reads come
    // first, and the `/api/v1` scope (one string comparison for everything outside it) before
    // media, feeds and health. Measured in CPU time per cached hit, docs/benchmarks.md.
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .service(articles::list_articles)
            .service(articles::get_article)
            .service(comments::list_public)
            .service(comments::challenge)
            .service(tags::list_tags)
            .service(tags::get_tag)
            .service(crate::site::get_site)
            .service(images::get_image)
            .service(corrections::list_corrections)
            .service(previews::get_preview)
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(auth::me)
            .service(auth::change_password)
            .service(users::list_users)
            .service(users::create)
            .service(users::get_user)
            .service(users::update_user)
            .service(users::delete_user)
            .service(api_keys::create_api_key)
            .service(api_keys::list_api_keys)
            .service(api_keys::revoke_api_key)
            .service(articles_admin::create_article)
            .service(articles_admin::list_admin_articles)
            .service(articles_admin::get_admin_article)
            .service(articles_admin::update_article)
            .service(articles_admin::delete_article)
            .service(articles_admin::publish_article)
            .service(articles_admin::unpublish_article)
            .service(articles_admin::schedule_article)
            .service(articles_admin::archive_article)
            .service(articles_admin::list_revisions)
            .service(articles_admin::restore_revision)
            .service(corrections::add_correction)
            .service(previews::create_preview_link)
            .service(previews::list_preview_links)
            .service(previews::revoke_preview_link)
            .service(tags::create_tag)
            .service(tags::update_tag)
            .service(tags::delete_tag)
            .service(crate::site::update_site)
            .service(comments::post_comment)
            .service(comments::moderation_list)
            .service(comments::moderate)
            .service(comments::bulk_moderate)
            .service(comments::delete_comment)
            .service(images::upload_image)
            .service(images::list_images)
            .service(images::admin_get_image)
            .service(images::update_image)
            .service(images::delete_image)
            .service(crate::images::usage::image_usage)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::get_webhook)
            .service(webhooks::update_webhook)
            .service(webhooks::delete_webhook)
            .service(webhooks::ping_webhook)
            .service(webhooks::list_deliveries)
            .service(webhooks::get_delivery)
            .service(webhooks::redeliver),
    )
    .service(media::rendition)
    .service(media::original)
    .service(health::healthz)
    .service(health::readyz)
    .service(health::metrics)
    .service(feeds::rss_feed)
    .service(feeds::atom_feed)
    .service(feeds::json_feed)
    .service(feeds::sitemap_index)
    .service(feeds::sitemap_month)
    .service(feeds::sitemap_news);
}

/// The OpenAPI document of all routes, as `masthead openapi` prints it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure_routes)
        .split_for_parts();
    let mut spec = spec;
    utoipa::Modify::modify(&crate::openapi::StandardResponses, &mut spec);
    spec
}

/// The spec as pretty JSON with a trailing newline (the committed `openapi/openapi.json`).
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_else(|_| "{}".into());
    json.push('\n');
    json
}

/// SQLite keeps no statistics until asked: `PRAGMA optimize` analyses the tables that need it
/// (bounded by `analysis_limit`, so it takes milliseconds on any size), as SQLite advises for a
/// long-running process. PostgreSQL's autovacuum does the same on its own. The public list does
/// not depend on it (its index leaves the planner no other plan); other queries may.
fn refresh_planner_statistics(db: &Db) {
    use diesel::connection::SimpleConnection;
    let Ok(mut conn) = db.get() else { return };
    if let crate::db::DbConn::Sqlite(c) = &mut *conn
        && let Err(e) = c.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
    {
        tracing::warn!(error = %e, "PRAGMA optimize failed");
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    media: Arc<crate::images::Media>,
    /// The webhook worker and the scheduler, started with the server and stopped with it.
    background: Option<Background>,
}

/// What the background tasks need; they run on the server's own runtime.
struct Background {
    db: Db,
    settings: Arc<Settings>,
    wakeup: crate::webhooks::Wakeup,
}

impl Application {
    /// Opens the database (running migrations unless disabled), binds, and builds the server.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::open_with(
            &settings.database_url,
            settings.db_pool_size,
            settings.db_busy_timeout,
        )?;
        if settings.run_migrations {
            let applied = db.migrate()?;
            if !applied.is_empty() {
                tracing::info!(count = applied.len(), "applied database migrations");
            }
        }
        refresh_planner_statistics(&db);
        Self::build_with_db(settings, db)
    }

    /// Builds the server on an already opened database.
    pub fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let settings = Arc::new(crate::auth::dev_secret::apply(settings, &db)?);
        let state = web::Data::new(AppState::new(settings.clone(), db)?);
        let media = state.media.clone();
        let background = settings.webhook_worker.then(|| Background {
            db: state.db.clone(),
            settings: settings.clone(),
            wakeup: state.webhooks.clone(),
        });
        bootstrap_admin(&state.settings, &mut *state.db.get()?, &state.passwords)?;
        let metrics = web::Data::new(Metrics::default());
        let spec_json = web::Data::new(openapi_json());
        let route_table = web::Data::new(RouteTable::from_openapi(&openapi()));

        // `wire::serve` is `HttpServer::new(..).listen(..).run()` with each connection wrapped
        // so that the HTTP/1 codec's own error answers are problem+json too.
        let server = crate::http::wire::serve(
            listener,
            move || {
                let (app, _spec) = App::new()
                    .into_utoipa_app()
                    .openapi(ApiDoc::openapi())
                    .app_data(state.clone())
                    .app_data(metrics.clone())
                    .app_data(route_table.clone())
                    .app_data(
                        web::JsonConfig::default()
                            .limit(settings.json_limit_bytes)
                            .error_handler(error::json_error),
                    )
                    .app_data(web::QueryConfig::default().error_handler(error::query_error))
                    .app_data(web::PathConfig::default().error_handler(error::path_error))
                    .configure(configure_routes)
                    .split_for_parts();
                app.wrap(from_fn(crate::auth::extract::authenticate_requests))
                    .wrap(from_fn(crate::http::problems::refuse_bad_uris))
                    .wrap(from_fn(standard_headers))
                    .wrap(cors(&settings))
                    .wrap(from_fn(crate::http::problems::problem_bodies))
                    .wrap(TracingLogger::<crate::http::middleware::RequestSpan>::new())
                    .app_data(spec_json.clone())
                    .route("/openapi.json", web::get().to(serve_spec))
                    .route(
                        "/docs",
                        web::get().to(|| async {
                            HttpResponse::MovedPermanently()
                                .insert_header(("Location", "/docs/"))
                                .finish()
                        }),
                    )
                    .service(SwaggerUi::new("/docs/{_:.*}").config(SwaggerConfig::from("/openapi.json")))
                    .default_service(web::to(not_found_or_not_allowed))
            },
            10,
        )?;
        Ok(Application {
            port,
            server,
            media,
            background,
        })
    }

    /// The port actually bound (useful with port 0 in tests).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The media services (store and image memory budget) the server uses; tests hold the
    /// budget through it to prove what happens when it is spent.
    pub fn media(&self) -> Arc<crate::images::Media> {
        self.media.clone()
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM trigger a graceful shutdown). The webhook worker
    /// and the scheduler run alongside (unless `MASTHEAD_WEBHOOK_WORKER=false`) and stop with
    /// the server; whatever they had not finished is in the database for the next start.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let mut tasks = Vec::new();
        if let Some(bg) = self.background {
            let worker =
                crate::webhooks::worker::Worker::new(bg.db.clone(), bg.settings.clone(), bg.wakeup.clone())
                    .map_err(|e| std::io::Error::other(format!("webhook worker: {e}")))?;
            tasks.push(actix_web::rt::spawn(worker.run()));
            tasks.push(actix_web::rt::spawn(crate::scheduler::run(
                bg.db,
                bg.settings,
                bg.wakeup,
            )));
        }
        let result = self.server.await;
        for task in tasks {
            task.abort();
        }
        result
    }
}

async fn serve_spec(spec: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(spec.get_ref().clone())
}

fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(vec!["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers(vec![
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::IF_MATCH,
            actix_web::http::header::IF_NONE_MATCH,
            actix_web::http::header::IF_MODIFIED_SINCE,
        ])
        .expose_headers(vec![
            "ETag",
            "Last-Modified",
            "Location",
            "Retry-After",
            "Surrogate-Key",
            "X-Request-Id",
        ])
        .max_age(3600);
    for origin in &settings.cors_origins {
        if origin == "*" {
            cors = cors.allow_any_origin();
        } else {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}
