//! What an investor looks like on the wire and in the database.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::investors;
use crate::vocab::{Industry, InvestorKind, InvestorStatus, Origin, Vocabulary};

crate::records::record_view! {
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
        /// 台湾地区前百大企业, read-only: true when linked to the top-100 list (`top100_id`).
        pub taiwan_top100: bool,
        /// The group of the top-100 list (`/top100`) this investor belongs to.
        pub top100_id: Option<String>,
        /// For origin `third_place` (第三地转投资): the day the provincial commerce
        /// department and Taiwan affairs office recognised it as Taiwanese. It
        /// counts as Taiwanese from that day.
        pub third_place_recognised_on: Option<NaiveDate>,
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
    }
}

/// The writable fields of an investor: the body of `POST /investors`, and
/// what a `PATCH` merges into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewInvestor, example = json!({
    "park_code": "chenzhou", "kind": "company", "name": "東莞精密電子股份有限公司", "origin": "mainland_taiwan_funded",
    "region": "东莞", "taiwan_business_id": "22099131", "industries": ["electronic_information"], "status": "contacted"
}))]
pub struct InvestorFields {
    /// Required for provincial roles; park roles may omit it (their own park). An investor keeps its park.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park_code: Option<String>,
    pub kind: InvestorKind,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name_en: Option<String>,
    pub origin: Origin,
    /// City or province of origin.
    #[schema(min_length = 1, max_length = 100)]
    pub region: String,
    /// 統一編號: 8 digits with a valid check digit.
    #[serde(default)]
    #[schema(example = "22099131")]
    pub taiwan_business_id: Option<String>,
    /// 统一社会信用代码: 18 characters with a valid check character (GB 32100-2015).
    #[serde(default)]
    #[schema(example = "91350100M000100Y43")]
    pub unified_social_credit_code: Option<String>,
    /// Read-only (true when `top100_id` is set); sending it is refused.
    #[serde(default, skip_serializing)]
    #[schema(read_only, value_type = Option<bool>)]
    pub taiwan_top100: Option<bool>,
    /// A group of the top-100 list (`/top100`).
    #[serde(default)]
    pub top100_id: Option<Uuid>,
    /// Only with origin `third_place`: the day it was recognised as Taiwanese; not in the future.
    #[serde(default)]
    pub third_place_recognised_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub industries: Vec<Industry>,
    /// Defaults to `prospect`.
    #[serde(default = "InvestorStatus::first")]
    pub status: InvestorStatus,
    /// Required when settled: the day it settled (it counts toward the targets from then).
    #[serde(default)]
    pub settled_on: Option<NaiveDate>,
    /// The investor who referred this one (以商招商): a live investor of the same park.
    #[serde(default)]
    pub referred_by_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// `true` creates (or renames) the investor even when a live investor of
    /// the park has the same folded name; otherwise that is a 409
    /// `duplicate_name` naming the existing one (`existing_id`). Not stored.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub allow_same_name: Option<bool>,
}

crate::records::patch_body!(InvestorPatch for InvestorFields);

crate::records::bookkeeping_columns!(InvestorBookkeeping, investors);

/// A row of `investors`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = investors, treat_none_as_null = true)]
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
    /// Written, never read back: `''` in a row read (`db::unread`).
    #[diesel(select_expression = crate::db::unread::UNREAD, select_expression_type = crate::db::unread::EmptyText)]
    pub search_text: String,
    pub name_key: String,
    pub name_en_key: Option<String>,
    pub last_follow_up_on: Option<NaiveDate>,
    pub follow_up_due_on: Option<NaiveDate>,
    #[diesel(embed)]
    pub bookkeeping: InvestorBookkeeping,
    pub third_place_recognised_on: Option<NaiveDate>,
    pub top100_id: Option<String>,
}
