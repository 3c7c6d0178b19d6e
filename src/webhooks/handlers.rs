//! HTTP handlers of `/api/v1/webhooks`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::store::{self, CreatedWebhook, Delivery, NewWebhook, Webhook, WebhookPatch};
use super::target;
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{answers, created, if_match, parse_id, required_if_match, versioned, Body, Page, Query};
use crate::state::AppState;

/// Paging of hooks and of a hook's deliveries.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Checks a hook's URL: its shape, then every address its host resolves to
/// (422 naming `url`). Returns it as it will be stored.
async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let url = target::parse_url(raw)?;
    target::check(&url, &state.webhook_targets).await?;
    Ok(url.to_string())
}

/// The hooks the caller manages: all of them for provincial_admin, its own
/// park's for a park's administrator.
#[utoipa::path(operation_id = "listWebhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, description = "A page of hooks", body = Page<Webhook>), answers::BadQuery, answers::Unauthenticated, answers::Forbidden))]
#[get("/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>, caller: Caller, query: Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let PageQuery { limit, cursor } = query.0;
    let page = db::run(&state.pool, move |conn| store::list(conn, &caller, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One hook the caller manages (the `Location` of its creation), with its version as `ETag`.
#[utoipa::path(operation_id = "getWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The hook's id (UUID)")),
    responses((status = 200, description = "The hook", body = Webhook, headers(("ETag" = String))), answers::Unauthenticated, answers::Forbidden, answers::NotVisible))]
#[get("/webhooks/{id}")]
pub async fn get_webhook(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let hook = db::run(&state.pool, move |conn| store::get(conn, &caller, &id)).await?;
    let version = hook.version;
    Ok(versioned(StatusCode::OK, &hook, version))
}

/// Create a hook. Its `secret` is in this answer only.
#[utoipa::path(operation_id = "createWebhook", tag = "webhooks", request_body = NewWebhook,
    responses(
        (status = 201, description = "Created; the secret is shown this once", body = CreatedWebhook, headers(("Location" = String))),
        (status = 403, description = "Only provincial_admin, or the park's administrator for its park", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (a URL to a private address, or whose host does not resolve: `url` / `forbidden_address`; port 0: `url` / `port`)", body = Problem, content_type = "application/problem+json"),
        answers::Unauthenticated,
    ))]
#[post("/webhooks")]
pub async fn create_webhook(state: web::Data<AppState>, caller: Caller, body: Body) -> Result<HttpResponse, ApiError> {
    store::require_manager(&caller)?;
    let new = store::read_new(&caller, body.0)?;
    let url = checked_url(&state, &new.url).await?;
    let made = db::run(&state.pool, move |conn| store::create(conn, &caller, new, url)).await?;
    let mut answer = created(&format!("/api/v1/webhooks/{}", made.webhook.id), &made, Some(made.webhook.version));
    answer.headers_mut().insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    Ok(answer)
}

/// Change a hook (`If-Match` required). `{"active": true}` also resumes a
/// paused hook from its first undelivered event. A body that changes
/// nothing answers the hook as it is, at the same version.
#[utoipa::path(operation_id = "updateWebhook", tag = "webhooks", request_body = WebhookPatch,
    params(("id" = uuid::Uuid, Path, description = "The hook's id (UUID)"),
           ("If-Match" = String, Header, description = "The ETag of the version the change is based on, e.g. \"3\"")),
    responses(
        (status = 200, description = "The changed hook", body = Webhook),
        answers::Unauthenticated, answers::Forbidden, answers::NotVisible, answers::Stale, answers::Unprocessable, answers::IfMatchMissing,
    ))]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>, body: Body) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let (who, hook) = (caller.clone(), id.clone());
    // 404 and 403 come before anything of the body is read.
    db::run(&state.pool, move |conn| store::get(conn, &who, &hook)).await?;
    let precondition = required_if_match(&req)?;
    let mut changes = store::read_patch(body.0)?;
    if let Some(raw) = changes.url.take() {
        changes.url = Some(checked_url(&state, &raw).await?);
    }
    let hook = db::run(&state.pool, move |conn| store::update(conn, &caller, &id, &precondition, changes)).await?;
    let version = hook.version;
    Ok(versioned(StatusCode::OK, &hook, version))
}

/// Delete a hook: nothing more is sent to it. `If-Match` is checked when given.
#[utoipa::path(operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The hook's id (UUID)"),
           ("If-Match" = String, Header, description = "When given, the delete happens only at this version")),
    responses((status = 204, description = "Deleted"), answers::Unauthenticated, answers::Forbidden, answers::NotVisible, answers::Stale))]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let precondition = if_match(&req)?;
    db::run(&state.pool, move |conn| store::delete(conn, &caller, &id, precondition.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A hook's delivery attempts, newest first: each event's tries, answers and errors.
#[utoipa::path(operation_id = "listWebhookDeliveries", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The hook's id (UUID)"), PageQuery),
    responses((status = 200, description = "A page of attempts", body = Page<Delivery>), answers::BadQuery, answers::Unauthenticated, answers::Forbidden, answers::NotVisible))]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, query: Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let PageQuery { limit, cursor } = query.0;
    let page = db::run(&state.pool, move |conn| store::deliveries(conn, &caller, &id, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}
