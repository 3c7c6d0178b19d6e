//! HTTP handlers of `/api/v1/projects/{id}/funds`: the park records funds on
//! the child protocol; the province decides on them through `verification`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use super::{DecisionBody, Fund, FundFields, FundPatch};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{answers, if_match, parse_id, versioned, Json};
use crate::records::{self, Items};
use crate::state::AppState;

records::child_routes!(Fund, fields = FundFields, patch = FundPatch, tag = "funds", parent = "project",
    collection = "/projects/{id}/funds", item = "/projects/{id}/funds/{child_id}",
    docs = ["List a project's funds in place (到位资金), oldest first.", "Read one fund.",
            "Record a fund in place with its evidence; it is pending until the province decides.",
            "Change a pending fund (a decided one is 409).", "Remove a pending fund (a decided one is 409; the history keeps it)."],
    list_funds / "listProjectFunds", get_fund / "getProjectFund", create_fund / "createProjectFund",
    update_fund / "updateProjectFund", delete_fund / "deleteProjectFund");

/// Verify or reject a pending fund (provincial_admin). Only verified funds
/// count in the project's `actual_investment_usd` and in the targets.
#[utoipa::path(operation_id = "decideProjectFund", tag = "funds", request_body = DecisionBody,
    params(("id" = uuid::Uuid, Path, description = "The project's id (UUID)"), ("child_id" = uuid::Uuid, Path, description = "The fund's id (UUID)"),
           ("If-Match" = Option<String>, Header, description = "When given, the decision applies only at this version of the fund")),
    responses(
        (status = 200, description = "The decided fund", body = Fund, headers(("ETag" = String))),
        (status = 403, description = "Only a provincial administrator decides on funds", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The fund is decided already", body = Problem, content_type = "application/problem+json"),
        answers::Stale,
    ))]
#[post("/projects/{id}/funds/{child_id}/verification")]
pub async fn decide_fund(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    ids: web::Path<(String, String)>,
    body: Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, fund) = (parse_id(&ids.0)?, parse_id(&ids.1)?);
    let expected = if_match(&req)?;
    let decided = db::run(&state.pool, move |conn| super::decide(conn, &caller, &id, &fund, expected.as_ref(), body.0)).await?;
    Ok(versioned(StatusCode::OK, &decided, decided.version))
}
