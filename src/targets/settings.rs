//! The target settings (`GET/PUT /targets/settings`): the four target values,
//! the period, and optional per-park shares — one row, seeded from the policy
//! by the migration, changed only by provincial_admin, audited.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TargetKey;
use crate::audit::{self, Action, NewEvent};
use crate::auth::Caller;
use crate::clock;
use crate::db::schema::{parks, target_settings};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;

/// The period the targets run over (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[schema(example = "2021-01-01")]
    pub from: NaiveDate,
    #[schema(example = "2025-12-31")]
    pub to: NaiveDate,
}

/// The four targets of the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetValues {
    #[schema(example = 3_000_000_000_i64)]
    pub new_taiwan_investment_usd: i64,
    #[schema(example = 300)]
    pub taiwan_funded_enterprises: i64,
    #[schema(example = 20)]
    pub taiwan_top100_present: i64,
    #[schema(example = 2.0)]
    pub taiwan_funded_output_ratio: f64,
}

impl TargetValues {
    pub fn get(&self, key: TargetKey) -> f64 {
        match key {
            TargetKey::NewTaiwanInvestmentUsd => self.new_taiwan_investment_usd as f64,
            TargetKey::TaiwanFundedEnterprises => self.taiwan_funded_enterprises as f64,
            TargetKey::TaiwanTop100Present => self.taiwan_top100_present as f64,
            TargetKey::TaiwanFundedOutputRatio => self.taiwan_funded_output_ratio,
        }
    }
}

/// Each park's share of a counted target, as a fraction of the zone's.
pub type ParkShares = BTreeMap<String, BTreeMap<TargetKey, f64>>;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetSettings {
    pub period: Period,
    pub targets: TargetValues,
    /// `{park: {target key: fraction of the zone's target}}`. A park's target
    /// is its share of the zone's; without a share a park has no target of
    /// its own for that key (its figures are still shown). The output ratio
    /// has no shares: every park is asked to double its own output.
    #[schema(value_type = Object, example = json!({"yueyang": {"new_taiwan_investment_usd": 0.4, "taiwan_funded_enterprises": 0.4}}))]
    pub park_shares: ParkShares,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl TargetSettings {
    /// The target of `key` for a park, or `None` when it has no share.
    pub fn park_target(&self, park: &str, key: TargetKey) -> Option<f64> {
        if key == TargetKey::TaiwanFundedOutputRatio {
            return Some(self.targets.taiwan_funded_output_ratio);
        }
        let share = self.park_shares.get(park)?.get(&key)?;
        Some(self.targets.get(key) * share)
    }

    pub fn period(&self) -> (NaiveDate, NaiveDate) {
        (self.period.from, self.period.to)
    }
}

/// The body of `PUT /targets/settings`: the whole settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"period": {"from": "2021-01-01", "to": "2025-12-31"},
    "targets": {"new_taiwan_investment_usd": 3000000000_i64, "taiwan_funded_enterprises": 300, "taiwan_top100_present": 20, "taiwan_funded_output_ratio": 2.0},
    "park_shares": {"yueyang": {"new_taiwan_investment_usd": 0.4}}}))]
pub struct SettingsBody {
    pub period: Period,
    pub targets: TargetValues,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub park_shares: ParkShares,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = target_settings)]
struct Row {
    period_from: NaiveDate,
    period_to: NaiveDate,
    new_taiwan_investment_usd: i64,
    taiwan_funded_enterprises: i64,
    taiwan_top100_present: i64,
    taiwan_funded_output_ratio: f64,
    park_shares: String,
    version: i32,
    updated_at: NaiveDateTime,
    updated_by: String,
}

pub fn load(conn: &mut DbConnection) -> Result<TargetSettings, ApiError> {
    let row: Row = target_settings::table
        .find(1)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::internal("target_settings has no row: the migration seeds it"))?;
    Ok(TargetSettings {
        period: Period { from: row.period_from, to: row.period_to },
        targets: TargetValues {
            new_taiwan_investment_usd: row.new_taiwan_investment_usd,
            taiwan_funded_enterprises: row.taiwan_funded_enterprises,
            taiwan_top100_present: row.taiwan_top100_present,
            taiwan_funded_output_ratio: row.taiwan_funded_output_ratio,
        },
        park_shares: serde_json::from_str(&row.park_shares)?,
        version: row.version,
        updated_at: clock::utc(row.updated_at),
        updated_by: row.updated_by,
    })
}

fn check(body: &SettingsBody, known_parks: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    if body.period.from < earliest {
        errors.push(FieldError::new("period.from", "range", "must be 2000-01-01 or later"));
    }
    if body.period.to <= body.period.from {
        errors.push(FieldError::new("period.to", "order", "must be after period.from"));
    }
    if chrono::Datelike::year(&body.period.to) > 2100 {
        errors.push(FieldError::new("period.to", "range", "must be 2100-12-31 or earlier"));
    }
    let t = &body.targets;
    if !(1..=10_000_000_000_000).contains(&t.new_taiwan_investment_usd) {
        errors.push(FieldError::new("targets.new_taiwan_investment_usd", "range", "must be between 1 and 10000000000000 US dollars"));
    }
    for (field, value) in [("taiwan_funded_enterprises", t.taiwan_funded_enterprises), ("taiwan_top100_present", t.taiwan_top100_present)] {
        if !(1..=1_000_000).contains(&value) {
            errors.push(FieldError::new(format!("targets.{field}"), "range", "must be between 1 and 1000000"));
        }
    }
    if !(t.taiwan_funded_output_ratio.is_finite() && t.taiwan_funded_output_ratio > 1.0 && t.taiwan_funded_output_ratio <= 100.0) {
        errors.push(FieldError::new(
            "targets.taiwan_funded_output_ratio",
            "range",
            "must be above 1 (growth over 2020) and at most 100",
        ));
    }
    let mut sums: BTreeMap<TargetKey, f64> = BTreeMap::new();
    for (park, shares) in &body.park_shares {
        if !known_parks.contains(park) {
            errors.push(FieldError::new(format!("park_shares.{park}"), "unknown", format!("there is no park {park:?}")));
        }
        for (key, share) in shares {
            let field = format!("park_shares.{park}.{}", key.as_str());
            if *key == TargetKey::TaiwanFundedOutputRatio {
                errors.push(FieldError::new(field, "not_shared", "a ratio has no shares: every park is measured against it"));
            } else if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
                errors.push(FieldError::new(field, "range", "must be a fraction above 0 and at most 1"));
            } else {
                *sums.entry(*key).or_default() += share;
            }
        }
    }
    for (key, sum) in sums {
        if sum > 1.0 + 1e-9 {
            errors.push(FieldError::new(
                format!("park_shares.*.{}", key.as_str()),
                "sum",
                format!("the parks' shares add up to {sum}; they may not exceed 1"),
            ));
        }
    }
    errors
}

pub fn save(conn: &mut DbConnection, caller: &Caller, expected: &IfMatch, body: SettingsBody) -> Result<TargetSettings, ApiError> {
    if !caller.may_manage_reference_data() {
        return Err(ApiError::Forbidden("only a provincial administrator changes the target settings".into()));
    }
    write_tx(conn, |conn| {
        let before = load(conn)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let known: Vec<String> = parks::table.select(parks::code).load(conn)?;
        let errors = check(&body, &known);
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        diesel::update(target_settings::table.find(1).filter(target_settings::version.eq(before.version)))
            .set((
                target_settings::period_from.eq(body.period.from),
                target_settings::period_to.eq(body.period.to),
                target_settings::new_taiwan_investment_usd.eq(body.targets.new_taiwan_investment_usd),
                target_settings::taiwan_funded_enterprises.eq(body.targets.taiwan_funded_enterprises),
                target_settings::taiwan_top100_present.eq(body.targets.taiwan_top100_present),
                target_settings::taiwan_funded_output_ratio.eq(body.targets.taiwan_funded_output_ratio),
                target_settings::park_shares.eq(serde_json::to_string(&body.park_shares)?),
                target_settings::version.eq(before.version + 1),
                target_settings::updated_at.eq(clock::now()),
                target_settings::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let after = load(conn)?;
        if after.period() != before.period() {
            // The investment target counts funds and contracts of the period.
            super::summary::rebuild(conn)?;
        }
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: "target_settings",
            entity_id: "1",
            park_code: None,
            changes: audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, &["version", "updated_at", "updated_by"]),
        })?;
        Ok(after)
    })
}
