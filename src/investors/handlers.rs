//! HTTP handlers of `/api/v1/investors` and its sub-resources.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use super::children::{self, Contact, ContactBody, Figure, FigureBody, FollowUp, FollowUpBody, Items};
use super::model::{Investor, InvestorPatch, NewInvestor};
use super::queries::{self, InvestorFilter, MatchQuery, Matches};
use crate::audit::{AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{created, if_match, parse_id, versioned, Json, Page, Query};
use crate::state::AppState;

/// List investors, newest first, with filters and search.
#[utoipa::path(operation_id = "listInvestors", tag = "investors", params(InvestorFilter),
    responses(
        (status = 200, description = "One page of investors", body = Page<Investor>),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/investors")]
pub async fn list_investors(state: web::Data<AppState>, caller: Caller, filter: Query<InvestorFilter>) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let page = db::run(&state.pool, move |conn| queries::list(conn, &scope, filter.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Which parks already hold a matching investor (撞单 check): park, status and entry date only.
#[utoipa::path(operation_id = "matchInvestors", tag = "investors", params(MatchQuery),
    responses(
        (status = 200, description = "Every park holding a match; nothing else of their records", body = Matches),
        (status = 400, description = "No criterion, or an invalid identifier", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/investors/matches")]
pub async fn match_investors(state: web::Data<AppState>, _caller: Caller, query: Query<MatchQuery>) -> Result<HttpResponse, ApiError> {
    let found = db::run(&state.pool, move |conn| queries::matches(conn, query.0)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Create an investor.
#[utoipa::path(operation_id = "createInvestor", tag = "investors", request_body = NewInvestor,
    responses(
        (status = 201, description = "Created", body = Investor, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The park already holds this identifier", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/investors")]
pub async fn create_investor(state: web::Data<AppState>, caller: Caller, body: Json<NewInvestor>) -> Result<HttpResponse, ApiError> {
    let (park, fields) = body.0.into_fields();
    let investor = db::run(&state.pool, move |conn| queries::create(conn, &caller, park, fields)).await?;
    Ok(created(&format!("/api/v1/investors/{}", investor.id), &investor, Some(investor.version)))
}

/// Read one investor, with the projects that list it.
#[utoipa::path(operation_id = "getInvestor", tag = "investors", params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)")),
    responses(
        (status = 200, description = "The investor", body = Investor, headers(("ETag" = String))),
        (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/investors/{id}")]
pub async fn get_investor(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let investor = db::run(&state.pool, move |conn| queries::get(conn, &scope, &id)).await?;
    Ok(versioned(StatusCode::OK, &investor, investor.version))
}

/// Change some fields of an investor; `If-Match` must carry the version read.
#[utoipa::path(operation_id = "updateInvestor", tag = "investors", request_body = InvestorPatch,
    params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)"), ("If-Match" = String, Header, description = "The ETag read")),
    responses(
        (status = 200, description = "The changed investor", body = Investor, headers(("ETag" = String))),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The park already holds this identifier", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/investors/{id}")]
pub async fn update_investor(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>, body: Json<InvestorPatch>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?.ok_or(ApiError::PreconditionRequired)?;
    let investor = db::run(&state.pool, move |conn| queries::update(conn, &caller, &id, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &investor, investor.version))
}

/// Delete an investor (soft: its history stays).
#[utoipa::path(operation_id = "deleteInvestor", tag = "investors",
    params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)"), ("If-Match" = Option<String>, Header, description = "When given, delete only at this version")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/investors/{id}")]
pub async fn delete_investor(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    db::run(&state.pool, move |conn| queries::delete(conn, &caller, &id, expected.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An investor's audit events (its contacts, follow-ups and figures included), newest first.
#[utoipa::path(operation_id = "getInvestorHistory", tag = "investors",
    params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)"), HistoryParams),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/investors/{id}/history")]
pub async fn investor_history(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, params: Query<HistoryParams>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let HistoryParams { limit, cursor } = params.0;
    let page = db::run(&state.pool, move |conn| queries::history(conn, &scope, &id, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Generates list, create, update and delete handlers for one kind of child.
macro_rules! child_routes {
    ($path:literal, $child_path:literal, $item:ty, $body:ty,
     [$list_doc:literal, $create_doc:literal, $update_doc:literal, $delete_doc:literal],
     $list:ident / $list_id:literal, $create:ident / $create_id:literal,
     $update:ident / $update_id:literal, $delete:ident / $delete_id:literal,
     $q_list:path, $q_create:path, $q_update:path, $q_delete:path) => {
        #[utoipa::path(operation_id = $list_id, summary = $list_doc, tag = "investors",
            params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)")),
            responses(
                (status = 200, description = "All of them", body = Items<$item>),
                (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
            ))]
        #[get($path)]
        pub async fn $list(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
            let id = parse_id(&id)?;
            let scope = caller.scope();
            let items = db::run(&state.pool, move |conn| $q_list(conn, &scope, &id)).await?;
            Ok(HttpResponse::Ok().json(items))
        }

        #[utoipa::path(operation_id = $create_id, summary = $create_doc, tag = "investors", request_body = $body,
            params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)")),
            responses(
                (status = 201, description = "Created", body = $item, headers(("Location" = String))),
                (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such investor visible to the caller", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Conflicts with an existing one", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
            ))]
        #[post($path)]
        pub async fn $create(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, body: Json<$body>) -> Result<HttpResponse, ApiError> {
            let id = parse_id(&id)?;
            let investor = id.clone();
            let item = db::run(&state.pool, move |conn| $q_create(conn, &caller, &investor, body.0)).await?;
            Ok(created(&format!("/api/v1/investors/{id}/{}/{}", $path.rsplit('/').next().unwrap_or_default(), item.id), &item, None))
        }

        #[utoipa::path(operation_id = $update_id, summary = $update_doc, tag = "investors", request_body = $body,
            params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)"), ("child_id" = uuid::Uuid, Path, description = "Its id (UUID)")),
            responses(
                (status = 200, description = "Changed", body = $item),
                (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Conflicts with an existing one", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
            ))]
        #[patch($child_path)]
        pub async fn $update(state: web::Data<AppState>, caller: Caller, ids: web::Path<(String, String)>, body: Json<$body>) -> Result<HttpResponse, ApiError> {
            let (id, child) = (parse_id(&ids.0)?, parse_id(&ids.1)?);
            let item = db::run(&state.pool, move |conn| $q_update(conn, &caller, &id, &child, body.0)).await?;
            Ok(HttpResponse::Ok().json(item))
        }

        #[utoipa::path(operation_id = $delete_id, summary = $delete_doc, tag = "investors",
            params(("id" = uuid::Uuid, Path, description = "The investor's id (UUID)"), ("child_id" = uuid::Uuid, Path, description = "Its id (UUID)")),
            responses(
                (status = 204, description = "Removed"),
                (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found or not visible", body = Problem, content_type = "application/problem+json"),
            ))]
        #[delete($child_path)]
        pub async fn $delete(state: web::Data<AppState>, caller: Caller, ids: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
            let (id, child) = (parse_id(&ids.0)?, parse_id(&ids.1)?);
            db::run(&state.pool, move |conn| $q_delete(conn, &caller, &id, &child)).await?;
            Ok(HttpResponse::NoContent().finish())
        }
    };
}

child_routes!("/investors/{id}/contacts", "/investors/{id}/contacts/{child_id}", Contact, ContactBody,
    ["List an investor's contacts.", "Add a contact person.", "Change a contact person.", "Remove a contact person (the investor's history keeps it)."],
    list_contacts / "listInvestorContacts", create_contact / "createInvestorContact",
    update_contact / "updateInvestorContact", delete_contact / "deleteInvestorContact",
    children::list_contacts, children::create_contact, children::update_contact, children::delete_contact);

child_routes!("/investors/{id}/follow-ups", "/investors/{id}/follow-ups/{child_id}", FollowUp, FollowUpBody,
    ["List an investor's follow-ups (跟进记录), newest first.", "Record a follow-up.", "Change a follow-up.", "Remove a follow-up (the investor's history keeps it)."],
    list_follow_ups / "listInvestorFollowUps", create_follow_up / "createInvestorFollowUp",
    update_follow_up / "updateInvestorFollowUp", delete_follow_up / "deleteInvestorFollowUp",
    children::list_follow_ups, children::create_follow_up, children::update_follow_up, children::delete_follow_up);

child_routes!("/investors/{id}/figures", "/investors/{id}/figures/{child_id}", Figure, FigureBody,
    ["List an investor's yearly output figures, oldest year first.", "Add a year's output figure (one per year).", "Change a yearly figure.", "Remove a yearly figure (the investor's history keeps it)."],
    list_figures / "listInvestorFigures", create_figure / "createInvestorFigure",
    update_figure / "updateInvestorFigure", delete_figure / "deleteInvestorFigure",
    children::list_figures, children::create_figure, children::update_figure, children::delete_figure);
