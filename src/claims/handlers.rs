//! HTTP handlers of `/api/v1/claims`.

use actix_web::{get, post, web, HttpResponse};

use super::model::{Claim, ClaimFields, ClaimFilter, Decision};
use super::store::{self, Moment};
use crate::audit::{AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::exchange::{self, ExportParams, Format, ListQuery};
use crate::http::{parse_id, Body, CountedPage, Page, Query};
use crate::state::AppState;

/// The caller's claims (a park role: its park's; the province: all), newest first.
///
/// With `format=csv|xlsx` (or `Accept`), every matching claim as a spreadsheet.
#[utoipa::path(operation_id = "listClaims", tag = "claims", params(ClaimFilter, ExportParams),
    responses(
        (status = 200, description = "One page of claims, each with its rivals' park, status and filing date; or, as CSV or XLSX, every claim matching the filters", content(
            (CountedPage<Claim> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/claims")]
pub async fn list_claims(state: web::Data<AppState>, caller: Caller, query: ListQuery<ClaimFilter>) -> Result<HttpResponse, ApiError> {
    if query.format != Format::Json {
        return exchange::export::<Claim>(&state, caller, query).await;
    }
    let today = state.clock.today();
    let counts = query.filter.count == Some(true);
    let page = db::run_list(&state.pool, counts, move |conn| {
        db::with_custom_plans(conn, |conn| store::list(conn, &caller, query.filter, today))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// File a first claim (首报首谈) for a project whose formal talks have begun.
///
/// A later claim from another park on a matching identity is `contested` at
/// once, and so is the earlier one; each side sees only the other's park,
/// status and filing date.
#[utoipa::path(operation_id = "createClaim", tag = "claims", request_body = ClaimFields,
    responses(
        (status = 201, description = "Filed: active, or contested when another park claims the same identity", body = Claim,
            headers(("Location" = String, description = "The claim's URL"), ("ETag" = String, description = "The version, quoted"))),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project has a claim already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such project in the caller's park, not negotiating yet, or without investors", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/claims")]
pub async fn create_claim(state: web::Data<AppState>, caller: Caller, body: Body) -> Result<HttpResponse, ApiError> {
    let at = Moment::of(&state.clock);
    let claim = db::run(&state.pool, move |conn| store::file(conn, &caller, body.0, at)).await?;
    Ok(crate::http::created(&format!("/api/v1/claims/{}", claim.id), &claim, Some(claim.version)))
}

/// One claim of the caller's park (or any, for the province).
#[utoipa::path(operation_id = "getClaim", tag = "claims",
    params(("id" = uuid::Uuid, Path, description = "The claim's id (UUID)")),
    responses(
        (status = 200, description = "The claim", body = Claim, headers(("ETag" = String, description = "The version, quoted"))),
        (status = 404, description = "No such claim visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/claims/{id}")]
pub async fn get_claim(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let today = state.clock.today();
    let claim = db::run(&state.pool, move |conn| store::get(conn, &caller, &id, today)).await?;
    Ok(crate::http::versioned(actix_web::http::StatusCode::OK, &claim, claim.version))
}

/// Decide a contest (provincial_admin): the awarded claim wins, the others
/// of the contest are rejected, and their projects leave the targets.
#[utoipa::path(operation_id = "decideClaim", tag = "claims", request_body = Decision,
    params(("id" = uuid::Uuid, Path, description = "A contested claim (UUID)")),
    responses(
        (status = 200, description = "The claim after the decision", body = Claim),
        (status = 403, description = "Only a provincial administrator decides", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim is not contested", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`award` is not a claim of this contest, or no reason", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/claims/{id}/decision")]
pub async fn decide_claim(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, body: Body) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let at = Moment::of(&state.clock);
    let claim = db::run(&state.pool, move |conn| store::decide(conn, &caller, &id, body.0, at)).await?;
    Ok(crate::http::versioned(actix_web::http::StatusCode::OK, &claim, claim.version))
}

/// A claim's audit events, newest first: filing, contest, lapse, decision.
#[utoipa::path(operation_id = "getClaimHistory", tag = "claims",
    params(("id" = uuid::Uuid, Path, description = "The claim's id (UUID)"), HistoryParams),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 404, description = "No such claim visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/claims/{id}/history")]
pub async fn claim_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    params: Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let HistoryParams { limit, cursor } = params.0;
    let page = db::run(&state.pool, move |conn| store::history(conn, &caller, &id, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}
