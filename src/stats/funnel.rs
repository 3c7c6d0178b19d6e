//! `GET /stats/funnel`: per cohort of projects (the year of first contact),
//! how many reached each stage of the pipeline, the conversion from the
//! stage before, and the median days spent in each stage.
//!
//! The rules (README, "Statistics", says them for analysts):
//! - a project's cohort is the year of `first_contact_on`, or of its
//!   creation when it has none;
//! - it *reached* a stage when its stage history (or its current stage)
//!   holds that stage or a later one of the pipeline: a forward move that
//!   skips stages reaches them, and a dropped project keeps what it reached;
//! - it *entered* a stage it was at (one in its history) on the stage's
//!   milestone date (lead `first_contact_on`, signed `signed_on`, registered
//!   `registered_on`, under construction `started_on`, operating
//!   `operating_on`); negotiating, which has none, and a stage whose date is
//!   empty, on the day its first move into the stage was recorded (UTC);
//! - its *days in* a stage it entered are the days until the earliest day it
//!   entered a later stage; a stage dated after that (dates entered out of
//!   order) has none, and so has a project that has not moved on since, or
//!   was dropped. The median is the lower one (PostgreSQL's
//!   `percentile_disc(0.5)`).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Date, Nullable};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::ParkScope;
use crate::db::schema::{project_stage_history, projects};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::projects::Project;
use crate::vocab::{Stage, Vocabulary};

/// The pipeline, in order; `dropped` is counted apart.
const PIPELINE: [Stage; 6] =
    [Stage::Lead, Stage::Negotiating, Stage::Signed, Stage::Registered, Stage::UnderConstruction, Stage::Operating];
/// Projects read at once (their ids are one `IN` list of the history query).
const CHUNK: i64 = 5_000;

/// How projects are grouped into cohorts.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cohort {
    /// The year of first contact (of creation when there is none).
    #[default]
    Year,
}

/// Parameters of `GET /stats/funnel`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FunnelParams {
    /// `year` (the only cohort so far, and the default): the year of first contact.
    #[param(inline)]
    pub cohort: Option<Cohort>,
    /// Park codes (repeat for several). A park role sees its own park whatever is asked.
    #[serde(default)]
    pub park: Vec<String>,
}

/// The funnel of every cohort, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Funnel {
    pub cohorts: Vec<CohortFunnel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortFunnel {
    #[schema(example = 2024)]
    pub cohort: i32,
    /// Projects of the cohort (all of them reached `lead`).
    pub projects: i64,
    /// The six stages of the pipeline, in order.
    pub stages: Vec<StageFunnel>,
    /// Projects of the cohort that are `dropped` now.
    pub dropped: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageFunnel {
    pub stage: Stage,
    #[schema(example = "线索")]
    pub label: &'static str,
    pub reached: i64,
    /// `reached` over the stage before's, to three decimals; `null` for the
    /// first stage or when the stage before reached none.
    #[schema(example = 0.667)]
    pub conversion: Option<f64>,
    /// The median days spent in the stage by the projects that left it for a
    /// later one; `null` when none has.
    #[schema(example = 40)]
    pub median_days: Option<i64>,
}

/// What a cohort has gathered so far.
#[derive(Default)]
struct Tally {
    projects: i64,
    dropped: i64,
    reached: [i64; PIPELINE.len()],
    days: [Vec<i64>; PIPELINE.len()],
}

/// A project as the funnel reads it.
struct Entry {
    id: String,
    stage: String,
    created_at: NaiveDateTime,
    milestones: [Option<NaiveDate>; PIPELINE.len()],
}

type EntryRow = (String, String, NaiveDateTime, Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>);

pub fn funnel(conn: &mut DbConnection, scope: &ParkScope, params: FunnelParams) -> Result<Funnel, ApiError> {
    let mut cohorts: BTreeMap<i32, Tally> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let entries = chunk(conn, scope, &params.park, after.as_deref())?;
        let Some(last) = entries.last() else { break };
        after = Some(last.id.clone());
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        let mut history: HashMap<String, Vec<(String, NaiveDate)>> = HashMap::new();
        let rows: Vec<(String, String, NaiveDateTime)> = project_stage_history::table
            .filter(project_stage_history::project_id.eq_any(&ids))
            .order((project_stage_history::recorded_at, project_stage_history::id))
            .select((project_stage_history::project_id, project_stage_history::stage, project_stage_history::recorded_at))
            .load(conn)?;
        // The day recorded, not the history's `on_date`: for negotiating that
        // is the first contact (its milestone), which would make every lead
        // last no time at all.
        for (project, stage, recorded_at) in rows {
            history.entry(project).or_default().push((stage, recorded_at.date()));
        }
        for entry in &entries {
            let moves = history.get(&entry.id).map(Vec::as_slice).unwrap_or_default();
            let cohort = entry.milestones[0].unwrap_or(entry.created_at.date()).year();
            tally(cohorts.entry(cohort).or_default(), entry, moves);
        }
        if (entries.len() as i64) < CHUNK {
            break;
        }
    }
    Ok(Funnel { cohorts: cohorts.into_iter().map(|(cohort, tally)| report(cohort, tally)).collect() })
}

/// The next projects in id order.
fn chunk(conn: &mut DbConnection, scope: &ParkScope, parks: &[String], after: Option<&str>) -> Result<Vec<Entry>, ApiError> {
    let mut query = Project::visible(scope);
    if !parks.is_empty() {
        query = query.filter(projects::park_code.eq_any(parks.to_vec()));
    }
    if let Some(after) = after {
        query = query.filter(projects::id.gt(after.to_owned()));
    }
    // `registered_on` is declared on the table's second name (`projects` is
    // at diesel's column limit), so it is named here by hand.
    let rows: Vec<EntryRow> = query
        .order(projects::id)
        .limit(CHUNK)
        .select((
            projects::id,
            projects::stage,
            projects::created_at,
            projects::first_contact_on,
            projects::signed_on,
            sql::<Nullable<Date>>("registered_on"),
            projects::started_on,
            projects::operating_on,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, stage, created_at, first_contact, signed, registered, started, operating)| Entry {
            id,
            stage,
            created_at,
            // In pipeline order; negotiating has no date of its own.
            milestones: [first_contact, None, signed, registered, started, operating],
        })
        .collect())
}

fn rank(stage: &str) -> Option<usize> {
    PIPELINE.iter().position(|s| s.as_str() == stage)
}

/// Adds one project, with its stage moves (stage, the day recorded) in that order.
fn tally(tally: &mut Tally, entry: &Entry, moves: &[(String, NaiveDate)]) {
    tally.projects += 1;
    if entry.stage == Stage::Dropped.as_str() {
        tally.dropped += 1;
    }
    // The day each pipeline stage was entered, for the stages it was at.
    let mut entered: [Option<NaiveDate>; PIPELINE.len()] = [None; PIPELINE.len()];
    let mut was_at = [false; PIPELINE.len()];
    for (stage, recorded_on) in moves {
        if let Some(r) = rank(stage) {
            if !was_at[r] {
                was_at[r] = true;
                entered[r] = Some(entry.milestones[r].unwrap_or(*recorded_on));
            }
        }
    }
    // Rows from before stage histories were kept: the current stage at least.
    if let Some(r) = rank(&entry.stage).filter(|r| !was_at[*r]) {
        was_at[r] = true;
        entered[r] = entry.milestones[r];
    }
    let furthest = was_at.iter().rposition(|at| *at).unwrap_or(0);
    for reached in &mut tally.reached[..=furthest] {
        *reached += 1;
    }
    // A stage is left on the earliest day a later stage was entered; a stage
    // dated after that (dates entered out of order) has no days, rather than
    // a made-up span.
    for r in 0..PIPELINE.len() {
        let Some(from) = entered[r] else { continue };
        if let Some(to) = entered[r + 1..].iter().flatten().min() {
            let days = (*to - from).num_days();
            if days >= 0 {
                tally.days[r].push(days);
            }
        }
    }
}

fn report(cohort: i32, mut tally: Tally) -> CohortFunnel {
    let stages = PIPELINE
        .iter()
        .enumerate()
        .map(|(r, stage)| {
            let reached = tally.reached[r];
            let before = r.checked_sub(1).map(|b| tally.reached[b]).filter(|b| *b > 0);
            let days = &mut tally.days[r];
            days.sort_unstable();
            StageFunnel {
                stage: *stage,
                label: stage.label().zh,
                reached,
                conversion: before.map(|b| (reached as f64 / b as f64 * 1000.0).round() / 1000.0),
                median_days: days.get(days.len().saturating_sub(1) / 2).copied(),
            }
        })
        .collect();
    CohortFunnel { cohort, projects: tally.projects, stages, dropped: tally.dropped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn at(s: &str) -> NaiveDateTime {
        day(s).and_hms_opt(9, 0, 0).unwrap_or_default()
    }

    fn entry(stage: Stage, milestones: [Option<NaiveDate>; 6]) -> Entry {
        Entry { id: "p".into(), stage: stage.as_str().into(), created_at: at("2024-01-01"), milestones }
    }

    #[test]
    fn skipped_stages_are_reached_without_days() {
        let mut t = Tally::default();
        let p = entry(Stage::Signed, [Some(day("2024-01-10")), None, Some(day("2024-03-10")), None, None, None]);
        tally(&mut t, &p, &[("lead".into(), day("2024-01-10")), ("signed".into(), day("2024-03-11"))]);
        assert_eq!(t.reached, [1, 1, 1, 0, 0, 0]);
        assert_eq!(t.days[0], vec![60]);
        assert!(t.days[1].is_empty() && t.days[2].is_empty());
    }

    #[test]
    fn negotiating_is_entered_when_recorded_and_dropped_projects_keep_their_stages() {
        let mut t = Tally::default();
        let p = entry(Stage::Dropped, [Some(day("2024-01-10")), None, None, None, None, None]);
        let moves = [("lead".into(), day("2024-01-10")), ("negotiating".into(), day("2024-02-09")), ("dropped".into(), day("2024-05-01"))];
        tally(&mut t, &p, &moves);
        assert_eq!((t.dropped, t.reached), (1, [1, 1, 0, 0, 0, 0]));
        assert_eq!(t.days[0], vec![30]);
        assert!(t.days[1].is_empty(), "dropping is not moving on");
    }

    #[test]
    fn a_stage_is_left_on_the_earliest_later_date_and_out_of_order_dates_have_no_days() {
        // Signed 2021-06-01, moved to registered without a date on 2026-11-29,
        // construction started 2021-09-01: signed lasted until construction.
        let mut t = Tally::default();
        let p = entry(Stage::UnderConstruction, [Some(day("2021-03-01")), None, Some(day("2021-06-01")), None, Some(day("2021-09-01")), None]);
        let moves = [("signed".into(), day("2021-06-01")), ("registered".into(), day("2026-11-29")), ("under_construction".into(), day("2021-09-01"))];
        tally(&mut t, &p, &moves);
        assert_eq!(t.reached, [1, 1, 1, 1, 1, 0]);
        assert_eq!(t.days[2], vec![92], "signed until the earliest later stage");
        assert!(t.days[3].is_empty(), "registered is dated after the stage that followed it");
    }

    #[test]
    fn the_median_is_the_lower_one_and_conversion_has_three_decimals() {
        let mut t = Tally { projects: 3, reached: [3, 2, 0, 0, 0, 0], ..Tally::default() };
        t.days[0] = vec![60, 20];
        let report = report(2024, t);
        assert_eq!(report.stages[0].median_days, Some(20));
        assert_eq!(report.stages[0].conversion, None);
        assert_eq!(report.stages[1].conversion, Some(0.667));
        assert_eq!(report.stages[2].conversion, Some(0.0));
        assert_eq!(report.stages[3].conversion, None);
    }
}
