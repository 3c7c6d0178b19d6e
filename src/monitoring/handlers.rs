//! HTTP handlers of `/api/v1/monitoring`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::notices::{self, Notice, NoticeFields, ResponseFields};
use super::rules::{self, Reason, RuleSettings, Rules};
use super::watch::{self, Asked, Key};
use crate::auth::{Caller, ParkScope};
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::exchange::{self, ExportParams, Format, ListQuery};
use crate::http::{created, parse_id, required_if_match, versioned, Body, Json, Limit};
use crate::projects::lights;
use crate::projects::queries::lights_of;
use crate::state::AppState;
use crate::vocab::{from_db, Light, Stage};

/// Filters and paging of `GET /monitoring`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonitoringQuery {
    /// Park codes (repeat for several). A park role sees its own park whatever is asked.
    #[serde(default)]
    pub park: Vec<String>,
    /// Lights (repeat for several): only the items; the counts show every light.
    #[serde(default)]
    pub light: Vec<Light>,
    /// Stages (repeat for several); `dropped` and `operating` projects are not watched.
    #[serde(default)]
    pub stage: Vec<Stage>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One watched project.
#[derive(Debug, Serialize, ToSchema)]
pub struct Watched {
    pub project_id: String,
    #[schema(example = "yueyang")]
    pub park_code: String,
    pub name: String,
    pub stage: Stage,
    pub light: Light,
    pub light_reasons: Vec<Reason>,
    /// The day its light turns (or turned) amber under the current rules, unless it moves on first; `null`: never.
    pub amber_on: Option<NaiveDate>,
    /// The day its light turns (or turned) red; `null`: never.
    pub red_on: Option<NaiveDate>,
}

/// How many watched projects of a park have each light.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct LightCounts {
    #[schema(example = "yueyang")]
    pub park_code: String,
    pub green: i64,
    pub amber: i64,
    pub red: i64,
}

/// `GET /monitoring`: red first, then amber, then green.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitoringReport {
    /// The day the lights are judged on.
    pub as_of: NaiveDate,
    /// By park, for the park and stage filters (every light).
    pub counts: Vec<LightCounts>,
    pub items: Vec<Watched>,
    pub next_cursor: Option<String>,
    /// Open supervision notices (督办) of the parks asked, by due date; `overdue` when past it.
    pub notices: Vec<Notice>,
}

/// The watched projects with their lights and reasons, and counts by park and light.
///
/// There is no `count=true` (it is `400` naming `count`): `counts` already
/// holds, by park, how many watched projects have each light.
///
/// With `format=csv|xlsx` (or `Accept`), every watched project matching the
/// filters (not one page) as a spreadsheet, red first; no counts or notices.
#[utoipa::path(operation_id = "getMonitoring", tag = "monitoring", params(MonitoringQuery, ExportParams),
    responses(
        (status = 200, description = "Watched projects, red first, with counts by park and light; or, as CSV or XLSX, every watched project matching the filters", content(
            (MonitoringReport = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/monitoring")]
pub async fn get_monitoring(state: web::Data<AppState>, caller: Caller, query: ListQuery<MonitoringQuery>) -> Result<HttpResponse, ApiError> {
    if query.format != Format::Json {
        return exchange::export::<Watched>(&state, caller, query).await;
    }
    let today = state.clock.today();
    let scope = caller.scope();
    let report = db::run_heavy(&state.pool, move |conn| {
        let (parks, stages) = (query.filter.park.clone(), query.filter.stage.clone());
        // The page first: a bad limit or cursor is refused before anything is counted.
        let (items, next_cursor) = watched(conn, &scope, query.filter, today)?;
        let asked = Asked { scope: &scope, parks: &parks, stages: &stages, today };
        let counts = watch::tallies(conn, &asked)?
            .into_iter()
            .map(|t| LightCounts { park_code: t.park_code, green: t.watched - t.amber_or_red, amber: t.amber_or_red - t.red, red: t.red })
            .collect();
        let notices = notices::open(conn, &scope, &parks, today)?;
        Ok(MonitoringReport { as_of: today, counts, items, next_cursor, notices })
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// One page of the watched projects `query` asks for, as `scope` may see
/// them on `today`, and the cursor of the next page (the list's items, and
/// its export page after page).
pub fn watched(
    conn: &mut DbConnection,
    scope: &ParkScope,
    query: MonitoringQuery,
    today: NaiveDate,
) -> Result<(Vec<Watched>, Option<String>), ApiError> {
    let MonitoringQuery { park, light, stage, limit, cursor } = query;
    let limit = Limit::parse(limit)?;
    let after = match cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(Key::decode(raw).ok_or_else(|| ApiError::bad_param("cursor", "cursor", "is not a cursor returned by this list"))?),
    };
    let asked = Asked { scope, parks: &park, stages: &stage, today };
    let mut lit = watch::page(conn, &asked, &light, limit.get() + 1, after.as_ref())?;
    let next_cursor = (lit.len() as i64 > limit.get())
        .then(|| {
            lit.truncate(limit.get() as usize);
            lit.last().map(|last| Key { light: last.light, park_code: last.park_code.clone(), id: last.id.clone() }.encode())
        })
        .flatten();
    Ok((with_reasons(conn, lit, today)?, next_cursor))
}

/// The page's projects with the reasons of their lights (judged for these only).
fn with_reasons(conn: &mut DbConnection, lit: Vec<watch::Lit>, today: NaiveDate) -> Result<Vec<Watched>, ApiError> {
    let ids: Vec<String> = lit.iter().map(|l| l.id.clone()).collect();
    let mut reasons: HashMap<String, Vec<Reason>> = lights_of(conn, &ids, today)?
        .into_iter()
        .map(|p| (p.id, p.light_reasons))
        .collect();
    lit.into_iter()
        .map(|l| {
            Ok(Watched {
                light_reasons: reasons.remove(&l.id).unwrap_or_default(),
                stage: from_db(&l.stage)?,
                project_id: l.id,
                park_code: l.park_code,
                name: l.name,
                light: l.light,
                amber_on: l.amber_on,
                red_on: l.red_on,
            })
        })
        .collect()
}

/// The monitoring rules: the thresholds of the lights and of claims' lapse.
#[utoipa::path(operation_id = "getMonitoringRules", tag = "monitoring",
    responses((status = 200, description = "The rules", body = RuleSettings, headers(("ETag" = String)))))]
#[get("/monitoring/rules")]
pub async fn get_monitoring_rules(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let settings = db::run(&state.pool, rules::load).await?;
    Ok(versioned(StatusCode::OK, &settings, settings.version))
}

/// Replace the monitoring rules (provincial_admin); `If-Match` must carry the version read.
#[utoipa::path(operation_id = "putMonitoringRules", tag = "monitoring", request_body = Rules,
    params(("If-Match" = String, Header, description = "The ETag read")),
    responses(
        (status = 200, description = "The new rules", body = RuleSettings, headers(("ETag" = String))),
        (status = 403, description = "Only a provincial administrator changes the rules", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A threshold is out of range or out of order", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/monitoring/rules")]
pub async fn put_monitoring_rules(state: web::Data<AppState>, caller: Caller, req: HttpRequest, body: Json<Rules>) -> Result<HttpResponse, ApiError> {
    let expected = required_if_match(&req)?;
    // Recomputes every project's light: minutes at 1M projects.
    let settings = db::run_long(&state.pool, move |conn| rules::save(conn, &caller, &expected, body.0, lights::follow_rules)).await?;
    Ok(versioned(StatusCode::OK, &settings, settings.version))
}

/// A project's supervision notices (督办), newest first, each open or answered, overdue or not.
#[utoipa::path(operation_id = "listProjectNotices", tag = "monitoring",
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)")),
    responses(
        (status = 200, description = "Its notices", body = crate::records::Items<Notice>),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/projects/{id}/notices")]
pub async fn list_notices(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let today = state.clock.today();
    let items = db::run(&state.pool, move |conn| notices::list(conn, &caller, &id, today)).await?;
    Ok(HttpResponse::Ok().json(crate::records::Items { items }))
}

/// Issue a supervision notice (督办) on a project (provincial_admin).
#[utoipa::path(operation_id = "createProjectNotice", tag = "monitoring", request_body = NoticeFields,
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)")),
    responses(
        (status = 201, description = "Issued", body = Notice, headers(("Location" = String))),
        (status = 403, description = "Only a provincial administrator issues notices", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/projects/{id}/notices")]
pub async fn create_notice(state: web::Data<AppState>, caller: Caller, id: web::Path<String>, body: Body) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    let project = id.clone();
    let notice = db::run(&state.pool, move |conn| notices::issue(conn, &caller, &project, body.0, now)).await?;
    Ok(created(&format!("/api/v1/projects/{id}/notices/{}", notice.id), &notice, Some(notice.version)))
}

/// Answer a supervision notice (the project's park).
#[utoipa::path(operation_id = "respondProjectNotice", tag = "monitoring", request_body = ResponseFields,
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)"), ("child_id" = uuid::Uuid, Path, description = "The notice's id (UUID)")),
    responses(
        (status = 200, description = "The answered notice", body = Notice),
        (status = 403, description = "The role may not write here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or notice visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Answered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No text", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/projects/{id}/notices/{child_id}/response")]
pub async fn respond_notice(
    state: web::Data<AppState>,
    caller: Caller,
    ids: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (id, notice) = (parse_id(&ids.0)?, parse_id(&ids.1)?);
    let now = state.clock.now();
    let answered = db::run(&state.pool, move |conn| notices::respond(conn, &caller, &id, &notice, body.0, now)).await?;
    Ok(versioned(StatusCode::OK, &answered, answered.version))
}
