//! What an investor looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::investors;
use crate::vocab::{Industry, InvestorKind, InvestorStatus, Origin};

/// An investor as every read returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Investor {
    pub id: String,
    #[schema(example = "chenzhou")]
    pub park_code: String,
    pub kind: InvestorKind,
    #[schema(example = "東莞精密電子股份有限公司")]
    pub name: String,
    pub name_en: Option<String>,
    pub origin: Origin,
    /// City or province of origin.
    #[schema(example = "新竹")]
    pub region: String,
    /// 統一編號: 8 digits with a valid check digit.
    #[schema(example = "22099131")]
    pub taiwan_business_id: Option<String>,
    /// 统一社会信用代码 (GB 32100-2015): 18 characters with a valid check character.
    #[schema(example = "91350100M000100Y43")]
    pub unified_social_credit_code: Option<String>,
    /// 台湾地区前百大企业.
    pub taiwan_top100: bool,
    pub industries: Vec<Industry>,
    pub status: InvestorStatus,
    /// The date it settled in the park as a Taiwan-funded enterprise.
    pub settled_on: Option<NaiveDate>,
    /// The investor who referred this one (以商招商), in the same park.
    pub referred_by_id: Option<String>,
    pub notes: Option<String>,
    /// The projects that list this investor.
    pub project_ids: Vec<String>,
    /// The date of the latest follow-up.
    pub last_follow_up_on: Option<NaiveDate>,
    /// The due date of the latest follow-up's next step.
    pub follow_up_due_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
}

/// The body of `POST /investors`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "park_code": "chenzhou", "kind": "company", "name": "東莞精密電子股份有限公司", "origin": "mainland_taiwan_funded",
    "region": "东莞", "taiwan_business_id": "22099131", "industries": ["electronic_information"], "status": "contacted"
}))]
pub struct NewInvestor {
    /// Required for provincial roles; park roles may omit it (their own park).
    pub park_code: Option<String>,
    pub kind: InvestorKind,
    pub name: String,
    pub name_en: Option<String>,
    pub origin: Origin,
    pub region: String,
    pub taiwan_business_id: Option<String>,
    pub unified_social_credit_code: Option<String>,
    #[serde(default)]
    pub taiwan_top100: bool,
    #[serde(default)]
    pub industries: Vec<Industry>,
    /// Defaults to `prospect`.
    pub status: Option<InvestorStatus>,
    pub settled_on: Option<NaiveDate>,
    pub referred_by_id: Option<Uuid>,
    pub notes: Option<String>,
}

/// The body of `PATCH /investors/{id}`: the fields to change; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "settled", "settled_on": "2026-10-08"}))]
pub struct InvestorPatch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub kind: Option<InvestorKind>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub origin: Option<Origin>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub taiwan_business_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub unified_social_credit_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub taiwan_top100: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub industries: Option<Vec<Industry>>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub status: Option<InvestorStatus>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub settled_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<Uuid>)]
    pub referred_by_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// The writable fields after defaults, as the rules check them.
#[derive(Debug, Clone, PartialEq)]
pub struct InvestorFields {
    pub kind: InvestorKind,
    pub name: String,
    pub name_en: Option<String>,
    pub origin: Origin,
    pub region: String,
    pub taiwan_business_id: Option<String>,
    pub unified_social_credit_code: Option<String>,
    pub taiwan_top100: bool,
    pub industries: Vec<Industry>,
    pub status: InvestorStatus,
    pub settled_on: Option<NaiveDate>,
    pub referred_by_id: Option<String>,
    pub notes: Option<String>,
}

impl NewInvestor {
    pub fn into_fields(self) -> (Option<String>, InvestorFields) {
        let fields = InvestorFields {
            kind: self.kind,
            name: self.name,
            name_en: self.name_en,
            origin: self.origin,
            region: self.region,
            taiwan_business_id: self.taiwan_business_id,
            unified_social_credit_code: self.unified_social_credit_code,
            taiwan_top100: self.taiwan_top100,
            industries: self.industries,
            status: self.status.unwrap_or(InvestorStatus::Prospect),
            settled_on: self.settled_on,
            referred_by_id: self.referred_by_id.map(|id| id.to_string()),
            notes: self.notes,
        };
        (self.park_code, fields)
    }
}

impl InvestorPatch {
    pub fn apply(self, current: &InvestorFields) -> InvestorFields {
        let mut f = current.clone();
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { f.$field = v; } )* };
        }
        set!(kind, name, name_en, origin, region, taiwan_business_id, unified_social_credit_code,
             taiwan_top100, industries, status, settled_on, notes);
        if let Some(referrer) = self.referred_by_id {
            f.referred_by_id = referrer.map(|id| id.to_string());
        }
        f
    }
}

/// A row of `investors`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = investors)]
pub struct InvestorRow {
    pub id: String,
    pub park_code: String,
    pub kind: String,
    pub name: String,
    pub name_en: Option<String>,
    pub origin: String,
    pub region: String,
    pub taiwan_business_id: Option<String>,
    pub unified_social_credit_code: Option<String>,
    pub taiwan_top100: bool,
    pub industries: String,
    pub status: String,
    pub settled_on: Option<NaiveDate>,
    pub referred_by_id: Option<String>,
    pub notes: Option<String>,
    pub search_text: String,
    pub name_key: String,
    pub name_en_key: Option<String>,
    pub last_follow_up_on: Option<NaiveDate>,
    pub follow_up_due_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
    pub deleted_at: Option<NaiveDateTime>,
}
