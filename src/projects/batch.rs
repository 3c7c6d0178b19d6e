//! Many new projects at once (the rows of an import): the same rules, row,
//! read copies, stage history, links and audit event per project as an API
//! create ([`crate::records::create_in_tx`]), but the links are checked in
//! a few set-based reads, the rows go in as multi-row INSERTs in chunks, and
//! the derived state (the targets summary, investors a project settles) is
//! refreshed once at the end instead of once per row.
//!
//! [`insert_part`] is the one place where a batch builds project rows: a column
//! derived from the fields at insert time belongs there, as in `to_row`.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;

use super::model::{Project, ProjectFields, ProjectRow, StageEntry, StageRow};
use super::queries::{stage_row, to_project};
use super::{lights, money, rules, unnest};
use crate::audit::{self, Action, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{parks, project_investors, project_stage_history, projects};
use crate::db::{insert_all, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::links;
use crate::records::{creation_changes, Record, RowBase, Stamp};
use crate::vocab::Stage;

/// Rows an INSERT carries: 32 values a project (diesel's `projects`, light
/// days included), and SQLite binds at most 32,766 in one statement; the
/// rest is room for a column or two more.
const CHUNK: usize = 900;

/// A project to create in `park` (a park the caller may write in).
pub struct NewProject {
    pub park: String,
    pub fields: ProjectFields,
}

/// Normalises every row's fields and answers each row's broken rules, in
/// order (empty: the row may be inserted): the rules of an API create.
pub fn check(conn: &mut DbConnection, rows: &mut [NewProject]) -> Result<Vec<Vec<FieldError>>, ApiError> {
    let known_parks: HashSet<String> = parks::table.select(parks::code).load::<String>(conn)?.into_iter().collect();
    let investor_ids: BTreeSet<String> = rows.iter().flat_map(|r| r.fields.investor_ids.iter().map(uuid::Uuid::to_string)).collect();
    let investors = links::live_investor_parks(conn, &investor_ids.into_iter().collect::<Vec<_>>())?;
    let owner_ids: BTreeSet<String> = rows.iter().filter_map(|r| r.fields.owner_id.map(|id| id.to_string())).collect();
    let owners = links::owners(conn, &owner_ids.into_iter().collect::<Vec<_>>())?;
    rows.iter_mut()
        .map(|row| {
            rules::normalise(&mut row.fields);
            let mut errors = rules::check(&row.fields);
            let ids: Vec<String> = row.fields.investor_ids.iter().map(uuid::Uuid::to_string).collect();
            errors.extend(links::unknown_investors(&row.park, &ids, &investors, "investor_ids"));
            if let Some(owner) = row.fields.owner_id.map(|id| id.to_string()) {
                errors.extend(links::owner_error(owners.get(&owner), &row.park, "owner_id")?);
            }
            if !known_parks.contains(&row.park) {
                errors.push(FieldError::new("park_code", "unknown", format!("there is no park {:?}", row.park)));
            }
            Ok(errors)
        })
        .collect()
}

/// What parts of a batch wrote, for [`finish`].
#[derive(Default)]
pub struct Inserted {
    /// The new projects' ids, in order.
    pub ids: Vec<String>,
    /// The new projects linked to an investor ([`linked`]).
    linked: Vec<String>,
    /// Investors a new project settled.
    settled: Vec<String>,
}

/// A new project as it will be stored, built before anything is written:
/// its row with the read copies, its first stage, its links, and the record
/// as a read right after the create answers it (its light aside).
struct Built {
    row: ProjectRow,
    stage: StageRow,
    investor_ids: Vec<String>,
    view: Project,
}

fn build(id: &str, park: &str, fields: &ProjectFields, stamp: &Stamp) -> Result<Built, ApiError> {
    let base = RowBase { id, park, version: 1, created: stamp, updated: stamp, previous: None };
    let mut row = Project::to_row(fields, base)?;
    let stage = stage_row(id, fields, stamp);
    let investor_ids: Vec<String> = fields.investor_ids.iter().map(uuid::Uuid::to_string).collect();
    // The read copies, as `links::refresh_project_copies` would write them.
    let entry = StageEntry { stage: fields.stage, on: stage.on_date, by: stamp.by.clone(), recorded_at: clock::utc(stamp.at) };
    row.investor_ids_json = serde_json::to_string(&investor_ids)?;
    row.stage_history_json = serde_json::to_string(&[entry])?;
    let view = to_project(row.clone())?;
    Ok(Built { row, stage, investor_ids, view })
}

/// Writes one new project that passed the rules, whole: the row goes in
/// with its read copies and light days instead of being updated after its
/// INSERT (`Record::after_write`), and it is answered from memory instead
/// of read back. On SQLite every writer waits for this transaction, so
/// each statement saved shortens the queue (bench/RESULTS.md, creates).
/// The caller writes the audit event, as for any record.
pub fn insert_one(conn: &mut DbConnection, id: &str, park: &str, fields: &ProjectFields, stamp: &Stamp) -> Result<Project, ApiError> {
    let Built { row, stage, investor_ids, mut view } = build(id, park, fields, stamp)?;
    let watched = lights::judge_new(conn, std::slice::from_ref(&view))?.pop().unwrap_or_default();
    diesel::insert_into(projects::table)
        .values((&row, (projects::watched_stage.eq(&watched.stage), projects::amber_on.eq(watched.dates.amber_on), projects::red_on.eq(watched.dates.red_on))))
        .execute(conn)?;
    diesel::insert_into(project_stage_history::table).values(&stage).execute(conn)?;
    links::insert_project_investors(conn, id, &investor_ids)?;
    if has_money(fields) {
        money::write(conn, id, fields)?;
    }
    let mut settled = Vec::new();
    if settles(fields) {
        settled = links::settle_investors(conn, id, fields.registered_on.unwrap_or_else(clock::today), stamp.at)?;
    }
    finish(conn, Inserted { linked: linked(id, fields).into_iter().collect(), settled, ..Default::default() })?;
    lights::fill(conn, std::slice::from_mut(&mut view), clock::today(), None)?;
    Ok(view)
}

/// Inserts rows that passed [`check`], each with its create event: one part
/// of a batch (an import hands its rows on as it reads them); [`finish`]
/// refreshes what hangs off them once for all parts.
pub fn insert_part(conn: &mut DbConnection, caller: &Caller, rows: &[NewProject], inserted: &mut Inserted) -> Result<(), ApiError> {
    for chunk in rows.chunks(CHUNK) {
        let mut project_rows = Vec::with_capacity(chunk.len());
        let mut stages = Vec::with_capacity(chunk.len());
        let mut links = Vec::new();
        let mut events = Vec::with_capacity(chunk.len());
        let mut views = Vec::with_capacity(chunk.len());
        for NewProject { park, fields } in chunk {
            let id = uuid::Uuid::now_v7().to_string();
            let stamp = Stamp::of(caller);
            let Built { row, stage, investor_ids, view } = build(&id, park, fields, &stamp)?;
            events.push((id.clone(), park.as_str(), creation_changes::<Project>(&view)?));
            views.push(view);
            links.extend(investor_ids.into_iter().enumerate().map(|(position, investor)| {
                (project_investors::project_id.eq(id.clone()), project_investors::investor_id.eq(investor), project_investors::position.eq(position as i32))
            }));
            project_rows.push(row);
            stages.push(stage);
            inserted.linked.extend(linked(&id, fields));
            inserted.ids.push(id);
        }
        // Each row goes in with its light days (`lights::judge_new`).
        let project_rows: Vec<(ProjectRow, unnest::Light)> = project_rows
            .into_iter()
            .zip(lights::judge_new(conn, &views)?)
            .map(|(row, watched)| (row, (watched.stage, watched.dates.amber_on, watched.dates.red_on)))
            .collect();
        match conn {
            DbConnection::Pg(pg) => unnest::insert(pg, &project_rows)?,
            DbConnection::Sqlite(sqlite) => {
                let with_lights: Vec<_> = project_rows
                    .iter()
                    .map(|(row, (stage, amber_on, red_on))| {
                        (row, (projects::watched_stage.eq(stage), projects::amber_on.eq(amber_on), projects::red_on.eq(red_on)))
                    })
                    .collect();
                diesel::insert_into(projects::table).values(with_lights).execute(sqlite)?
            }
        };
        match conn {
            DbConnection::Pg(pg) => unnest::insert_stages(pg, &stages)?,
            DbConnection::Sqlite(_) => insert_all!(conn, project_stage_history::table, &stages)?,
        };
        if !links.is_empty() {
            insert_all!(conn, project_investors::table, &links)?;
        }
        for ((row, _), NewProject { fields, .. }) in project_rows.iter().zip(chunk) {
            if has_money(fields) {
                money::write(conn, &row.id, fields)?;
            }
            if settles(fields) {
                let registered_on = fields.registered_on.unwrap_or_else(clock::today);
                inserted.settled.extend(links::settle_investors(conn, &row.id, registered_on, row.bookkeeping.created_at)?);
            }
        }
        let events = events
            .iter_mut()
            .map(|(id, park, changes)| NewEvent {
                actor: &caller.username,
                action: Action::Create,
                entity_type: <Project as Record>::ENTITY,
                entity_id: id,
                park_code: Some(park),
                changes: std::mem::take(changes),
            })
            .collect();
        audit::record_many(conn, events)?;
    }
    Ok(())
}

/// Whether a new project settles its investors (DESIGN "Duplicates").
fn settles(f: &ProjectFields) -> bool {
    matches!(f.stage, Stage::Registered | Stage::UnderConstruction | Stage::Operating) && !f.investor_ids.is_empty()
}

/// The new project `id` if it is linked to an investor: only such a project
/// can count towards a target (its unit's events need a Taiwan-counted
/// investor, `targets::summary::events::project`), so only it has a unit of
/// the targets summary to write.
fn linked(id: &str, f: &ProjectFields) -> Option<String> {
    (!f.investor_ids.is_empty()).then(|| id.to_owned())
}

/// The derived state of every part's new projects (the targets summary),
/// refreshed once; answers their ids.
pub fn finish(conn: &mut DbConnection, Inserted { ids, linked, settled }: Inserted) -> Result<Vec<String>, ApiError> {
    if !settled.is_empty() {
        crate::targets::summary::refresh_investors(conn, &settled)?;
    }
    // With no project linked it still checks that the summary is current.
    crate::targets::summary::refresh_projects(conn, &linked)?;
    Ok(ids)
}

/// Whether the fields fill a money column (they live beside the row: see `money`).
fn has_money(f: &ProjectFields) -> bool {
    f.contracted_investment_usd.is_some() || f.registered_on.is_some() || f.planned_start_on.is_some() || f.planned_operating_on.is_some()
}

/// The writable fields of the live projects among `ids` that `scope` sees,
/// as a `PATCH` merges into them (a re-import finds the rows it repeats).
pub fn stored_fields(conn: &mut DbConnection, scope: &ParkScope, ids: &[String]) -> Result<HashMap<String, ProjectFields>, ApiError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<ProjectRow> =
            Project::visible(scope).filter(projects::id.eq_any(chunk.to_vec())).select(ProjectRow::as_select()).load(conn)?;
        let views = rows.into_iter().map(to_project).collect::<Result<Vec<_>, _>>()?;
        found.extend(views.into_iter().map(|view| (view.id.clone(), Project::fields_of(&view))));
    }
    Ok(found)
}
