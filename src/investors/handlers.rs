//! HTTP handlers of `/api/v1/investors` and its sub-resources.

use actix_web::{delete, get, patch, post, web, HttpResponse};

use super::children::{Contact, ContactFields, ContactPatch, Figure, FigureFields, FigurePatch, FollowUp, FollowUpFields, FollowUpPatch};
use super::model::{Investor, InvestorFields, InvestorPatch};
use super::queries::{self, InvestorFilter, MatchQuery, Matches};
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::exchange::{self, ExportParams, Format, ListQuery};
use crate::http::{answers, Page, Query};
use crate::records::{self, Items};
use crate::state::AppState;

/// List investors, newest first, with filters and search.
///
/// With `format=csv|xlsx` (or `Accept`), every matching investor as a spreadsheet.
#[utoipa::path(operation_id = "listInvestors", tag = "investors", params(InvestorFilter, ExportParams),
    responses(
        (status = 200, description = "One page of investors; or, as CSV or XLSX, every investor matching the filters", content(
            (Page<Investor> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        answers::BadQuery,
    ))]
#[get("/investors")]
pub async fn list_investors(state: web::Data<AppState>, caller: Caller, query: ListQuery<InvestorFilter>) -> Result<HttpResponse, ApiError> {
    if query.format != Format::Json {
        return exchange::export::<Investor>(&state, caller, query).await;
    }
    let scope = caller.scope();
    let page = db::run(&state.pool, move |conn| queries::list(conn, &scope, query.filter)).await?;
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
