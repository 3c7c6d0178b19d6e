//! The OpenAPI document. Paths and schemas are collected from the handlers'
//! annotations as they are routed ([`crate::startup::api_routes`]); this
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
        (name = "auth", description = "Logins, token refresh and logout"),
        (name = "users", description = "Users, their roles and parks"),
        (name = "parks", description = "The parks of the cooperation zone"),
        (name = "meta", description = "Vocabularies and their labels"),
        (name = "health", description = "Liveness and readiness"),
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError))
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
    doc
}

/// The whole document, as `GET /api-docs/openapi.json` serves it.
pub fn document() -> Document {
    let (_, doc) = App::new().into_utoipa_app().openapi(base()).configure(crate::startup::api_routes).split_for_parts();
    finish(doc)
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
