//! HTTP handlers of `/api/v1/projects`: read the request, call one query
//! function with the caller, shape the response.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use super::model::{NewProject, Project, ProjectPatch};
use super::queries::{self, ListFilter};
use crate::audit::{AuditEvent, HistoryParams};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{created, if_match, parse_id, versioned, Json, Page, Query};
use crate::state::AppState;

/// List major projects, newest first, with filters and full-text search.
#[utoipa::path(
    operation_id = "listProjects",
    tag = "projects",
    params(ListFilter),
    responses(
        (status = 200, description = "One page of projects", body = Page<Project>),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects")]
pub async fn list_projects(
    state: web::Data<AppState>,
    caller: Caller,
    filter: Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let page = db::run(&state.pool, move |conn| queries::list(conn, &scope, filter.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a major project.
#[utoipa::path(
    operation_id = "createProject",
    tag = "projects",
    request_body = NewProject,
    responses(
        (status = 201, description = "Created", body = Project,
            headers(("Location" = String, description = "The new project's URL"), ("ETag" = String, description = "The version, quoted"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects")]
pub async fn create_project(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewProject>,
) -> Result<HttpResponse, ApiError> {
    let (park, fields) = body.0.into_fields();
    let project = db::run(&state.pool, move |conn| queries::create(conn, &caller, park, fields)).await?;
    Ok(created(&format!("/api/v1/projects/{}", project.id), &project, Some(project.version)))
}

/// Read one major project.
#[utoipa::path(
    operation_id = "getProject",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)")),
    responses(
        (status = 200, description = "The project", body = Project,
            headers(("ETag" = String, description = "The version, quoted"))),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{id}")]
pub async fn get_project(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let project = db::run(&state.pool, move |conn| queries::get(conn, &scope, &id)).await?;
    Ok(versioned(StatusCode::OK, &project, project.version))
}

/// Change some fields of a major project; `If-Match` must carry the version read.
#[utoipa::path(
    operation_id = "updateProject",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id (UUID)"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on, e.g. \"3\""),
    ),
    request_body = ProjectPatch,
    responses(
        (status = 200, description = "The changed project", body = Project,
            headers(("ETag" = String, description = "The new version, quoted"))),
        (status = 400, description = "Malformed body, id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The project changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/projects/{id}")]
pub async fn update_project(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<ProjectPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?.ok_or(ApiError::PreconditionRequired)?;
    let project =
        db::run(&state.pool, move |conn| queries::update(conn, &caller, &id, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &project, project.version))
}

/// Delete a major project (it leaves every list and read; its history stays).
#[utoipa::path(
    operation_id = "deleteProject",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id (UUID)"),
        ("If-Match" = Option<String>, Header, description = "When given, the delete happens only at this version"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The project changed since it was read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/projects/{id}")]
pub async fn delete_project(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    db::run(&state.pool, move |conn| queries::delete(conn, &caller, &id, expected.as_ref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A major project's audit events, newest first.
#[utoipa::path(
    operation_id = "getProjectHistory",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)"), HistoryParams),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 400, description = "Malformed id or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{id}/history")]
pub async fn project_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    params: Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let scope = caller.scope();
    let HistoryParams { limit, cursor } = params.0;
    let page =
        db::run(&state.pool, move |conn| queries::history(conn, &scope, &id, limit, cursor.as_deref())).await?;
    Ok(HttpResponse::Ok().json(page))
}
