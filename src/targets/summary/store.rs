//! The summary tables: each unit's events (`target_units`), their sums by
//! year, month and day (`target_totals`), and the enterprise each investor
//! row belongs to (`target_members`). A rewrite takes back what a unit added
//! and adds what it adds now, so the sums never drift from the units.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

use super::events::Event;
use crate::db::schema::{target_members, target_totals, target_units};
use crate::db::{insert_all, DbConnection};
use crate::error::ApiError;

/// How many rows one insert carries (SQLite binds at most 32,766 values).
const CHUNK: usize = 2_000;

pub const YEAR: &str = "y";
pub const MONTH: &str = "m";
pub const DAY: &str = "d";

/// The first day of the year and of the month of `on`.
pub fn year_and_month_of(on: NaiveDate) -> (NaiveDate, NaiveDate) {
    let year = NaiveDate::from_ymd_opt(on.year(), 1, 1).unwrap_or(on);
    let month = NaiveDate::from_ymd_opt(on.year(), on.month(), 1).unwrap_or(on);
    (year, month)
}

/// Changes of the totals, by (grain, first day, metric, scope).
#[derive(Debug, Default)]
pub struct Deltas(BTreeMap<(&'static str, NaiveDate, String, String), i64>);

impl Deltas {
    pub fn add(&mut self, events: &[Event], sign: i64) {
        for e in events {
            let (year, month) = year_and_month_of(e.on);
            for (grain, on) in [(YEAR, year), (MONTH, month), (DAY, e.on)] {
                *self.0.entry((grain, on, e.metric.clone(), e.scope.clone())).or_default() += sign * e.amount;
            }
        }
    }
}

/// Rewrites `units`: what they added before is taken back, and the units of
/// `fresh` (a subset, or others) are stored with their events.
pub fn replace(conn: &mut DbConnection, units: &[String], fresh: Vec<(String, Vec<Event>)>) -> Result<(), ApiError> {
    let mut touched: BTreeSet<String> = units.iter().cloned().collect();
    touched.extend(fresh.iter().map(|(unit, _)| unit.clone()));
    let touched: Vec<String> = touched.into_iter().collect();
    let mut deltas = Deltas::default();
    for chunk in touched.chunks(CHUNK) {
        let old: Vec<String> = target_units::table.filter(target_units::unit.eq_any(chunk)).select(target_units::events).load(conn)?;
        for events in old {
            deltas.add(&serde_json::from_str::<Vec<Event>>(&events)?, -1);
        }
        diesel::delete(target_units::table.filter(target_units::unit.eq_any(chunk))).execute(conn)?;
    }
    for (_, events) in &fresh {
        deltas.add(events, 1);
    }
    insert_units(conn, fresh)?;
    apply(conn, deltas)
}

/// Stores units with events (those without add nothing and are not kept).
pub fn insert_units(conn: &mut DbConnection, units: Vec<(String, Vec<Event>)>) -> Result<(), ApiError> {
    let rows: Vec<(String, String)> = units
        .into_iter()
        .filter(|(_, events)| !events.is_empty())
        .map(|(unit, events)| Ok((unit, serde_json::to_string(&events)?)))
        .collect::<Result<_, ApiError>>()?;
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk.iter().map(|(unit, events)| (target_units::unit.eq(unit), target_units::events.eq(events))).collect();
        insert_all!(conn, target_units::table, values)?;
    }
    Ok(())
}

/// Adds the deltas to the totals (one statement per row touched: a write
/// touches a few dozen; the rebuild starts from empty and inserts).
pub fn apply(conn: &mut DbConnection, deltas: Deltas) -> Result<(), ApiError> {
    for ((grain, on, metric, scope), amount) in deltas.0.into_iter().filter(|(_, amount)| *amount != 0) {
        let row = target_totals::table
            .filter(target_totals::grain.eq(grain))
            .filter(target_totals::on_date.eq(on))
            .filter(target_totals::metric.eq(&metric))
            .filter(target_totals::scope.eq(&scope));
        let updated = diesel::update(row).set(target_totals::amount.eq(target_totals::amount + amount)).execute(conn)?;
        if updated == 0 {
            diesel::insert_into(target_totals::table)
                .values((
                    target_totals::grain.eq(grain),
                    target_totals::on_date.eq(on),
                    target_totals::metric.eq(&metric),
                    target_totals::scope.eq(&scope),
                    target_totals::amount.eq(amount),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Fills empty totals with the deltas (the rebuild); how many rows.
pub fn insert_totals(conn: &mut DbConnection, deltas: Deltas) -> Result<usize, ApiError> {
    let rows: Vec<_> = deltas.0.into_iter().filter(|(_, amount)| *amount != 0).collect();
    for chunk in rows.chunks(CHUNK / 2) {
        let values: Vec<_> = chunk
            .iter()
            .map(|((grain, on, metric, scope), amount)| {
                (
                    target_totals::grain.eq(*grain),
                    target_totals::on_date.eq(*on),
                    target_totals::metric.eq(metric),
                    target_totals::scope.eq(scope),
                    target_totals::amount.eq(*amount),
                )
            })
            .collect();
        insert_all!(conn, target_totals::table, values)?;
    }
    Ok(rows.len())
}

/// The enterprise units the investor rows belonged to.
pub fn clusters_of(conn: &mut DbConnection, investor_ids: &[String]) -> Result<BTreeSet<String>, ApiError> {
    let mut clusters = BTreeSet::new();
    for chunk in investor_ids.chunks(CHUNK) {
        let found: Vec<String> =
            target_members::table.filter(target_members::investor_id.eq_any(chunk)).select(target_members::cluster).load(conn)?;
        clusters.extend(found);
    }
    Ok(clusters)
}

/// The investor rows of these enterprise units.
pub fn members_of(conn: &mut DbConnection, clusters: &[String]) -> Result<Vec<String>, ApiError> {
    let mut members = Vec::new();
    for chunk in clusters.chunks(CHUNK) {
        let found: Vec<String> =
            target_members::table.filter(target_members::cluster.eq_any(chunk)).select(target_members::investor_id).load(conn)?;
        members.extend(found);
    }
    Ok(members)
}

/// Records which unit each row now belongs to, after forgetting `investor_ids`.
pub fn set_members(conn: &mut DbConnection, investor_ids: &[String], members: Vec<(String, String)>) -> Result<(), ApiError> {
    for chunk in investor_ids.chunks(CHUNK) {
        diesel::delete(target_members::table.filter(target_members::investor_id.eq_any(chunk))).execute(conn)?;
    }
    for chunk in members.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(investor, cluster)| (target_members::investor_id.eq(investor), target_members::cluster.eq(cluster)))
            .collect();
        insert_all!(conn, target_members::table, values)?;
    }
    Ok(())
}

/// Empties the summary (before a rebuild).
pub fn clear(conn: &mut DbConnection) -> Result<(), ApiError> {
    diesel::delete(target_units::table).execute(conn)?;
    diesel::delete(target_members::table).execute(conn)?;
    diesel::delete(target_totals::table).execute(conn)?;
    Ok(())
}
