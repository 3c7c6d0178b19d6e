//! Every project read carries its light (DESIGN "Monitoring"): the dates
//! the rules read are taken from the project and the latest follow-up of
//! its investors, then judged by [`crate::monitoring::rules::judge`].
//!
//! Each project also stores the days its light turns amber and red
//! (`amber_on`, `red_on`), so that `GET /monitoring` filters and counts by
//! light with a comparison instead of judging every project, and a read
//! copy of its investors' latest follow-up (`last_follow_up_on`), so that a
//! read judges its light from its own row, with no statement over the
//! investors. Every write of
//! a fact the light reads calls [`refresh`] (or [`refresh_of_investors`]) in
//! its own transaction; a change of the rules calls [`rebuild`]; [`check`]
//! compares what is stored with the judgement.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use diesel::sql_types::{Date, Nullable, Text};

use super::model::{Project, ProjectRow};
use super::queries::to_project;
use crate::db::schema::{investors, monitoring_rules, project_investors, projects, projects_money};
use crate::db::{backend_of, write_tx, Backend, DbConnection};
use crate::error::ApiError;
use crate::monitoring::rules::{self, LightDates, RuleSettings, Rules, RulesStamp, Watch};
use crate::monitoring::tally::{self, Judged, Watched};

type QueryBackend = <DbConnection as Connection>::Backend;
use crate::vocab::Stage;

/// Sets `light` and `light_reasons` of `projects` as of `today`, by the
/// rules their statement saw (`seen`: kept in memory, read again only when
/// the statement saw others) and the follow-up day each carries.
pub fn fill(conn: &mut DbConnection, projects: &mut [Project], today: NaiveDate, seen: Option<RulesStamp>) -> Result<(), ApiError> {
    if projects.is_empty() {
        return Ok(());
    }
    let rules = rules::as_seen(conn, seen)?;
    for project in projects.iter_mut() {
        let watch = watch_of(project, project.last_follow_up_on)?;
        match rules::judge(&watch, today, &rules) {
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

/// The latest follow-up day of each live investor of `projects`, the
/// source of their read copies. One statement for all of them, by primary key.
fn latest_follow_ups<'a>(conn: &mut DbConnection, projects: impl IntoIterator<Item = &'a Project>) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let mut follow_ups: HashMap<String, NaiveDate> = HashMap::new();
    let mut investor_ids: Vec<String> = Vec::new();
    for p in projects {
        investor_ids.extend(p.investor_ids.value()?.iter().cloned());
    }
    // Bound the statement's parameters (SQLite allows 32766).
    for chunk in investor_ids.chunks(10_000) {
        let rows: Vec<(String, Option<NaiveDate>)> = investors::table
            .filter(investors::id.eq_any(chunk))
            .filter(investors::deleted_at.is_null())
            .select((investors::id, investors::last_follow_up_on))
            .load(conn)?;
        follow_ups.extend(rows.into_iter().filter_map(|(id, day)| Some((id, day?))));
    }
    Ok(follow_ups)
}

/// The latest follow-up of the investors of `p`, from [`latest_follow_ups`].
fn last_follow_up(p: &Project, follow_ups: &HashMap<String, NaiveDate>) -> Result<Option<NaiveDate>, ApiError> {
    Ok(p.investor_ids.value()?.iter().filter_map(|id| follow_ups.get(id).copied()).max())
}

/// A stage move as the rules read it: the stage and its day. Every read
/// judges its projects' lights, so a page reads only these two keys of the
/// stored history, not who recorded each move and when.
#[derive(Deserialize)]
struct StageDay {
    stage: Stage,
    #[serde(deserialize_with = "crate::http::date_text::read_day")]
    on: NaiveDate,
}

/// The stage moves of `p`, oldest first, from its history's stored text
/// (or from the history itself, once something has parsed it).
fn stage_days(p: &Project) -> Result<Vec<StageDay>, ApiError> {
    let history = &p.stage_history;
    match history.parsed() {
        Some(entries) => Ok(entries.iter().map(|e| StageDay { stage: e.stage, on: e.on }).collect()),
        None => serde_json::from_str(history.text()).map_err(|e| ApiError::internal(format!("stored stage history unreadable: {e}"))),
    }
}

/// What the rules read of `p`, whose investors were last followed up on `follow_up`.
fn watch_of(p: &Project, follow_up: Option<NaiveDate>) -> Result<Watch, ApiError> {
    let created = p.created_at.date_naive();
    let history = stage_days(p)?;
    let entered = |stage: Stage| history.iter().rev().find(|e| e.stage == stage).map(|e| e.on);
    let milestone = match p.stage {
        Stage::Lead | Stage::Negotiating => None,
        Stage::Signed => p.signed_on,
        Stage::Registered => p.registered_on,
        Stage::UnderConstruction => p.started_on,
        Stage::Operating => p.operating_on,
        Stage::Dropped => None,
    };
    let stage_since = milestone.or_else(|| entered(p.stage)).unwrap_or(created);
    let last_progress = history
        .iter()
        .map(|e| e.on)
        .chain(follow_up)
        .chain([created])
        .max()
        .unwrap_or(created);
    Ok(Watch {
        stage: p.stage,
        stage_since,
        last_progress,
        signed_on: p.signed_on.or_else(|| entered(Stage::Signed)),
        planned_start_on: p.planned_start_on,
        planned_operating_on: p.planned_operating_on,
        contracted_usd: p.contracted_investment_usd,
        in_place_usd: p.actual_investment_usd.unwrap_or(0),
    })
}

// ---- the stored days of the lights ------------------------------------------

/// How many projects one statement reads or writes when all are judged.
const BATCH: usize = 2_000;

/// id, park, watched stage, amber and red days, latest follow-up.
type StoredRow = (String, String, Option<String>, Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>);

/// The judgement of the projects `ids` (deleted ones are not watched) under
/// `rules`, beside what they store.
fn judge_stored(conn: &mut DbConnection, ids: &[String], rules: &Rules) -> Result<Vec<Judged>, ApiError> {
    let (live, _) = load_live(conn, ids)?;
    let follow_ups = latest_follow_ups(conn, &live)?;
    let mut judged: HashMap<String, Watched> = HashMap::with_capacity(live.len());
    for p in &live {
        judged.insert(p.id.clone(), watched(p, last_follow_up(p, &follow_ups)?, rules)?);
    }
    let stored: Vec<StoredRow> = projects_money::table
        .filter(projects_money::id.eq_any(ids))
        .select((
            projects_money::id,
            projects_money::park_code,
            projects_money::watched_stage,
            projects_money::amber_on,
            projects_money::red_on,
            projects_money::last_follow_up_on,
        ))
        .load(conn)?;
    Ok(stored
        .into_iter()
        .map(|(id, park_code, stage, amber_on, red_on, last_follow_up_on)| Judged {
            judged: judged.remove(&id).unwrap_or_default(),
            stored: Watched { stage, dates: LightDates { amber_on, red_on }, last_follow_up_on },
            project_id: id,
            park_code,
        })
        .collect())
}

/// Writes the judgement of the projects whose stored one differs, and moves
/// the counts kept for them; answers how many changed.
fn store_changed(conn: &mut DbConnection, judged: Vec<Judged>) -> Result<u64, ApiError> {
    let changed: Vec<Judged> = judged.into_iter().filter(|j| j.stored != j.judged).collect();
    record_light_changes(conn, &changed, crate::clock::today())?;
    store(conn, &changed)?;
    tally::moved(conn, &changed)?;
    Ok(changed.len() as u64)
}

/// Records `project.light_changed` for each project whose light `today`
/// differs between what was stored and the new judgement, in the write's
/// transaction. A project that starts or stops being watched (created,
/// dropped, operating) has no light to change from or to: its own event says so.
fn record_light_changes(conn: &mut DbConnection, changed: &[Judged], today: NaiveDate) -> Result<(), ApiError> {
    let light = |w: &Watched| w.stage.as_ref().map(|_| w.dates.light_on(today));
    let events: Vec<_> = changed
        .iter()
        .filter_map(|j| match (light(&j.stored), light(&j.judged)) {
            (Some(old), Some(new)) if old != new => Some(crate::webhooks::light_days::light_event(&j.project_id, &j.park_code, old, new)),
            _ => None,
        })
        .collect();
    crate::audit::record_many(conn, events)
}

/// Recomputes the light days of the projects `ids` (in the caller's
/// transaction), after a write of a fact their lights read: the project's
/// stage, dates, contract, links or deletion, its funds, its investors'
/// follow-ups.
pub(crate) fn refresh(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    tally::lock_for_write(conn)?;
    let rules = rules::load(conn)?.rules;
    for chunk in ids.chunks(BATCH) {
        let judged = judge_stored(conn, chunk, &rules)?;
        store_changed(conn, judged)?;
    }
    Ok(())
}

/// The light days of projects about to be inserted (a batch import), so
/// that their rows go in with them instead of being updated after: a second
/// write of every new row cost a third of a 100,000-row import on
/// PostgreSQL. Moves the kept counts as [`refresh`] would; the caller must
/// insert each project with its [`Watched`] in the same transaction.
pub(crate) fn judge_new(conn: &mut DbConnection, new: &[&Project]) -> Result<Vec<Watched>, ApiError> {
    if new.is_empty() {
        return Ok(vec![]);
    }
    tally::lock_for_write(conn)?;
    let rules = rules::load(conn)?.rules;
    let follow_ups = latest_follow_ups(conn, new.iter().copied())?;
    let judged: Vec<Judged> = new
        .iter()
        .map(|p| {
            Ok(Judged {
                project_id: p.id.clone(),
                park_code: p.park_code.clone(),
                stored: Watched::default(),
                judged: watched(p, last_follow_up(p, &follow_ups)?, &rules)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    tally::moved(conn, &judged)?;
    Ok(judged.into_iter().map(|j| j.judged).collect())
}

/// What a live project stores of its light under `rules`, its investors
/// last followed up on `follow_up`.
fn watched(p: &Project, follow_up: Option<NaiveDate>, rules: &Rules) -> Result<Watched, ApiError> {
    Ok(match rules::light_dates(&watch_of(p, follow_up)?, rules) {
        Some(dates) => Watched { stage: Some(p.stage.to_string()), dates, last_follow_up_on: follow_up },
        None => Watched { last_follow_up_on: follow_up, ..Watched::default() },
    })
}

/// [`refresh`] for every project linked to one of `investor_ids` (their
/// follow-ups count as the projects' progress).
pub(crate) fn refresh_of_investors(conn: &mut DbConnection, investor_ids: &[String]) -> Result<(), ApiError> {
    let mut ids: Vec<String> = project_investors::table
        .filter(project_investors::investor_id.eq_any(investor_ids))
        .select(project_investors::project_id)
        .distinct()
        .load(conn)?;
    ids.sort();
    refresh(conn, &ids)
}

/// Recomputes the light days of every project under `rules` (after the
/// rules changed), in the caller's transaction; answers how many changed.
/// The counts kept for past days are dropped: they are refilled when asked.
fn rebuild(conn: &mut DbConnection, rules: &Rules) -> Result<u64, ApiError> {
    tally::forget_all(conn)?;
    let mut changed = 0;
    each_batch(conn, |conn, ids| {
        let judged = judge_stored(conn, ids, rules)?;
        changed += store_changed(conn, judged)?;
        Ok(())
    })?;
    Ok(changed)
}

/// Computes the light days of the projects with the stored rules when they
/// were computed for other rules (the first start after the migration that
/// added them, or rules written around the service).
pub fn ensure_built(conn: &mut DbConnection) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let settings = rules::load(conn)?;
        let built_for: Option<i32> = monitoring_rules::table.find(1).select(monitoring_rules::dates_version).first(conn)?;
        if built_for != Some(settings.version) {
            let changed = rebuild(conn, &settings.rules)?;
            mark_built(conn, settings.version)?;
            tracing::info!(changed, rules_version = settings.version, "light days of the projects computed");
        }
        Ok(())
    })
}

/// Every project's light days with rules just saved, committed with them.
pub fn follow_rules(conn: &mut DbConnection, settings: &RuleSettings) -> Result<(), ApiError> {
    rebuild(conn, &settings.rules)?;
    mark_built(conn, settings.version)
}

/// Recomputes every project's light days with the stored rules, in one
/// transaction (data written around the service); answers how many changed.
pub fn rebuild_all(conn: &mut DbConnection) -> Result<u64, ApiError> {
    write_tx(conn, |conn| {
        let settings = rules::load(conn)?;
        let changed = rebuild(conn, &settings.rules)?;
        mark_built(conn, settings.version)?;
        // Running instances keep the parsed rules by their stamp (version and
        // save time): rules edited around the service reach them once it moves.
        diesel::update(monitoring_rules::table.find(1)).set(monitoring_rules::updated_at.eq(crate::clock::now())).execute(conn)?;
        Ok(changed)
    })
}

/// Records that the stored light days follow rules `version`.
fn mark_built(conn: &mut DbConnection, version: i32) -> Result<(), ApiError> {
    diesel::update(monitoring_rules::table.find(1)).set(monitoring_rules::dates_version.eq(Some(version))).execute(conn)?;
    Ok(())
}

/// Every project whose stored light days, watched stage or follow-up copy are not what its
/// facts and the stored rules give, and every kept count that is not what
/// the projects give (empty when all agree), read in one snapshot.
pub fn check(conn: &mut DbConnection) -> Result<Vec<String>, ApiError> {
    let mut found = Vec::new();
    conn.transaction(|conn| {
        if backend_of(conn) == Backend::Postgres {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(conn)?;
        }
        let rules = rules::load(conn)?.rules;
        each_batch(conn, |conn, ids| {
            for j in judge_stored(conn, ids, &rules)?.into_iter().filter(|j| j.stored != j.judged) {
                found.push(format!("project {}: stored {:?}, judged {:?}", j.project_id, j.stored, j.judged));
            }
            Ok(())
        })?;
        found.extend(tally::check(conn)?);
        Ok::<_, ApiError>(())
    })?;
    Ok(found)
}

/// Walks every project (deleted ones too: they must not stay watched) in
/// batches of ids.
fn each_batch(conn: &mut DbConnection, mut work: impl FnMut(&mut DbConnection, &[String]) -> Result<(), ApiError>) -> Result<(), ApiError> {
    let mut after = String::new();
    loop {
        let ids: Vec<String> = projects::table
            .filter(projects::id.gt(&after))
            .order(projects::id)
            .limit(BATCH as i64)
            .select(projects::id)
            .load(conn)?;
        let Some(last) = ids.last() else { return Ok(()) };
        after = last.clone();
        work(conn, &ids)?;
    }
}

/// The live projects among `ids`, and the rules their statement saw.
pub(super) fn load_live(conn: &mut DbConnection, ids: &[String]) -> Result<(Vec<Project>, Option<RulesStamp>), ApiError> {
    let rows: Vec<ProjectRow> = projects::table
        .filter(projects::id.eq_any(ids))
        .filter(projects::deleted_at.is_null())
        .select(ProjectRow::as_select())
        .load(conn)?;
    let seen = rows.first().and_then(ProjectRow::rules_stamp);
    Ok((rows.into_iter().map(to_project).collect::<Result<_, _>>()?, seen))
}

/// Writes the judgement of many projects, a few hundred a statement.
pub(super) fn store(conn: &mut DbConnection, changed: &[Judged]) -> Result<(), ApiError> {
    if let [one] = changed {
        diesel::update(projects_money::table.find(&one.project_id))
            .set((
                projects_money::watched_stage.eq(&one.judged.stage),
                projects_money::amber_on.eq(one.judged.dates.amber_on),
                projects_money::red_on.eq(one.judged.dates.red_on),
                projects_money::last_follow_up_on.eq(one.judged.last_follow_up_on),
            ))
            .execute(conn)?;
        return Ok(());
    }
    // Numbered parameters: `$n` on PostgreSQL, `?n` on SQLite (3.33 and later update from a join).
    let (mark, date) = if backend_of(conn) == Backend::Postgres { ("$", "::date") } else { ("?", "") };
    for chunk in changed.chunks(400) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = 5 * i;
                format!("({mark}{}, {mark}{}, {mark}{}{date}, {mark}{}{date}, {mark}{}{date})", n + 1, n + 2, n + 3, n + 4, n + 5)
            })
            .collect();
        let sql = format!(
            "UPDATE projects SET watched_stage = v.column2, amber_on = v.column3, red_on = v.column4, last_follow_up_on = v.column5 \
             FROM (VALUES {}) AS v WHERE projects.id = v.column1",
            rows.join(", ")
        );
        let mut query = diesel::sql_query(sql).into_boxed::<QueryBackend>();
        for j in chunk {
            query = query
                .bind::<Text, _>(j.project_id.clone())
                .bind::<Nullable<Text>, _>(j.judged.stage.clone())
                .bind::<Nullable<Date>, _>(j.judged.dates.amber_on)
                .bind::<Nullable<Date>, _>(j.judged.dates.red_on)
                .bind::<Nullable<Date>, _>(j.judged.last_follow_up_on);
        }
        query.execute(conn)?;
    }
    Ok(())
}
