//! What each unit of the registry adds to the targets, as dated events: an
//! amount that counts from a day on (a fund from the day it was received and
//! its project was Taiwanese, an enterprise from the day it settled and was
//! Taiwan-counted…). Pure functions of the same facts [`super::super::compute`]
//! reads, applying the same rules, so that a figure on any date is the sum
//! of the events up to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::super::compute::{same_enterprise, Scope};
use super::super::facts::{GroupFact, InvestorFact, Origin};

/// What the events count; the figures of [`super::read`] are sums of these.
pub mod metric {
    /// 新增台商投资: verified US dollars, and how many funds.
    pub const USD_VERIFIED: &str = "usd_verified";
    pub const FUNDS_VERIFIED: &str = "funds_verified";
    pub const USD_PENDING: &str = "usd_pending";
    pub const USD_CONTRACTED: &str = "usd_contracted";
    pub const CONTRACTS: &str = "contracts";
    /// Projects with at least one verified fund counted.
    pub const PROJECTS_FUNDED: &str = "projects_funded";
    /// 台资企业数量: enterprises (a change in how many), those in several
    /// parks (zone only), and the investor rows behind them.
    pub const ENTERPRISES: &str = "enterprises";
    pub const ENTERPRISES_SEVERAL_PARKS: &str = "enterprises_several_parks";
    pub const ENTERPRISE_ROWS: &str = "enterprise_rows";
    /// 入驻台湾地区前百大企业: groups present, and their linked settled investors.
    pub const GROUPS: &str = "groups";
    pub const GROUP_MEMBERS: &str = "group_members";
    /// Taiwan-funded enterprises counted from the day they settled (the
    /// output ratio's rows with or without a figure).
    pub const SETTLED: &str = "settled";

    /// Third-place enterprises counted from their recognition, after they
    /// settled in `year`: they count for an output year from `year` on.
    pub fn recognised_after_settling(year: i32) -> String {
        format!("late:{year}")
    }

    pub fn output(year: i32) -> String {
        format!("output:{year}")
    }

    /// How many enterprises have a figure for `year`.
    pub fn figures(year: i32) -> String {
        format!("figures:{year}")
    }
}

/// One amount that counts, in one scope, from `on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "m")]
    pub metric: String,
    #[serde(rename = "s")]
    pub scope: String,
    #[serde(rename = "d")]
    pub on: NaiveDate,
    #[serde(rename = "a")]
    pub amount: i64,
}

/// Events summed by metric, scope and day, zeros left out.
#[derive(Debug, Default)]
struct Events(BTreeMap<(String, String, NaiveDate), i64>);

impl Events {
    fn add(&mut self, metric: &str, scope: &str, on: NaiveDate, amount: i64) {
        *self.0.entry((metric.to_owned(), scope.to_owned(), on)).or_default() += amount;
    }

    fn finish(self) -> Vec<Event> {
        self.0
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|((metric, scope, on), amount)| Event { metric, scope, on, amount })
            .collect()
    }
}

/// A fund of a project: its day, amount and whether it is verified (pending
/// otherwise; rejected ones are not read).
#[derive(Debug, Clone)]
pub struct UnitFund {
    pub received_on: NaiveDate,
    pub amount_usd: i64,
    pub verified: bool,
}

/// A live, credited project with what the investment target reads of it.
#[derive(Debug, Clone)]
pub struct ProjectUnit {
    pub id: String,
    pub park_code: String,
    /// (signed_on, contracted_investment_usd) when both are set.
    pub contract: Option<(NaiveDate, i64)>,
    pub funds: Vec<UnitFund>,
    /// The origins of its live Taiwan-origin investors.
    pub origins: Vec<Origin>,
}

/// The investment target's events of a project: a fund counts from the day
/// it was received and the project was Taiwanese (one of its investors
/// Taiwan-counted), when received within the period; a contract likewise.
pub fn project(p: &ProjectUnit, period: (NaiveDate, NaiveDate)) -> Vec<Event> {
    let Some(taiwanese_from) = p.origins.iter().filter_map(Origin::counted_from).min() else {
        return vec![];
    };
    let in_period = |on: NaiveDate| on >= period.0 && on <= period.1;
    let counts_from = |on: NaiveDate| on.max(taiwanese_from);
    let park = p.park_code.as_str();
    let mut out = Events::default();
    for fund in p.funds.iter().filter(|f| in_period(f.received_on)) {
        let on = counts_from(fund.received_on);
        if fund.verified {
            out.add(metric::USD_VERIFIED, park, on, fund.amount_usd);
            out.add(metric::FUNDS_VERIFIED, park, on, 1);
        } else {
            out.add(metric::USD_PENDING, park, on, fund.amount_usd);
        }
    }
    let first_verified = p.funds.iter().filter(|f| f.verified && in_period(f.received_on)).map(|f| f.received_on).min();
    if let Some(first) = first_verified {
        out.add(metric::PROJECTS_FUNDED, park, counts_from(first), 1);
    }
    if let Some((signed_on, amount)) = p.contract.filter(|(signed_on, _)| in_period(*signed_on)) {
        out.add(metric::USD_CONTRACTED, park, counts_from(signed_on), amount);
        out.add(metric::CONTRACTS, park, counts_from(signed_on), 1);
    }
    out.finish()
}

/// The day a settled company starts to count as a Taiwan-funded enterprise
/// (settled and Taiwan-counted), if it ever does.
pub fn enterprise_from(i: &InvestorFact) -> Option<NaiveDate> {
    i.is_company.then(|| i.origin.counted_from().map(|from| i.settled_on.max(from))).flatten()
}

/// The output ratio's events of one investor: it counts from
/// [`enterprise_from`]; its figure for a year counts when it settled by the
/// end of that year, and not before the year begins.
pub fn investor(i: &InvestorFact, figures: &[(i32, i64)]) -> Vec<Event> {
    let Some(from) = enterprise_from(i) else { return vec![] };
    let park = i.park_code.as_str();
    let mut out = Events::default();
    if from == i.settled_on {
        out.add(metric::SETTLED, park, from, 1);
    } else {
        out.add(&metric::recognised_after_settling(i.settled_on.year()), park, from, 1);
    }
    for &(year, value) in figures {
        let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) else {
            continue;
        };
        if i.settled_on <= last {
            out.add(&metric::output(year), park, from.max(first), value);
            out.add(&metric::figures(year), park, from.max(first), 1);
        }
    }
    out.finish()
}

/// The enterprise target's events of rows that are one enterprise or
/// several (connected by shared identities): in the zone and in each park,
/// on each day a row starts to count, how the number of enterprises (the
/// groups [`same_enterprise`] forms of the rows counting then), of those in
/// several parks, and of rows changed.
pub fn enterprises(rows: &[&InvestorFact]) -> Vec<Event> {
    let counting: Vec<(&InvestorFact, NaiveDate)> = rows.iter().filter_map(|r| enterprise_from(r).map(|from| (*r, from))).collect();
    let parks: BTreeSet<&str> = counting.iter().map(|(r, _)| r.park_code.as_str()).collect();
    let scopes = std::iter::once(Scope::Zone).chain(parks.into_iter().map(|p| Scope::Park(p.to_owned())));
    let mut out = Events::default();
    for scope in scopes {
        let in_scope: Vec<&(&InvestorFact, NaiveDate)> = counting.iter().filter(|(r, _)| scope.includes(&r.park_code)).collect();
        let days: BTreeSet<NaiveDate> = in_scope.iter().map(|(_, from)| *from).collect();
        let (mut before, mut before_several) = (0_i64, 0_i64);
        for day in days {
            let now: Vec<&InvestorFact> = in_scope.iter().filter(|(_, from)| *from <= day).map(|(r, _)| *r).collect();
            let groups = same_enterprise(&now);
            let several = groups.iter().filter(|g| g.iter().map(|r| &r.park_code).collect::<BTreeSet<_>>().len() > 1).count() as i64;
            let new_rows = in_scope.iter().filter(|(_, from)| *from == day).count() as i64;
            out.add(metric::ENTERPRISES, scope.name(), day, groups.len() as i64 - before);
            out.add(metric::ENTERPRISE_ROWS, scope.name(), day, new_rows);
            if scope == Scope::Zone {
                out.add(metric::ENTERPRISES_SEVERAL_PARKS, scope.name(), day, several - before_several);
            }
            (before, before_several) = (groups.len() as i64, several);
        }
    }
    out.finish()
}

/// The top-100 target's events: in the zone and in each park, a group
/// (one folded name, whatever the edition) counts from the day its first
/// linked member settled, and each member from the day it settled.
pub fn groups(linked: &[InvestorFact], groups: &HashMap<String, GroupFact>) -> Vec<Event> {
    let members: Vec<(&InvestorFact, &str)> = linked
        .iter()
        .filter_map(|i| i.top100_id.as_deref().and_then(|g| groups.get(g)).map(|g| (i, g.key.as_str())))
        .collect();
    let parks: BTreeSet<&str> = members.iter().map(|(i, _)| i.park_code.as_str()).collect();
    let scopes = std::iter::once(Scope::Zone).chain(parks.into_iter().map(|p| Scope::Park(p.to_owned())));
    let mut out = Events::default();
    for scope in scopes {
        let mut first: HashMap<&str, NaiveDate> = HashMap::new();
        for (member, key) in members.iter().filter(|(i, _)| scope.includes(&i.park_code)) {
            out.add(metric::GROUP_MEMBERS, scope.name(), member.settled_on, 1);
            let day = first.entry(key).or_insert(member.settled_on);
            *day = (*day).min(member.settled_on);
        }
        for day in first.into_values() {
            out.add(metric::GROUPS, scope.name(), day, 1);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::super::super::compute::tests::{d, investor};
    use super::*;

    fn row(id: &str, park: &str, name_key: &str, settled: &str) -> InvestorFact {
        investor(id, park, name_key, "taiwan", settled)
    }

    fn sum(events: &[Event], metric: &str, scope: &str, on: &str) -> i64 {
        events.iter().filter(|e| e.metric == metric && e.scope == scope && e.on <= d(on)).map(|e| e.amount).sum()
    }

    #[test]
    fn a_row_joining_two_enterprises_takes_one_away() {
        // a and b are two enterprises until c, sharing a's USCC and b's name, joins them.
        let mut a = row("a", "yueyang", "甲", "2022-01-01");
        a.unified_social_credit_code = Some("X".into());
        let b = row("b", "xiangtan", "乙", "2022-02-01");
        let mut c = row("c", "xiangtan", "乙", "2022-03-01");
        c.unified_social_credit_code = Some("X".into());
        let events = enterprises(&[&a, &b, &c]);
        assert_eq!(sum(&events, metric::ENTERPRISES, "zone", "2022-02-15"), 2);
        assert_eq!(sum(&events, metric::ENTERPRISES, "zone", "2022-03-01"), 1);
        assert_eq!(sum(&events, metric::ENTERPRISES_SEVERAL_PARKS, "zone", "2022-03-01"), 1);
        assert_eq!(sum(&events, metric::ENTERPRISES, "xiangtan", "2022-03-01"), 1, "b and c share a name");
        assert_eq!(sum(&events, metric::ENTERPRISE_ROWS, "zone", "2022-03-01"), 3);
    }

    #[test]
    fn a_fund_counts_from_when_its_project_turned_taiwanese() {
        let p = ProjectUnit {
            id: "p".into(),
            park_code: "yueyang".into(),
            contract: Some((d("2020-06-01"), 500)),
            funds: vec![
                UnitFund { received_on: d("2022-01-01"), amount_usd: 100, verified: true },
                UnitFund { received_on: d("2022-02-01"), amount_usd: 10, verified: false },
            ],
            origins: vec![Origin { origin: "third_place".into(), third_place_recognised_on: Some(d("2023-01-01")) }],
        };
        let events = project(&p, (d("2021-01-01"), d("2025-12-31")));
        assert_eq!(sum(&events, metric::USD_VERIFIED, "yueyang", "2022-12-31"), 0);
        assert_eq!(sum(&events, metric::USD_VERIFIED, "yueyang", "2023-01-01"), 100);
        assert_eq!(sum(&events, metric::USD_PENDING, "yueyang", "2023-01-01"), 10);
        assert_eq!(sum(&events, metric::USD_CONTRACTED, "yueyang", "2030-01-01"), 0, "signed before the period");
    }
}
