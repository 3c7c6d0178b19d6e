//! The answers of `/targets`, `/targets/{key}/items` and `/targets/{key}/series`,
//! built from one [`compute`](super::compute) per target, scope and date.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::compute::{self, number, optional_number, Computation, Items, MissingFigure, Question, Scope};
use super::facts::Facts;
use super::settings::{Period, TargetSettings};
use super::TargetKey;
use crate::auth::{Caller, ParkScope};
use crate::error::ApiError;

/// `met` when value ≥ target; `on_track` when progress ≥ time elapsed; else `behind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    OnTrack,
    Behind,
}

/// The zone's figure, given beside a park's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneFigure {
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub target: f64,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub value: f64,
    pub progress: f64,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParkFigure {
    pub park_code: String,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub value: f64,
    /// The park's share of the target, when the settings give one.
    #[serde(serialize_with = "optional_number")]
    #[schema(value_type = Option<f64>)]
    pub target: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetReport {
    pub key: TargetKey,
    #[schema(example = "新增台商投资")]
    pub label: &'static str,
    /// The scope's target: the zone's, or the park's share (none without one).
    #[serde(serialize_with = "optional_number")]
    #[schema(value_type = Option<f64>, example = 3_000_000_000_i64)]
    pub target: Option<f64>,
    /// The sum of the contributions of `items`.
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64, example = 1_234_500_000_i64)]
    pub value: f64,
    /// value ÷ target (for the ratio: growth over 2020 ÷ the growth asked, (value − 1) ÷ (target − 1)).
    #[schema(example = 0.4115)]
    pub progress: Option<f64>,
    /// The part of the period gone by on `as_of`, 0 to 1.
    #[schema(example = 1.0)]
    pub time_elapsed: f64,
    pub status: Option<Status>,
    /// Figures behind the value (contracted and pending sums, rows, baselines…).
    #[schema(value_type = Object)]
    pub detail: Value,
    /// The zone's figure, when the scope is a park.
    pub zone: Option<ZoneFigure>,
    /// Each park's value: every park for the zone; only the caller's own for a park role.
    pub by_park: Vec<ParkFigure>,
    /// Where the rows behind `value` are listed.
    #[schema(example = "/api/v1/targets/new_taiwan_investment_usd/items?as_of=2026-11-28")]
    pub items: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetsReport {
    pub as_of: chrono::NaiveDate,
    pub period: Period,
    /// `zone` or a park code.
    #[schema(example = "zone")]
    pub scope: String,
    /// The year whose output the ratio compares with 2020.
    #[schema(example = 2025)]
    pub year: i32,
    pub targets: Vec<TargetReport>,
}

/// The rows counted in one target: their contributions (over every page)
/// add up to `value`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemsReport {
    pub key: TargetKey,
    pub label: &'static str,
    pub as_of: NaiveDate,
    pub scope: String,
    /// The output year (output ratio only).
    pub year: Option<i32>,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub value: f64,
    /// How many rows are counted (on every page together).
    pub count: usize,
    pub items: Items,
    /// The next page's cursor when `limit` cut the rows; null on the last page.
    pub next_cursor: Option<String>,
    /// Output ratio only: enterprises settled by the end of the year without a figure for it.
    pub missing_figures: Option<Vec<MissingFigure>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// The end of an interval (or `as_of`, for the interval still running).
    pub on: NaiveDate,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesReport {
    pub key: TargetKey,
    pub label: &'static str,
    pub scope: String,
    pub interval: Interval,
    pub points: Vec<SeriesPoint>,
}

/// Parameters of `GET /targets`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TargetsQuery {
    /// The date asked about (`YYYY-MM-DD`, 2000-01-01 or later; default today).
    #[param(example = "2025-06-30")]
    pub as_of: Option<String>,
    /// A park (provincial roles; a park role always gets its own park).
    pub park: Option<String>,
    /// The output year of the ratio (default: as_of's year − 1).
    pub year: Option<i32>,
}

/// Parameters of `GET /targets/{key}/items`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// The date asked about (`YYYY-MM-DD`, 2000-01-01 or later; default today).
    #[param(example = "2025-06-30")]
    pub as_of: Option<String>,
    /// A park (provincial roles; a park role always gets its own park).
    pub park: Option<String>,
    /// The output year of the ratio (default: as_of's year − 1).
    pub year: Option<i32>,
    /// Rows a page, 1 to 10000 (default: every row).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    #[default]
    Year,
    Quarter,
    Month,
}

/// Parameters of `GET /targets/{key}/series`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// The last date of the series (default today).
    pub as_of: Option<String>,
    pub park: Option<String>,
    /// `year` (default), `quarter` or `month`.
    pub interval: Option<Interval>,
}

/// Reads `as_of`: a real date, 2000-01-01 or later; today when absent.
pub fn parse_as_of(raw: Option<&str>) -> Result<NaiveDate, ApiError> {
    let Some(raw) = raw else { return Ok(crate::clock::today()) };
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| raw.trim().len() == 10)
        .ok_or_else(|| ApiError::bad_param("as_of", "date", "must be a date written YYYY-MM-DD"))?;
    if date.year() < 2000 {
        return Err(ApiError::bad_param("as_of", "range", "must be 2000-01-01 or later"));
    }
    Ok(date)
}

/// Reads `year`: 2000 up to as_of's year.
pub fn parse_year(year: Option<i32>, as_of: NaiveDate) -> Result<i32, ApiError> {
    match year {
        None => Ok(compute::default_year(as_of)),
        Some(y) if (2000..=as_of.year()).contains(&y) => Ok(y),
        Some(_) => Err(ApiError::bad_param("year", "range", format!("must be between 2000 and {} (as_of's year)", as_of.year()))),
    }
}

/// The scope a caller gets: a park role its own park whatever it asks for;
/// a provincial role the park it names, or the zone.
pub fn scope_for(caller: &Caller, park: Option<String>, parks: &[String]) -> Result<Scope, ApiError> {
    match caller.scope() {
        ParkScope::One(own) => Ok(Scope::Park(own)),
        ParkScope::All => match park.map(|p| p.trim().to_owned()) {
            None => Ok(Scope::Zone),
            Some(p) if parks.contains(&p) => Ok(Scope::Park(p)),
            Some(p) => Err(ApiError::bad_param("park", "unknown", format!("there is no park {p:?}"))),
        },
    }
}

/// The part of the period gone by on `as_of`, counting whole days.
fn time_elapsed(period: (NaiveDate, NaiveDate), as_of: NaiveDate) -> f64 {
    let total = (period.1 - period.0).num_days() + 1;
    let gone = (as_of.min(period.1) - period.0).num_days() + 1;
    if total <= 0 {
        return 1.0;
    }
    (gone.max(0) as f64 / total as f64).clamp(0.0, 1.0)
}

fn progress_of(key: TargetKey, value: f64, target: f64) -> f64 {
    let p = if key == TargetKey::TaiwanFundedOutputRatio && target > 1.0 {
        (value - 1.0) / (target - 1.0)
    } else if target > 0.0 {
        value / target
    } else {
        0.0
    };
    p.max(0.0)
}

fn status_of(value: f64, target: f64, progress: f64, elapsed: f64) -> Status {
    if value >= target {
        Status::Met
    } else if progress >= elapsed {
        Status::OnTrack
    } else {
        Status::Behind
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn items_link(key: TargetKey, q: Question, scope: &Scope) -> String {
    let mut link = format!("/api/v1/targets/{}/items?as_of={}", key.as_str(), q.as_of);
    if let Scope::Park(park) = scope {
        link.push_str(&format!("&park={park}"));
    }
    if key == TargetKey::TaiwanFundedOutputRatio {
        link.push_str(&format!("&year={}", q.year));
    }
    link
}

/// Where a report's figures come from: computed from the facts row by row,
/// or read from the summary. Both give the same value and detail.
pub trait Figures {
    /// Every park's code, in order.
    fn parks(&self) -> Vec<String>;
    /// One target's value and detail in one scope.
    fn figure(&self, key: TargetKey, scope: &Scope) -> (f64, Value);
}

/// The figures computed from the facts (and the rows behind them).
pub struct FromFacts<'a> {
    pub facts: &'a Facts,
    pub question: Question,
}

impl Figures for FromFacts<'_> {
    fn parks(&self) -> Vec<String> {
        self.facts.parks.iter().map(|p| p.code.clone()).collect()
    }

    fn figure(&self, key: TargetKey, scope: &Scope) -> (f64, Value) {
        let c = compute::compute(self.facts, key, self.question, scope);
        (c.value, c.detail)
    }
}

pub fn targets(figures: &impl Figures, settings: &TargetSettings, q: Question, scope: &Scope) -> TargetsReport {
    let elapsed = time_elapsed(q.period, q.as_of);
    let parks = figures.parks();
    let reports = TargetKey::ALL
        .into_iter()
        .map(|key| {
            let (value, detail) = figures.figure(key, scope);
            let target = match scope {
                Scope::Zone => Some(settings.targets.get(key)),
                Scope::Park(park) => settings.park_target(park, key),
            };
            let progress = target.map(|t| progress_of(key, value, t));
            let status = target.zip(progress).map(|(t, p)| status_of(value, t, p, elapsed));
            let (zone, by_park) = match scope {
                Scope::Zone => {
                    let by_park = parks
                        .iter()
                        .map(|code| ParkFigure {
                            park_code: code.clone(),
                            value: figures.figure(key, &Scope::Park(code.clone())).0,
                            target: settings.park_target(code, key),
                        })
                        .collect();
                    (None, by_park)
                }
                Scope::Park(park) => {
                    let zone_value = figures.figure(key, &Scope::Zone).0;
                    let zone_target = settings.targets.get(key);
                    let zone_progress = progress_of(key, zone_value, zone_target);
                    let zone = ZoneFigure {
                        target: zone_target,
                        value: zone_value,
                        progress: round4(zone_progress),
                        status: status_of(zone_value, zone_target, zone_progress, elapsed),
                    };
                    let own = ParkFigure { park_code: park.clone(), value, target };
                    (Some(zone), vec![own])
                }
            };
            TargetReport {
                key,
                label: key.label(),
                target,
                value,
                progress: progress.map(round4),
                time_elapsed: round4(elapsed),
                status,
                detail,
                zone,
                by_park,
                items: items_link(key, q, scope),
            }
        })
        .collect();
    TargetsReport {
        as_of: q.as_of,
        period: settings.period,
        scope: scope.name().to_owned(),
        year: q.year,
        targets: reports,
    }
}

/// The largest page of `/items` (its export takes the same range).
pub const MAX_ITEMS_LIMIT: i64 = 10_000;

/// Which rows of `/items` a request asks for: the computation's order is
/// fixed, so a page is an offset into it (the cursor is that offset).
#[derive(Debug, Clone, Copy)]
pub struct ItemsPage {
    pub offset: usize,
    pub limit: Option<usize>,
}

impl ItemsPage {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => None,
            Some(n) if (1..=MAX_ITEMS_LIMIT).contains(&n) => Some(n as usize),
            Some(_) => return Err(ApiError::bad_param("limit", "range", format!("must be between 1 and {MAX_ITEMS_LIMIT}"))),
        };
        let offset = match cursor {
            None => 0,
            Some(raw) => raw
                .strip_prefix("i")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError::bad_param("cursor", "cursor", "must be a next_cursor of this list"))?,
        };
        Ok(Self { offset, limit })
    }
}

pub fn items(facts: &Facts, key: TargetKey, q: Question, scope: &Scope, page: ItemsPage) -> ItemsReport {
    let Computation { value, items, missing, .. } = compute::compute(facts, key, q, scope);
    let ratio = key == TargetKey::TaiwanFundedOutputRatio;
    let count = items.len();
    let (items, next_cursor) = match page.limit {
        None if page.offset == 0 => (items, None),
        limit => {
            let limit = limit.unwrap_or(count);
            let end = page.offset.saturating_add(limit);
            (items.window(page.offset, limit), (end < count).then(|| format!("i{end}")))
        }
    };
    ItemsReport {
        key,
        label: key.label(),
        as_of: q.as_of,
        scope: scope.name().to_owned(),
        year: ratio.then_some(q.year),
        value,
        count,
        items,
        next_cursor,
        missing_figures: ratio.then_some(missing),
    }
}

/// The ends of each interval from the period's start up to `last`, and
/// `last` itself when it falls inside an interval.
pub fn interval_ends(from: NaiveDate, last: NaiveDate, interval: Interval) -> Vec<NaiveDate> {
    let months = match interval {
        Interval::Year => 12,
        Interval::Quarter => 3,
        Interval::Month => 1,
    };
    let mut ends = Vec::new();
    // Intervals are calendar ones: the first ends at the end of the calendar
    // year, quarter or month the period starts in.
    let start_month0 = from.month0() / months * months;
    let mut start = NaiveDate::from_ymd_opt(from.year(), start_month0 + 1, 1).unwrap_or(from);
    while let Some(next) = start.checked_add_months(Months::new(months)) {
        let end = next.pred_opt().unwrap_or(next);
        if end > last {
            break;
        }
        ends.push(end);
        start = next;
    }
    if ends.last().is_none_or(|e| *e < last) && last >= from {
        ends.push(last);
    }
    ends
}

pub fn series(facts: &Facts, key: TargetKey, q: Question, scope: &Scope, interval: Interval) -> SeriesReport {
    let last = q.as_of.min(q.period.1);
    let points = interval_ends(q.period.0, last, interval)
        .into_iter()
        .map(|on| {
            let at = Question { as_of: on, period: q.period, year: compute::default_year(on) };
            SeriesPoint { on, value: compute::compute(facts, key, at, scope).value }
        })
        .collect();
    SeriesReport { key, label: key.label(), scope: scope.name().to_owned(), interval, points }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn as_of_must_be_a_date_after_1999() {
        assert!(parse_as_of(Some("1999-12-31")).is_err());
        assert!(parse_as_of(Some("2025-13-01")).is_err());
        assert!(parse_as_of(Some("2025-6-30")).is_err());
        assert_eq!(parse_as_of(Some("2025-06-30")).ok(), Some(d("2025-06-30")));
    }

    #[test]
    fn interval_ends_are_calendar_ends_up_to_as_of() {
        let ends = interval_ends(d("2021-01-01"), d("2022-05-10"), Interval::Year);
        assert_eq!(ends, vec![d("2021-12-31"), d("2022-05-10")]);
        let q = interval_ends(d("2021-01-01"), d("2021-06-30"), Interval::Quarter);
        assert_eq!(q, vec![d("2021-03-31"), d("2021-06-30")]);
        assert_eq!(interval_ends(d("2021-01-01"), d("2021-03-31"), Interval::Month).len(), 3);
    }

    #[test]
    fn time_elapsed_runs_from_zero_to_one() {
        let period = (d("2021-01-01"), d("2025-12-31"));
        assert_eq!(time_elapsed(period, d("2026-11-28")), 1.0);
        assert_eq!(time_elapsed(period, d("2020-06-01")), 0.0);
        assert!((time_elapsed(period, d("2023-07-02")) - 0.5).abs() < 0.001);
    }
}
