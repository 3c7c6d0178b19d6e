//! A project's money and planning columns (contracted amount, registration
//! and planned dates). They live in `projects` but are declared on a second
//! name of the table (`projects_money`): `projects` is at diesel's 32-column
//! limit. They are written in the same transaction as the rest of the row,
//! and read with it (`columns`).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::ProjectFields;
use crate::db::schema::{funds, projects_money};
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};

pub fn write(conn: &mut DbConnection, id: &str, f: &ProjectFields) -> Result<(), ApiError> {
    diesel::update(projects_money::table.find(id))
        .set((
            projects_money::contracted_investment_usd.eq(f.contracted_investment_usd),
            projects_money::registered_on.eq(f.registered_on),
            projects_money::planned_start_on.eq(f.planned_start_on),
            projects_money::planned_operating_on.eq(f.planned_operating_on),
        ))
        .execute(conn)?;
    Ok(())
}

/// What the funds recorded against the project hold a change to: the
/// contract may not fall below the pending and verified funds (rejected
/// money does not count), and the signing day may not move past the day any
/// fund was received (a fund's own rule; moved past it, the fund could no
/// longer be changed).
pub fn check_against_funds(conn: &mut DbConnection, id: &str, f: &ProjectFields) -> Result<Vec<FieldError>, ApiError> {
    // Few rows a project: summed here, which every backend types alike.
    let recorded: Vec<(i64, String, NaiveDate)> = funds::table
        .filter(funds::project_id.eq(id))
        .filter(funds::deleted_at.is_null())
        .select((funds::amount_usd, funds::status, funds::received_on))
        .load(conn)?;
    let mut errors = Vec::new();
    let counted: i64 = recorded.iter().filter(|(_, status, _)| status != "rejected").map(|(amount, _, _)| amount).sum();
    if counted > 0 && f.contracted_investment_usd.is_none_or(|contract| contract < counted) {
        errors.push(FieldError::new(
            "contracted_investment_usd",
            "below_funds",
            format!("the project's pending and verified funds add up to {counted} US dollars; the contract cannot be less"),
        ));
    }
    let first_received = recorded.iter().map(|(_, _, on)| *on).min();
    if let (Some(signed), Some(first)) = (f.signed_on, first_received) {
        if signed > first {
            errors.push(FieldError::new(
                "signed_on",
                "after_funds",
                format!("a fund of the project was received on {first}; the signing day cannot be later"),
            ));
        }
    }
    Ok(errors)
}
