//! The OpenAPI document: its fixed parts (info, tags, security schemes, shared schemas) are
//! declared here; every path is added by `utoipa-actix-web` as its route is registered, and
//! [`StandardResponses`] then documents the error answers every route shares.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder, Type, schema::ObjectBuilder,
};
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
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
        contact(name = "Masthead maintainers")
    ),
    servers((url = "/", description = "The server that serves this document")),
    components(schemas(Problem, FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "public", description = "Public delivery API: published content, no authentication"),
        (name = "auth", description = "Editor sessions: login, refresh, logout"),
        (name = "editorial", description = "Editorial API: authenticated, every state"),
        (name = "distribution", description = "Feeds (RSS, Atom, JSON Feed) and sitemaps for readers, aggregators and search engines"),
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

/// Documents the error responses that come from shared machinery rather than from a handler,
/// so no route can forget them (and routes added later get them for free):
///
/// - a JSON request body: 400 (malformed JSON), 413 (over the body limit), 415 (not
///   `application/json`) and 422 (well-formed but invalid), all raised by the `JsonConfig`
///   error handler before the handler runs; a multipart body likewise 400/413/415/422;
/// - a query parameter: 400 (the `QueryConfig` error handler, bad `limit`/`cursor`);
/// - a path parameter: 404 (the `PathConfig` error handler, or nothing under that id) and 400
///   (NUL, `%00`, refused before routing);
/// - any operation: 414 (a URI over `MASTHEAD_MAX_URI_BYTES`, refused before routing), so
///   every operation, the health probes too, documents the 4xx it can really get;
/// - a security requirement: 401 (missing, invalid or expired credentials) and, above the
///   lowest role, 403 (role too low), raised by the `Auth<…>` extractor.
///
/// Every 401 also documents the `WWW-Authenticate` header that `ApiError` sends with it, and
/// every response under `/api/v1/admin` and `/api/v1/auth` its `Cache-Control: no-store`.
/// An operation outside `/api/v1/admin` without a `security(...)` annotation is public and gets
/// an explicit empty requirement (`security: []`); an admin operation without one is left
/// undefined, so the Redocly lint (`security-defined`) and the contract test fail on it.
/// A status the handler already documents keeps the handler's description.
///
/// It also says things the way generators and linters expect them:
///
/// - the role an operation needs is the `x-required-role` extension and a line of its
///   description, and its security requirement is `bearerAuth: []`: the handlers write
///   `security(("bearerAuth" = ["editor"]))`, but OAuth-style scopes on an HTTP bearer scheme
///   are a lint warning in Spectral and Redocly and mean nothing to generated clients;
/// - parameters are never `null` (a header, query or path value is text on the wire), and a
///   free-text query or path parameter excludes NUL (`pattern: ^[^\u0000]*$`), which
///   `refuse_bad_uris` answers with 400 before routing.
///
/// It runs on the finished document (see `startup::openapi`), because `utoipa-actix-web` adds
/// the paths after `ApiDoc`'s own modifiers have run.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        reference_page_items(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            let editorial = path.starts_with("/api/v1/admin");
            let no_store = editorial || path.starts_with("/api/v1/auth");
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                if operation.security.is_none() && !editorial {
                    operation.security = Some(Vec::new());
                }
                document_standard_errors(operation, has_path_params);
                state_required_role(operation);
                parameters_as_sent(operation);
                if path.starts_with("/api/v1/") {
                    document_busy(operation);
                }
                describe_undescribed(operation);
                describe_operation(operation);
                if no_store {
                    document_no_store(operation);
                }
            }
        }
    }
}

fn document_standard_errors(operation: &mut Operation, has_path_params: bool) {
    let body_types: Vec<String> = operation
        .request_body
        .as_ref()
        .map(|body| body.content.keys().cloned().collect())
        .unwrap_or_default();
    if body_types.iter().any(|ct| ct.starts_with("application/json")) {
        add_problem(operation, 400, "The body is not well-formed JSON");
        add_problem(
            operation,
            413,
            "The body is larger than the JSON limit (1 MiB by default)",
        );
        add_problem(operation, 415, "The body was not sent as `application/json`");
        add_problem(
            operation,
            422,
            "The body is well-formed but invalid; `errors` names each field",
        );
    }
    if body_types.iter().any(|ct| ct.starts_with("multipart/form-data")) {
        add_problem(operation, 400, "The body is not well-formed multipart/form-data");
        add_problem(
            operation,
            413,
            "The upload is larger than the limit (`MASTHEAD_MAX_UPLOAD_BYTES`, 20 MiB by default)",
        );
        add_problem(
            operation,
            415,
            "The body or the uploaded file is of an unsupported type",
        );
        add_problem(
            operation,
            422,
            "The form is well-formed but invalid; `errors` names each field",
        );
    }
    add_problem(
        operation,
        414,
        "The URI (path and query) is longer than `MASTHEAD_MAX_URI_BYTES` (8 KiB by default)",
    );
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    if has_query {
        add_problem(operation, 400, "A query parameter is invalid");
    }
    if has_path_params {
        // `http::problems::refuse_bad_uris` answers before routing, on every backend.
        add_problem(operation, 400, "A path parameter holds NUL (`%00`)");
        add_problem(operation, 404, "Nothing exists under this path");
    }
    let roles = required_roles(operation);
    if let Some(roles) = roles {
        add_problem(
            operation,
            401,
            "Missing, invalid or expired credentials (a Bearer access token or API key)",
        );
        if roles.iter().any(|role| role != "contributor") {
            add_problem(
                operation,
                403,
                "The caller's role is below the one this operation needs",
            );
        }
    }
    if let Some(RefOr::T(unauthorized)) = operation.responses.responses.get_mut("401") {
        unauthorized
            .headers
            .entry("WWW-Authenticate".into())
            .or_insert_with(|| {
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("`Bearer`: how to authenticate"))
                    .build()
            });
    }
}

/// Any call that reaches the database may find it busy beyond `MASTHEAD_DB_BUSY_TIMEOUT_MS`
/// (a lock held elsewhere) or unreachable: a 503 problem with `Retry-After`, nothing changed.
fn document_busy(operation: &mut Operation) {
    add_problem(
        operation,
        503,
        "The database is busy or briefly unavailable; nothing was changed. Retry after `Retry-After` seconds",
    );
    if let Some(RefOr::T(busy)) = operation.responses.responses.get_mut("503") {
        busy.headers.entry("Retry-After".into()).or_insert_with(|| {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying"))
                .build()
        });
    }
}

/// Every answer of the editorial and session API carries `Cache-Control: no-store` (set by
/// `standard_headers` and by `ApiError`): documented on each response, with the one value it may
/// have, so Schemathesis checks it.
fn document_no_store(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.entry("Cache-Control".into()).or_insert_with(|| {
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["no-store"])),
                    )
                    .description(Some("Never cached: editorial and session answers"))
                    .build()
            });
        }
    }
}

/// An operation documented by a one-line doc comment has a summary only (utoipa puts the first
/// line there and the rest in the description): the summary is its description too, so every
/// operation has one (Spectral's `operation-description`; docs UIs show one or the other).
fn describe_operation(operation: &mut Operation) {
    if operation
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        operation.description = operation.summary.clone();
    }
}

/// A response documented without a description gets its status's reason phrase (`Created`,
/// `Unauthorized`…): the description is required by OpenAPI and shown by every docs UI.
fn describe_undescribed(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.trim().is_empty()
        {
            response.description = status
                .parse::<u16>()
                .ok()
                .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .unwrap_or("Response")
                .to_owned();
        }
    }
}

/// Moves the role out of the security requirement (`bearerAuth: [editor]` becomes
/// `bearerAuth: []`) into `x-required-role: editor` and the description. Runs after
/// [`document_standard_errors`], which reads the role from the requirement.
fn state_required_role(operation: &mut Operation) {
    let Some(roles) = required_roles(operation) else {
        return;
    };
    let Some(role) = roles.first().cloned() else {
        return;
    };
    operation.security = Some(vec![SecurityRequirement::new("bearerAuth", Vec::<String>::new())]);
    operation
        .extensions
        .get_or_insert_with(Default::default)
        .insert("x-required-role".into(), serde_json::Value::String(role.clone()));
    let line = if role == "admin" {
        "Needs the `admin` role (`x-required-role`).".to_owned()
    } else {
        format!(
            "Needs the `{role}` role or a higher one (`x-required-role`; roles from lowest: \
contributor, author, editor, admin)."
        )
    };
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.trim().is_empty() => format!("{text}\n\n{line}"),
        _ => line,
    });
}

/// A parameter's value is text on the wire: never `null` (utoipa types an `Option<T>`
/// parameter `[T, null]`, and generated clients then accept `None` and send the text "None" or
/// crash), and never NUL in a query or path (`refuse_bad_uris` answers 400): a free-text one
/// (no pattern, enum or format of its own) gets a pattern excluding it, so a schema-valid value
/// is one the server takes.
fn parameters_as_sent(operation: &mut Operation) {
    use utoipa::openapi::schema::{Schema, SchemaType};
    for parameter in operation.parameters.iter_mut().flatten() {
        let in_url = matches!(parameter.parameter_in, ParameterIn::Query | ParameterIn::Path);
        let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
            continue;
        };
        if let SchemaType::Array(types) = &schema.schema_type {
            let kept: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
            if kept.len() == 1 {
                schema.schema_type = SchemaType::Type(kept[0].clone());
            } else {
                schema.schema_type = SchemaType::Array(kept);
            }
        }
        let free_text = schema.schema_type == SchemaType::Type(Type::String)
            && schema.pattern.is_none()
            && schema.enum_values.is_none()
            && schema.format.is_none();
        if in_url && free_text {
            schema.pattern = Some(NO_NUL.to_owned());
        }
    }
}

/// Any text without NUL (an ECMA-262 and Python regular expression).
const NO_NUL: &str = r"^[^\u0000]*$";

/// The roles named by the operation's security requirements; `None` when it needs none.
fn required_roles(operation: &Operation) -> Option<Vec<String>> {
    let requirements = operation.security.as_ref().filter(|r| !r.is_empty())?;
    let value = serde_json::to_value(requirements).ok()?;
    let mut roles = Vec::new();
    let mut any = false;
    for requirement in value.as_array().into_iter().flatten() {
        for scopes in requirement.as_object().into_iter().flat_map(|o| o.values()) {
            any = true;
            roles.extend(
                scopes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned)),
            );
        }
    }
    any.then_some(roles)
}

/// A problem+json response, added only if the operation does not document `status` itself.
fn add_problem(operation: &mut Operation, status: u16, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(problem_response(description)));
}

/// A response whose body is the shared `Problem` schema as `application/problem+json`.
pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// utoipa 5 inlines a generic's type argument, so `Page_ArticleSummary.data.items` repeats the
/// whole `ArticleSummary` schema and the component itself is never referenced (Redocly's
/// `no-unused-components`; generated clients get an anonymous type instead of `ArticleSummary`).
/// Every `Page_<X>` whose items are exactly component `<X>` gets a `$ref` to it instead.
fn reference_page_items(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let named: Vec<(String, serde_json::Value)> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| Some((name.clone(), serde_json::to_value(schema).ok()?)))
        .collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item_name) = name.strip_prefix("Page_") else {
            continue;
        };
        let Some((_, wanted)) = named.iter().find(|(n, _)| n == item_name) else {
            continue;
        };
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        let Some(RefOr::T(Schema::Array(data))) = page.properties.get_mut("data") else {
            continue;
        };
        if let ArrayItems::RefOrSchema(items) = &mut data.items
            && serde_json::to_value(&**items).ok().as_ref() == Some(wanted)
        {
            **items = RefOr::Ref(Ref::from_schema_name(item_name));
        }
    }
}
