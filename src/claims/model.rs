//! What a first claim (首报首谈) looks like on the wire and in the database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::schema::claims;
use crate::vocab::{ClaimEvidence, ClaimStatus, Light};

/// A park's claim on the investors of one of its projects, as its own park
/// and the province read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Claim {
    pub id: String,
    #[schema(example = "yueyang")]
    pub park_code: String,
    pub project_id: String,
    pub evidence: ClaimEvidence,
    /// The document's number or reference.
    #[schema(example = "YY-2026-031")]
    pub evidence_ref: String,
    /// When the claim was filed: the earlier filing wins.
    pub filed_at: DateTime<Utc>,
    /// The identity claimed: the project's investors when it was filed.
    pub identity: Identity,
    /// `lapsed` once `expires_on` has passed without progress.
    pub status: ClaimStatus,
    /// The latest progress: the filing, a stage move of the project, a
    /// follow-up of one of its investors or a fund in place.
    pub last_progress_on: NaiveDate,
    /// The day the claim lapses without further progress (active and contested claims).
    pub expires_on: Option<NaiveDate>,
    /// Green, amber after 60 days without progress, red after 90 (none once decided against or lapsed).
    pub light: Option<Light>,
    /// Other parks' claims on a matching identity: their park, status and
    /// filing date only.
    pub rivals: Vec<Rival>,
    /// The province's decision of a contest.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    #[schema(example = "岳阳园区2026年3月首次接洽，早于湘潭园区")]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    pub version: i32,
}

/// The identifiers a claim is matched by, from the project's investors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// 统一社会信用代码.
    pub unified_social_credit_codes: Vec<String>,
    /// 統一編號.
    pub taiwan_business_ids: Vec<String>,
    /// Folded names: script, width, case, spaces and legal-form suffixes do not matter.
    #[schema(example = json!(["华芯半导体"]))]
    pub names: Vec<String>,
}

impl Identity {
    /// The keys of `claim_keys`, one a identifier.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .unified_social_credit_codes
            .iter()
            .map(|c| format!("uscc:{c}"))
            .chain(self.taiwan_business_ids.iter().map(|c| format!("ubn:{c}")))
            .chain(self.names.iter().map(|n| format!("name:{n}")))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Another park's claim, as much as a park may know of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rival {
    #[schema(example = "xiangtan")]
    pub park_code: String,
    pub status: ClaimStatus,
    pub filed_on: NaiveDate,
    /// Only for the province, which decides between them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
}

/// The body of `POST /claims`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewClaim, example = json!({"project_id": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b", "evidence": "intent_letter", "evidence_ref": "YY-2026-031"}))]
pub struct ClaimFields {
    /// A project of the caller's park at `negotiating` or later (not dropped), with investors.
    pub project_id: Uuid,
    pub evidence: ClaimEvidence,
    #[schema(min_length = 1, max_length = 200)]
    pub evidence_ref: String,
}

/// The body of `POST /claims/{id}/decision`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"award": "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b", "reason": "岳阳园区首次接洽早于湘潭园区，意向书在先"}))]
pub struct Decision {
    /// The claim of the contest that wins; the others are rejected.
    pub award: Uuid,
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Filters and paging of `GET /claims`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClaimFilter {
    /// Park codes (repeat for several). A park role sees its own park whatever is asked.
    #[serde(default)]
    pub park: Vec<String>,
    /// Statuses as they stand today (repeat for several).
    #[serde(default)]
    pub status: Vec<ClaimStatus>,
    pub project_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `true`: the page also carries `total`, every claim matching the filters.
    pub count: Option<bool>,
}

crate::records::bookkeeping_columns!(ClaimBookkeeping, claims);

/// A row of `claims`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: String,
    pub park_code: String,
    pub project_id: String,
    pub evidence: String,
    pub evidence_ref: String,
    pub identity: String,
    pub status: String,
    pub filed_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
    #[diesel(embed)]
    pub bookkeeping: ClaimBookkeeping,
}
