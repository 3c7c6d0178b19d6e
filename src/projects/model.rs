//! What a project looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{project_stage_history, projects};
use crate::vocab::{AttractionMode, ChainRole, HqType, Industry, Stage};

/// A major project as every read returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    #[schema(example = "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b")]
    pub id: String,
    #[schema(example = "yueyang")]
    pub park_code: String,
    #[schema(example = "台积电先进封装测试基地")]
    pub name: String,
    pub summary: Option<String>,
    pub industry: Industry,
    pub chain_role: Option<ChainRole>,
    pub attraction_mode: AttractionMode,
    pub stage: Stage,
    /// Planned investment in whole US dollars.
    #[schema(example = 120000000)]
    pub planned_investment_usd: i64,
    /// 到位资金: capital that has actually arrived, whole US dollars.
    pub actual_investment_usd: Option<i64>,
    pub hq_type: Option<HqType>,
    /// 高精尖新: high-end, precision, cutting-edge or new.
    pub high_tech: bool,
    /// Land area in mu (亩, 1/15 hectare).
    pub land_area_mu: Option<f64>,
    pub first_contact_on: Option<NaiveDate>,
    pub signed_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub operating_on: Option<NaiveDate>,
    /// The user who owns the project in the park's team.
    pub owner_id: Option<String>,
    pub investor_ids: Vec<String>,
    #[schema(example = json!(["半导体", "先进封装"]))]
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Every stage the project has been in, oldest first.
    pub stage_history: Vec<StageEntry>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    /// Increases by one on each change; send it back in `If-Match`.
    #[schema(example = 1)]
    pub version: i32,
}

/// One stage move: which stage, on which date, by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageEntry {
    pub stage: Stage,
    /// The date the project reached the stage (the milestone date when given, else the day of the move).
    pub on: NaiveDate,
    /// The username of who recorded the move.
    pub by: String,
    pub recorded_at: DateTime<Utc>,
}

/// The body of `POST /projects`. Unknown fields are rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "park_code": "yueyang",
    "name": "台积电先进封装测试基地",
    "summary": "12 吋晶圆先进封装与测试产线",
    "industry": "electronic_information",
    "chain_role": "strengthen",
    "attraction_mode": "industrial_chain",
    "planned_investment_usd": 120000000,
    "high_tech": true,
    "first_contact_on": "2026-03-02",
    "tags": ["半导体", "先进封装"]
}))]
pub struct NewProject {
    /// Required for provincial roles; park roles may omit it (their own park).
    pub park_code: Option<String>,
    pub name: String,
    pub summary: Option<String>,
    pub industry: Industry,
    pub chain_role: Option<ChainRole>,
    pub attraction_mode: AttractionMode,
    /// Defaults to `lead`.
    pub stage: Option<Stage>,
    pub planned_investment_usd: i64,
    pub actual_investment_usd: Option<i64>,
    pub hq_type: Option<HqType>,
    #[serde(default)]
    pub high_tech: bool,
    pub land_area_mu: Option<f64>,
    pub first_contact_on: Option<NaiveDate>,
    pub signed_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub operating_on: Option<NaiveDate>,
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub investor_ids: Vec<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

/// The body of `PATCH /projects/{id}`: only the fields to change. `null`
/// clears an optional field. The park of a project cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stage": "signed", "signed_on": "2026-11-20", "actual_investment_usd": 30000000}))]
pub struct ProjectPatch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub industry: Option<Industry>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<ChainRole>)]
    pub chain_role: Option<Option<ChainRole>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub attraction_mode: Option<AttractionMode>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub stage: Option<Stage>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub planned_investment_usd: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<i64>)]
    pub actual_investment_usd: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<HqType>)]
    pub hq_type: Option<Option<HqType>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub high_tech: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<f64>)]
    pub land_area_mu: Option<Option<f64>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub first_contact_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub signed_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub started_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub operating_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub investor_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// The writable fields of a project after defaults, as the rules check them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFields {
    pub name: String,
    pub summary: Option<String>,
    pub industry: Industry,
    pub chain_role: Option<ChainRole>,
    pub attraction_mode: AttractionMode,
    pub stage: Stage,
    pub planned_investment_usd: i64,
    pub actual_investment_usd: Option<i64>,
    pub hq_type: Option<HqType>,
    pub high_tech: bool,
    pub land_area_mu: Option<f64>,
    pub first_contact_on: Option<NaiveDate>,
    pub signed_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub operating_on: Option<NaiveDate>,
    pub owner_id: Option<String>,
    pub investor_ids: Vec<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

impl NewProject {
    pub fn into_fields(self) -> (Option<String>, ProjectFields) {
        let fields = ProjectFields {
            name: self.name,
            summary: self.summary,
            industry: self.industry,
            chain_role: self.chain_role,
            attraction_mode: self.attraction_mode,
            stage: self.stage.unwrap_or(Stage::Lead),
            planned_investment_usd: self.planned_investment_usd,
            actual_investment_usd: self.actual_investment_usd,
            hq_type: self.hq_type,
            high_tech: self.high_tech,
            land_area_mu: self.land_area_mu,
            first_contact_on: self.first_contact_on,
            signed_on: self.signed_on,
            started_on: self.started_on,
            operating_on: self.operating_on,
            owner_id: self.owner_id.map(|id| id.to_string()),
            investor_ids: self.investor_ids.iter().map(Uuid::to_string).collect(),
            tags: self.tags,
            notes: self.notes,
        };
        (self.park_code, fields)
    }
}

impl ProjectPatch {
    /// The fields after applying this patch to `current`.
    pub fn apply(self, current: &ProjectFields) -> ProjectFields {
        let mut f = current.clone();
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { f.$field = v; } )* };
        }
        set!(name, summary, industry, chain_role, attraction_mode, stage, planned_investment_usd,
             actual_investment_usd, hq_type, high_tech, land_area_mu, first_contact_on, signed_on,
             started_on, operating_on, tags, notes);
        if let Some(owner) = self.owner_id {
            f.owner_id = owner.map(|id| id.to_string());
        }
        if let Some(ids) = self.investor_ids {
            f.investor_ids = ids.iter().map(Uuid::to_string).collect();
        }
        f
    }
}

/// A row of `projects`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: String,
    pub park_code: String,
    pub name: String,
    pub summary: Option<String>,
    pub industry: String,
    pub chain_role: Option<String>,
    pub attraction_mode: String,
    pub stage: String,
    pub planned_investment_usd: i64,
    pub actual_investment_usd: Option<i64>,
    pub hq_type: Option<String>,
    pub high_tech: bool,
    pub land_area_mu: Option<f64>,
    pub first_contact_on: Option<NaiveDate>,
    pub signed_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub operating_on: Option<NaiveDate>,
    pub owner_id: Option<String>,
    pub tags: String,
    pub notes: Option<String>,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
    pub deleted_at: Option<NaiveDateTime>,
    /// Read copy of the live investor links, a JSON array of ids.
    pub investor_ids_json: String,
    /// Read copy of the stage history, a JSON array of [`StageEntry`].
    pub stage_history_json: String,
}

/// A row of `project_stage_history`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_stage_history)]
pub struct StageRow {
    pub id: String,
    pub project_id: String,
    pub stage: String,
    pub on_date: NaiveDate,
    pub by_user: String,
    pub recorded_at: NaiveDateTime,
}
