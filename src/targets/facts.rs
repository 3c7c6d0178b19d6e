//! The dated facts the targets are computed from, read in a few statements.
//! Every filter here only narrows what [`super::compute`] would reject
//! anyway (it checks each date again), so reading more never changes a
//! figure; it only costs time.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::{claims, funds, investor_figures, investors, parks, project_investors, projects_money, top100};
use crate::db::DbConnection;
use crate::error::ApiError;

/// The origins an investor can be Taiwan-counted by (third_place only once recognised).
pub const TAIWAN_ORIGINS: [&str; 3] = ["taiwan", "mainland_taiwan_funded", "third_place"];

#[derive(Debug, Clone, PartialEq)]
pub struct ParkFact {
    pub code: String,
    /// The official 2020 Taiwan-funded output, when the province set it.
    pub baseline_2020_cny: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundStatus {
    Pending,
    Verified,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FundFact {
    pub id: String,
    pub project_id: String,
    pub park_code: String,
    pub received_on: NaiveDate,
    pub amount_usd: i64,
    pub status: FundStatus,
    pub evidence: String,
    pub evidence_ref: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFact {
    pub name: String,
    pub park_code: String,
    /// Signed within the period with a contracted amount: (signed_on, amount).
    pub contract: Option<(NaiveDate, i64)>,
}

/// One origin fact of a project's investor: the project is Taiwanese from
/// the earliest date one of its investors is Taiwan-counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub origin: String,
    pub third_place_recognised_on: Option<NaiveDate>,
}

impl Origin {
    /// Is an investor of this origin Taiwan-counted on `on`?
    pub fn counted_on(&self, on: NaiveDate) -> bool {
        self.counted_from().is_some_and(|from| from <= on)
    }

    /// The first day an investor of this origin is Taiwan-counted, if ever
    /// (`NaiveDate::MIN` for an origin that always is).
    pub fn counted_from(&self) -> Option<NaiveDate> {
        match self.origin.as_str() {
            "taiwan" | "mainland_taiwan_funded" => Some(NaiveDate::MIN),
            "third_place" => self.third_place_recognised_on,
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvestorFact {
    pub id: String,
    pub park_code: String,
    pub name: String,
    pub is_company: bool,
    pub unified_social_credit_code: Option<String>,
    pub taiwan_business_id: Option<String>,
    pub name_key: String,
    pub origin: Origin,
    pub settled_on: NaiveDate,
    pub top100_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupFact {
    /// The folded group name: the same group in two editions of the list is one group.
    pub key: String,
    pub rank: i32,
    pub group_name: String,
    pub list_year: i32,
}

/// Everything the four targets read, up to one date.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub parks: Vec<ParkFact>,
    pub funds: Vec<FundFact>,
    pub projects: HashMap<String, ProjectFact>,
    /// The Taiwan-origin investors linked to each project of `projects`.
    pub project_origins: HashMap<String, Vec<Origin>>,
    /// Investors settled (status `settled`) with a date, of a Taiwan origin
    /// or linked to the top-100 list.
    pub investors: Vec<InvestorFact>,
    pub groups: HashMap<String, GroupFact>,
    /// (investor id, year) → output value in yuan.
    pub figures: HashMap<(String, i32), i64>,
}

/// Projects the claims rule keeps out of every target (首报首谈, DESIGN
/// "First claim"): "a project whose claim was rejected is not credited to
/// any target". Their funds and contracts leave every figure, item and
/// series at once (the partial index `claims_rejected` answers it).
pub(super) fn uncredited_projects(conn: &mut DbConnection) -> Result<HashSet<String>, ApiError> {
    let rejected: Vec<String> = claims::table
        .filter(claims::deleted_at.is_null())
        .filter(claims::status.eq("rejected"))
        .select(claims::project_id)
        .load(conn)?;
    Ok(rejected.into_iter().collect())
}

/// Reads the facts of the period up to `until` (funds and contracts), and
/// the settled investors, figures and groups up to `until`.
pub fn load(conn: &mut DbConnection, period: (NaiveDate, NaiveDate), until: NaiveDate) -> Result<Facts, ApiError> {
    let last = until.min(period.1);
    let excluded = uncredited_projects(conn)?;

    let parks: Vec<(String, Option<i64>)> =
        parks::table.order(parks::code).select((parks::code, parks::baseline_output_2020_cny)).load(conn)?;
    let parks = parks.into_iter().map(|(code, baseline_2020_cny)| ParkFact { code, baseline_2020_cny }).collect();

    // Every fund of the period that is not rejected, with its project's park
    // and name: one scan of funds joined to projects (no per-row subquery,
    // which planners turn quadratic at a million projects).
    type FundRow = (String, String, String, String, NaiveDate, i64, String, String, String);
    let fund_rows: Vec<FundRow> = funds::table
        .inner_join(projects_money::table)
        .filter(funds::deleted_at.is_null())
        .filter(projects_money::deleted_at.is_null())
        .filter(funds::status.ne("rejected")) // the predicate of the partial index funds_counted
        .filter(funds::received_on.ge(period.0))
        .filter(funds::received_on.le(last))
        .select((
            funds::id,
            funds::project_id,
            projects_money::name,
            projects_money::park_code,
            funds::received_on,
            funds::amount_usd,
            funds::status,
            funds::evidence,
            funds::evidence_ref,
        ))
        .load(conn)?;
    let mut projects: HashMap<String, ProjectFact> = HashMap::new();
    let mut funds = Vec::with_capacity(fund_rows.len());
    for (id, project_id, name, park_code, received_on, amount_usd, status, evidence, evidence_ref) in fund_rows {
        if excluded.contains(&project_id) {
            continue;
        }
        projects
            .entry(project_id.clone())
            .or_insert_with(|| ProjectFact { name, park_code: park_code.clone(), contract: None });
        funds.push(FundFact {
            status: if status == "verified" { FundStatus::Verified } else { FundStatus::Pending },
            id,
            project_id,
            park_code,
            received_on,
            amount_usd,
            evidence,
            evidence_ref,
        });
    }

    // Contracts signed in the period.
    type ContractRow = (String, String, String, Option<NaiveDate>, Option<i64>);
    let contract_rows: Vec<ContractRow> = projects_money::table
        .filter(projects_money::deleted_at.is_null())
        .filter(projects_money::contracted_investment_usd.is_not_null())
        .filter(projects_money::signed_on.ge(period.0))
        .filter(projects_money::signed_on.le(last))
        .select((
            projects_money::id,
            projects_money::name,
            projects_money::park_code,
            projects_money::signed_on,
            projects_money::contracted_investment_usd,
        ))
        .load(conn)?;
    for (id, name, park_code, signed_on, contracted) in contract_rows {
        if excluded.contains(&id) {
            continue;
        }
        let contract = signed_on.zip(contracted);
        projects.entry(id).or_insert_with(|| ProjectFact { name, park_code, contract: None }).contract = contract;
    }

    // The Taiwan-origin investors of those projects: one join of the links
    // with the investors, kept for the projects above.
    let links: Vec<(String, String, Option<NaiveDate>)> = project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(investors::deleted_at.is_null())
        .filter(investors::origin.eq_any(TAIWAN_ORIGINS))
        .select((project_investors::project_id, investors::origin, investors::third_place_recognised_on))
        .load(conn)?;
    let mut project_origins: HashMap<String, Vec<Origin>> = HashMap::new();
    for (project_id, origin, third_place_recognised_on) in links {
        if projects.contains_key(&project_id) {
            project_origins.entry(project_id).or_default().push(Origin { origin, third_place_recognised_on });
        }
    }

    let investors = settled_investors(conn, Some(until), Which::All)?;

    let groups = groups(conn)?;

    let figures = figures(conn, Some(until), None)?;

    Ok(Facts { parks, funds, projects, project_origins, investors, groups, figures })
}

/// Which settled investors to read.
pub enum Which<'a> {
    All,
    /// These ids.
    Ids(&'a [String]),
    /// Those sharing a USCC, 統一編號 or folded name with these.
    Sharing { uscc: &'a [String], ubn: &'a [String], names: &'a [String] },
    /// Those linked to the top-100 list.
    Linked,
}

/// The settled investors (status `settled`, with a date, by `until` when
/// given) of a Taiwan origin or linked to the top-100 list, by id.
pub fn settled_investors(conn: &mut DbConnection, until: Option<NaiveDate>, which: Which<'_>) -> Result<Vec<InvestorFact>, ApiError> {
    type InvestorRow = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<String>,
    );
    let mut query = investors::table
        .filter(investors::deleted_at.is_null())
        .filter(investors::status.eq("settled"))
        .filter(investors::settled_on.is_not_null())
        .filter(investors::origin.eq_any(TAIWAN_ORIGINS).or(investors::top100_id.is_not_null()))
        .into_boxed();
    if let Some(until) = until {
        query = query.filter(investors::settled_on.le(until));
    }
    query = match which {
        Which::All => query,
        Which::Ids(ids) => query.filter(investors::id.eq_any(ids)),
        Which::Sharing { uscc, ubn, names } => query.filter(
            investors::unified_social_credit_code
                .eq_any(uscc)
                .or(investors::taiwan_business_id.eq_any(ubn))
                .or(investors::name_key.eq_any(names)),
        ),
        Which::Linked => query.filter(investors::top100_id.is_not_null()),
    };
    let rows: Vec<InvestorRow> = query
        .select((
            investors::id,
            investors::park_code,
            investors::name,
            investors::kind,
            investors::unified_social_credit_code,
            investors::taiwan_business_id,
            investors::name_key,
            investors::origin,
            investors::third_place_recognised_on,
            investors::settled_on,
            investors::top100_id,
        ))
        .order(investors::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, park_code, name, kind, uscc, ubn, name_key, origin, recognised, settled_on, top100_id)| {
            Some(InvestorFact {
                settled_on: settled_on?,
                id,
                park_code,
                name,
                is_company: kind == "company",
                unified_social_credit_code: uscc,
                taiwan_business_id: ubn,
                name_key,
                origin: Origin { origin, third_place_recognised_on: recognised },
                top100_id,
            })
        })
        .collect())
}

/// The live groups of the top-100 list, by id.
pub fn groups(conn: &mut DbConnection) -> Result<HashMap<String, GroupFact>, ApiError> {
    let group_rows: Vec<(String, i32, String, i32)> = top100::table
        .filter(top100::deleted_at.is_null())
        .select((top100::id, top100::rank, top100::group_name, top100::list_year))
        .load(conn)?;
    Ok(group_rows
        .into_iter()
        .map(|(id, rank, group_name, list_year)| {
            let key = crate::investors::name_key(&group_name);
            (id, GroupFact { key, rank, group_name, list_year })
        })
        .collect())
}

/// The output figures of settled Taiwan-origin companies (settled by
/// `until` and of its year or before, when given; of `ids` when given).
pub fn figures(
    conn: &mut DbConnection,
    until: Option<NaiveDate>,
    ids: Option<&[String]>,
) -> Result<HashMap<(String, i32), i64>, ApiError> {
    let mut query = investor_figures::table
        .inner_join(investors::table)
        .filter(investors::deleted_at.is_null())
        .filter(investors::status.eq("settled"))
        .filter(investors::settled_on.is_not_null())
        .filter(investors::origin.eq_any(TAIWAN_ORIGINS))
        .filter(investors::kind.eq("company"))
        .into_boxed();
    if let Some(until) = until {
        query = query
            .filter(investors::settled_on.le(until))
            .filter(investor_figures::year.le(chrono::Datelike::year(&until)));
    }
    if let Some(ids) = ids {
        query = query.filter(investor_figures::investor_id.eq_any(ids));
    }
    let rows: Vec<(String, i32, i64)> = query
        .select((investor_figures::investor_id, investor_figures::year, investor_figures::output_value_cny))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, year, value)| ((id, year), value)).collect())
}
