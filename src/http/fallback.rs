//! What answers when no route matched: 405 with `Allow` when the path exists for other methods
//! (known from the OpenAPI spec, so it cannot drift from the routes), otherwise 404.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// Every documented path with the methods it answers.
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let value = serde_json::to_value(item).unwrap_or_default();
                let mut methods: Vec<String> = value
                    .as_object()
                    .map(|o| {
                        o.keys()
                            .filter(|k| {
                                matches!(
                                    k.as_str(),
                                    "get" | "put" | "post" | "delete" | "options" | "head" | "patch"
                                )
                            })
                            .map(|k| k.to_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable { routes }
    }

    fn allowed_methods(&self, path: &str) -> Option<String> {
        self.routes
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.join(", "))
    }
}

/// The app's default service.
pub async fn not_found_or_not_allowed(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match table.allowed_methods(req.path()) {
        Some(allow) if !allow.is_empty() => ApiError::MethodNotAllowed {
            detail: format!(
                "{} is not allowed on {}; allowed: {allow}",
                req.method(),
                req.path()
            ),
            allow,
        },
        _ => ApiError::NotFound(format!("No route for {}", req.path())),
    })
}
