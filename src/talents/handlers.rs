//! HTTP handlers of `/api/v1/talents`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Talent, TalentFields, TalentPatch};
use super::queries::{self, TalentFilter};
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::exchange::{self, ExportParams, ListQuery};
use crate::http::{answers, if_match, parse_id, CountedPage, Query};
use crate::records;
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
///
/// With `format=csv|xlsx` (or `Accept`), every matching talent as a spreadsheet, masked the same way.
#[utoipa::path(operation_id = "listTalents", tag = "talents", params(TalentFilter, ExportParams),
    responses(
        (status = 200, description = "One page of talents, masked; or, as CSV or XLSX, every talent matching the filters, masked", content(
            (CountedPage<Talent> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        answers::BadQuery,
    ))]
#[get("/talents")]
pub async fn list_talents(state: web::Data<AppState>, caller: Caller, query: ListQuery<TalentFilter>) -> Result<HttpResponse, ApiError> {
    exchange::list_or_export::<Talent>(&state, caller, query).await
}

records::record_routes!(Talent, fields = TalentFields, patch = TalentPatch, tag = "talents", noun = "talent",
    collection = "/talents", item = "/talents/{id}", history = "/talents/{id}/history",
    create_talent / "createTalent", get_talent / "getTalent",
    update_talent / "updateTalent", talent_history / "getTalentHistory");

/// Delete a talent (soft), or with `purge=true` erase its personal data for
/// good, a deleted talent's too (administrators only).
#[utoipa::path(operation_id = "deleteTalent", tag = "talents",
    params(("id" = uuid::Uuid, Path, description = "The talent's id (UUID)"),
           ("If-Match" = String, Header, description = "When given, only at this version"), DeleteParams),
    responses(
        (status = 204, description = "Deleted or purged"),
        answers::Forbidden, answers::NotVisible, answers::Stale,
    ))]
#[delete("/talents/{id}")]
pub async fn delete_talent(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>, params: Query<DeleteParams>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = if_match(&req)?;
    let purge = params.0.purge;
    db::run(&state.pool, move |conn| {
        if purge {
            queries::purge(conn, &caller, &id, expected.as_ref())
        } else {
            records::delete::<Talent>(conn, &caller, &id, expected.as_ref())
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
