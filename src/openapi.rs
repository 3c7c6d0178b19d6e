//! The OpenAPI document. Paths and schemas are collected from the handlers'
//! annotations as they are routed ([`crate::routes::api_routes`]); this
//! module adds what is not in any handler.

use actix_web::App;
use utoipa::openapi::OpenApi as Document;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "invest-registry",
        description = "Major projects (重大项目库), investors (客商库) and talents (人才库) of the \
                       Cross-Strait Industrial Cooperation Zone (Hunan).",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "projects", description = "The major-project library (重大项目库)"),
        (name = "investors", description = "The investor library (客商库), with contacts, follow-ups and yearly figures"),
        (name = "talents", description = "The talent library (人才库)"),
        (name = "imports", description = "Spreadsheets in: records from CSV or XLSX, checked by a dry run, written all or nothing"),
        (name = "auth", description = "Logins, token refresh and logout"),
        (name = "users", description = "Users, their roles and parks"),
        (name = "parks", description = "The parks of the cooperation zone"),
        (name = "funds", description = "Funds in place (到位资金) of a project, with evidence and the province's verification"),
        (name = "top100", description = "Taiwan's top-100 groups (台湾地区前百大企业): the province's reference list"),
        (name = "targets", description = "The 2025 targets, per park and on any date, down to the rows counted"),
        (name = "changes", description = "What changed, in commit order, for clients that stay in sync"),
        (name = "claims", description = "First claims (首报首谈): a park's claim on an investor, contests between parks and the province's decisions"),
        (name = "monitoring", description = "Red, amber and green lights (红黄绿灯) of projects against configurable rules"),
        (name = "meta", description = "Vocabularies and their labels"),
        (name = "health", description = "Liveness and readiness"),
        (name = "stats", description = "Statistics: counts and money grouped by park, vocabulary and year; the project funnel by cohort"),
        (name = "webhooks", description = "Changes pushed to other systems as they commit, signed, at least once and in order"),
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::http::TimeBound, crate::http::Sort))
)]
struct ApiDoc;

/// The hand-written part of the document, before routes are added.
pub fn base() -> Document {
    ApiDoc::openapi()
}

/// Final touches after the routes are collected: the version, and bearer
/// JWTs required everywhere but where an operation says `security()`.
pub fn finish(mut doc: Document) -> Document {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = doc.components.get_or_insert_with(Default::default);
    open_flattened_bodies(&mut components.schemas);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("An access token from POST /api/v1/auth/login"))
                .build(),
        ),
    );
    doc.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    for item in doc.paths.paths.values_mut() {
        if let Some(delete) = item.delete.as_mut() {
            optional_if_match(delete);
        }
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
            add_common_problems(operation);
        }
    }
    doc
}

/// A view that flattens a request body (`#[serde(flatten)]`, rendered as
/// `allOf`) must not inherit the body's `additionalProperties: false`: the
/// view adds members (`version`, `updated_at`), which a closed part would
/// forbid. Such a part is copied into the view without the closure; the
/// body's own schema stays closed, as the server is.
fn open_flattened_bodies(schemas: &mut std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>) {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let closed: std::collections::BTreeMap<String, Schema> = schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) if object.additional_properties.is_some() => {
                let mut open = object.clone();
                open.additional_properties = None;
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in schemas.values_mut() {
        let RefOr::T(Schema::AllOf(all_of)) = schema else { continue };
        for part in all_of.items.iter_mut() {
            if let RefOr::Ref(reference) = part {
                if let Some(open) = closed.get(&reference.ref_location) {
                    *part = RefOr::T(open.clone());
                }
            }
        }
    }
}

/// A `DELETE` takes `If-Match` when the client has a version to guard; the
/// header is optional but, when sent, a string (never null).
fn optional_if_match(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::Required;
    for param in operation.parameters.iter_mut().flatten() {
        let utoipa::openapi::RefOr::T(param) = param else { continue };
        if param.parameter_in == ParameterIn::Header && param.name == "If-Match" {
            param.required = Required::False;
        }
    }
}

/// Answers every operation can give for the same reasons, documented once
/// here rather than on each handler: no token, unreadable input, bad ids.
fn add_common_problems(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    let protected = operation.security.as_ref().is_none_or(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    // The multipart bodies (imports) say for themselves what they take.
    let has_json_body = matches!(&operation.request_body, Some(utoipa::openapi::RefOr::T(body)) if body.content.contains_key("application/json"));
    let params = operation.parameters.as_deref().unwrap_or_default();
    let located = |place: ParameterIn| {
        params.iter().any(|p| matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == place))
    };
    let (has_query, has_path_id) = (located(ParameterIn::Query), located(ParameterIn::Path));
    let mut add = |status: &str, description: &str, wanted: bool| {
        if wanted && !operation.responses.responses.contains_key(status) {
            operation.responses.responses.insert(status.to_owned(), problem_response(description));
        }
    };
    add("400", "The request cannot be read: malformed JSON, a bad query parameter, id or header", has_body || has_query || has_path_id);
    add("401", "No valid token (missing, malformed, expired or revoked); see WWW-Authenticate", protected);
    add("404", "Not found, or not visible to the caller", has_path_id);
    add("413", "The body is larger than 256 KiB", has_body);
    add("415", "The body is not application/json", has_json_body);
    add("422", "A field breaks a rule", has_body);
    if !operation.responses.responses.contains_key("503") {
        let busy = "The database is unavailable, or (exports, imports, statistics, targets, counts, searches) too much slow work is in progress; see Retry-After";
        operation.responses.responses.insert("503".to_owned(), with_retry_after(busy));
    }
}

/// A 503 problem: every one carries `Retry-After` (`error::ApiError`).
fn with_retry_after(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut response = problem_response(description);
    if let utoipa::openapi::RefOr::T(response) = &mut response {
        let seconds = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build()))
            .description(Some("Seconds to wait"))
            .build();
        response.headers.insert("Retry-After".to_owned(), seconds.into());
    }
    response
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(crate::error::PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
        .into()
}

/// Where the service serves the document.
pub const JSON_PATH: &str = "/api-docs/openapi.json";

/// The whole document, as `GET /api-docs/openapi.json` serves it.
pub fn document() -> Document {
    let (_, doc) = App::new().into_utoipa_app().openapi(base()).configure(crate::routes::api_routes).split_for_parts();
    finish(doc)
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
