//! Reading and writing projects. Every function takes the caller's scope or
//! the caller, and a project outside it behaves as if it did not exist.

use diesel::prelude::*;

use super::columns::MoneyColumns;
use super::model::{Project, ProjectFields, ProjectRow, StageRow};
use super::{lights, money, rules};
use crate::clock;
use crate::db::schema::{project_stage_history, projects};
use crate::db::search::searched_table;
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};
use crate::http::{JsonCopy, TimeBound};
use crate::links;
use crate::records::{json_list, list_filter, one_of, stored_table, Listed, Record, RowBase, Stamp};
use crate::text;
use crate::vocab::{from_db, values, AttractionMode, ChainRole, Industry, Stage};

list_filter! {
    /// Filters, search, order and paging of `GET /projects`.
    pub struct ListFilter {
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
    }
    q = "Words to find in name, summary and tags; Traditional and Simplified\nChinese, full- and half-width forms and letter case match alike.", q_example = "台積電",
    count = "`true`: the page also carries `total`, every project matching the filters."
}

searched_table! {
    Project in projects, rows ProjectRow, filter ListFilter;
    /// The visible projects that pass the list's filters other than `q`.
    fn filtered<DB>(mut query, filter) {
        query = one_of(query, projects::park_code, filter.park.clone());
        query = one_of(query, projects::stage, values(&filter.stage));
        query = one_of(query, projects::industry, values(&filter.industry));
        query = one_of(query, projects::attraction_mode, values(&filter.attraction_mode));
        query = one_of(query, projects::chain_role, values(&filter.chain_role));
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
        // A record is never updated before it is created (`created_at <= updated_at`),
        // so each bound also holds for the other time. Said outright, it lets the
        // index of the order start at the bound instead of filtering years of rows.
        if let Some(to) = &filter.updated_to {
            query = query.filter(projects::created_at.lt(to.end_exclusive()));
        }
        if let Some(from) = &filter.created_from {
            query = query.filter(projects::updated_at.ge(from.start()));
        }
        query
    }
}

impl Listed for Project {
    /// One statement read every row: they saw the same rules.
    fn listed(conn: &mut DbConnection, rows: Vec<ProjectRow>) -> Result<Vec<Project>, ApiError> {
        let seen = rows.first().and_then(ProjectRow::rules_stamp);
        let mut items = rows.into_iter().map(to_project).collect::<Result<Vec<_>, _>>()?;
        lights::fill(conn, &mut items, clock::today(), seen)?;
        Ok(items)
    }
}

stored_table!(Project, projects, ProjectRow, ProjectFields);

impl Record for Project {
    const ENTITY: &'static str = "project";
    const DERIVED: &'static [&'static str] = &["stage_history", "last_follow_up_on", "light", "light_reasons"];
    type Fields = ProjectFields;
    type View = Project;

    fn view(conn: &mut DbConnection, row: ProjectRow) -> Result<Project, ApiError> {
        let seen = row.rules_stamp();
        let mut project = to_project(row)?;
        lights::fill(conn, std::slice::from_mut(&mut project), clock::today(), seen)?;
        Ok(project)
    }

    fn fields_of(p: &Project) -> Result<ProjectFields, ApiError> {
        Ok(ProjectFields {
            park_code: None,
            name: p.name.clone(),
            summary: p.summary.clone(),
            industry: p.industry,
            chain_role: p.chain_role,
            attraction_mode: p.attraction_mode,
            stage: p.stage,
            planned_investment_usd: p.planned_investment_usd,
            actual_investment_usd: None,
            contracted_investment_usd: p.contracted_investment_usd,
            hq_type: p.hq_type,
            high_tech: p.high_tech,
            land_area_mu: p.land_area_mu,
            first_contact_on: p.first_contact_on,
            signed_on: p.signed_on,
            registered_on: p.registered_on,
            started_on: p.started_on,
            operating_on: p.operating_on,
            planned_start_on: p.planned_start_on,
            planned_operating_on: p.planned_operating_on,
            owner_id: p.owner_id.as_deref().and_then(|id| uuid::Uuid::parse_str(id).ok()),
            investor_ids: p.investor_ids.value()?.iter().filter_map(|id| uuid::Uuid::parse_str(id).ok()).collect(),
            tags: p.tags.value()?.clone(),
            notes: p.notes.clone(),
        })
    }

    fn check(
        conn: &mut DbConnection,
        park: &str,
        id: &str,
        before: Option<&Project>,
        fields: &mut ProjectFields,
    ) -> Result<Vec<FieldError>, ApiError> {
        rules::normalise(fields);
        let mut errors = rules::check(fields);
        if let Some(before) = before {
            errors.extend(rules::check_move(before.stage, fields.stage).err());
        }
        // Links are checked when they are made: one that went stale later (an
        // owner who left) does not block unrelated changes.
        let investor_ids: Vec<String> = fields.investor_ids.iter().map(uuid::Uuid::to_string).collect();
        let unchanged = match before {
            Some(b) => b.investor_ids.value()? == &investor_ids,
            None => false,
        };
        if !unchanged {
            errors.extend(links::check_investors(conn, park, &investor_ids, "investor_ids")?);
        }
        if let Some(before) = before {
            errors.extend(money::check_against_funds(conn, id, before, fields)?);
        }
        let owner = fields.owner_id.map(|id| id.to_string());
        if let Some(owner) = owner.as_deref().filter(|o| before.is_none_or(|b| b.owner_id.as_deref() != Some(*o))) {
            errors.extend(links::check_owner(conn, park, owner, "owner_id")?);
        }
        Ok(errors)
    }

    fn to_row(f: &ProjectFields, base: RowBase<'_, ProjectRow>) -> Result<ProjectRow, ApiError> {
        Ok(ProjectRow {
            id: base.id.to_owned(),
            park_code: base.park.to_owned(),
            name: f.name.clone(),
            summary: f.summary.clone(),
            industry: f.industry.to_string(),
            chain_role: f.chain_role.map(|v| v.to_string()),
            attraction_mode: f.attraction_mode.to_string(),
            stage: f.stage.to_string(),
            planned_investment_usd: f.planned_investment_usd,
            // Kept by the funds (the sum of the verified ones), never by the fields.
            actual_investment_usd: base.previous.and_then(|row| row.actual_investment_usd),
            hq_type: f.hq_type.map(|v| v.to_string()),
            high_tech: f.high_tech,
            land_area_mu: f.land_area_mu,
            first_contact_on: f.first_contact_on,
            signed_on: f.signed_on,
            started_on: f.started_on,
            operating_on: f.operating_on,
            owner_id: f.owner_id.map(|id| id.to_string()),
            tags: json_list(&f.tags),
            notes: f.notes.clone(),
            search_text: search_text(f),
            bookkeeping: base.bookkeeping(),
            // Read copies: kept from the stored row; `after_write` rewrites
            // them when the links or the stage change.
            investor_ids_json: base.previous.map_or_else(|| "[]".into(), |row| row.investor_ids_json.clone()),
            stage_history_json: base.previous.map_or_else(|| "[]".into(), |row| row.stage_history_json.clone()),
            money: MoneyColumns {
                contracted_investment_usd: f.contracted_investment_usd,
                registered_on: f.registered_on,
                planned_start_on: f.planned_start_on,
                planned_operating_on: f.planned_operating_on,
            },
            // Kept by `lights`, which every write of links or follow-ups calls.
            last_follow_up_on: base.previous.and_then(|row| row.last_follow_up_on),
            rules_seen: (None, None),
        })
    }

    fn after_write(
        conn: &mut DbConnection,
        id: &str,
        before: Option<&ProjectFields>,
        after: &ProjectFields,
        stamp: &Stamp,
    ) -> Result<(), ApiError> {
        let links_changed = before.is_none_or(|b| b.investor_ids != after.investor_ids);
        let stage_changed = before.is_none_or(|b| b.stage != after.stage);
        if links_changed {
            let ids: Vec<String> = after.investor_ids.iter().map(uuid::Uuid::to_string).collect();
            links::replace_project_investors(conn, id, &ids)?;
        }
        if stage_changed {
            record_stage(conn, id, after, stamp)?;
        }
        money::write(conn, id, after)?;
        if links_changed || stage_changed {
            links::refresh_project_copies(conn, &[id.to_owned()])?;
        }
        if matches!(after.stage, Stage::Registered | Stage::UnderConstruction | Stage::Operating) {
            let registered_on = after.registered_on.unwrap_or_else(clock::today);
            let settled = links::settle_investors(conn, id, registered_on, stamp.at)?;
            crate::targets::summary::refresh_investors(conn, &settled)?;
        }
        lights::refresh(conn, &[id.to_owned()])?;
        crate::targets::summary::refresh_project(conn, id)
    }

    /// The row goes in whole, read copies and light days included (`batch`).
    fn insert_new(conn: &mut DbConnection, id: &str, park: &str, fields: &ProjectFields, stamp: &Stamp) -> Result<Project, ApiError> {
        super::batch::insert_one(conn, id, park, fields, stamp)
    }

    /// Its funds and contract leave the targets; it is no longer watched.
    fn after_delete(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
        lights::refresh(conn, &[id.to_owned()])?;
        crate::targets::summary::refresh_project(conn, id)
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

fn record_stage(
    conn: &mut DbConnection,
    project_id: &str,
    fields: &ProjectFields,
    stamp: &Stamp,
) -> Result<(), ApiError> {
    diesel::insert_into(project_stage_history::table).values(&stage_row(project_id, fields, stamp)).execute(conn)?;
    Ok(())
}

/// The stage move `fields` record: its stage, on its milestone date (else today).
pub(super) fn stage_row(project_id: &str, fields: &ProjectFields, stamp: &Stamp) -> StageRow {
    StageRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: project_id.to_owned(),
        stage: fields.stage.to_string(),
        on_date: rules::milestone(fields, fields.stage).unwrap_or_else(clock::today),
        by_user: stamp.by.clone(),
        recorded_at: stamp.at,
    }
}

pub(super) fn to_project(row: ProjectRow) -> Result<Project, ApiError> {
    Ok(Project {
        investor_ids: JsonCopy::stored(row.investor_ids_json),
        stage_history: JsonCopy::stored(row.stage_history_json),
        last_follow_up_on: row.last_follow_up_on,
        industry: from_db(&row.industry)?,
        chain_role: row.chain_role.as_deref().map(from_db).transpose()?,
        attraction_mode: from_db(&row.attraction_mode)?,
        stage: from_db(&row.stage)?,
        hq_type: row.hq_type.as_deref().map(from_db).transpose()?,
        tags: JsonCopy::stored(row.tags),
        created_at: clock::utc(row.bookkeeping.created_at),
        updated_at: clock::utc(row.bookkeeping.updated_at),
        id: row.id,
        park_code: row.park_code,
        name: row.name,
        summary: row.summary,
        planned_investment_usd: row.planned_investment_usd,
        actual_investment_usd: row.actual_investment_usd,
        contracted_investment_usd: row.money.contracted_investment_usd,
        light: None,
        light_reasons: vec![],
        registered_on: row.money.registered_on,
        planned_start_on: row.money.planned_start_on,
        planned_operating_on: row.money.planned_operating_on,
        high_tech: row.high_tech,
        land_area_mu: row.land_area_mu,
        first_contact_on: row.first_contact_on,
        signed_on: row.signed_on,
        started_on: row.started_on,
        operating_on: row.operating_on,
        owner_id: row.owner_id,
        notes: row.notes,
        created_by: row.bookkeeping.created_by,
        updated_by: row.bookkeeping.updated_by,
        version: row.bookkeeping.version,
    })
}

/// The live projects `ids` with their money and their light as of `today`
/// (any order; the caller checked that they are visible).
pub fn lights_of(conn: &mut DbConnection, ids: &[String], today: chrono::NaiveDate) -> Result<Vec<Project>, ApiError> {
    let (mut found, seen) = lights::load_live(conn, ids)?;
    lights::fill(conn, &mut found, today, seen)?;
    Ok(found)
}
