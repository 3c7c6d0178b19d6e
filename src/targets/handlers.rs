//! HTTP handlers of `/api/v1/targets`. `/targets` reads the summary;
//! `/items` and `/series` compute from the facts, reading every counted row.
//! All run on the blocking pool (`db::read_heavy`), never holding an HTTP
//! worker that fast reads are waiting for.

use actix_web::http::StatusCode;
use actix_web::{get, put, web, HttpRequest, HttpResponse};

use super::compute::{Question, Scope};
use super::report::{self, ItemsQuery, ItemsReport, SeriesQuery, SeriesReport, TargetsQuery, TargetsReport};
use super::settings::{self, SettingsBody, TargetSettings};
use super::{facts, TargetKey};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::exchange::{self, ExportParams, Format, ListQuery};
use crate::http::{answers, required_if_match, versioned, Json, Query};
use crate::state::AppState;

/// Computes an answer from the dated facts up to `as_of`, on the blocking
/// pool: the settings, the facts and the caller's scope, read once, the same
/// way for every target route.
async fn from_facts<T: Send + 'static>(
    state: &AppState,
    caller: Caller,
    park: Option<String>,
    as_of: chrono::NaiveDate,
    answer: impl FnOnce(&facts::Facts, &TargetSettings, &Scope) -> T + Clone + Send + 'static,
) -> Result<T, ApiError> {
    let reader = state.reader(&caller);
    db::read_heavy(&reader, move |conn| {
        let settings = settings::load(conn)?;
        let facts = facts::load(conn, settings.period(), as_of)?;
        let parks: Vec<String> = facts.parks.iter().map(|p| p.code.clone()).collect();
        let scope = report::scope_for(&caller, park, &parks)?;
        Ok(answer(&facts, &settings, &scope))
    })
    .await
}

fn key_of(raw: &str) -> Result<TargetKey, ApiError> {
    TargetKey::parse(raw).ok_or(ApiError::NotFound("target"))
}

/// Where the zone (or a park) stands against the four 2025 targets on a date.
#[utoipa::path(operation_id = "getTargets", tag = "targets", params(TargetsQuery),
    responses(
        (status = 200, description = "The four targets: value, progress, status, by park, and a link to the rows", body = TargetsReport),
        (status = 400, description = "as_of malformed or before 2000, year out of range, or an unknown park", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/targets")]
pub async fn get_targets(state: web::Data<AppState>, caller: Caller, query: Query<TargetsQuery>) -> Result<HttpResponse, ApiError> {
    let TargetsQuery { as_of, park, year } = query.0;
    let as_of = report::parse_as_of(as_of.as_deref())?;
    let year = report::parse_year(year, as_of)?;
    // From the summary tables: a few hundred rows whatever the date.
    let reader = state.reader(&caller);
    let answer = db::read_heavy(&reader, move |conn| super::summary::targets(conn, &caller, park, as_of, year)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The rows counted in one target, each with its contribution; they add up
/// to its value (every row by default; `limit` and `cursor` page them).
///
/// The answer always holds `count`, every row of the target in scope, so
/// there is no `count=true` (it is `400` naming `count`).
///
/// With `format=csv|xlsx` (or `Accept`), every row as a spreadsheet: `limit`
/// and `cursor` are ignored there (a `limit` outside 1 to 10000 is refused as
/// for the JSON rows).
#[utoipa::path(operation_id = "getTargetItems", tag = "targets",
    params(("key" = TargetKey, Path, description = "The target"), ItemsQuery, ExportParams),
    responses(
        (status = 200, description = "The rows behind the value; or, as CSV or XLSX, every row", content(
            (ItemsReport = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "as_of malformed or before 2000, year out of range, or an unknown park", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/targets/{key}/items")]
pub async fn get_target_items(
    state: web::Data<AppState>,
    caller: Caller,
    key: web::Path<String>,
    query: ListQuery<ItemsQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key_of(&key)?;
    if query.format != Format::Json {
        return exchange::export_target_items(&state, caller, key, query).await;
    }
    let reader = state.reader(&caller);
    let answer = db::read_heavy(&reader, move |conn| items(conn, &caller, key, query.filter)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The rows behind a target's value (`/targets/{key}/items`, and its export).
pub fn items(conn: &mut db::DbConnection, caller: &Caller, key: TargetKey, query: ItemsQuery) -> Result<ItemsReport, ApiError> {
    let ItemsQuery { as_of, park, year, limit, cursor } = query;
    let page = report::ItemsPage::parse(limit, cursor.as_deref())?;
    let as_of = report::parse_as_of(as_of.as_deref())?;
    let year = report::parse_year(year, as_of)?;
    let settings = settings::load(conn)?;
    let facts = facts::load(conn, settings.period(), as_of)?;
    let parks: Vec<String> = facts.parks.iter().map(|p| p.code.clone()).collect();
    let scope = report::scope_for(caller, park, &parks)?;
    Ok(report::items(&facts, key, Question { as_of, period: settings.period(), year }, &scope, page))
}

/// The value of one target at the end of each year, quarter or month of the period, up to as_of.
#[utoipa::path(operation_id = "getTargetSeries", tag = "targets",
    params(("key" = TargetKey, Path, description = "The target"), SeriesQuery),
    responses(
        (status = 200, description = "The value at each interval's end", body = SeriesReport),
        (status = 400, description = "as_of malformed or before 2000, a bad interval, or an unknown park", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such target", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/targets/{key}/series")]
pub async fn get_target_series(
    state: web::Data<AppState>,
    caller: Caller,
    key: web::Path<String>,
    query: Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key_of(&key)?;
    let SeriesQuery { as_of, park, interval } = query.0;
    let as_of = report::parse_as_of(as_of.as_deref())?;
    let answer = from_facts(&state, caller, park, as_of, move |facts, settings, scope| {
        let q = Question { as_of, period: settings.period(), year: super::compute::default_year(as_of) };
        report::series(facts, key, q, scope, interval.unwrap_or_default())
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The target values, the period and the per-park shares.
#[utoipa::path(operation_id = "getTargetSettings", tag = "targets",
    responses((status = 200, description = "The settings", body = TargetSettings, headers(("ETag" = String)))))]
#[get("/targets/settings")]
pub async fn get_target_settings(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let settings = db::run(&state.pool, settings::load).await?;
    Ok(versioned(StatusCode::OK, &settings, settings.version))
}

/// Replace the target settings (provincial_admin); `If-Match` must carry the version read.
#[utoipa::path(operation_id = "putTargetSettings", tag = "targets", request_body = SettingsBody,
    params(("If-Match" = String, Header, description = "The ETag read")),
    responses(
        (status = 200, description = "The new settings", body = TargetSettings, headers(("ETag" = String))),
        (status = 403, description = "Only a provincial administrator changes the settings", body = Problem, content_type = "application/problem+json"),
        answers::Stale, answers::IfMatchMissing,
    ))]
#[put("/targets/settings")]
pub async fn put_target_settings(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    let expected = required_if_match(&req)?;
    let settings = db::run(&state.pool, move |conn| settings::save(conn, &caller, &expected, body.0)).await?;
    Ok(versioned(StatusCode::OK, &settings, settings.version))
}
