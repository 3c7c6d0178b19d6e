//! What a talent looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::talents;
use crate::vocab::{Education, Industry, MainlandTitle, ProgrammeLevel, ProgrammeStatus, Recognition, TalentStatus};

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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
}

/// The body of `POST /talents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "park_code": "xiangtan", "full_name": "林怡君", "birth_year": 1994, "origin_region": "台中", "education": "master",
    "specialty": "medical_devices", "status": "contacted", "phone": "0912-345-678", "consent_on": "2026-10-12",
    "qualifications": [{"name": "醫療器材品質管理師", "mainland_title": "intermediate", "recognition": "pending"}]
}))]
pub struct NewTalent {
    pub park_code: Option<String>,
    pub full_name: String,
    pub birth_year: i32,
    pub origin_region: String,
    pub education: Education,
    pub school: Option<String>,
    pub major: Option<String>,
    pub specialty: Industry,
    #[serde(default)]
    pub qualifications: Vec<Qualification>,
    #[serde(default)]
    pub programmes: Vec<Programme>,
    /// Defaults to `prospect`.
    pub status: Option<TalentStatus>,
    pub employer_id: Option<Uuid>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub permit_no: Option<String>,
    pub consent_on: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// The body of `PATCH /talents/{id}`: the fields to change; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "employed", "employer_id": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b"}))]
pub struct TalentPatch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub birth_year: Option<i32>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub origin_region: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub education: Option<Education>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub school: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub major: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub specialty: Option<Industry>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub qualifications: Option<Vec<Qualification>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub programmes: Option<Vec<Programme>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub status: Option<TalentStatus>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<Uuid>)]
    pub employer_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub permit_no: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub consent_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// The writable fields after defaults, as the rules check them.
#[derive(Debug, Clone, PartialEq)]
pub struct TalentFields {
    pub full_name: String,
    pub birth_year: i32,
    pub origin_region: String,
    pub education: Education,
    pub school: Option<String>,
    pub major: Option<String>,
    pub specialty: Industry,
    pub qualifications: Vec<Qualification>,
    pub programmes: Vec<Programme>,
    pub status: TalentStatus,
    pub employer_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub permit_no: Option<String>,
    pub consent_on: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl NewTalent {
    pub fn into_fields(self) -> (Option<String>, TalentFields) {
        let fields = TalentFields {
            full_name: self.full_name,
            birth_year: self.birth_year,
            origin_region: self.origin_region,
            education: self.education,
            school: self.school,
            major: self.major,
            specialty: self.specialty,
            qualifications: self.qualifications,
            programmes: self.programmes,
            status: self.status.unwrap_or(TalentStatus::Prospect),
            employer_id: self.employer_id.map(|id| id.to_string()),
            phone: self.phone,
            email: self.email,
            permit_no: self.permit_no,
            consent_on: self.consent_on,
            notes: self.notes,
        };
        (self.park_code, fields)
    }
}

impl TalentPatch {
    pub fn apply(self, current: &TalentFields) -> TalentFields {
        let mut f = current.clone();
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { f.$field = v; } )* };
        }
        set!(full_name, birth_year, origin_region, education, school, major, specialty, qualifications,
             programmes, status, phone, email, permit_no, consent_on, notes);
        if let Some(employer) = self.employer_id {
            f.employer_id = employer.map(|id| id.to_string());
        }
        f
    }
}

/// A row of `talents`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = talents)]
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
    pub search_text: String,
    pub purged_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
    pub deleted_at: Option<NaiveDateTime>,
}
