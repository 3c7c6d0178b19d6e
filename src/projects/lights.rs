//! Every project read carries its light (DESIGN "Monitoring"): the dates
//! the rules read are taken from the project and the latest follow-up of
//! its investors, then judged by [`crate::monitoring::rules::judge`].

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::Project;
use crate::db::schema::investors;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::monitoring::rules::{self, Rules, Watch};
use crate::vocab::Stage;

/// Sets `light` and `light_reasons` of `projects` as of `today`.
pub fn fill(conn: &mut DbConnection, projects: &mut [Project], today: NaiveDate) -> Result<(), ApiError> {
    if projects.is_empty() {
        return Ok(());
    }
    let rules = rules::load(conn)?.rules;
    fill_with(conn, projects, today, &rules)
}

/// [`fill`] with rules read already (a monitoring list reads them once).
pub fn fill_with(conn: &mut DbConnection, projects: &mut [Project], today: NaiveDate, rules: &Rules) -> Result<(), ApiError> {
    let mut follow_ups: HashMap<String, NaiveDate> = HashMap::new();
    let investor_ids: Vec<String> = projects.iter().flat_map(|p| p.investor_ids.iter().cloned()).collect();
    // Bound the statement's parameters (SQLite allows 32766).
    for chunk in investor_ids.chunks(10_000) {
        let rows: Vec<(String, Option<NaiveDate>)> = investors::table
            .filter(investors::id.eq_any(chunk))
            .filter(investors::deleted_at.is_null())
            .select((investors::id, investors::last_follow_up_on))
            .load(conn)?;
        follow_ups.extend(rows.into_iter().filter_map(|(id, day)| Some((id, day?))));
    }
    for project in projects.iter_mut() {
        let watch = watch_of(project, &follow_ups);
        match rules::judge(&watch, today, rules) {
            Some((light, reasons)) => {
                project.light = Some(light);
                project.light_reasons = reasons;
            }
            None => {
                project.light = None;
                project.light_reasons = vec![];
            }
        }
    }
    Ok(())
}

fn watch_of(p: &Project, follow_ups: &HashMap<String, NaiveDate>) -> Watch {
    let created = p.created_at.date_naive();
    let entered = |stage: Stage| p.stage_history.iter().rev().find(|e| e.stage == stage).map(|e| e.on);
    let milestone = match p.stage {
        Stage::Lead | Stage::Negotiating => None,
        Stage::Signed => p.signed_on,
        Stage::Registered => p.registered_on,
        Stage::UnderConstruction => p.started_on,
        Stage::Operating => p.operating_on,
        Stage::Dropped => None,
    };
    let stage_since = milestone.or_else(|| entered(p.stage)).unwrap_or(created);
    let last_progress = p
        .stage_history
        .iter()
        .map(|e| e.on)
        .chain(p.investor_ids.iter().filter_map(|id| follow_ups.get(id).copied()))
        .chain([created])
        .max()
        .unwrap_or(created);
    Watch {
        stage: p.stage,
        stage_since,
        last_progress,
        signed_on: p.signed_on.or_else(|| entered(Stage::Signed)),
        planned_start_on: p.planned_start_on,
        planned_operating_on: p.planned_operating_on,
        contracted_usd: p.contracted_investment_usd,
        in_place_usd: p.actual_investment_usd.unwrap_or(0),
    }
}
