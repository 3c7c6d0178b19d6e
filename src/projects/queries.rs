//! Reading and writing projects. Every function takes the caller's scope or
//! the caller, and a project outside it behaves as if it did not exist.

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Project, ProjectFields, ProjectPatch, ProjectRow, StageRow};
use super::rules;
use crate::audit::{self, Action, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{project_stage_history, projects};
use crate::db::search::{self, search_terms, within_window};
use crate::db::{self, backend_of, write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::links;
use crate::http::{keyset, Cursor, IfMatch, Limit, Page, SortKey, SortOrder, TimeBound};
use crate::text;
use crate::vocab::{from_db, values, AttractionMode, ChainRole, Industry, Stage};

const ENTITY: &str = "project";
/// Bookkeeping fields left out of audit diffs: they change on every write.
const NOT_AUDITED: &[&str] = &["id", "version", "created_at", "updated_at", "created_by", "updated_by", "stage_history"];

/// Filters, search, order and paging of `GET /projects`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Park codes (repeat for several). A park role sees its own park whatever is asked.
    #[serde(default)]
    #[param(example = json!(["yueyang"]))]
    pub park: Vec<String>,
    /// Stages (repeat for several).
    #[serde(default)]
    pub stage: Vec<Stage>,
    /// Industries (repeat for several).
    #[serde(default)]
    pub industry: Vec<Industry>,
    /// Attraction modes (repeat for several).
    #[serde(default)]
    pub attraction_mode: Vec<AttractionMode>,
    /// Chain roles (repeat for several).
    #[serde(default)]
    pub chain_role: Vec<ChainRole>,
    pub high_tech: Option<bool>,
    /// Created at or after (a date or RFC 3339 timestamp).
    pub created_from: Option<TimeBound>,
    /// Created at or before (a date includes its whole day).
    pub created_to: Option<TimeBound>,
    pub updated_from: Option<TimeBound>,
    pub updated_to: Option<TimeBound>,
    /// Words to find in name, summary and tags; Traditional and Simplified
    /// Chinese, full- and half-width forms and letter case match alike.
    #[param(example = "台積電")]
    pub q: Option<String>,
    /// `created_at`, `-created_at` (default, newest first), `updated_at` or `-updated_at`.
    #[param(example = "-created_at")]
    pub sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

type Backend = <DbConnection as Connection>::Backend;
type BoxedProjects<'a> = projects::BoxedQuery<'a, Backend>;

fn visible<'a>(scope: &ParkScope) -> BoxedProjects<'a> {
    let query = projects::table.filter(projects::deleted_at.is_null()).into_boxed();
    match scope {
        ParkScope::All => query,
        ParkScope::One(park) => query.filter(projects::park_code.eq(park.clone())),
    }
}

fn find_row(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<ProjectRow, ApiError> {
    visible(scope)
        .filter(projects::id.eq(id.to_owned()))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("project"))
}

pub fn get(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<Project, ApiError> {
    to_project(find_row(conn, scope, id)?)
}

pub fn list(conn: &mut DbConnection, scope: &ParkScope, filter: ListFilter) -> Result<Page<Project>, ApiError> {
    let limit = Limit::parse(filter.limit)?;
    let (key, order) = SortKey::parse(filter.sort.as_deref())?;
    let after = filter.cursor.as_deref().map(|raw| Cursor::decode(raw, key, order)).transpose()?;
    let terms = filter.q.as_deref().map(text::terms).unwrap_or_default();

    // The list without `q`, in order, after the cursor.
    let listed = || ordered(filtered(scope, &filter), key, order, after.as_ref());
    let wanted = limit.get() + 1;
    let load = |conn: &mut DbConnection, query: BoxedProjects| {
        query.limit(wanted).select(ProjectRow::as_select()).load::<ProjectRow>(conn)
    };
    let rows = if terms.is_empty() {
        load(conn, listed())?
    } else {
        let indexed = backend_of(conn) == db::Backend::Postgres;
        search::first_matches(
            conn,
            wanted,
            |conn, size| window_edge(conn, listed(), key, size),
            |conn, edge| {
                let mut query = listed();
                search_terms!(query, projects::search_text, &terms, false);
                load(conn, match edge {
                    Some(edge) => up_to(query, key, order, edge),
                    None => query,
                })
            },
            |conn| {
                let mut query = listed();
                search_terms!(query, projects::search_text, &terms, indexed);
                load(conn, query)
            },
            |conn| if indexed { search::estimated_rows(conn, "projects").map(Some) } else { Ok(None) },
        )?
    };
    let cursor_of = |last: &ProjectRow| {
        let at = match key {
            SortKey::CreatedAt => last.created_at,
            SortKey::UpdatedAt => last.updated_at,
        };
        Cursor { key, order, at, id: last.id.clone() }
    };
    Page::from_rows(rows, limit, cursor_of, to_project)
}

/// The visible projects that pass the list's filters other than `q`.
fn filtered<'a>(scope: &ParkScope, filter: &ListFilter) -> BoxedProjects<'a> {
    let mut query = visible(scope);
    if !filter.park.is_empty() {
        query = query.filter(projects::park_code.eq_any(filter.park.clone()));
    }
    if !filter.stage.is_empty() {
        query = query.filter(projects::stage.eq_any(values(&filter.stage)));
    }
    if !filter.industry.is_empty() {
        query = query.filter(projects::industry.eq_any(values(&filter.industry)));
    }
    if !filter.attraction_mode.is_empty() {
        query = query.filter(projects::attraction_mode.eq_any(values(&filter.attraction_mode)));
    }
    if !filter.chain_role.is_empty() {
        query = query.filter(projects::chain_role.eq_any(values(&filter.chain_role)));
    }
    if let Some(high_tech) = filter.high_tech {
        query = query.filter(projects::high_tech.eq(high_tech));
    }
    if let Some(from) = &filter.created_from {
        query = query.filter(projects::created_at.ge(from.start()));
    }
    if let Some(to) = &filter.created_to {
        query = query.filter(projects::created_at.lt(to.end_exclusive()));
    }
    if let Some(from) = &filter.updated_from {
        query = query.filter(projects::updated_at.ge(from.start()));
    }
    if let Some(to) = &filter.updated_to {
        query = query.filter(projects::updated_at.lt(to.end_exclusive()));
    }
    query
}

fn ordered<'a>(mut query: BoxedProjects<'a>, key: SortKey, order: SortOrder, after: Option<&Cursor>) -> BoxedProjects<'a> {
    match key {
        SortKey::CreatedAt => keyset!(query, projects::created_at, projects::id, order, after),
        SortKey::UpdatedAt => keyset!(query, projects::updated_at, projects::id, order, after),
    }
    query
}

/// The last row of a search's window (see [`search`]).
fn window_edge(conn: &mut DbConnection, query: BoxedProjects, key: SortKey, size: i64) -> QueryResult<Option<search::Edge>> {
    let query = query.offset(size - 1);
    match key {
        SortKey::CreatedAt => query.select((projects::created_at, projects::id)).first(conn).optional(),
        SortKey::UpdatedAt => query.select((projects::updated_at, projects::id)).first(conn).optional(),
    }
}

fn up_to<'a>(mut query: BoxedProjects<'a>, key: SortKey, order: SortOrder, edge: &search::Edge) -> BoxedProjects<'a> {
    match key {
        SortKey::CreatedAt => within_window!(query, projects::created_at, projects::id, order, edge),
        SortKey::UpdatedAt => within_window!(query, projects::updated_at, projects::id, order, edge),
    }
    query
}

pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    park_code: Option<String>,
    mut fields: ProjectFields,
) -> Result<Project, ApiError> {
    let park = caller.park_for_new(park_code)?;
    caller.require_write(&park)?;
    rules::normalise(&mut fields);
    let mut errors = rules::check(&fields);
    if !crate::parks::exists(conn, &park)? {
        errors.push(FieldError::new("park_code", "unknown", format!("there is no park {park:?}")));
    } else {
        errors.extend(links::check_investors(conn, &park, &fields.investor_ids, "investor_ids")?);
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }

    write_tx(conn, |conn| {
        let now = clock::now();
        let id = uuid::Uuid::now_v7().to_string();
        let row = ProjectRow {
            id: id.clone(),
            park_code: park.clone(),
            created_at: now,
            created_by: caller.username.clone(),
            version: 1,
            deleted_at: None,
            ..to_row(&fields, &park, now, &caller.username)
        };
        diesel::insert_into(projects::table).values(&row).execute(conn)?;
        links::replace_project_investors(conn, &id, &fields.investor_ids)?;
        record_stage(conn, &id, &fields, caller, now)?;
        links::refresh_project_copies(conn, std::slice::from_ref(&id))?;
        let project = get(conn, &ParkScope::All, &id)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Create,
            entity_type: ENTITY,
            entity_id: &id,
            park_code: Some(&park),
            changes: audit::diff(&serde_json::Value::Null, &serde_json::to_value(&project)?, NOT_AUDITED),
        })?;
        Ok(project)
    })
}

pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    expected: &IfMatch,
    patch: ProjectPatch,
) -> Result<Project, ApiError> {
    write_tx(conn, |conn| {
        let before = get(conn, &caller.scope(), id)?;
        caller.require_write(&before.park_code)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let current = fields_of(&before);
        let mut fields = patch.apply(&current);
        rules::normalise(&mut fields);
        let mut errors = rules::check(&fields);
        if let Err(e) = rules::check_move(before.stage, fields.stage) {
            errors.push(e);
        }
        if fields.investor_ids != current.investor_ids {
            errors.extend(links::check_investors(conn, &before.park_code, &fields.investor_ids, "investor_ids")?);
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        if fields == current {
            return Ok(before); // nothing changes, so no new version either
        }

        let now = clock::now();
        let changed = diesel::update(
            projects::table.filter(projects::id.eq(id)).filter(projects::version.eq(before.version)),
        )
        .set((
            to_changeset(&fields, now, &caller.username),
            projects::version.eq(before.version + 1),
        ))
        .execute(conn)?;
        if changed == 0 {
            // Another writer got in between our read and our write.
            let current = find_row(conn, &ParkScope::All, id)?;
            return Err(ApiError::PreconditionFailed { current: current.version });
        }
        if fields.investor_ids != current.investor_ids {
            links::replace_project_investors(conn, id, &fields.investor_ids)?;
        }
        if fields.stage != current.stage {
            record_stage(conn, id, &fields, caller, now)?;
        }
        if fields.investor_ids != current.investor_ids || fields.stage != current.stage {
            links::refresh_project_copies(conn, &[id.to_owned()])?;
        }
        let after = get(conn, &ParkScope::All, id)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: ENTITY,
            entity_id: id,
            park_code: Some(&after.park_code),
            changes: audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, NOT_AUDITED),
        })?;
        Ok(after)
    })
}

/// Soft-deletes a project: it vanishes from reads but stays for the audit.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str, expected: Option<&IfMatch>) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let row = find_row(conn, &caller.scope(), id)?;
        caller.require_write(&row.park_code)?;
        if expected.is_some_and(|e| !e.matches(row.version)) {
            return Err(ApiError::PreconditionFailed { current: row.version });
        }
        let now = clock::now();
        diesel::update(projects::table.filter(projects::id.eq(id)))
            .set((
                projects::deleted_at.eq(Some(now)),
                projects::updated_at.eq(now),
                projects::updated_by.eq(&caller.username),
                projects::version.eq(row.version + 1),
            ))
            .execute(conn)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Delete,
            entity_type: ENTITY,
            entity_id: id,
            park_code: Some(&row.park_code),
            changes: vec![],
        })
    })
}

/// Checks that the caller can see the project, then reads its history.
pub fn history(
    conn: &mut DbConnection,
    scope: &ParkScope,
    id: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<audit::AuditEvent>, ApiError> {
    let limit = Limit::parse(limit)?;
    find_row(conn, scope, id)?;
    audit::history(conn, ENTITY, id, limit, cursor)
}

pub(crate) fn to_row(f: &ProjectFields, park: &str, now: chrono::NaiveDateTime, by: &str) -> ProjectRow {
    ProjectRow {
        id: String::new(),
        park_code: park.to_owned(),
        name: f.name.clone(),
        summary: f.summary.clone(),
        industry: f.industry.to_string(),
        chain_role: f.chain_role.map(|v| v.to_string()),
        attraction_mode: f.attraction_mode.to_string(),
        stage: f.stage.to_string(),
        planned_investment_usd: f.planned_investment_usd,
        actual_investment_usd: f.actual_investment_usd,
        hq_type: f.hq_type.map(|v| v.to_string()),
        high_tech: f.high_tech,
        land_area_mu: f.land_area_mu,
        first_contact_on: f.first_contact_on,
        signed_on: f.signed_on,
        started_on: f.started_on,
        operating_on: f.operating_on,
        owner_id: f.owner_id.clone(),
        tags: serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()),
        notes: f.notes.clone(),
        search_text: search_text(f),
        created_at: now,
        updated_at: now,
        created_by: by.to_owned(),
        updated_by: by.to_owned(),
        version: 1,
        deleted_at: None,
        // Filled by `links::refresh_project_copies` once the links and stages exist.
        investor_ids_json: "[]".into(),
        stage_history_json: "[]".into(),
    }
}

/// The columns a patch may change, as one changeset.
#[derive(AsChangeset)]
#[diesel(table_name = projects, treat_none_as_null = true)]
struct ProjectChanges {
    name: String,
    summary: Option<String>,
    industry: String,
    chain_role: Option<String>,
    attraction_mode: String,
    stage: String,
    planned_investment_usd: i64,
    actual_investment_usd: Option<i64>,
    hq_type: Option<String>,
    high_tech: bool,
    land_area_mu: Option<f64>,
    first_contact_on: Option<chrono::NaiveDate>,
    signed_on: Option<chrono::NaiveDate>,
    started_on: Option<chrono::NaiveDate>,
    operating_on: Option<chrono::NaiveDate>,
    owner_id: Option<String>,
    tags: String,
    notes: Option<String>,
    search_text: String,
    updated_at: chrono::NaiveDateTime,
    updated_by: String,
}

fn to_changeset(f: &ProjectFields, now: chrono::NaiveDateTime, by: &str) -> ProjectChanges {
    let row = to_row(f, "", now, by);
    ProjectChanges {
        name: row.name,
        summary: row.summary,
        industry: row.industry,
        chain_role: row.chain_role,
        attraction_mode: row.attraction_mode,
        stage: row.stage,
        planned_investment_usd: row.planned_investment_usd,
        actual_investment_usd: row.actual_investment_usd,
        hq_type: row.hq_type,
        high_tech: row.high_tech,
        land_area_mu: row.land_area_mu,
        first_contact_on: row.first_contact_on,
        signed_on: row.signed_on,
        started_on: row.started_on,
        operating_on: row.operating_on,
        owner_id: row.owner_id,
        tags: row.tags,
        notes: row.notes,
        search_text: row.search_text,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
    }
}

fn search_text(f: &ProjectFields) -> String {
    let mut text = f.name.clone();
    for part in f.summary.iter().chain(f.tags.iter()) {
        text.push('\n');
        text.push_str(part);
    }
    text::fold(&text)
}

fn fields_of(p: &Project) -> ProjectFields {
    ProjectFields {
        name: p.name.clone(),
        summary: p.summary.clone(),
        industry: p.industry,
        chain_role: p.chain_role,
        attraction_mode: p.attraction_mode,
        stage: p.stage,
        planned_investment_usd: p.planned_investment_usd,
        actual_investment_usd: p.actual_investment_usd,
        hq_type: p.hq_type,
        high_tech: p.high_tech,
        land_area_mu: p.land_area_mu,
        first_contact_on: p.first_contact_on,
        signed_on: p.signed_on,
        started_on: p.started_on,
        operating_on: p.operating_on,
        owner_id: p.owner_id.clone(),
        investor_ids: p.investor_ids.clone(),
        tags: p.tags.clone(),
        notes: p.notes.clone(),
    }
}

fn record_stage(
    conn: &mut DbConnection,
    project_id: &str,
    fields: &ProjectFields,
    caller: &Caller,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let row = StageRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project_id.to_owned(),
        stage: fields.stage.to_string(),
        on_date: rules::milestone(fields, fields.stage).unwrap_or_else(clock::today),
        by_user: caller.username.clone(),
        recorded_at: now,
    };
    diesel::insert_into(project_stage_history::table).values(&row).execute(conn)?;
    Ok(())
}

fn to_project(row: ProjectRow) -> Result<Project, ApiError> {
    Ok(Project {
        investor_ids: serde_json::from_str(&row.investor_ids_json)?,
        stage_history: serde_json::from_str(&row.stage_history_json)?,
        industry: from_db(&row.industry)?,
        chain_role: row.chain_role.as_deref().map(from_db).transpose()?,
        attraction_mode: from_db(&row.attraction_mode)?,
        stage: from_db(&row.stage)?,
        hq_type: row.hq_type.as_deref().map(from_db).transpose()?,
        tags: serde_json::from_str(&row.tags)?,
        created_at: clock::utc(row.created_at),
        updated_at: clock::utc(row.updated_at),
        id: row.id,
        park_code: row.park_code,
        name: row.name,
        summary: row.summary,
        planned_investment_usd: row.planned_investment_usd,
        actual_investment_usd: row.actual_investment_usd,
        high_tech: row.high_tech,
        land_area_mu: row.land_area_mu,
        first_contact_on: row.first_contact_on,
        signed_on: row.signed_on,
        started_on: row.started_on,
        operating_on: row.operating_on,
        owner_id: row.owner_id,
        notes: row.notes,
        created_by: row.created_by,
        updated_by: row.updated_by,
        version: row.version,
    })
}
