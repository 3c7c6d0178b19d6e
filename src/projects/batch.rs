//! Many new projects at once (the rows of an import): the same rules, row,
//! read copies, stage history, links and audit event per project as an API
//! create ([`crate::records::create_in_tx`]), but the links are checked in
//! a few set-based reads, the rows go in as multi-row INSERTs in chunks, and
//! the derived state (the targets summary, investors a project settles) is
//! refreshed once at the end instead of once per row.
//!
//! `build` is the one place where new project rows are made, for an import's
//! rows and an API create alike: a column derived from the fields at insert
//! time belongs there, as in `to_row`.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;

use super::model::{Project, ProjectFields, ProjectRow, StageEntry, StageRow};
use super::queries::{stage_row, to_project};
use super::{lights, money, rules, unnest};
use crate::audit::{self, Action, EventRow, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{parks, project_investors, project_stage_history, projects};
use crate::db::{insert_all, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::links;
use crate::monitoring::tally::{Judged, Watched};
use crate::records::{creation_changes, Record, RowBase, Stamp};
use crate::vocab::Stage;

/// Rows an INSERT carries: 32 values a project (diesel's `projects`, light
/// days included), and SQLite binds at most 32,766 in one statement; the
/// rest is room for a column or two more.
const CHUNK: usize = 900;

/// Links an INSERT carries: three values each, within SQLite's 32,766.
const LINKS_CHUNK: usize = 10_000;

/// A project to create in `park` (a park the caller may write in), built
/// with no connection: its fields normalised and checked by the rules that
/// read no database, and, when they hold, its row, first stage move, view
/// and create event. An import builds these on its reading thread, so that
/// the thread holding the connection only checks links and sends statements.
pub struct NewProject {
    park: String,
    fields: ProjectFields,
    /// The rules of an API create that read no database, broken.
    broken: Vec<FieldError>,
    /// What goes in, once no such rule is broken (boxed: an import holds
    /// rows not built yet in the same place, and they stay small).
    made: Option<Box<Made>>,
}

/// A new project's rows and create event, as an API create would write them.
struct Made {
    row: ProjectRow,
    stage: StageRow,
    /// The record as a read answers it right after the create (its light is
    /// derived, and judged by the writer: it reads the investors' follow-ups).
    view: Project,
    event: EventRow,
}

impl NewProject {
    pub fn build(caller: &Caller, park: String, mut fields: ProjectFields) -> Result<Self, ApiError> {
        rules::normalise(&mut fields);
        let broken = rules::check(&fields);
        let made = if broken.is_empty() { Some(Box::new(make(caller, &park, &fields)?)) } else { None };
        Ok(Self { park, fields, broken, made })
    }

    pub fn park(&self) -> &str {
        &self.park
    }

    /// The id the project will have (none while a rule is broken).
    pub fn id(&self) -> Option<&str> {
        self.made.as_ref().map(|made| made.row.id.as_str())
    }
}

fn make(caller: &Caller, park: &str, fields: &ProjectFields) -> Result<Made, ApiError> {
    let id = uuid::Uuid::now_v7().to_string();
    let stamp = Stamp::of(caller);
    let Built { row, stage, view, .. } = build(&id, park, fields, &stamp)?;
    let event = audit::event_row(NewEvent {
        actor: &caller.username,
        action: Action::Create,
        entity_type: <Project as Record>::ENTITY,
        entity_id: &id,
        park_code: Some(park),
        changes: creation_changes::<Project>(&view)?,
    })?;
    Ok(Made { row, stage, view, event })
}

/// Answers each row's broken rules, in order (empty: the row may be
/// inserted): those [`NewProject::build`] found, then its links and park.
pub fn check(conn: &mut DbConnection, rows: &[NewProject]) -> Result<Vec<Vec<FieldError>>, ApiError> {
    let known_parks: HashSet<String> = parks::table.select(parks::code).load::<String>(conn)?.into_iter().collect();
    let investor_ids: BTreeSet<String> = rows.iter().flat_map(|r| r.fields.investor_ids.iter().map(uuid::Uuid::to_string)).collect();
    let investors = links::live_investor_parks(conn, &investor_ids.into_iter().collect::<Vec<_>>())?;
    let owner_ids: BTreeSet<String> = rows.iter().filter_map(|r| r.fields.owner_id.map(|id| id.to_string())).collect();
    let owners = links::owners(conn, &owner_ids.into_iter().collect::<Vec<_>>())?;
    rows.iter()
        .map(|row| {
            let mut errors = row.broken.clone();
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
    let watched = lights::judge_new(conn, &[&view])?.pop().unwrap_or_default();
    diesel::insert_into(projects::table)
        .values((&row, (projects::watched_stage.eq(&watched.stage), projects::amber_on.eq(watched.dates.amber_on), projects::red_on.eq(watched.dates.red_on))))
        .execute(conn)?;
    write_follow_ups(conn, [(&row, &watched)])?;
    view.last_follow_up_on = watched.last_follow_up_on;
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

/// The read copies of the latest follow-up of new projects' investors,
/// which `projects` (at diesel's column limit) cannot take in its INSERT:
/// one more statement (`lights::store`), only when some project is linked
/// to an investor followed up.
fn write_follow_ups<'a>(conn: &mut DbConnection, new: impl IntoIterator<Item = (&'a ProjectRow, &'a Watched)>) -> Result<(), ApiError> {
    let followed: Vec<Judged> = new
        .into_iter()
        .filter(|(_, w)| w.last_follow_up_on.is_some())
        .map(|(row, w)| Judged { project_id: row.id.clone(), park_code: row.park_code.clone(), stored: Watched::default(), judged: w.clone() })
        .collect();
    lights::store(conn, &followed)
}

/// Inserts rows that passed [`check`], each with its create event: one part
/// of a batch (an import hands its rows on as it reads them); [`finish`]
/// refreshes what hangs off them once for all parts.
pub fn insert_part(conn: &mut DbConnection, rows: Vec<NewProject>, inserted: &mut Inserted) -> Result<(), ApiError> {
    let mut rest = rows;
    while !rest.is_empty() {
        let tail = rest.split_off(CHUNK.min(rest.len()));
        insert_chunk(conn, std::mem::replace(&mut rest, tail), inserted)?;
    }
    Ok(())
}

fn insert_chunk(conn: &mut DbConnection, chunk: Vec<NewProject>, Inserted { ids, linked, settled }: &mut Inserted) -> Result<(), ApiError> {
    let mut fields = Vec::with_capacity(chunk.len());
    let mut made = Vec::with_capacity(chunk.len());
    for new in chunk {
        made.push(new.made.ok_or_else(|| ApiError::internal("a project that broke a rule was to be inserted"))?);
        fields.push(new.fields);
    }
    let views: Vec<&Project> = made.iter().map(|m| &m.view).collect();
    // Each row goes in with its light days (`lights::judge_new`).
    let lights = lights::judge_new(conn, &views)?;
    match conn {
        DbConnection::Pg(pg) => {
            unnest::insert(pg, &made.iter().map(|m| &m.row).zip(&lights).collect::<Vec<_>>())?;
            unnest::insert_stages(pg, &made.iter().map(|m| &m.stage).collect::<Vec<_>>())?;
        }
        DbConnection::Sqlite(sqlite) => {
            let with_lights: Vec<_> = made
                .iter()
                .zip(&lights)
                .map(|(m, w)| {
                    (&m.row, (projects::watched_stage.eq(&w.stage), projects::amber_on.eq(w.dates.amber_on), projects::red_on.eq(w.dates.red_on)))
                })
                .collect();
            diesel::insert_into(projects::table).values(with_lights).execute(sqlite)?;
            diesel::insert_into(project_stage_history::table).values(made.iter().map(|m| &m.stage).collect::<Vec<_>>()).execute(sqlite)?;
            write_follow_ups(conn, made.iter().map(|m| &m.row).zip(&lights))?;
        }
    }
    let links: Vec<_> = made
        .iter()
        .zip(&fields)
        .flat_map(|(m, f)| {
            f.investor_ids.iter().enumerate().map(|(position, investor)| {
                (
                    project_investors::project_id.eq(m.row.id.as_str()),
                    project_investors::investor_id.eq(investor.to_string()),
                    project_investors::position.eq(position as i32),
                )
            })
        })
        .collect();
    // A project links up to 100 investors: a part's links go in a few
    // statements, within SQLite's 32,766 binds (three a link) and PostgreSQL's.
    for some in links.chunks(LINKS_CHUNK) {
        insert_all!(conn, project_investors::table, some)?;
    }
    // Investors are stamped when they are settled: the rows' own stamps were
    // taken when they were read, possibly well before this part is written.
    let settled_at = clock::now();
    for (m, f) in made.iter().zip(&fields) {
        if has_money(f) {
            money::write(conn, &m.row.id, f)?;
        }
        linked.extend(self::linked(&m.row.id, f));
        if settles(f) {
            let registered_on = f.registered_on.unwrap_or_else(clock::today);
            settled.extend(links::settle_investors(conn, &m.row.id, registered_on, settled_at)?);
        }
    }
    ids.extend(made.iter().map(|m| m.row.id.clone()));
    audit::record_rows(conn, made.into_iter().map(|m| m.event).collect())
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
        for row in rows {
            let view = to_project(row)?;
            found.insert(view.id.clone(), Project::fields_of(&view)?);
        }
    }
    Ok(found)
}
