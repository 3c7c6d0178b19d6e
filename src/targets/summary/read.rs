//! Figures from the summary: the sums of the events up to a date, read from
//! `target_totals` in one indexed statement (whole years before the date,
//! whole months of its year before its month, days of its month up to it).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use serde_json::{json, Value};

use super::super::compute::{self, Scope, BASELINE_YEAR};
use super::super::report::Figures;
use super::super::TargetKey;
use super::events::metric;
use super::store::{self, DAY, MONTH, YEAR};
use crate::db::{backend_of, Backend, DbConnection};
use crate::error::ApiError;

#[derive(Debug, QueryableByName)]
struct Sum {
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

/// Each metric's sum, by scope, on one date.
#[derive(Debug, Default)]
pub struct Totals(HashMap<(String, String), i64>);

impl Totals {
    pub fn get(&self, metric: &str, scope: &str) -> i64 {
        self.0.get(&(metric.to_owned(), scope.to_owned())).copied().unwrap_or(0)
    }

    /// The sum, in `scope`, of the metrics `wanted` accepts.
    fn sum_where(&self, scope: &str, wanted: impl Fn(&str) -> bool) -> i64 {
        self.0.iter().filter(|((m, s), _)| s == scope && wanted(m)).map(|(_, v)| v).sum()
    }
}

/// The sums of every metric (or of `only`) up to and including `on`.
pub fn at(conn: &mut DbConnection, on: NaiveDate, only: Option<&str>) -> Result<Totals, ApiError> {
    let (year, month) = store::year_and_month_of(on);
    // Numbered parameters: `$n` on PostgreSQL, `?n` on SQLite.
    let mark = if backend_of(conn) == Backend::Postgres { "$" } else { "?" };
    let only_metric = if only.is_some() { format!("AND metric = {mark}7") } else { String::new() };
    let query = format!(
        "SELECT metric, scope, CAST(SUM(amount) AS BIGINT) AS amount FROM target_totals
         WHERE ((grain = {mark}1 AND on_date < {mark}4)
             OR (grain = {mark}2 AND on_date >= {mark}4 AND on_date < {mark}5)
             OR (grain = {mark}3 AND on_date >= {mark}5 AND on_date <= {mark}6)) {only_metric}
         GROUP BY metric, scope"
    );
    let query = diesel::sql_query(query)
        .bind::<Text, _>(YEAR)
        .bind::<Text, _>(MONTH)
        .bind::<Text, _>(DAY)
        .bind::<Date, _>(year)
        .bind::<Date, _>(month)
        .bind::<Date, _>(on);
    let sums: Vec<Sum> = match only {
        Some(metric) => query.bind::<Text, _>(metric).load(conn)?,
        None => query.load(conn)?,
    };
    Ok(Totals(sums.into_iter().map(|s| ((s.metric, s.scope), s.amount)).collect()))
}

/// The figures of one date, from the summary.
pub struct FromSummary {
    /// Every park and its official 2020 baseline, by code.
    pub parks: Vec<(String, Option<i64>)>,
    /// Every metric on `as_of`.
    pub on: Totals,
    /// The enterprises counted from the day they settled, by the end of the
    /// output year (or `as_of` when earlier).
    pub settled_by_year_end: Totals,
    /// The output year.
    pub year: i32,
}

impl FromSummary {
    /// The sum over the scope's parks (for metrics kept by park).
    fn over_parks(&self, metric: &str, scope: &Scope) -> i64 {
        self.parks.iter().filter(|(code, _)| scope.includes(code)).map(|(code, _)| self.on.get(metric, code)).sum()
    }

    fn investment(&self, scope: &Scope) -> (f64, Value) {
        let detail = json!({
            "contracted_usd": self.over_parks(metric::USD_CONTRACTED, scope),
            "contracted_projects": self.over_parks(metric::CONTRACTS, scope),
            "pending_usd": self.over_parks(metric::USD_PENDING, scope),
            "verified_funds": self.over_parks(metric::FUNDS_VERIFIED, scope),
            "projects": self.over_parks(metric::PROJECTS_FUNDED, scope),
        });
        (self.over_parks(metric::USD_VERIFIED, scope) as f64, detail)
    }

    fn enterprises(&self, scope: &Scope) -> (f64, Value) {
        let rows = self.on.get(metric::ENTERPRISE_ROWS, scope.name());
        let detail = match scope {
            Scope::Zone => json!({
                "investor_rows": rows,
                "counted_in_several_parks": self.on.get(metric::ENTERPRISES_SEVERAL_PARKS, scope.name()),
            }),
            Scope::Park(_) => json!({"investor_rows": rows}),
        };
        (self.on.get(metric::ENTERPRISES, scope.name()) as f64, detail)
    }

    fn top100(&self, scope: &Scope) -> (f64, Value) {
        let detail = json!({"linked_settled_investors": self.on.get(metric::GROUP_MEMBERS, scope.name())});
        (self.on.get(metric::GROUPS, scope.name()) as f64, detail)
    }

    fn output_ratio(&self, scope: &Scope) -> (f64, Value) {
        let mut baseline_cny = 0;
        let mut baselines = Vec::new();
        let mut missing = 0;
        for (code, official) in self.parks.iter().filter(|(code, _)| scope.includes(code)) {
            let (value, source) = match official {
                Some(official) => (*official, "official"),
                None => (self.on.get(&metric::output(BASELINE_YEAR), code), "registry"),
            };
            baseline_cny += value;
            baselines.push(json!({"park_code": code, "baseline_cny": value, "source": source}));
            // Settled by the year's end and counted now, less those with a figure.
            let late = self.on.sum_where(code, |m| {
                m.strip_prefix("late:").and_then(|y| y.parse::<i32>().ok()).is_some_and(|settled| settled <= self.year)
            });
            missing += self.settled_by_year_end.get(metric::SETTLED, code) + late - self.on.get(&metric::figures(self.year), code);
        }
        let output_cny = self.over_parks(&metric::output(self.year), scope);
        let detail = json!({
            "year": self.year,
            "output_cny": output_cny,
            "baseline_cny": baseline_cny,
            "baseline_year": BASELINE_YEAR,
            "baselines": baselines,
            "missing_figures": missing,
        });
        (compute::ratio(output_cny, baseline_cny), detail)
    }
}

impl Figures for FromSummary {
    fn parks(&self) -> Vec<String> {
        self.parks.iter().map(|(code, _)| code.clone()).collect()
    }

    fn figure(&self, key: TargetKey, scope: &Scope) -> (f64, Value) {
        match key {
            TargetKey::NewTaiwanInvestmentUsd => self.investment(scope),
            TargetKey::TaiwanFundedEnterprises => self.enterprises(scope),
            TargetKey::TaiwanTop100Present => self.top100(scope),
            TargetKey::TaiwanFundedOutputRatio => self.output_ratio(scope),
        }
    }
}

/// The last day of `year`, or `on` when earlier.
pub fn year_end_or(year: i32, on: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).filter(|end| *end < on).unwrap_or(on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn the_output_year_ends_at_as_of_when_as_of_is_earlier() {
        let on = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
        assert_eq!(year_end_or(2024, on).year(), 2024);
        assert_eq!(year_end_or(2025, on), on);
    }
}
