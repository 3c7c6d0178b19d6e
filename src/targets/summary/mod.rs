//! The targets' summary: what each unit of the registry (a project, an
//! investor, an enterprise of one or more investor rows, the top-100 list)
//! adds to the four targets, as dated events, with their sums by year, month
//! and day. `GET /targets` reads those sums for any date in one indexed
//! statement instead of every fund, investor and figure.
//!
//! Every write that changes a fact calls [`refresh_project`],
//! [`refresh_investor`] or [`refresh_top100`] in its own transaction, so the
//! summary commits with the facts or not at all. Rewrites take one lock
//! (PostgreSQL; SQLite writes one at a time anyway), so each one reads what
//! the one before it committed: two writes touching one enterprise from two
//! parks cannot each miss the other. The computation from the facts stays:
//! `/items` and `/series` use it, and [`check`] compares the two.

mod events;
mod load;
mod read;
mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::compute::{default_year, same_enterprise, Question, Scope};
use super::facts::{self, InvestorFact, Which};
use super::report::{self, FromFacts, TargetsReport};
use super::settings::{self, TargetSettings};
use crate::auth::Caller;
use crate::db::schema::{parks, target_summary_state};
use crate::db::{backend_of, write_tx, Backend, DbConnection};
use crate::error::ApiError;
use events::{enterprise_from, metric, Event};
use read::FromSummary;

/// The advisory lock every rewrite of the summary holds until it commits.
const LOCK: i64 = 0x0074_6172_6765_7473; // "targets" in ASCII

/// The unit of the top-100 target: the whole list (its linked investors are few).
const GROUPS_UNIT: &str = "g";

fn project_unit(id: &str) -> String {
    format!("p:{id}")
}

fn investor_unit(id: &str) -> String {
    format!("i:{id}")
}

/// An enterprise is named by its first investor row.
fn enterprise_unit(first_investor: &str) -> String {
    format!("e:{first_investor}")
}

/// The summary after a project's funds, stage, dates, contract, links or
/// deletion changed (or its claim was decided).
pub fn refresh_project(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    refresh_projects(conn, &[id.to_owned()])
}

/// [`refresh_project`] for many projects at once (a batch write: an import).
pub fn refresh_projects(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    if let Some(period) = begin(conn)? {
        projects(conn, ids, period)?;
    }
    Ok(())
}

/// The summary after an investor's origin, recognition, identity, status,
/// top-100 link or figures changed, or it was deleted or merged: its
/// projects, its output, its enterprise (before and after) and the groups.
pub fn refresh_investor(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    refresh_investors(conn, &[id.to_owned()])
}

pub fn refresh_investors(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    if let Some(period) = begin(conn)? {
        let linked = load::projects_of(conn, ids)?;
        projects(conn, &linked, period)?;
        outputs(conn, ids)?;
        enterprises(conn, ids)?;
        groups(conn)?;
    }
    Ok(())
}

/// The summary after the top-100 list changed.
pub fn refresh_top100(conn: &mut DbConnection) -> Result<(), ApiError> {
    if begin(conn)?.is_some() {
        groups(conn)?;
    }
    Ok(())
}

/// Rebuilds the summary from the facts, for the period of the settings
/// (after the period changed, or on data written around the service).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), ApiError> {
    lock(conn)?;
    let period = settings::load(conn)?.period();
    rebuild_locked(conn, period)
}

/// Builds the summary when it was not built for the period of the settings
/// (the first start after the migration that added it).
pub fn ensure_built(conn: &mut DbConnection) -> Result<(), ApiError> {
    write_tx(conn, |conn| begin(conn).map(|_| ()))
}

fn lock(conn: &mut DbConnection) -> Result<(), ApiError> {
    if backend_of(conn) == Backend::Postgres {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<diesel::sql_types::BigInt, _>(LOCK).execute(conn)?;
    }
    Ok(())
}

/// The period the summary was built for, if it was.
fn built_for(conn: &mut DbConnection) -> Result<Option<(NaiveDate, NaiveDate)>, ApiError> {
    let state: Option<(Option<NaiveDate>, Option<NaiveDate>)> = target_summary_state::table
        .find(1)
        .select((target_summary_state::period_from, target_summary_state::period_to))
        .first(conn)
        .optional()?;
    Ok(state.and_then(|(from, to)| from.zip(to)))
}

/// Takes the lock; the period when the summary is current, or `None` after
/// rebuilding it (a rebuild leaves nothing more to rewrite).
fn begin(conn: &mut DbConnection) -> Result<Option<(NaiveDate, NaiveDate)>, ApiError> {
    lock(conn)?;
    let period = settings::load(conn)?.period();
    if built_for(conn)? == Some(period) {
        return Ok(Some(period));
    }
    rebuild_locked(conn, period)?;
    Ok(None)
}

fn projects(conn: &mut DbConnection, ids: &[String], period: (NaiveDate, NaiveDate)) -> Result<(), ApiError> {
    for chunk in ids.chunks(1_000) {
        let fresh = load::projects(conn, Some(chunk), period)?
            .iter()
            .map(|p| (project_unit(&p.id), events::project(p, period)))
            .collect();
        store::replace(conn, &chunk.iter().map(|id| project_unit(id)).collect::<Vec<_>>(), fresh)?;
    }
    Ok(())
}

/// Each investor's figures, by year.
fn figures_by_investor(figures: HashMap<(String, i32), i64>) -> HashMap<String, Vec<(i32, i64)>> {
    let mut by: HashMap<String, Vec<(i32, i64)>> = HashMap::new();
    for ((id, year), value) in figures {
        by.entry(id).or_default().push((year, value));
    }
    by
}

fn outputs(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    let rows = facts::settled_investors(conn, None, Which::Ids(ids))?;
    let figures = figures_by_investor(facts::figures(conn, None, Some(ids))?);
    let fresh = rows
        .iter()
        .map(|i| (investor_unit(&i.id), events::investor(i, figures.get(&i.id).map_or(&[][..], Vec::as_slice))))
        .collect();
    store::replace(conn, &ids.iter().map(|id| investor_unit(id)).collect::<Vec<_>>(), fresh)
}

/// Rows that count as an enterprise on some day.
fn counting(rows: Vec<InvestorFact>) -> Vec<InvestorFact> {
    rows.into_iter().filter(|r| enterprise_from(r).is_some()).collect()
}

/// Rewrites the enterprises these rows were part of and are part of now:
/// every row connected to them today, and every row of their former
/// enterprises (which may have split), until no more join.
fn enterprises(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    let mut seed: BTreeSet<String> = ids.iter().cloned().collect();
    let mut clusters: BTreeSet<String> = BTreeSet::new();
    let mut rows: BTreeMap<String, InvestorFact> = BTreeMap::new();
    loop {
        let before = (seed.len(), clusters.len());
        clusters.extend(store::clusters_of(conn, &seed.iter().cloned().collect::<Vec<_>>())?);
        seed.extend(store::members_of(conn, &clusters.iter().cloned().collect::<Vec<_>>())?);
        let unread: Vec<String> = seed.iter().filter(|id| !rows.contains_key(*id)).cloned().collect();
        let mut frontier = counting(facts::settled_investors(conn, None, Which::Ids(&unread))?);
        while !frontier.is_empty() {
            let uscc: Vec<String> = frontier.iter().filter_map(|r| r.unified_social_credit_code.clone()).collect();
            let ubn: Vec<String> = frontier.iter().filter_map(|r| r.taiwan_business_id.clone()).collect();
            let names: Vec<String> = frontier.iter().map(|r| r.name_key.clone()).filter(|k| !k.is_empty()).collect();
            for row in frontier.drain(..) {
                seed.insert(row.id.clone());
                rows.insert(row.id.clone(), row);
            }
            let sharing = facts::settled_investors(conn, None, Which::Sharing { uscc: &uscc, ubn: &ubn, names: &names })?;
            frontier = counting(sharing).into_iter().filter(|r| !rows.contains_key(&r.id)).collect();
        }
        if (seed.len(), clusters.len()) == before {
            break;
        }
    }
    let refs: Vec<&InvestorFact> = rows.values().collect();
    let mut fresh = Vec::new();
    let mut members = Vec::new();
    for enterprise in same_enterprise(&refs) {
        let Some(first) = enterprise.iter().map(|r| r.id.as_str()).min() else { continue };
        let unit = enterprise_unit(first);
        members.extend(enterprise.iter().map(|r| (r.id.clone(), unit.clone())));
        fresh.push((unit, events::enterprises(&enterprise)));
    }
    store::replace(conn, &clusters.into_iter().collect::<Vec<_>>(), fresh)?;
    store::set_members(conn, &seed.into_iter().collect::<Vec<_>>(), members)
}

fn groups(conn: &mut DbConnection) -> Result<(), ApiError> {
    let linked = facts::settled_investors(conn, None, Which::Linked)?;
    let groups = facts::groups(conn)?;
    store::replace(conn, &[GROUPS_UNIT.to_owned()], vec![(GROUPS_UNIT.to_owned(), events::groups(&linked, &groups))])
}

fn rebuild_locked(conn: &mut DbConnection, period: (NaiveDate, NaiveDate)) -> Result<(), ApiError> {
    store::clear(conn)?;
    let mut deltas = store::Deltas::default();
    let mut units: Vec<(String, Vec<Event>)> = Vec::new();
    let mut keep = |unit: String, events: Vec<Event>| {
        deltas.add(&events, 1);
        units.push((unit, events));
    };
    for p in load::projects(conn, None, period)? {
        keep(project_unit(&p.id), events::project(&p, period));
    }
    let all = facts::settled_investors(conn, None, Which::All)?;
    let figures = figures_by_investor(facts::figures(conn, None, None)?);
    for i in &all {
        keep(investor_unit(&i.id), events::investor(i, figures.get(&i.id).map_or(&[][..], Vec::as_slice)));
    }
    let counting: Vec<&InvestorFact> = all.iter().filter(|r| enterprise_from(r).is_some()).collect();
    let mut members = Vec::new();
    for enterprise in same_enterprise(&counting) {
        let Some(first) = enterprise.iter().map(|r| r.id.as_str()).min() else { continue };
        let unit = enterprise_unit(first);
        members.extend(enterprise.iter().map(|r| (r.id.clone(), unit.clone())));
        keep(unit, events::enterprises(&enterprise));
    }
    let linked: Vec<InvestorFact> = all.iter().filter(|i| i.top100_id.is_some()).cloned().collect();
    keep(GROUPS_UNIT.to_owned(), events::groups(&linked, &facts::groups(conn)?));
    let unit_count = units.len();
    store::insert_units(conn, units)?;
    let totals = store::insert_totals(conn, deltas)?;
    store::set_members(conn, &[], members)?;
    diesel::update(target_summary_state::table.find(1))
        .set((target_summary_state::period_from.eq(period.0), target_summary_state::period_to.eq(period.1)))
        .execute(conn)?;
    tracing::info!(units = unit_count, totals, from = %period.0, to = %period.1, "targets summary rebuilt");
    Ok(())
}

/// Every park and its official 2020 baseline, by code.
fn parks(conn: &mut DbConnection) -> Result<Vec<(String, Option<i64>)>, ApiError> {
    Ok(parks::table.order(parks::code).select((parks::code, parks::baseline_output_2020_cny)).load(conn)?)
}

/// Runs reads on one snapshot (PostgreSQL: repeatable read; SQLite's read
/// transaction is one), so a figure never mixes two commits.
fn on_one_snapshot<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>) -> Result<T, ApiError> {
    conn.transaction(|conn| {
        if backend_of(conn) == Backend::Postgres {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(conn)?;
        }
        work(conn)
    })
}

/// The figures of the summary on `as_of` (output year `year`).
fn from_summary(conn: &mut DbConnection, as_of: NaiveDate, year: i32) -> Result<FromSummary, ApiError> {
    Ok(FromSummary {
        parks: parks(conn)?,
        on: read::at(conn, as_of, None)?,
        settled_by_year_end: read::at(conn, read::year_end_or(year, as_of), Some(metric::SETTLED))?,
        year,
    })
}

/// `GET /targets`: the report of the caller's scope on `as_of`, from the
/// summary (from the facts while the summary is not built for the period).
pub fn targets(conn: &mut DbConnection, caller: &Caller, park: Option<String>, as_of: NaiveDate, year: i32) -> Result<TargetsReport, ApiError> {
    on_one_snapshot(conn, |conn| {
        let settings = settings::load(conn)?;
        let q = Question { as_of, period: settings.period(), year };
        if built_for(conn)? != Some(q.period) {
            return from_facts(conn, &settings, caller, park, q);
        }
        let figures = from_summary(conn, as_of, year)?;
        let codes = report::Figures::parks(&figures);
        let scope = report::scope_for(caller, park, &codes)?;
        Ok(report::targets(&figures, &settings, q, &scope))
    })
}

fn from_facts(conn: &mut DbConnection, settings: &TargetSettings, caller: &Caller, park: Option<String>, q: Question) -> Result<TargetsReport, ApiError> {
    let facts = facts::load(conn, q.period, q.as_of)?;
    let figures = FromFacts { facts: &facts, question: q };
    let scope = report::scope_for(caller, park, &report::Figures::parks(&figures))?;
    Ok(report::targets(&figures, settings, q, &scope))
}

/// Compares the summary with the computation from the facts on `as_of`
/// (output year `year`, default as_of's year − 1), for the zone and every
/// park: one line per target and scope that differs, none when they agree.
pub fn check(conn: &mut DbConnection, as_of: NaiveDate, year: Option<i32>) -> Result<Vec<String>, ApiError> {
    on_one_snapshot(conn, |conn| {
        let settings = settings::load(conn)?;
        let year = year.unwrap_or_else(|| default_year(as_of));
        let q = Question { as_of, period: settings.period(), year };
        let summary = from_summary(conn, as_of, year)?;
        let facts = facts::load(conn, q.period, as_of)?;
        let computed = FromFacts { facts: &facts, question: q };
        let scopes = std::iter::once(Scope::Zone).chain(report::Figures::parks(&summary).into_iter().map(Scope::Park));
        let mut differences = Vec::new();
        if built_for(conn)? != Some(q.period) {
            differences.push(format!("the summary is not built for the period {} – {}", q.period.0, q.period.1));
        }
        for scope in scopes {
            let a = serde_json::to_value(report::targets(&summary, &settings, q, &scope))?;
            let b = serde_json::to_value(report::targets(&computed, &settings, q, &scope))?;
            for (x, y) in a["targets"].as_array().into_iter().flatten().zip(b["targets"].as_array().into_iter().flatten()) {
                if x != y {
                    differences.push(format!("{} in {} on {as_of}: summary {x} ≠ facts {y}", x["key"], scope.name()));
                }
            }
        }
        Ok(differences)
    })
}
