//! What a talent looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::talents;
use crate::vocab::{Education, Industry, MainlandTitle, ProgrammeLevel, ProgrammeStatus, Recognition, TalentStatus, Vocabulary};

/// A Taiwan professional qualification and its recognition as a mainland title (比照认定).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Qualification {
    #[schema(example = "專科護理師")]
    pub name: String,
    pub issuer: Option<String>,
    pub mainland_title: Option<MainlandTitle>,
    pub recognition: Recognition,
}

/// An application to a talent programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    pub level: ProgrammeLevel,
    #[schema(example = "湖南省芙蓉人才行动计划")]
    pub name: String,
    #[schema(example = 2026)]
    pub year: i32,
    pub status: ProgrammeStatus,
}

crate::records::record_view! {
    /// A talent as reads return it. `phone`, `email` and `permit_no` are masked
    /// (`+86*******5678`) except in a single-record read by a writer role.
    #[derive(Debug, Clone, Serialize, ToSchema)]
    pub struct Talent {
        pub id: String,
        pub park_code: String,
        /// `（已清除）` after a purge.
        #[schema(example = "林怡君")]
        pub full_name: String,
        #[schema(example = 1994)]
        pub birth_year: i32,
        #[schema(example = "台中")]
        pub origin_region: String,
        pub education: Education,
        pub school: Option<String>,
        pub major: Option<String>,
        pub specialty: Industry,
        pub qualifications: Vec<Qualification>,
        pub programmes: Vec<Programme>,
        pub status: TalentStatus,
        /// The investor (company) employing the talent, in the same park.
        pub employer_id: Option<String>,
        /// Personal data, E.164.
        pub phone: Option<String>,
        /// Personal data.
        pub email: Option<String>,
        /// Personal data: 台胞证号.
        pub permit_no: Option<String>,
        /// The day the talent consented to the processing of personal data (PIPL).
        pub consent_on: Option<NaiveDate>,
        pub notes: Option<String>,
        /// Whether personal data is shown masked in this answer.
        pub masked: bool,
        /// When the personal data was erased for good.
        pub purged_at: Option<DateTime<Utc>>,
    }
}

/// The writable fields of a talent: the body of `POST /talents`, and what a
/// `PATCH` merges into. Keeping phone, e-mail or permit number needs `consent_on`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewTalent, example = json!({
    "park_code": "xiangtan", "full_name": "林怡君", "birth_year": 1994, "origin_region": "台中", "education": "master",
    "specialty": "medical_devices", "status": "contacted", "phone": "0912-345-678", "consent_on": "2026-10-12",
    "qualifications": [{"name": "醫療器材品質管理師", "mainland_title": "intermediate", "recognition": "pending"}]
}))]
pub struct TalentFields {
    /// Required for provincial roles; park roles may omit it (their own park). A talent keeps its park.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park_code: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub full_name: String,
    /// Aged 14 to 100 this year.
    pub birth_year: i32,
    #[schema(min_length = 1, max_length = 100)]
    pub origin_region: String,
    pub education: Education,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub school: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub major: Option<String>,
    pub specialty: Industry,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub qualifications: Vec<Qualification>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub programmes: Vec<Programme>,
    /// Defaults to `prospect`.
    #[serde(default = "TalentStatus::first")]
    pub status: TalentStatus,
    /// An investor (company) of the same park.
    #[serde(default)]
    pub employer_id: Option<Uuid>,
    /// Personal data: a mainland or Taiwan number in any common writing.
    #[serde(default)]
    pub phone: Option<String>,
    /// Personal data.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Personal data: 台胞证号.
    #[serde(default)]
    pub permit_no: Option<String>,
    /// The day the talent consented to the processing of personal data (PIPL).
    #[serde(default)]
    pub consent_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

crate::records::patch_body!(TalentPatch for TalentFields);

crate::records::bookkeeping_columns!(TalentBookkeeping, talents);

/// A row of `talents`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = talents, treat_none_as_null = true)]
pub struct TalentRow {
    pub id: String,
    pub park_code: String,
    pub full_name: String,
    pub birth_year: i32,
    pub origin_region: String,
    pub education: String,
    pub school: Option<String>,
    pub major: Option<String>,
    pub specialty: String,
    pub qualifications: String,
    pub programmes: String,
    pub status: String,
    pub employer_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub permit_no: Option<String>,
    pub consent_on: Option<NaiveDate>,
    pub notes: Option<String>,
    /// Written, never read back: `''` in a row read (`db::unread`).
    #[diesel(select_expression = crate::db::unread::UNREAD, select_expression_type = crate::db::unread::EmptyText)]
    pub search_text: String,
    pub purged_at: Option<NaiveDateTime>,
    #[diesel(embed)]
    pub bookkeeping: TalentBookkeeping,
}
