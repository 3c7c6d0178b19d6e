//! HTTP handlers of `/api/v1/talents`.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{NewTalent, Talent, TalentPatch};
use super::queries::{self, TalentFilter};
use crate::audit::{AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{created, if_match, parse_id, versioned, Json, Page, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Erase the personal data for good and keep the anonymous rest (administrators only).
    #[serde(default)]
    pub purge: bool,
}

/// List talents (personal data always masked).
#[utoipa::path(operation_id = "listTalents", tag = "talents", params(TalentFilter),
    responses(
        (status = 200, description = "One page of talents, masked", body = Page<Talent>),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/talents")]
pub async fn list_talents(state: web::Data<AppState>, caller: Caller, filter: Query<TalentFilter>) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let page = db::run(&state.pool, move |conn| queries::list(conn, &scope, filter.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a talent. The answer shows personal data masked; read the record to see it.
#[utoipa::path(operation_id = "createTalent", tag = "talents", request_body = NewTalent,
    responses(
        (status = 201, description = "Created", body = Talent, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/talents")]
pub async fn create_talent(state: web::Data<AppState>, caller: Caller, body: Json<NewTalent>) -> Result<HttpResponse, ApiError> {
    let (park, fields) = body.0.into_fields();
    let talent = db::run(&state.pool, move |conn| queries::create(conn, &caller, park, fields)).await?;
    Ok(created(&format!("/api/v1/talents/{}", talent.id), &talent, Some(talent.version)))
}

/// Read one talent: unmasked for provincial_admin, park_admin and park_staff (audited), masked for viewers.
#[utoipa::path(operation_id = "getTalent", tag = "talents", params(("id" = uuid::Uuid, Path, description = "The talent's id (UUID)")),
    responses(
        (status = 200, description = "The talent", body = Talent, headers(("ETag" = String))),
        (status = 404, description = "No such talent visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/talents/{id}")]
pub async fn get_talent(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let talent = db::run(&state.pool, move |conn| queries::get(conn, &caller, &id)).await?;
    let mut response = versioned(StatusCode::OK, &talent, talent.version);
    // Personal data must not linger in shared caches.
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Change some fields of a talent; `If-Match` must carry the version read.
#[utoipa::path(operation_id = "updateTalent", tag = "talents", request_body = TalentPatch,
    params(("id" = uuid::Uuid, Path, description = "The talent's id (UUID)"), ("If-Match" = String, Header, description = "The ETag read")),
    responses(
        (status = 200, description = "The changed talent, masked", body = Talent, headers(("ETag" = String))),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such talent visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/talents/{id}")]
pub async fn update_talent(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>, body: Json<TalentPatch>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?.ok_or(ApiError::PreconditionRequired)?;
    let talent = db::run(&state.pool, move |conn| queries::update(conn, &caller, &id, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &talent, talent.version))
}

/// Delete a talent (soft), or with `purge=true` erase its personal data for good.
#[utoipa::path(operation_id = "deleteTalent", tag = "talents",
    params(("id" = uuid::Uuid, Path, description = "The talent's id (UUID)"), ("If-Match" = Option<String>, Header, description = "When given, only at this version"), DeleteParams),
    responses(
        (status = 204, description = "Deleted or purged"),
        (status = 403, description = "The role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such talent visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/talents/{id}")]
pub async fn delete_talent(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>, params: Query<DeleteParams>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    let purge = params.0.purge;
    db::run(&state.pool, move |conn| queries::delete(conn, &caller, &id, expected.as_ref(), purge)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A talent's audit events, newest first (personal data values never appear).
#[utoipa::path(operation_id = "getTalentHistory", tag = "talents",
    params(("id" = uuid::Uuid, Path, description = "The talent's id (UUID)"), HistoryParams),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 404, description = "No such talent visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/talents/{id}/history")]
pub async fn talent_history(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, params: Query<HistoryParams>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let HistoryParams { limit, cursor } = params.0;
    let page = db::run(&state.pool, move |conn| queries::history(conn, &scope, &id, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}
