//! Links between the libraries: a project's investors, a talent's employer,
//! an investor's referrer. Both sides of a link read this module; it reads
//! neither side's queries, so the libraries do not import each other.

use std::collections::HashMap;

use diesel::prelude::*;

use chrono::{NaiveDate, NaiveDateTime};

use crate::audit::{self, Action, Change, NewEvent, SYSTEM_ACTOR};
use crate::clock;
use crate::db::schema::{investors, project_investors, project_stage_history, projects, projects_money, users};
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};
use crate::projects::{StageEntry, StageRow};
use crate::vocab::{from_db, values, Role, Stage};

/// Which of `ids` are not live investors of `park`, as errors on `field[i]`.
/// Projects and talents use it so that no link crosses parks.
pub fn check_investors(conn: &mut DbConnection, park: &str, ids: &[String], field: &str) -> Result<Vec<FieldError>, ApiError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let known = live_investor_parks(conn, ids)?;
    Ok(unknown_investors(park, ids, &known, field))
}

/// The park of each live investor among `ids` (a batch checks many rows' links with it).
pub(crate) fn live_investor_parks(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, String>, ApiError> {
    let mut parks = HashMap::new();
    for chunk in ids.chunks(1_000) {
        let found: Vec<(String, String)> = investors::table
            .filter(investors::deleted_at.is_null())
            .filter(investors::id.eq_any(chunk))
            .select((investors::id, investors::park_code))
            .load(conn)?;
        parks.extend(found);
    }
    Ok(parks)
}

/// [`check_investors`] against investors already read (`known`: id → park).
pub(crate) fn unknown_investors(park: &str, ids: &[String], known: &HashMap<String, String>, field: &str) -> Vec<FieldError> {
    ids.iter()
        .enumerate()
        .filter(|(_, id)| known.get(*id).is_none_or(|p| p != park))
        .map(|(i, _)| {
            let name = if field.ends_with("_ids") { format!("{field}[{i}]") } else { field.to_owned() };
            FieldError::new(name, "unknown", "no investor with this id in the same park")
        })
        .collect()
}

/// What decides whether a user may own a record: role, park, active.
pub(crate) type OwnerFacts = (String, Option<String>, bool);

/// An owner (`owner_id`) must be an active user who may work in `park`: a
/// provincial administrator, or an administrator or staff member of the park.
pub fn check_owner(conn: &mut DbConnection, park: &str, user_id: &str, field: &str) -> Result<Option<FieldError>, ApiError> {
    let owners = owners(conn, &[user_id.to_owned()])?;
    owner_error(owners.get(user_id), park, field)
}

/// The facts of the users `ids` that exist (a batch checks many owners with it).
pub(crate) fn owners(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, OwnerFacts>, ApiError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(1_000) {
        let rows: Vec<(String, String, Option<String>, bool)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::role, users::park_code, users::active))
            .load(conn)?;
        found.extend(rows.into_iter().map(|(id, role, park, active)| (id, (role, park, active))));
    }
    Ok(found)
}

/// [`check_owner`] against a user already read.
pub(crate) fn owner_error(user: Option<&OwnerFacts>, park: &str, field: &str) -> Result<Option<FieldError>, ApiError> {
    let may_work = match user {
        Some((role, user_park, true)) => match from_db::<Role>(role)? {
            Role::ProvincialAdmin => true,
            Role::ParkAdmin | Role::ParkStaff => user_park.as_deref() == Some(park),
            Role::ProvincialViewer | Role::ParkViewer => false,
        },
        _ => false,
    };
    Ok((!may_work).then(|| {
        FieldError::new(field, "unknown", "must be an active user who may work in the record's park (its staff or administrators)")
    }))
}

/// An investor linked to a project at `registered` or later is settled
/// (DESIGN "Duplicates"): each live investor of the project that is not
/// settled yet becomes so from `registered_on` (today at the latest: a
/// settlement date is never in the future). The change is the system's,
/// in the same transaction, and an event in the investor's history.
/// Answers the investors it settled.
pub(crate) fn settle_investors(conn: &mut DbConnection, project_id: &str, registered_on: NaiveDate, at: NaiveDateTime) -> Result<Vec<String>, ApiError> {
    let settled_on = registered_on.min(clock::today());
    let unsettled: Vec<(String, String, String, Option<NaiveDate>, i32)> = project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(project_investors::project_id.eq(project_id))
        .filter(investors::deleted_at.is_null())
        .filter(investors::status.ne("settled"))
        .select((investors::id, investors::park_code, investors::status, investors::settled_on, investors::version))
        .load(conn)?;
    let mut settled = Vec::with_capacity(unsettled.len());
    for (id, park, status, before, version) in unsettled {
        let written = diesel::update(investors::table.filter(investors::id.eq(&id)).filter(investors::version.eq(version)))
            .set((
                investors::status.eq("settled"),
                investors::settled_on.eq(Some(settled_on)),
                investors::version.eq(version + 1),
                investors::updated_at.eq(at),
                investors::updated_by.eq(SYSTEM_ACTOR),
            ))
            .execute(conn)?;
        // Another write changed it since it was read: audit only what changed.
        if written == 0 {
            continue;
        }
        let changes = vec![
            Change { field: "settled_on".into(), old: serde_json::to_value(before)?, new: serde_json::to_value(settled_on)? },
            Change { field: "status".into(), old: status.into(), new: "settled".into() },
        ];
        audit::record(conn, NewEvent {
            actor: SYSTEM_ACTOR,
            action: Action::Update,
            entity_type: "investor",
            entity_id: &id,
            park_code: Some(&park),
            changes,
        })?;
        settled.push(id);
    }
    Ok(settled)
}

/// [`settle_investors`] for those of `project_ids` that are live and at
/// `registered` or later (after links moved onto an investor, by a merge).
pub(crate) fn settle_investors_of(conn: &mut DbConnection, project_ids: &[String], at: NaiveDateTime) -> Result<Vec<String>, ApiError> {
    let registered: Vec<(String, Option<NaiveDate>)> = projects_money::table
        .filter(projects_money::id.eq_any(project_ids))
        .filter(projects_money::deleted_at.is_null())
        .filter(projects_money::stage.eq_any(values(&[Stage::Registered, Stage::UnderConstruction, Stage::Operating])))
        .select((projects_money::id, projects_money::registered_on))
        .load(conn)?;
    let mut settled = Vec::new();
    for (project_id, registered_on) in registered {
        settled.extend(settle_investors(conn, &project_id, registered_on.unwrap_or_else(clock::today), at)?);
    }
    Ok(settled)
}

/// Makes `investor_ids` the project's investors, in that order.
pub(crate) fn replace_project_investors(conn: &mut DbConnection, project_id: &str, investor_ids: &[String]) -> Result<(), ApiError> {
    diesel::delete(project_investors::table.filter(project_investors::project_id.eq(project_id))).execute(conn)?;
    insert_project_investors(conn, project_id, investor_ids)
}

/// Links a project that has no links yet to `investor_ids`, in that order.
pub(crate) fn insert_project_investors(conn: &mut DbConnection, project_id: &str, investor_ids: &[String]) -> Result<(), ApiError> {
    for (position, investor_id) in investor_ids.iter().enumerate() {
        diesel::insert_into(project_investors::table)
            .values((
                project_investors::project_id.eq(project_id),
                project_investors::investor_id.eq(investor_id),
                project_investors::position.eq(position as i32),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Rewrites the read copies (`investor_ids_json`, `stage_history_json`) of
/// the projects `ids` from the link and stage tables, which stay the record.
/// Every write that changes either table calls it in the same transaction,
/// so reads take a project whole from its row.
pub(crate) fn refresh_project_copies(conn: &mut DbConnection, ids: &[String]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut investors: HashMap<String, Vec<String>> = HashMap::new();
    for (project_id, investor_id) in project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(project_investors::project_id.eq_any(ids))
        .filter(investors::deleted_at.is_null())
        .order((project_investors::project_id, project_investors::position))
        .select((project_investors::project_id, project_investors::investor_id))
        .load::<(String, String)>(conn)?
    {
        investors.entry(project_id).or_default().push(investor_id);
    }
    let mut stages: HashMap<String, Vec<StageEntry>> = HashMap::new();
    for row in project_stage_history::table
        .filter(project_stage_history::project_id.eq_any(ids))
        .order((project_stage_history::recorded_at, project_stage_history::id))
        .select(StageRow::as_select())
        .load::<StageRow>(conn)?
    {
        stages.entry(row.project_id).or_default().push(StageEntry {
            stage: from_db(&row.stage)?,
            on: row.on_date,
            by: row.by_user,
            recorded_at: clock::utc(row.recorded_at),
        });
    }
    for id in ids {
        let investor_ids = investors.remove(id).unwrap_or_default();
        let stage_history = stages.remove(id).unwrap_or_default();
        diesel::update(projects::table.find(id))
            .set((
                projects::investor_ids_json.eq(serde_json::to_string(&investor_ids)?),
                projects::stage_history_json.eq(serde_json::to_string(&stage_history)?),
            ))
            .execute(conn)?;
    }
    Ok(())
}
