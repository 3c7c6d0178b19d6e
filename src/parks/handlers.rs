use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

use super::{NewPark, Park, ParkPatch};
use crate::audit::{self, AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{answers, created, required_if_match, versioned, Json, Page, Query};
use crate::state::AppState;

/// List the parks of the cooperation zone.
#[utoipa::path(
    operation_id = "listParks",
    tag = "parks",
    responses(
        (status = 200, description = "Every park, ordered by code", body = Vec<Park>),
        (status = "default", description = "Error", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/parks")]
pub async fn list_parks(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let parks = db::run(&state.pool, super::list).await?;
    Ok(HttpResponse::Ok().json(parks))
}

/// Read one park.
#[utoipa::path(
    operation_id = "getPark",
    tag = "parks",
    params(("code" = String, Path, description = "The park's code", example = "yueyang")),
    responses(
        (status = 200, description = "The park", body = Park, headers(("ETag" = String))),
        (status = 404, description = "No such park", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/parks/{code}")]
pub async fn get_park(
    state: web::Data<AppState>,
    _caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let park = db::run(&state.pool, move |conn| super::find(conn, &code)).await?;
    park.map(|p| versioned(StatusCode::OK, &p, p.version)).ok_or(ApiError::NotFound("park"))
}

/// Create a park (provincial_admin).
#[utoipa::path(
    operation_id = "createPark",
    tag = "parks",
    request_body = NewPark,
    responses(
        (status = 201, description = "Created", body = Park, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Only a provincial administrator creates parks", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A park with this code exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/parks")]
pub async fn create_park(state: web::Data<AppState>, caller: Caller, body: Json<NewPark>) -> Result<HttpResponse, ApiError> {
    let park = db::run(&state.pool, move |conn| super::create(conn, &caller, body.0)).await?;
    Ok(created(&format!("/api/v1/parks/{}", park.code), &park, Some(park.version)))
}

/// Change a park's name, focus industries, active flag or 2020 baseline
/// (provincial_admin); `If-Match` must carry the version read.
#[utoipa::path(
    operation_id = "updatePark",
    tag = "parks",
    request_body = ParkPatch,
    params(
        ("code" = String, Path, description = "The park's code", example = "yueyang"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    responses(
        (status = 200, description = "The changed park", body = Park, headers(("ETag" = String))),
        (status = 403, description = "Only a provincial administrator changes parks", body = Problem, content_type = "application/problem+json"),
        answers::Stale, answers::IfMatchMissing,
    )
)]
#[patch("/parks/{code}")]
pub async fn update_park(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<ParkPatch>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let expected = required_if_match(&req)?;
    let park = db::run(&state.pool, move |conn| super::update(conn, &caller, &code, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &park, park.version))
}

/// A park's audit events, newest first (any caller: the parks are the zone's
/// reference data, readable by all).
#[utoipa::path(operation_id = "parkHistory", tag = "parks",
    params(("code" = String, Path, description = "The park's code", example = "yueyang"), HistoryParams),
    responses((status = 200, description = "One page of events", body = Page<AuditEvent>), answers::NotVisible))]
#[get("/parks/{code}/history")]
pub async fn park_history(state: web::Data<AppState>, _caller: Caller, code: web::Path<String>, params: Query<HistoryParams>) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let exists = super::exists(conn, &code)?;
        audit::reference_history(conn, super::ENTITY, &code, exists, params.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
