//! HTTP handler of `/api/v1/changes`.

use actix_web::{get, web, HttpResponse};

use super::{ChangesPage, ChangesQuery};
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::http::{answers, Query};
use crate::state::AppState;

/// What changed, oldest first: every create, update, deletion and purge of
/// the records the caller may see, sub-resources (contacts, follow-ups,
/// figures, funds) as changes of their parent. Keep `next_cursor` and ask
/// again to stay in sync: the feed never skips nor repeats an event.
#[utoipa::path(operation_id = "listChanges", tag = "changes", params(ChangesQuery),
    responses((status = 200, description = "One page of the feed", body = ChangesPage), answers::BadQuery, answers::Unauthenticated))]
#[get("/changes")]
pub async fn list_changes(state: web::Data<AppState>, caller: Caller, query: Query<ChangesQuery>) -> Result<HttpResponse, ApiError> {
    let page = db::run(&state.pool, move |conn| super::page(conn, &caller, query.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}
