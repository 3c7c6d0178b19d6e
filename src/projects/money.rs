//! A project's money and planning columns (contracted amount, registration
//! and planned dates). They live in `projects` but are declared on a second
//! name of the table (`projects_money`): `projects` is at diesel's 32-column
//! limit. They are written in the same transaction as the rest of the row,
//! and read with it (`columns`).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{Project, ProjectFields};
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

/// What the funds recorded against the project hold a change to. Rejected
/// money does not count. The contract may not fall below the pending and
/// verified funds; and the signing day, once such a fund is recorded, may
/// neither be cleared nor move past the day it was received (the funds'
/// own rule, which they would otherwise break: a pending one could then no
/// longer be changed). The signing day is checked only when it changes, so
/// that a project stored before this rule can still take other changes.
pub fn check_against_funds(conn: &mut DbConnection, id: &str, before: &Project, f: &ProjectFields) -> Result<Vec<FieldError>, ApiError> {
    let counted: Vec<(i64, NaiveDate)> = funds::table
        .filter(funds::project_id.eq(id))
        .filter(funds::deleted_at.is_null())
        .filter(funds::status.ne("rejected"))
        .select((funds::amount_usd, funds::received_on))
        .load(conn)?;
    let mut errors = Vec::new();
    // Few rows a project: summed here, which every backend types alike.
    let recorded: i64 = counted.iter().map(|(amount, _)| amount).sum();
    if recorded > 0 && f.contracted_investment_usd.is_none_or(|contract| contract < recorded) {
        errors.push(FieldError::new(
            "contracted_investment_usd",
            "below_funds",
            format!("the project's pending and verified funds add up to {recorded} US dollars; the contract cannot be less"),
        ));
    }
    let first_received = counted.iter().map(|(_, on)| *on).min();
    if let (Some(first), true) = (first_received, f.signed_on != before.signed_on) {
        match f.signed_on {
            None => errors.push(FieldError::new(
                "signed_on",
                "required",
                format!("the project has funds in place from {first}; its signing day cannot be cleared"),
            )),
            Some(signed) if signed > first => errors.push(FieldError::new(
                "signed_on",
                "after_funds",
                format!("a fund of the project was received on {first}; the signing day cannot be later"),
            )),
            Some(_) => {}
        }
    }
    Ok(errors)
}
