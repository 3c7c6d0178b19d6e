//! The crediting rules, as one pure function of the facts: for a target, a
//! date and a scope it gives the rows counted, each with its contribution,
//! and the value — which is the sum of those contributions and nothing else.
//! `/targets`, `/targets/{key}/items` and `/targets/{key}/series` all read
//! this one computation, so a figure can always be rebuilt from its rows.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::facts::{Facts, FundStatus, InvestorFact};
use super::TargetKey;

/// Whose figures: the whole zone, or one park.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Zone,
    Park(String),
}

impl Scope {
    pub(super) fn includes(&self, park: &str) -> bool {
        match self {
            Self::Zone => true,
            Self::Park(own) => own == park,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Zone => "zone",
            Self::Park(code) => code,
        }
    }
}

/// A number as JSON shows it: whole numbers without a fraction.
pub fn number<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        s.serialize_i64(*value as i64)
    } else {
        s.serialize_f64(*value)
    }
}

pub fn optional_number<S: serde::Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => number(v, s),
        None => s.serialize_none(),
    }
}

/// A verified fund counted in `new_taiwan_investment_usd`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundItem {
    pub fund_id: String,
    pub project_id: String,
    pub project_name: String,
    pub park_code: String,
    pub received_on: NaiveDate,
    pub amount_usd: i64,
    pub evidence: String,
    pub evidence_ref: String,
    /// US dollars credited: the whole amount.
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub contribution: f64,
}

/// An investor row behind an enterprise or a group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvestorRef {
    pub investor_id: String,
    pub park_code: String,
    pub name: String,
    pub origin: String,
    pub third_place_recognised_on: Option<NaiveDate>,
    pub settled_on: NaiveDate,
    pub unified_social_credit_code: Option<String>,
    pub taiwan_business_id: Option<String>,
}

/// One enterprise counted in `taiwan_funded_enterprises`: one or more
/// investor rows sharing a USCC, 統一編號 or folded name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnterpriseItem {
    /// What joins its rows: `uscc:…`, `ubn:…` or `name:…` (of its first row).
    pub identity: String,
    pub name: String,
    pub parks: Vec<String>,
    /// The first date it counts: a row settled and Taiwan-counted.
    pub counted_from: NaiveDate,
    pub investors: Vec<InvestorRef>,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub contribution: f64,
}

/// One top-100 group counted in `taiwan_top100_present`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupItem {
    pub top100_id: String,
    pub rank: i32,
    pub group_name: String,
    pub list_year: i32,
    pub parks: Vec<String>,
    /// The linked, settled investors (in the scope) that make it present.
    pub members: Vec<InvestorRef>,
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub contribution: f64,
}

/// One enterprise's output in `taiwan_funded_output_ratio`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutputItem {
    pub investor_id: String,
    pub name: String,
    pub park_code: String,
    pub year: i32,
    pub output_value_cny: i64,
    /// `output_value_cny` ÷ the scope's 2020 baseline.
    #[serde(serialize_with = "number")]
    #[schema(value_type = f64)]
    pub contribution: f64,
}

/// An enterprise settled by the end of the year without a figure for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MissingFigure {
    pub investor_id: String,
    pub name: String,
    pub park_code: String,
    pub settled_on: NaiveDate,
}

/// The rows counted, by target.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Items {
    Funds(Vec<FundItem>),
    Enterprises(Vec<EnterpriseItem>),
    Groups(Vec<GroupItem>),
    Outputs(Vec<OutputItem>),
}

/// Documented as `anyOf`, not the `oneOf` an untagged enum derives: an
/// empty list is a list of any of the four kinds, and `oneOf` would call it
/// ambiguous.
impl utoipa::PartialSchema for Items {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder};
        use utoipa::openapi::Ref;
        let list = |name: &str| ArrayBuilder::new().items(Ref::from_schema_name(name)).build();
        AnyOfBuilder::new()
            .item(list("FundItem"))
            .item(list("EnterpriseItem"))
            .item(list("GroupItem"))
            .item(list("OutputItem"))
            .description(Some("The rows counted: funds, enterprises, top-100 groups or output figures, by target"))
            .into()
    }
}

impl ToSchema for Items {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        for (name, schema) in [
            ("FundItem", <FundItem as utoipa::PartialSchema>::schema()),
            ("EnterpriseItem", <EnterpriseItem as utoipa::PartialSchema>::schema()),
            ("GroupItem", <GroupItem as utoipa::PartialSchema>::schema()),
            ("OutputItem", <OutputItem as utoipa::PartialSchema>::schema()),
        ] {
            schemas.push((name.to_owned(), schema));
        }
        // And what they refer to in turn.
        <FundItem as ToSchema>::schemas(schemas);
        <EnterpriseItem as ToSchema>::schemas(schemas);
        <GroupItem as ToSchema>::schemas(schemas);
        <OutputItem as ToSchema>::schemas(schemas);
    }
}

impl Items {
    fn contributions(&self) -> Vec<f64> {
        match self {
            Self::Funds(v) => v.iter().map(|i| i.contribution).collect(),
            Self::Enterprises(v) => v.iter().map(|i| i.contribution).collect(),
            Self::Groups(v) => v.iter().map(|i| i.contribution).collect(),
            Self::Outputs(v) => v.iter().map(|i| i.contribution).collect(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Funds(v) => v.len(),
            Self::Enterprises(v) => v.len(),
            Self::Groups(v) => v.len(),
            Self::Outputs(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `limit` items from `offset` on (the order is the computation's own).
    pub fn window(self, offset: usize, limit: usize) -> Self {
        fn cut<T>(v: Vec<T>, offset: usize, limit: usize) -> Vec<T> {
            v.into_iter().skip(offset).take(limit).collect()
        }
        match self {
            Self::Funds(v) => Self::Funds(cut(v, offset, limit)),
            Self::Enterprises(v) => Self::Enterprises(cut(v, offset, limit)),
            Self::Groups(v) => Self::Groups(cut(v, offset, limit)),
            Self::Outputs(v) => Self::Outputs(cut(v, offset, limit)),
        }
    }
}

/// One target for one date and scope.
#[derive(Debug, Clone)]
pub struct Computation {
    /// The sum of the items' contributions, in their order (for the output
    /// ratio: [`ratio`] of the sums, which they add up to within rounding).
    pub value: f64,
    pub items: Items,
    pub detail: Value,
    /// Only for the output ratio: enterprises without a figure for the year.
    pub missing: Vec<MissingFigure>,
}

impl Computation {
    fn of(items: Items, detail: Value) -> Self {
        let value = items.contributions().iter().sum();
        Self { value, items, detail, missing: vec![] }
    }
}

/// The output ratio: the year's output over the 2020 baseline, both whole
/// yuan. The items' contributions (each output over the same baseline) add
/// up to it within floating-point rounding.
pub fn ratio(output_cny: i64, baseline_cny: i64) -> f64 {
    if baseline_cny > 0 { output_cny as f64 / baseline_cny as f64 } else { 0.0 }
}

/// The question being asked.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub as_of: NaiveDate,
    pub period: (NaiveDate, NaiveDate),
    /// The output year (output ratio only).
    pub year: i32,
}

/// The default output year of a date: the last complete year.
pub fn default_year(as_of: NaiveDate) -> i32 {
    as_of.year() - 1
}

pub fn compute(facts: &Facts, key: TargetKey, q: Question, scope: &Scope) -> Computation {
    match key {
        TargetKey::NewTaiwanInvestmentUsd => investment(facts, q, scope),
        TargetKey::TaiwanFundedEnterprises => enterprises(facts, q, scope),
        TargetKey::TaiwanTop100Present => top100(facts, q, scope),
        TargetKey::TaiwanFundedOutputRatio => output_ratio(facts, q, scope),
    }
}

/// Is the project Taiwanese on `on`: one of its investors Taiwan-counted then?
fn taiwanese(facts: &Facts, project_id: &str, on: NaiveDate) -> bool {
    facts.project_origins.get(project_id).is_some_and(|origins| origins.iter().any(|o| o.counted_on(on)))
}

fn investment(facts: &Facts, q: Question, scope: &Scope) -> Computation {
    let last = q.as_of.min(q.period.1);
    let in_period = |on: NaiveDate| on >= q.period.0 && on <= last;
    let credited = |project_id: &str, park: &str| scope.includes(park) && taiwanese(facts, project_id, q.as_of);
    let mut pending_usd: i64 = 0;
    let mut items = Vec::new();
    for fund in facts.funds.iter().filter(|f| in_period(f.received_on) && credited(&f.project_id, &f.park_code)) {
        match fund.status {
            FundStatus::Pending => pending_usd += fund.amount_usd,
            FundStatus::Verified => items.push(FundItem {
                fund_id: fund.id.clone(),
                project_id: fund.project_id.clone(),
                project_name: facts.projects.get(&fund.project_id).map(|p| p.name.clone()).unwrap_or_default(),
                park_code: fund.park_code.clone(),
                received_on: fund.received_on,
                amount_usd: fund.amount_usd,
                evidence: fund.evidence.clone(),
                evidence_ref: fund.evidence_ref.clone(),
                contribution: fund.amount_usd as f64,
            }),
        }
    }
    let mut contracted_usd: i64 = 0;
    let mut contracted_projects = 0;
    for (id, project) in &facts.projects {
        if let Some((signed_on, amount)) = project.contract {
            if in_period(signed_on) && credited(id, &project.park_code) {
                contracted_usd += amount;
                contracted_projects += 1;
            }
        }
    }
    items.sort_by(|a, b| (a.received_on, &a.fund_id).cmp(&(b.received_on, &b.fund_id)));
    let projects: BTreeSet<&str> = items.iter().map(|i| i.project_id.as_str()).collect();
    let detail = json!({
        "contracted_usd": contracted_usd,
        "contracted_projects": contracted_projects,
        "pending_usd": pending_usd,
        "verified_funds": items.len(),
        "projects": projects.len(),
    });
    Computation::of(Items::Funds(items), detail)
}

fn investor_ref(i: &InvestorFact) -> InvestorRef {
    InvestorRef {
        investor_id: i.id.clone(),
        park_code: i.park_code.clone(),
        name: i.name.clone(),
        origin: i.origin.origin.clone(),
        third_place_recognised_on: i.origin.third_place_recognised_on,
        settled_on: i.settled_on,
        unified_social_credit_code: i.unified_social_credit_code.clone(),
        taiwan_business_id: i.taiwan_business_id.clone(),
    }
}

/// A Taiwan-funded enterprise on `on`: a company, settled by then, Taiwan-counted then.
fn enterprise_on(i: &InvestorFact, on: NaiveDate) -> bool {
    i.is_company && i.settled_on <= on && i.origin.counted_on(on)
}

/// Groups rows that are one enterprise: any shared USCC, 統一編號 or folded
/// name joins two rows (and, through them, their other rows).
pub(super) fn same_enterprise<'a>(rows: &[&'a InvestorFact]) -> Vec<Vec<&'a InvestorFact>> {
    let mut parent: Vec<usize> = (0..rows.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let keys = [
            row.unified_social_credit_code.as_ref().map(|k| format!("uscc:{k}")),
            row.taiwan_business_id.as_ref().map(|k| format!("ubn:{k}")),
            Some(row.name_key.clone()).filter(|k| !k.is_empty()).map(|k| format!("name:{k}")),
        ];
        for key in keys.into_iter().flatten() {
            match first_with.get(&key) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    first_with.insert(key, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<&InvestorFact>> = Vec::new();
    let mut index_of_root: HashMap<usize, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let r = root(&mut parent, i);
        let at = *index_of_root.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(*row);
    }
    groups
}

fn enterprises(facts: &Facts, q: Question, scope: &Scope) -> Computation {
    let rows: Vec<&InvestorFact> =
        facts.investors.iter().filter(|i| scope.includes(&i.park_code) && enterprise_on(i, q.as_of)).collect();
    let mut items: Vec<EnterpriseItem> = same_enterprise(&rows)
        .into_iter()
        .filter_map(|members| {
            let first = *members.first()?;
            let identity = if let Some(k) = members.iter().find_map(|m| m.unified_social_credit_code.as_ref()) {
                format!("uscc:{k}")
            } else if let Some(k) = members.iter().find_map(|m| m.taiwan_business_id.as_ref()) {
                format!("ubn:{k}")
            } else {
                format!("name:{}", first.name_key)
            };
            let counted_from = members
                .iter()
                .map(|m| m.settled_on.max(m.origin.third_place_recognised_on.unwrap_or(m.settled_on)))
                .min()
                .unwrap_or(first.settled_on);
            let parks: BTreeSet<String> = members.iter().map(|m| m.park_code.clone()).collect();
            Some(EnterpriseItem {
                identity,
                name: first.name.clone(),
                parks: parks.into_iter().collect(),
                counted_from,
                investors: members.iter().map(|m| investor_ref(m)).collect(),
                contribution: 1.0,
            })
        })
        .collect();
    items.sort_by(|a, b| a.counted_from.cmp(&b.counted_from).then_with(|| a.identity.cmp(&b.identity)));
    let several = items.iter().filter(|i| i.parks.len() > 1).count();
    let detail = match scope {
        Scope::Zone => json!({"investor_rows": rows.len(), "counted_in_several_parks": several}),
        Scope::Park(_) => json!({"investor_rows": rows.len()}),
    };
    Computation::of(Items::Enterprises(items), detail)
}

fn top100(facts: &Facts, q: Question, scope: &Scope) -> Computation {
    // Members by group, a group being its folded name: the same group listed
    // in two editions of the list is still one group.
    let mut by_group: HashMap<&str, Vec<&InvestorFact>> = HashMap::new();
    for i in facts.investors.iter().filter(|i| scope.includes(&i.park_code) && i.settled_on <= q.as_of) {
        if let Some(group) = i.top100_id.as_deref().and_then(|g| facts.groups.get(g)) {
            by_group.entry(group.key.as_str()).or_default().push(i);
        }
    }
    let mut items: Vec<GroupItem> = by_group
        .into_values()
        .filter_map(|members| {
            // The newest edition's row names the group.
            let (id, group) = members
                .iter()
                .filter_map(|m| m.top100_id.as_deref().and_then(|g| facts.groups.get_key_value(g)))
                .max_by(|(ia, a), (ib, b)| (a.list_year, ib).cmp(&(b.list_year, ia)))?;
            let parks: BTreeSet<String> = members.iter().map(|m| m.park_code.clone()).collect();
            Some(GroupItem {
                top100_id: id.clone(),
                rank: group.rank,
                group_name: group.group_name.clone(),
                list_year: group.list_year,
                parks: parks.into_iter().collect(),
                members: members.iter().map(|m| investor_ref(m)).collect(),
                contribution: 1.0,
            })
        })
        .collect();
    items.sort_by(|a, b| (b.list_year, a.rank, &a.top100_id).cmp(&(a.list_year, b.rank, &b.top100_id)));
    let members: usize = items.iter().map(|g| g.members.len()).sum();
    let detail = json!({"linked_settled_investors": members});
    Computation::of(Items::Groups(items), detail)
}

/// The output in `year` of the scope's Taiwan-funded enterprises settled by
/// the end of that year (and by `as_of`), and those without a figure.
fn outputs<'a>(facts: &'a Facts, q: Question, scope: &Scope, year: i32) -> (Vec<(&'a InvestorFact, i64)>, Vec<MissingFigure>) {
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(q.as_of);
    let by = q.as_of.min(year_end);
    let mut counted = Vec::new();
    let mut missing = Vec::new();
    for i in facts.investors.iter().filter(|i| scope.includes(&i.park_code)) {
        // Settled by then, and Taiwan-counted on the day asked about.
        if !(i.is_company && i.settled_on <= by && i.origin.counted_on(q.as_of)) {
            continue;
        }
        match facts.figures.get(&(i.id.clone(), year)) {
            Some(value) => counted.push((i, *value)),
            None => missing.push(MissingFigure {
                investor_id: i.id.clone(),
                name: i.name.clone(),
                park_code: i.park_code.clone(),
                settled_on: i.settled_on,
            }),
        }
    }
    (counted, missing)
}

pub const BASELINE_YEAR: i32 = 2020;

fn output_ratio(facts: &Facts, q: Question, scope: &Scope) -> Computation {
    // The baseline: each park's official 2020 figure where set, else the
    // registry's own 2020 figures of its enterprises (the same rule as the
    // year's output, applied to 2020).
    let mut baseline_cny: i64 = 0;
    let mut baselines = Vec::new();
    for park in facts.parks.iter().filter(|p| scope.includes(&p.code)) {
        let (value, source) = match park.baseline_2020_cny {
            Some(official) => (official, "official"),
            None => {
                let (rows, _) = outputs(facts, q, &Scope::Park(park.code.clone()), BASELINE_YEAR);
                (rows.iter().map(|(_, v)| v).sum(), "registry")
            }
        };
        baseline_cny += value;
        baselines.push(json!({"park_code": park.code, "baseline_cny": value, "source": source}));
    }
    let (rows, missing) = outputs(facts, q, scope, q.year);
    let output_cny: i64 = rows.iter().map(|(_, v)| v).sum();
    let mut items: Vec<OutputItem> = rows
        .into_iter()
        .map(|(i, value)| OutputItem {
            investor_id: i.id.clone(),
            name: i.name.clone(),
            park_code: i.park_code.clone(),
            year: q.year,
            output_value_cny: value,
            contribution: ratio(value, baseline_cny),
        })
        .collect();
    items.sort_by(|a, b| (&a.park_code, &a.investor_id).cmp(&(&b.park_code, &b.investor_id)));
    let detail = json!({
        "year": q.year,
        "output_cny": output_cny,
        "baseline_cny": baseline_cny,
        "baseline_year": BASELINE_YEAR,
        "baselines": baselines,
        "missing_figures": missing.len(),
    });
    let value = ratio(output_cny, baseline_cny);
    Computation { value, items: Items::Outputs(items), detail, missing }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::facts::{FundFact, GroupFact, Origin, ParkFact, ProjectFact};
    use super::*;

    pub(in crate::targets) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    /// A settled company of `origin`, known by its folded name only.
    pub(in crate::targets) fn investor(id: &str, park: &str, name_key: &str, origin: &str, settled: &str) -> InvestorFact {
        InvestorFact {
            id: id.into(),
            park_code: park.into(),
            name: name_key.into(),
            is_company: true,
            unified_social_credit_code: None,
            taiwan_business_id: None,
            name_key: name_key.into(),
            origin: Origin { origin: origin.into(), third_place_recognised_on: None },
            settled_on: d(settled),
            top100_id: None,
        }
    }

    fn question(as_of: &str) -> Question {
        Question { as_of: d(as_of), period: (d("2021-01-01"), d("2025-12-31")), year: default_year(d(as_of)) }
    }

    #[test]
    fn one_enterprise_in_two_parks_counts_once_in_the_zone() {
        let mut a = investor("a", "yueyang", "华芯", "taiwan", "2022-01-01");
        let mut b = investor("b", "xiangtan", "华芯电子", "taiwan", "2023-01-01");
        a.taiwan_business_id = Some("16480894".into());
        b.taiwan_business_id = Some("16480894".into());
        let c = investor("c", "xiangtan", "华芯电子", "taiwan", "2023-02-01");
        let facts = Facts { investors: vec![a, b, c], ..Facts::default() };
        let zone = compute(&facts, TargetKey::TaiwanFundedEnterprises, question("2024-01-01"), &Scope::Zone);
        assert_eq!(zone.value, 1.0, "a~b by 統一編號, b~c by name");
        assert_eq!(zone.detail["counted_in_several_parks"], 1);
        let xt = compute(&facts, TargetKey::TaiwanFundedEnterprises, question("2024-01-01"), &Scope::Park("xiangtan".into()));
        assert_eq!(xt.value, 1.0);
        let yy = compute(&facts, TargetKey::TaiwanFundedEnterprises, question("2024-01-01"), &Scope::Park("yueyang".into()));
        assert_eq!(yy.value, 1.0);
    }

    #[test]
    fn third_place_counts_from_recognition() {
        let mut a = investor("a", "yueyang", "bvi", "third_place", "2022-01-01");
        a.origin.third_place_recognised_on = Some(d("2023-06-01"));
        let facts = Facts { investors: vec![a], ..Facts::default() };
        let on = |s| compute(&facts, TargetKey::TaiwanFundedEnterprises, question(s), &Scope::Zone).value;
        assert_eq!(on("2023-05-31"), 0.0);
        assert_eq!(on("2023-06-01"), 1.0);
    }

    #[test]
    fn only_verified_funds_of_taiwanese_projects_in_the_period_count() {
        let fund = |id: &str, project: &str, on: &str, status| FundFact {
            id: id.into(),
            project_id: project.into(),
            park_code: "yueyang".into(),
            received_on: d(on),
            amount_usd: 100,
            status,
            evidence: "bank_receipt".into(),
            evidence_ref: "x".into(),
        };
        let project = ProjectFact { name: "p".into(), park_code: "yueyang".into(), contract: Some((d("2022-01-01"), 1000)) };
        let facts = Facts {
            funds: vec![
                fund("1", "tw", "2022-02-01", FundStatus::Verified),
                fund("2", "tw", "2022-03-01", FundStatus::Pending),
                fund("3", "other", "2022-02-01", FundStatus::Verified),
                fund("4", "tw", "2024-05-02", FundStatus::Verified),
            ],
            projects: [("tw".to_owned(), project.clone()), ("other".to_owned(), project)].into_iter().collect(),
            project_origins: [
                ("tw".to_owned(), vec![Origin { origin: "taiwan".into(), third_place_recognised_on: None }]),
                ("other".to_owned(), vec![Origin { origin: "third_place".into(), third_place_recognised_on: None }]),
            ]
            .into_iter()
            .collect(),
            ..Facts::default()
        };
        let c = compute(&facts, TargetKey::NewTaiwanInvestmentUsd, question("2024-05-01"), &Scope::Zone);
        assert_eq!(c.value, 100.0);
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.detail["pending_usd"], 100);
        assert_eq!(c.detail["contracted_usd"], 1000);
        let next = compute(&facts, TargetKey::NewTaiwanInvestmentUsd, question("2024-05-02"), &Scope::Zone);
        assert_eq!(next.value - c.value, 100.0, "the fund dated that day");
    }

    #[test]
    fn a_group_counts_once_and_the_ratio_adds_up() {
        let mut a = investor("a", "yueyang", "a", "taiwan", "2020-01-01");
        let mut b = investor("b", "xiangtan", "b", "taiwan", "2020-01-01");
        a.top100_id = Some("g".into());
        b.top100_id = Some("g".into());
        let facts = Facts {
            parks: vec![
                ParkFact { code: "xiangtan".into(), baseline_2020_cny: None },
                ParkFact { code: "yueyang".into(), baseline_2020_cny: Some(300) },
            ],
            investors: vec![a, b],
            groups: [("g".to_owned(), GroupFact { key: "g".into(), rank: 1, group_name: "g".into(), list_year: 2024 })].into_iter().collect(),
            figures: [(("a".to_owned(), 2023), 500), (("b".to_owned(), 2020), 100), (("b".to_owned(), 2023), 300)]
                .into_iter()
                .collect(),
            ..Facts::default()
        };
        let g = compute(&facts, TargetKey::TaiwanTop100Present, question("2024-01-01"), &Scope::Zone);
        assert_eq!(g.value, 1.0);
        let r = compute(&facts, TargetKey::TaiwanFundedOutputRatio, question("2024-01-01"), &Scope::Zone);
        assert_eq!(r.detail["baseline_cny"], 400, "yueyang official 300 + xiangtan registry 100");
        assert_eq!(r.detail["output_cny"], 800);
        assert!((r.value - 2.0).abs() < 1e-12);
        let sum: f64 = r.items.contributions().iter().sum();
        assert!((sum - r.value).abs() < 1e-12);
    }
}
