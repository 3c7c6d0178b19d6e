//! HTTP handler of `/api/v1/changes`.

use actix_web::{get, web, HttpResponse};

use super::{ChangeEvent, ChangesPage, ChangesQuery};
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::exchange::{self, ExportParams, Format, ListQuery};
use crate::http::answers;
use crate::state::AppState;

/// What changed, oldest first: every create, update, deletion and purge of
/// the records the caller may see, sub-resources (contacts, follow-ups,
/// figures, funds) as changes of their parent. Keep `next_cursor` and ask
/// again to stay in sync: the feed never skips nor repeats an event.
///
/// With `format=csv|xlsx` (or `Accept`), every event ready now from the
/// start (or from `since`) as a spreadsheet; `cursor` is ignored there.
///
/// The feed has no `count` (it is `400` naming `count`): read up to the
/// commit horizon, a total would be out of date at once; `more` says
/// whether to read on.
#[utoipa::path(operation_id = "listChanges", tag = "changes", params(ChangesQuery, ExportParams),
    responses((status = 200, description = "One page of the feed; or, as CSV or XLSX, every event ready now", content(
            (ChangesPage = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )), answers::BadQuery, answers::Unauthenticated))]
#[get("/changes")]
pub async fn list_changes(state: web::Data<AppState>, caller: Caller, query: ListQuery<ChangesQuery>) -> Result<HttpResponse, ApiError> {
    if query.format != Format::Json {
        return exchange::export::<ChangeEvent>(&state, caller, query).await;
    }
    let page = db::run(&state.pool, move |conn| super::page(conn, &caller, query.filter)).await?;
    Ok(HttpResponse::Ok().json(page))
}
