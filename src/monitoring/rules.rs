//! The monitoring rules (DESIGN "Monitoring"): thresholds kept in one
//! settings row that the province changes, and the pure judgement of one
//! project's light from its dates — no database, so every boundary is a
//! unit test.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Action, NewEvent};
use crate::auth::Caller;
use crate::clock;
use crate::db::schema::monitoring_rules;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;
use crate::vocab::{Light, LightReason, Stage};

/// The thresholds, in days unless named otherwise. A member left out of
/// the stored settings takes its default (the policy's practice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// `lead`/`negotiating` without progress: amber after this many days.
    #[schema(example = 60)]
    pub no_progress_amber_days: i64,
    /// … and red after this many.
    #[schema(example = 90)]
    pub no_progress_red_days: i64,
    /// `signed` → `registered` within this many days (amber in the last fifth, red past it).
    #[schema(example = 90)]
    pub signed_to_registered_days: i64,
    /// `registered` → `under_construction` within this many days.
    #[schema(example = 180)]
    pub registered_to_started_days: i64,
    /// `under_construction` → `operating` within this many days.
    #[schema(example = 730)]
    pub started_to_operating_days: i64,
    /// A planned start or operating date missed is amber; missed by more than this many days, red.
    #[schema(example = 90)]
    pub planned_date_red_days: i64,
    /// This many days after signing, funds in place must reach `funds_min_share` of the contract.
    #[schema(example = 90)]
    pub funds_after_signing_days: i64,
    /// The share of the contracted amount (0 to 1) below which funds are amber.
    #[schema(example = 0.25)]
    pub funds_min_share: f64,
    /// A claim without progress is amber after this many days …
    #[schema(example = 60)]
    pub claim_amber_days: i64,
    /// … red after this many …
    #[schema(example = 90)]
    pub claim_red_days: i64,
    /// … and lapses after this many.
    #[schema(example = 180)]
    pub claim_lapse_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            no_progress_amber_days: 60,
            no_progress_red_days: 90,
            signed_to_registered_days: 90,
            registered_to_started_days: 180,
            started_to_operating_days: 730,
            planned_date_red_days: 90,
            funds_after_signing_days: 90,
            funds_min_share: 0.25,
            claim_amber_days: 60,
            claim_red_days: 90,
            claim_lapse_days: 180,
        }
    }
}

/// The rules as `GET /monitoring/rules` answers them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleSettings {
    #[serde(flatten)]
    pub rules: Rules,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

pub fn load(conn: &mut DbConnection) -> Result<RuleSettings, ApiError> {
    let (rules, version, updated_at, updated_by): (String, i32, NaiveDateTime, String) = monitoring_rules::table
        .find(1)
        .select((monitoring_rules::rules, monitoring_rules::version, monitoring_rules::updated_at, monitoring_rules::updated_by))
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::internal("monitoring_rules has no row: the migration seeds it"))?;
    Ok(RuleSettings { rules: serde_json::from_str(&rules)?, version, updated_at: clock::utc(updated_at), updated_by })
}

/// Which rules a read saw: their version and the instant they were saved,
/// read in the same statement as the rows they judge (`projects::columns`).
/// Every save moves both, on any instance, so a stamp names one set of rules
/// for as long as the row lives; across databases (tests run many in one
/// process) two sets share one only if saved at the same microsecond with
/// the same version, or if both are the seed (version 1: the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesStamp {
    pub version: i32,
    pub saved_at: NaiveDateTime,
}

/// The rules last read, by stamp: reads judge lights with them instead of
/// reading and parsing the settings row each time. A few stamps, so that a
/// process serving several databases (tests) does not evict at every read.
static KEPT: std::sync::RwLock<Vec<(RulesStamp, std::sync::Arc<Rules>)>> = std::sync::RwLock::new(Vec::new());
const KEPT_STAMPS: usize = 8;

/// The rules a read saw (`seen`, from its statement): from memory when they
/// were read before, else read now and kept. Without a stamp (rows built in
/// memory), or when the rules moved since the statement, the stored ones.
pub fn as_seen(conn: &mut DbConnection, seen: Option<RulesStamp>) -> Result<std::sync::Arc<Rules>, ApiError> {
    if let Some(stamp) = seen {
        // A poisoned lock only means a panic elsewhere; the list is still whole.
        let kept = KEPT.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, rules)) = kept.iter().find(|(s, _)| *s == stamp) {
            return Ok(rules.clone());
        }
    }
    let settings = load(conn)?;
    let stamp = RulesStamp { version: settings.version, saved_at: settings.updated_at.naive_utc() };
    let rules = std::sync::Arc::new(settings.rules);
    let mut kept = KEPT.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !kept.iter().any(|(s, _)| *s == stamp) {
        if kept.len() == KEPT_STAMPS {
            kept.remove(0);
        }
        kept.push((stamp, rules.clone()));
    }
    Ok(rules)
}

fn check(r: &Rules) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let days = [
        ("no_progress_amber_days", r.no_progress_amber_days),
        ("no_progress_red_days", r.no_progress_red_days),
        ("signed_to_registered_days", r.signed_to_registered_days),
        ("registered_to_started_days", r.registered_to_started_days),
        ("started_to_operating_days", r.started_to_operating_days),
        ("planned_date_red_days", r.planned_date_red_days),
        ("funds_after_signing_days", r.funds_after_signing_days),
        ("claim_amber_days", r.claim_amber_days),
        ("claim_red_days", r.claim_red_days),
        ("claim_lapse_days", r.claim_lapse_days),
    ];
    for (field, value) in days {
        if !(1..=3650).contains(&value) {
            errors.push(FieldError::new(field, "range", "must be between 1 and 3650 days"));
        }
    }
    if !(r.funds_min_share.is_finite() && r.funds_min_share > 0.0 && r.funds_min_share <= 1.0) {
        errors.push(FieldError::new("funds_min_share", "range", "must be a fraction above 0 and at most 1"));
    }
    for (field, earlier, later, what) in [
        ("no_progress_red_days", r.no_progress_amber_days, r.no_progress_red_days, "no_progress_amber_days"),
        ("claim_red_days", r.claim_amber_days, r.claim_red_days, "claim_amber_days"),
        ("claim_lapse_days", r.claim_red_days, r.claim_lapse_days, "claim_red_days"),
    ] {
        if later <= earlier {
            errors.push(FieldError::new(field, "order", format!("must be more than {what}")));
        }
    }
    errors
}

/// Replaces the rules (provincial_admin), if still at the version read;
/// `follow` runs in the same transaction with the new rules (the projects'
/// light days are recomputed with them: slow at scale, off the HTTP workers).
pub fn save(
    conn: &mut DbConnection,
    caller: &Caller,
    expected: &IfMatch,
    rules: Rules,
    follow: impl FnOnce(&mut DbConnection, &RuleSettings) -> Result<(), ApiError>,
) -> Result<RuleSettings, ApiError> {
    if !caller.may_manage_reference_data() {
        return Err(ApiError::Forbidden("only a provincial administrator changes the monitoring rules".into()));
    }
    write_tx(conn, |conn| {
        let before = load(conn)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let errors = check(&rules);
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        diesel::update(monitoring_rules::table.find(1).filter(monitoring_rules::version.eq(before.version)))
            .set((
                monitoring_rules::rules.eq(serde_json::to_string(&rules)?),
                monitoring_rules::version.eq(before.version + 1),
                monitoring_rules::updated_at.eq(clock::now()),
                monitoring_rules::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let after = load(conn)?;
        follow(conn, &after)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: "monitoring_rules",
            entity_id: "1",
            park_code: None,
            changes: audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, &["version", "updated_at", "updated_by"]),
        })?;
        Ok(after)
    })
}

// ---- judging one project ------------------------------------------------------

/// What the lights read of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub stage: Stage,
    /// The day the project reached its current stage (its milestone date, else the move).
    pub stage_since: NaiveDate,
    /// The latest progress: a stage move, a follow-up of one of its investors, its creation.
    pub last_progress: NaiveDate,
    pub signed_on: Option<NaiveDate>,
    pub planned_start_on: Option<NaiveDate>,
    pub planned_operating_on: Option<NaiveDate>,
    pub contracted_usd: Option<i64>,
    /// Verified funds in place.
    pub in_place_usd: i64,
}

/// One reason for an amber or red light.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Reason {
    pub code: LightReason,
    /// The light this reason alone gives.
    pub light: Light,
    /// In Chinese, with the figures: `签约已95天，尚未注册落地（时限90天）`.
    #[schema(example = "签约已95天，尚未注册落地（时限90天）")]
    pub label: String,
    /// Days since the rule's starting point (or past the planned date).
    pub days: i64,
}

/// The light of a project and its reasons, or `None` for `dropped` and
/// `operating` (nothing left to watch). Green has no reasons.
pub fn judge(w: &Watch, today: NaiveDate, rules: &Rules) -> Option<(Light, Vec<Reason>)> {
    let alarms = alarms(w, rules)?;
    let reasons: Vec<Reason> = alarms
        .iter()
        .filter_map(|alarm| {
            let light = alarm.light_on(today)?;
            let days = (today - alarm.counted_from).num_days();
            Some(Reason { code: alarm.code, light, label: alarm.label(days), days })
        })
        .collect();
    let light = reasons.iter().map(|r| r.light).max().unwrap_or(Light::Green);
    Some((light, reasons))
}

/// The days on which a watched project's light turns amber and red (`None`:
/// never, as long as its facts and the rules stay). Lights only ever worsen
/// with time, so the light on any day is a comparison with these two: what
/// the stored `amber_on` and `red_on` of a project hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LightDates {
    pub amber_on: Option<NaiveDate>,
    pub red_on: Option<NaiveDate>,
}

impl LightDates {
    pub fn light_on(&self, today: NaiveDate) -> Light {
        if self.red_on.is_some_and(|red| red <= today) {
            Light::Red
        } else if self.amber_on.is_some_and(|amber| amber <= today) {
            Light::Amber
        } else {
            Light::Green
        }
    }
}

/// The [`LightDates`] of a project, or `None` when it is not watched; the
/// same alarms as [`judge`], so the two cannot disagree.
pub fn light_dates(w: &Watch, rules: &Rules) -> Option<LightDates> {
    let alarms = alarms(w, rules)?;
    let red_on = alarms.iter().filter_map(|a| a.red_on).min();
    let amber_on = alarms.iter().filter_map(|a| a.amber_on).chain(red_on).min();
    Some(LightDates { amber_on, red_on })
}

/// One rule that applies to a project: the day it counts from and the days
/// it turns amber and red.
struct Alarm {
    code: LightReason,
    counted_from: NaiveDate,
    amber_on: Option<NaiveDate>,
    red_on: Option<NaiveDate>,
    label: Label,
}

/// What a reason's Chinese label says beside its days.
enum Label {
    NoProgress,
    Deadline { since: &'static str, awaited: &'static str, limit: i64 },
    Planned { what: &'static str, date: NaiveDate },
    Funds { share: f64, min_share: f64 },
}

impl Alarm {
    fn light_on(&self, today: NaiveDate) -> Option<Light> {
        if self.red_on.is_some_and(|red| red <= today) {
            Some(Light::Red)
        } else if self.amber_on.is_some_and(|amber| amber <= today) {
            Some(Light::Amber)
        } else {
            None
        }
    }

    fn label(&self, days: i64) -> String {
        match self.label {
            Label::NoProgress => format!("已连续{days}天无进展"),
            Label::Deadline { since, awaited, limit } => format!("{since}已{days}天，尚未{awaited}（时限{limit}天）"),
            Label::Planned { what, date } => format!("{what}日期{date}已过{days}天"),
            Label::Funds { share, min_share } => {
                format!("签约已{days}天，到位资金仅占合同额{:.0}%（应不低于{:.0}%）", share * 100.0, min_share * 100.0)
            }
        }
    }
}

/// The day after `day` plus `days`: a rule "after N days" fires on day N + 1.
/// `None` past the calendar's end (never).
fn after(day: NaiveDate, days: i64) -> Option<NaiveDate> {
    day.checked_add_signed(chrono::Duration::days(days.checked_add(1)?))
}

/// The rules that apply to a project, or `None` when it is not watched.
fn alarms(w: &Watch, rules: &Rules) -> Option<Vec<Alarm>> {
    if matches!(w.stage, Stage::Dropped | Stage::Operating) {
        return None;
    }
    let mut alarms = Vec::new();
    match w.stage {
        Stage::Lead | Stage::Negotiating => alarms.push(Alarm {
            code: LightReason::NoProgress,
            counted_from: w.last_progress,
            amber_on: after(w.last_progress, rules.no_progress_amber_days),
            red_on: after(w.last_progress, rules.no_progress_red_days),
            label: Label::NoProgress,
        }),
        Stage::Signed | Stage::Registered | Stage::UnderConstruction => {
            let (code, limit, since, awaited) = match w.stage {
                Stage::Signed => (LightReason::RegistrationOverdue, rules.signed_to_registered_days, "签约", "注册落地"),
                Stage::Registered => (LightReason::ConstructionOverdue, rules.registered_to_started_days, "注册落地", "开工"),
                _ => (LightReason::OperationOverdue, rules.started_to_operating_days, "开工", "投产"),
            };
            // Amber in the last fifth of the time, red past it.
            alarms.push(Alarm {
                code,
                counted_from: w.stage_since,
                amber_on: after(w.stage_since, limit - limit / 5),
                red_on: after(w.stage_since, limit),
                label: Label::Deadline { since, awaited, limit },
            });
        }
        Stage::Operating | Stage::Dropped => {}
    }
    let planned = [
        (w.planned_start_on, Stage::UnderConstruction, LightReason::PlannedStartMissed, "计划开工"),
        (w.planned_operating_on, Stage::Operating, LightReason::PlannedOperatingMissed, "计划投产"),
    ];
    for (date, reached_at, code, what) in planned {
        let Some(date) = date.filter(|_| w.stage < reached_at) else { continue };
        alarms.push(Alarm {
            code,
            counted_from: date,
            amber_on: after(date, 0),
            red_on: after(date, rules.planned_date_red_days),
            label: Label::Planned { what, date },
        });
    }
    if let (Some(signed), Some(contracted)) = (w.signed_on, w.contracted_usd.filter(|c| *c > 0)) {
        let share = w.in_place_usd as f64 / contracted as f64;
        if share < rules.funds_min_share {
            alarms.push(Alarm {
                code: LightReason::FundsBelowContract,
                counted_from: signed,
                amber_on: after(signed, rules.funds_after_signing_days),
                red_on: None,
                label: Label::Funds { share, min_share: rules.funds_min_share },
            });
        }
    }
    Some(alarms)
}

/// A claim's light after `days` without progress (`None` once it lapses).
pub fn claim_light(days: i64, rules: &Rules) -> Option<Light> {
    if days > rules.claim_lapse_days {
        None
    } else if days > rules.claim_red_days {
        Some(Light::Red)
    } else if days > rules.claim_amber_days {
        Some(Light::Amber)
    } else {
        Some(Light::Green)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn watch(stage: Stage, since: &str) -> Watch {
        Watch {
            stage,
            stage_since: day(since),
            last_progress: day(since),
            signed_on: None,
            planned_start_on: None,
            planned_operating_on: None,
            contracted_usd: None,
            in_place_usd: 0,
        }
    }

    fn light_after(w: &Watch, days: i64) -> Option<(Light, Vec<LightReason>)> {
        let today = w.stage_since + chrono::Duration::days(days);
        judge(w, today, &Rules::default()).map(|(l, r)| (l, r.into_iter().map(|r| r.code).collect()))
    }

    #[test]
    fn no_progress_is_amber_after_60_and_red_after_90() {
        let w = watch(Stage::Negotiating, "2026-01-01");
        assert_eq!(light_after(&w, 60), Some((Light::Green, vec![])));
        assert_eq!(light_after(&w, 61), Some((Light::Amber, vec![LightReason::NoProgress])));
        assert_eq!(light_after(&w, 90), Some((Light::Amber, vec![LightReason::NoProgress])));
        assert_eq!(light_after(&w, 91), Some((Light::Red, vec![LightReason::NoProgress])));
    }

    #[test]
    fn stage_deadlines_are_amber_in_their_last_fifth_and_red_past_them() {
        for (stage, code, limit) in [
            (Stage::Signed, LightReason::RegistrationOverdue, 90),
            (Stage::Registered, LightReason::ConstructionOverdue, 180),
            (Stage::UnderConstruction, LightReason::OperationOverdue, 730),
        ] {
            let w = watch(stage, "2025-01-01");
            let amber_from = limit - limit / 5 + 1;
            assert_eq!(light_after(&w, amber_from - 1), Some((Light::Green, vec![])), "{stage}");
            assert_eq!(light_after(&w, amber_from), Some((Light::Amber, vec![code])), "{stage}");
            assert_eq!(light_after(&w, limit), Some((Light::Amber, vec![code])), "{stage} day {limit}");
            assert_eq!(light_after(&w, limit + 1), Some((Light::Red, vec![code])), "{stage} day {}", limit + 1);
        }
    }

    #[test]
    fn missed_planned_dates_are_amber_then_red_after_90_days() {
        let mut w = watch(Stage::Registered, "2026-01-01");
        w.planned_start_on = Some(day("2026-01-10"));
        w.planned_operating_on = Some(day("2026-01-10"));
        let codes = vec![LightReason::PlannedStartMissed, LightReason::PlannedOperatingMissed];
        assert_eq!(light_after(&w, 9), Some((Light::Green, vec![])), "the planned day itself is not missed");
        assert_eq!(light_after(&w, 10), Some((Light::Amber, codes.clone())));
        assert_eq!(light_after(&w, 99), Some((Light::Amber, codes.clone())));
        assert_eq!(light_after(&w, 100), Some((Light::Red, codes)));
        w.stage = Stage::UnderConstruction; // started: only the operating date is watched
        assert_eq!(light_after(&w, 10), Some((Light::Amber, vec![LightReason::PlannedOperatingMissed])));
    }

    #[test]
    fn funds_below_a_quarter_of_the_contract_90_days_after_signing_are_amber() {
        let mut w = watch(Stage::Registered, "2026-01-01");
        w.signed_on = Some(day("2026-01-01"));
        w.contracted_usd = Some(1_000_000);
        w.in_place_usd = 249_999;
        assert_eq!(light_after(&w, 90), Some((Light::Green, vec![])));
        assert_eq!(light_after(&w, 91), Some((Light::Amber, vec![LightReason::FundsBelowContract])));
        w.in_place_usd = 250_000;
        assert_eq!(light_after(&w, 91), Some((Light::Green, vec![])));
    }

    #[test]
    fn dropped_and_operating_projects_have_no_light() {
        assert_eq!(light_after(&watch(Stage::Dropped, "2020-01-01"), 2000), None);
        assert_eq!(light_after(&watch(Stage::Operating, "2020-01-01"), 2000), None);
    }

    #[test]
    fn labels_are_chinese_with_the_figures() {
        let w = watch(Stage::Signed, "2026-01-01");
        let today = day("2026-04-06"); // 95 days
        let (_, reasons) = judge(&w, today, &Rules::default()).unwrap_or((Light::Green, vec![]));
        assert_eq!(reasons[0].label, "签约已95天，尚未注册落地（时限90天）");
    }

    #[test]
    fn claims_are_amber_after_60_red_after_90_and_lapse_after_180() {
        let rules = Rules::default();
        assert_eq!(claim_light(60, &rules), Some(Light::Green));
        assert_eq!(claim_light(61, &rules), Some(Light::Amber));
        assert_eq!(claim_light(91, &rules), Some(Light::Red));
        assert_eq!(claim_light(180, &rules), Some(Light::Red));
        assert_eq!(claim_light(181, &rules), None);
    }

    /// The stored dates give the light `judge` gives, on every day around
    /// every boundary, for projects of every stage and combination of facts.
    #[test]
    fn light_dates_agree_with_judge_on_every_day() {
        let start = day("2025-01-01");
        let stages = [Stage::Lead, Stage::Negotiating, Stage::Signed, Stage::Registered, Stage::UnderConstruction, Stage::Operating, Stage::Dropped];
        let narrow = Rules { signed_to_registered_days: 4, no_progress_amber_days: 3, no_progress_red_days: 5, planned_date_red_days: 2, ..Rules::default() };
        for rules in [Rules::default(), narrow] {
            for (i, stage) in stages.into_iter().enumerate() {
                for variant in 0..8_i64 {
                    let mut w = watch(stage, "2025-01-01");
                    w.last_progress = start + chrono::Duration::days(variant * 7);
                    w.planned_start_on = (variant & 1 == 1).then(|| start + chrono::Duration::days(40 + i as i64));
                    w.planned_operating_on = (variant & 2 == 2).then(|| start + chrono::Duration::days(300));
                    if variant & 4 == 4 {
                        w.signed_on = Some(start);
                        w.contracted_usd = Some(1_000);
                        w.in_place_usd = 100 * variant;
                    }
                    let dates = light_dates(&w, &rules);
                    for offset in -5..1_000 {
                        let today = start + chrono::Duration::days(offset);
                        let judged = judge(&w, today, &rules).map(|(light, _)| light);
                        assert_eq!(judged, dates.map(|d| d.light_on(today)), "{stage} variant {variant} on {today}");
                    }
                }
            }
        }
    }

    #[test]
    fn rules_must_be_ordered_and_in_range() {
        assert!(check(&Rules::default()).is_empty());
        let bad = Rules { claim_lapse_days: 90, funds_min_share: 1.5, no_progress_amber_days: 0, ..Rules::default() };
        let fields: Vec<String> = check(&bad).into_iter().map(|e| e.field).collect();
        for field in ["claim_lapse_days", "funds_min_share", "no_progress_amber_days"] {
            assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
        }
    }
}
