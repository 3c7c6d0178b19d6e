//! Reads the projects the investment target counts, one set at a time or
//! all at once (the rebuild), with the filters of [`super::super::facts::load`].

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::super::facts::{uncredited_projects, Origin, TAIWAN_ORIGINS};
use super::events::{ProjectUnit, UnitFund};
use crate::db::schema::{funds, investors, project_investors, projects_money};
use crate::db::DbConnection;
use crate::error::ApiError;

/// The live, credited projects among `ids` (every one when `None`), with
/// their non-rejected funds of the period and their Taiwan-origin investors.
pub fn projects(conn: &mut DbConnection, ids: Option<&[String]>, period: (NaiveDate, NaiveDate)) -> Result<Vec<ProjectUnit>, ApiError> {
    let excluded = uncredited_projects(conn)?;

    let mut query = projects_money::table.filter(projects_money::deleted_at.is_null()).into_boxed();
    if let Some(ids) = ids {
        query = query.filter(projects_money::id.eq_any(ids));
    }
    let rows: Vec<(String, String, Option<NaiveDate>, Option<i64>)> = query
        .select((projects_money::id, projects_money::park_code, projects_money::signed_on, projects_money::contracted_investment_usd))
        .load(conn)?;
    let mut units: HashMap<String, ProjectUnit> = rows
        .into_iter()
        .filter(|(id, ..)| !excluded.contains(id))
        .map(|(id, park_code, signed_on, contracted)| {
            let unit = ProjectUnit { id: id.clone(), park_code, contract: signed_on.zip(contracted), funds: vec![], origins: vec![] };
            (id, unit)
        })
        .collect();

    let mut query = funds::table
        .filter(funds::deleted_at.is_null())
        .filter(funds::status.ne("rejected"))
        .filter(funds::received_on.ge(period.0))
        .filter(funds::received_on.le(period.1))
        .into_boxed();
    if let Some(ids) = ids {
        query = query.filter(funds::project_id.eq_any(ids));
    }
    let fund_rows: Vec<(String, NaiveDate, i64, String)> =
        query.select((funds::project_id, funds::received_on, funds::amount_usd, funds::status)).load(conn)?;
    for (project_id, received_on, amount_usd, status) in fund_rows {
        if let Some(unit) = units.get_mut(&project_id) {
            unit.funds.push(UnitFund { received_on, amount_usd, verified: status == "verified" });
        }
    }

    let mut query = project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(investors::deleted_at.is_null())
        .filter(investors::origin.eq_any(TAIWAN_ORIGINS))
        .into_boxed();
    if let Some(ids) = ids {
        query = query.filter(project_investors::project_id.eq_any(ids));
    }
    let links: Vec<(String, String, Option<NaiveDate>)> =
        query.select((project_investors::project_id, investors::origin, investors::third_place_recognised_on)).load(conn)?;
    for (project_id, origin, third_place_recognised_on) in links {
        if let Some(unit) = units.get_mut(&project_id) {
            unit.origins.push(Origin { origin, third_place_recognised_on });
        }
    }
    Ok(units.into_values().collect())
}

/// The projects linked to these investors.
pub fn projects_of(conn: &mut DbConnection, investor_ids: &[String]) -> Result<Vec<String>, ApiError> {
    Ok(project_investors::table
        .filter(project_investors::investor_id.eq_any(investor_ids))
        .select(project_investors::project_id)
        .distinct()
        .load(conn)?)
}
