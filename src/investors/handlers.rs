//! HTTP handlers of `/api/v1/investors` and its sub-resources.

use actix_web::{delete, get, patch, post, web, HttpResponse};

use super::children::{Contact, ContactFields, ContactPatch, Figure, FigureFields, FigurePatch, FollowUp, FollowUpFields, FollowUpPatch};
use super::model::{Investor, InvestorFields, InvestorPatch};
use super::queries::{self, InvestorFilter, MatchQuery, Matches};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::exchange::{self, ExportParams, ListQuery};
use crate::http::{answers, CountedPage, Query};
use crate::records::{self, Items};
use crate::state::AppState;

/// List investors, newest first, with filters and search.
///
/// With `format=csv|xlsx` (or `Accept`), every matching investor as a spreadsheet.
#[utoipa::path(operation_id = "listInvestors", tag = "investors", params(InvestorFilter, ExportParams),
    responses(
        (status = 200, description = "One page of investors; or, as CSV or XLSX, every investor matching the filters", content(
            (CountedPage<Investor> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        answers::BadQuery,
    ))]
#[get("/investors")]
pub async fn list_investors(state: web::Data<AppState>, caller: Caller, query: ListQuery<InvestorFilter>) -> Result<HttpResponse, ApiError> {
    exchange::list_or_export::<Investor>(&state, caller, query).await
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

/// Merge another investor of the same park into this one (park_admin, provincial_admin).
///
/// Contacts, follow-ups, figures, project links, referrals and talents'
/// employer move here; `from` is soft-deleted with `merged_into`. Both
/// histories keep every event; `If-Match` carries this investor's version.
#[utoipa::path(operation_id = "mergeInvestor", tag = "investors", request_body = super::MergeBody,
    params(
        ("id" = uuid::Uuid, Path, description = "The investor that stays (UUID)"),
        ("If-Match" = String, Header, description = "Its ETag as read, e.g. \"3\""),
    ),
    responses(
        (status = 200, description = "The investor with everything of `from`", body = Investor, headers(("ETag" = String))),
        (status = 403, description = "Only administrators merge", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Either investor is not visible, or they are of different parks", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Both have a figure for the same year", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The investor changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from` is missing or the investor itself", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/investors/{id}/merge")]
pub async fn merge_investor(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
    body: crate::http::Body,
) -> Result<HttpResponse, ApiError> {
    let id = crate::http::parse_id(&id)?;
    let expected = crate::http::required_if_match(&req)?;
    let merged = db::run(&state.pool, move |conn| super::merge::merge(conn, &caller, &id, &expected, body.0)).await?;
    Ok(crate::http::versioned(actix_web::http::StatusCode::OK, &merged, merged.version))
}

records::record_routes!(Investor, fields = InvestorFields, patch = InvestorPatch, tag = "investors", noun = "investor",
    collection = "/investors", item = "/investors/{id}", history = "/investors/{id}/history",
    create_investor / "createInvestor", get_investor / "getInvestor",
    update_investor / "updateInvestor", investor_history / "getInvestorHistory");

records::record_delete_route!(Investor, tag = "investors", noun = "investor", item = "/investors/{id}",
    delete_investor / "deleteInvestor");

records::child_routes!(Contact, fields = ContactFields, patch = ContactPatch, tag = "investors", parent = "investor",
    collection = "/investors/{id}/contacts", item = "/investors/{id}/contacts/{child_id}",
    docs = ["List an investor's contacts (phone and e-mail masked).", "Read one contact person (unmasked for the roles that may see personal data; audited).",
            "Add a contact person.", "Change a contact person.", "Remove a contact person for good (its personal data was never in the history)."],
    list_contacts / "listInvestorContacts", get_contact / "getInvestorContact", create_contact / "createInvestorContact",
    update_contact / "updateInvestorContact", delete_contact / "deleteInvestorContact");

records::child_routes!(FollowUp, fields = FollowUpFields, patch = FollowUpPatch, tag = "investors", parent = "investor",
    collection = "/investors/{id}/follow-ups", item = "/investors/{id}/follow-ups/{child_id}",
    docs = ["List an investor's follow-ups (跟进记录), newest first.", "Read one follow-up.", "Record a follow-up.",
            "Change a follow-up.", "Remove a follow-up (the investor's history keeps it)."],
    list_follow_ups / "listInvestorFollowUps", get_follow_up / "getInvestorFollowUp", create_follow_up / "createInvestorFollowUp",
    update_follow_up / "updateInvestorFollowUp", delete_follow_up / "deleteInvestorFollowUp");

records::child_routes!(Figure, fields = FigureFields, patch = FigurePatch, tag = "investors", parent = "investor",
    collection = "/investors/{id}/figures", item = "/investors/{id}/figures/{child_id}",
    docs = ["List an investor's yearly output figures, oldest year first.", "Read one yearly figure.", "Add a year's output figure (one per year).",
            "Change a yearly figure.", "Remove a yearly figure (the investor's history keeps it)."],
    list_figures / "listInvestorFigures", get_figure / "getInvestorFigure", create_figure / "createInvestorFigure",
    update_figure / "updateInvestorFigure", delete_figure / "deleteInvestorFigure");
