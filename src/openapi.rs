//! The OpenAPI document: its fixed parts (info, tags, security schemes, shared schemas) are
//! declared here; every path is added by `utoipa-actix-web` as its route is registered.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Masthead API",
        description = "Headless CMS for news publishers. The public delivery API (`/api/v1/…`) \
serves published articles, images, tags and approved comments without authentication; the \
editorial API (`/api/v1/admin/…`) needs a Bearer JWT or API key. Errors are RFC 9457 \
`application/problem+json`.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "public", description = "Public delivery API: published content, no authentication"),
        (name = "auth", description = "Editor sessions: login, refresh, logout"),
        (name = "editorial", description = "Editorial API: authenticated, every state"),
        (name = "operations", description = "Health, readiness and metrics")
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .description(Some(
                        "An access token from POST /api/v1/auth/login, or an API key (mh_…)",
                    ))
                    .build(),
            ),
        );
        let _ = Http::new(HttpAuthScheme::Bearer);
    }
}
