//! What a project looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::columns::{self, MoneyColumns};
use crate::db::schema::{project_stage_history, projects};
use crate::http::JsonCopy;
use crate::monitoring::rules::{Reason, RulesStamp};
use crate::vocab::{AttractionMode, ChainRole, HqType, Industry, Light, Stage};

crate::records::record_view! {
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
        /// 到位资金, read-only: the sum of the project's verified funds
        /// (`/projects/{id}/funds`), whole US dollars; none before the first is verified.
        pub actual_investment_usd: Option<i64>,
        /// 合同投资额: the contracted investment, whole US dollars, set once signed.
        #[schema(example = 100000000)]
        pub contracted_investment_usd: Option<i64>,
        pub hq_type: Option<HqType>,
        /// 高精尖新: high-end, precision, cutting-edge or new.
        pub high_tech: bool,
        /// Land area in mu (亩, 1/15 hectare).
        pub land_area_mu: Option<f64>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub first_contact_on: Option<NaiveDate>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub signed_on: Option<NaiveDate>,
        /// 注册落地: the date the project's company was registered.
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub registered_on: Option<NaiveDate>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub started_on: Option<NaiveDate>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub operating_on: Option<NaiveDate>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub planned_start_on: Option<NaiveDate>,
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub planned_operating_on: Option<NaiveDate>,
        /// The user who owns the project in the park's team.
        pub owner_id: Option<String>,
        #[schema(value_type = Vec<String>)]
        pub investor_ids: JsonCopy<Vec<String>>,
        #[schema(value_type = Vec<String>, example = json!(["半导体", "先进封装"]))]
        pub tags: JsonCopy<Vec<String>>,
        pub notes: Option<String>,
        /// Every stage the project has been in, oldest first.
        #[schema(value_type = Vec<StageEntry>)]
        pub stage_history: JsonCopy<Vec<StageEntry>>,
        /// The latest follow-up day of the project's investors (deleted ones
        /// aside), which the monitoring rules count as the project's progress;
        /// none before the first.
        #[serde(serialize_with = "crate::http::date_text::maybe_day")]
        pub last_follow_up_on: Option<NaiveDate>,
        /// 红黄绿灯 against the monitoring rules (`/monitoring/rules`) today;
        /// none for `dropped` and `operating` projects.
        pub light: Option<Light>,
        /// Why the light is amber or red, each with its Chinese label.
        pub light_reasons: Vec<Reason>,
    }
}

/// One stage move: which stage, on which date, by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageEntry {
    pub stage: Stage,
    /// The date the project reached the stage (the milestone date when given, else the day of the move).
    #[serde(serialize_with = "crate::http::date_text::day", deserialize_with = "crate::http::date_text::read_day")]
    pub on: NaiveDate,
    /// The username of who recorded the move.
    pub by: String,
    #[serde(serialize_with = "crate::http::date_text::instant", deserialize_with = "crate::http::date_text::read_instant")]
    pub recorded_at: DateTime<Utc>,
}

/// The writable fields of a project: the body of `POST /projects`, and
/// what a `PATCH` merges into. Unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewProject, example = json!({
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
pub struct ProjectFields {
    /// Required for provincial roles; park roles may omit it (their own park). A project keeps its park.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "yueyang")]
    pub park_code: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub summary: Option<String>,
    pub industry: Industry,
    #[serde(default)]
    pub chain_role: Option<ChainRole>,
    pub attraction_mode: AttractionMode,
    /// Defaults to `lead`.
    #[serde(default = "first_stage")]
    pub stage: Stage,
    /// Whole US dollars.
    #[schema(minimum = 0, maximum = 1000000000000_i64)]
    pub planned_investment_usd: i64,
    /// Read-only: the sum of the verified funds. Sending it is refused
    /// (422); record money with `POST /projects/{id}/funds`.
    #[serde(default, skip_serializing)]
    #[schema(read_only)]
    pub actual_investment_usd: Option<i64>,
    /// 合同投资额, whole US dollars: from the stage `signed` on; raising it
    /// later is 增资 (audited like every change). Funds never add up to more.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000_i64)]
    pub contracted_investment_usd: Option<i64>,
    #[serde(default)]
    pub hq_type: Option<HqType>,
    #[serde(default)]
    pub high_tech: bool,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    pub land_area_mu: Option<f64>,
    #[serde(default)]
    pub first_contact_on: Option<NaiveDate>,
    #[serde(default)]
    pub signed_on: Option<NaiveDate>,
    /// From the stage `registered` on.
    #[serde(default)]
    pub registered_on: Option<NaiveDate>,
    #[serde(default)]
    pub started_on: Option<NaiveDate>,
    #[serde(default)]
    pub operating_on: Option<NaiveDate>,
    #[serde(default)]
    pub planned_start_on: Option<NaiveDate>,
    #[serde(default)]
    pub planned_operating_on: Option<NaiveDate>,
    /// An active user who may work in the project's park.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Live investors of the same park, each once.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub investor_ids: Vec<Uuid>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

crate::records::patch_body!(ProjectPatch for ProjectFields);

fn first_stage() -> Stage {
    Stage::Lead
}

impl ProjectFields {
    /// A project with only the fields a create body must carry; every other
    /// field as a body that leaves it out gets it.
    pub fn new(name: String, industry: Industry, attraction_mode: AttractionMode, planned_investment_usd: i64) -> Self {
        Self {
            park_code: None,
            name,
            summary: None,
            industry,
            chain_role: None,
            attraction_mode,
            stage: first_stage(),
            planned_investment_usd,
            actual_investment_usd: None,
            contracted_investment_usd: None,
            hq_type: None,
            high_tech: false,
            land_area_mu: None,
            first_contact_on: None,
            signed_on: None,
            registered_on: None,
            started_on: None,
            operating_on: None,
            planned_start_on: None,
            planned_operating_on: None,
            owner_id: None,
            investor_ids: vec![],
            tags: vec![],
            notes: None,
        }
    }
}

crate::records::bookkeeping_columns!(ProjectBookkeeping, projects);

/// A row of `projects`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable, AsChangeset)]
#[diesel(table_name = projects, treat_none_as_null = true)]
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
    /// Written, never read back: `''` in a row read (`db::unread`).
    #[diesel(select_expression = crate::db::unread::UNREAD, select_expression_type = crate::db::unread::EmptyText)]
    pub search_text: String,
    #[diesel(embed)]
    pub bookkeeping: ProjectBookkeeping,
    /// Read copy of the live investor links, a JSON array of ids.
    pub investor_ids_json: String,
    /// Read copy of the stage history, a JSON array of [`StageEntry`].
    pub stage_history_json: String,
    /// Read with the row, written by `money` (see `columns`).
    #[diesel(select_expression = columns::MONEY, select_expression_type = columns::Money, skip_insertion, skip_update)]
    pub money: MoneyColumns,
    /// Read with the row, written by `lights` (see `columns`).
    #[diesel(select_expression = columns::FOLLOW_UP, select_expression_type = columns::FollowUp, skip_insertion, skip_update)]
    pub last_follow_up_on: Option<NaiveDate>,
    /// The monitoring rules current when the row was read (see `columns`).
    #[diesel(select_expression = columns::RULES, select_expression_type = columns::Rules, skip_insertion, skip_update)]
    pub rules_seen: columns::RulesSeen,
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

impl ProjectRow {
    /// The monitoring rules the row's statement saw; `None` for a row built in memory.
    pub fn rules_stamp(&self) -> Option<RulesStamp> {
        columns::stamp_of(&self.rules_seen)
    }
}
