//! HTTP handlers of `/api/v1/top100`: every role reads the list; only
//! provincial_admin writes it.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use super::{Candidate, NewTop100, Top100, Top100Filter, Top100Patch};
use crate::audit::{self, AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{answers, created, if_match, parse_id, required_if_match, versioned, Json, Page, Query};
use crate::state::AppState;

/// The top-100 reference list (台湾地区前百大企业), by edition and rank.
#[utoipa::path(operation_id = "listTop100", tag = "top100", params(Top100Filter),
    responses((status = 200, description = "The groups of the list, in one page", body = Page<Top100>)))]
#[get("/top100")]
pub async fn list_top100(state: web::Data<AppState>, _caller: Caller, filter: Query<Top100Filter>) -> Result<HttpResponse, ApiError> {
    let page = db::run(&state.pool, move |conn| super::list(conn, filter.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Add a group to the list (provincial_admin).
#[utoipa::path(operation_id = "createTop100", tag = "top100", request_body = NewTop100,
    responses(
        (status = 201, description = "Created", body = Top100, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Only a provincial administrator keeps the list", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The rank is taken in that edition", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/top100")]
pub async fn create_top100(state: web::Data<AppState>, caller: Caller, body: Json<NewTop100>) -> Result<HttpResponse, ApiError> {
    let record = db::run(&state.pool, move |conn| super::create(conn, &caller, body.0)).await?;
    Ok(created(&format!("/api/v1/top100/{}", record.id), &record, Some(record.version)))
}

/// Change a group of the list (provincial_admin); `If-Match` must carry the version read.
#[utoipa::path(operation_id = "updateTop100", tag = "top100", request_body = Top100Patch,
    params(("id" = uuid::Uuid, Path, description = "The group's id"), ("If-Match" = String, Header, description = "The ETag read")),
    responses(
        (status = 200, description = "The changed group", body = Top100, headers(("ETag" = String))),
        (status = 403, description = "Only a provincial administrator keeps the list", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The rank is taken in that edition", body = Problem, content_type = "application/problem+json"),
        answers::Stale, answers::IfMatchMissing,
    ))]
#[patch("/top100/{id}")]
pub async fn update_top100(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<Top100Patch>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = required_if_match(&req)?;
    let record = db::run(&state.pool, move |conn| super::update(conn, &caller, &id, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &record, record.version))
}

/// Remove a group from the list (provincial_admin); refused while investors are linked to it.
#[utoipa::path(operation_id = "deleteTop100", tag = "top100",
    params(("id" = uuid::Uuid, Path, description = "The group's id"),
           ("If-Match" = Option<String>, Header, description = "When given, the delete happens only at this version")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Only a provincial administrator keeps the list", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Investors are linked to the group", body = Problem, content_type = "application/problem+json"),
        answers::Stale,
    ))]
#[delete("/top100/{id}")]
pub async fn delete_top100(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    db::run(&state.pool, move |conn| super::delete(conn, &caller, &id, expected.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's visible investors that may belong to this group (folded
/// name or 統一編號 of the group or a member) and are not linked yet.
#[utoipa::path(operation_id = "listTop100Candidates", tag = "top100",
    params(("id" = uuid::Uuid, Path, description = "The group's id")),
    responses((status = 200, description = "Candidates to link, at most 500", body = Page<Candidate>)))]
#[get("/top100/{id}/candidates")]
pub async fn top100_candidates(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let page = db::run(&state.pool, move |conn| super::candidates(conn, &scope, &id)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A group's audit events, newest first, a deleted group's too (any caller:
/// the list is the province's reference data, readable by all).
#[utoipa::path(operation_id = "top100History", tag = "top100",
    params(("id" = uuid::Uuid, Path, description = "The group's id"), HistoryParams),
    responses((status = 200, description = "One page of events", body = Page<AuditEvent>), answers::NotVisible))]
#[get("/top100/{id}/history")]
pub async fn top100_history(state: web::Data<AppState>, _caller: Caller, id: web::Path<String>, params: Query<HistoryParams>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    // Every group was created through the API or an import, so it has a trail.
    let page = db::run(&state.pool, move |conn| audit::reference_history(conn, super::ENTITY, &id, false, params.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}
