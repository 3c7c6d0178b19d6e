//! HTTP handlers of `/api/v1/projects`: the list is the library's own; the
//! record's other operations come from the shared protocol ([`crate::records`]).

use actix_web::{delete, get, patch, post, web, HttpResponse};

use super::model::{Project, ProjectFields, ProjectPatch};
use super::queries::ListFilter;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::exchange::{self, ExportParams, ListQuery};
use crate::http::{answers, CountedPage};
use crate::records;
use crate::state::AppState;

/// List major projects, newest first, with filters and full-text search.
///
/// With `format=csv|xlsx` (or `Accept`), every matching project as a spreadsheet.
#[utoipa::path(
    operation_id = "listProjects",
    tag = "projects",
    params(ListFilter, ExportParams),
    responses(
        (status = 200, description = "One page of projects; or, as CSV or XLSX, every project matching the filters", content(
            (CountedPage<Project> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        answers::BadQuery,
    )
)]
#[get("/projects")]
pub async fn list_projects(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    exchange::list_or_export::<Project>(&state, caller, query).await
}

records::record_routes!(Project, fields = ProjectFields, patch = ProjectPatch, tag = "projects", noun = "major project",
    collection = "/projects", item = "/projects/{id}", history = "/projects/{id}/history",
    create_project / "createProject", get_project / "getProject",
    update_project / "updateProject", project_history / "getProjectHistory");

records::record_delete_route!(Project, tag = "projects", noun = "major project", item = "/projects/{id}",
    delete_project / "deleteProject");
