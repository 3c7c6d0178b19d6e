//! A project's money and planning columns (contracted amount, registration
//! and planned dates). They live in `projects` but are declared on a second
//! name of the table (`projects_money`): `projects` is at diesel's 32-column
//! limit. They are written in the same transaction as the rest of the row,
//! and read with it (`columns`).

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

/// The contract may not fall below the funds recorded against it (pending
/// and verified: rejected money does not count).
pub fn check_contract(conn: &mut DbConnection, id: &str, f: &ProjectFields) -> Result<Option<FieldError>, ApiError> {
    // Few rows a project: summed here, which every backend types alike.
    let amounts: Vec<i64> = funds::table
        .filter(funds::project_id.eq(id))
        .filter(funds::deleted_at.is_null())
        .filter(funds::status.ne("rejected"))
        .select(funds::amount_usd)
        .load(conn)?;
    let recorded: i64 = amounts.iter().sum();
    if recorded == 0 {
        return Ok(None);
    }
    match f.contracted_investment_usd {
        Some(contract) if contract >= recorded => Ok(None),
        _ => Ok(Some(FieldError::new(
            "contracted_investment_usd",
            "below_funds",
            format!("the project's pending and verified funds add up to {recorded} US dollars; the contract cannot be less"),
        ))),
    }
}
