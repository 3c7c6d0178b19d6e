//! `GET /stats/{library}`: the rows a list would show, counted (and their
//! money summed, for projects) per combination of the asked dimensions.
//!
//! The statistic is the list's own filtered query, read as a subquery of a
//! `GROUP BY` over the asked columns ([`GroupedBy`]): diesel cannot add a
//! `GROUP BY` to a boxed query (the list's), so the statement is a small
//! query node of its own around it. (It was `DISTINCT` over window
//! aggregates, which sorted every matching row and ran the window over each:
//! 152 ms for 100k projects against 64 ms grouped, bench/RESULTS.md, the
//! peer grid.) The keys are SQL fragments in fixed places (five text keys
//! and the year, `NULL` for a key not asked), so one row type serves every
//! combination.

use std::collections::HashMap;

use diesel::backend::Backend as DieselBackend;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::dimension::{Dimension, Library};
use crate::auth::ParkScope;
use crate::db::schema::parks;
use crate::db::{backend_of, Backend, DbConnection};
use crate::error::ApiError;
use crate::investors::{queries::InvestorFilter, Investor};
use crate::projects::{ListFilter, Project};
use crate::records;
use crate::talents::{queries::TalentFilter, Talent};

/// Statistics of one library: a group for each combination of the
/// `group_by` values that has rows, and the total over them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// The dimensions asked, in the order asked.
    pub group_by: Vec<Dimension>,
    /// Groups in the order of their keys (absent values first).
    pub groups: Vec<Group>,
    pub total: Figures,
}

/// The rows of one combination of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    /// Each asked dimension with the group's value: a stored code (`null`
    /// when the record leaves it empty), the year as a number.
    #[schema(value_type = Object, example = json!({"park": "yueyang", "stage": "signed"}))]
    pub key: Map<String, Value>,
    /// The Chinese label of each key that has one: a vocabulary value's
    /// label, a park's name.
    #[schema(value_type = Object, example = json!({"park": "岳阳产业园（湖南城陵矶新港区）", "stage": "签约"}))]
    pub labels: Map<String, Value>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Counts and, for projects, money in whole US dollars (as the lists and
/// `/targets` give it): planned, contracted, and funds in place (the
/// verified funds, `actual_investment_usd`). An empty amount adds nothing.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_usd: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contracted_usd: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_place_usd: Option<i64>,
}

/// A grouped row: the text keys, the year, the count and three sums.
type Row = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The statement's variable parts, worked out from the asked dimensions:
/// what each matching row gives the groups.
struct Plan {
    /// The five text keys and the year, then the three amounts, each `AS`
    /// the name the grouping reads it by.
    row_columns: [String; 9],
}

/// The names [`Plan::row_columns`] gives the five text keys and the year,
/// which the grouping reads and groups by.
const KEYS: [&str; 6] = ["k1", "k2", "k3", "k4", "k5", "year_key"];
/// The counting and sums over the amounts `Plan::row_columns` names
/// `planned`, `contracted` and `in_place`. SUM of bigint is numeric on
/// PostgreSQL: cast back to what both backends read.
const FIGURES: &str =
    "COUNT(*), CAST(SUM(planned) AS BIGINT), CAST(SUM(contracted) AS BIGINT), CAST(SUM(in_place) AS BIGINT)";

impl Plan {
    fn new(library: Library, dimensions: &[Dimension], backend: Backend) -> Self {
        let columns: Vec<&str> = dimensions.iter().filter_map(|d| d.column()).collect();
        debug_assert!(columns.len() < KEYS.len(), "more text dimensions than keys");
        let text_key = |i: usize| format!("{} AS {}", columns.get(i).copied().unwrap_or("CAST(NULL AS TEXT)"), KEYS[i]);
        let year = if dimensions.contains(&Dimension::Year) { library.year_sql(backend) } else { "CAST(NULL AS INTEGER)" };
        let amount = |column: &str, name: &str| match library {
            Library::Projects => format!("{column} AS {name}"),
            _ => format!("CAST(NULL AS BIGINT) AS {name}"),
        };
        let row_columns = [
            text_key(0),
            text_key(1),
            text_key(2),
            text_key(3),
            text_key(4),
            format!("{year} AS {}", KEYS[5]),
            amount("planned_investment_usd", "planned"),
            amount("contracted_investment_usd", "contracted"),
            amount("actual_investment_usd", "in_place"),
        ];
        Self { row_columns }
    }
}

/// `SELECT keys, COUNT(*), sums FROM (rows) AS matching GROUP BY keys`,
/// `rows` being a list's boxed query selecting [`Plan::row_columns`].
struct GroupedBy<Q> {
    rows: Q,
}

impl<Q> QueryId for GroupedBy<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for GroupedBy<Q> {
    type SqlType = (
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Integer>,
        BigInt,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<BigInt>,
    );
}

impl<DB: DieselBackend, Q: QueryFragment<DB>> QueryFragment<DB> for GroupedBy<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let keys = || KEYS.join(", ");
        out.push_sql(&format!("SELECT {}, {FIGURES} FROM (", keys()));
        self.rows.walk_ast(out.reborrow())?;
        out.push_sql(&format!(") AS matching GROUP BY {}", keys()));
        Ok(())
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for GroupedBy<Q> {}

/// Loads one row per combination of keys from `$matching`, a list's boxed query.
macro_rules! grouped_rows {
    ($conn:expr, $matching:expr, $plan:expr) => {{
        let plan: &Plan = $plan;
        let [k1, k2, k3, k4, k5, year, planned, contracted, in_place] = &plan.row_columns;
        let select = (
            sql::<Nullable<Text>>(k1),
            sql::<Nullable<Text>>(k2),
            sql::<Nullable<Text>>(k3),
            sql::<Nullable<Text>>(k4),
            sql::<Nullable<Text>>(k5),
            sql::<Nullable<Integer>>(year),
            sql::<Nullable<BigInt>>(planned),
            sql::<Nullable<BigInt>>(contracted),
            sql::<Nullable<BigInt>>(in_place),
        );
        GroupedBy { rows: $matching.select(select) }.load::<Row>($conn)?
    }};
}

pub fn projects(conn: &mut DbConnection, scope: &ParkScope, filter: ListFilter, dimensions: Vec<Dimension>) -> Result<Stats, ApiError> {
    let plan = Plan::new(Library::Projects, &dimensions, backend_of(conn));
    let matching = records::matching::<Project>(conn, scope, &filter);
    let rows = grouped_rows!(conn, matching, &plan);
    assemble(conn, Library::Projects, dimensions, rows)
}

pub fn investors(conn: &mut DbConnection, scope: &ParkScope, filter: InvestorFilter, dimensions: Vec<Dimension>) -> Result<Stats, ApiError> {
    let plan = Plan::new(Library::Investors, &dimensions, backend_of(conn));
    let rows = grouped_rows!(conn, records::matching::<Investor>(conn, scope, &filter), &plan);
    assemble(conn, Library::Investors, dimensions, rows)
}

pub fn talents(conn: &mut DbConnection, scope: &ParkScope, filter: TalentFilter, dimensions: Vec<Dimension>) -> Result<Stats, ApiError> {
    let plan = Plan::new(Library::Talents, &dimensions, backend_of(conn));
    let rows = grouped_rows!(conn, records::matching::<Talent>(conn, scope, &filter), &plan);
    assemble(conn, Library::Talents, dimensions, rows)
}

/// Rows into groups keyed and labelled by dimension name, in key order, and their total.
fn assemble(conn: &mut DbConnection, library: Library, dimensions: Vec<Dimension>, mut rows: Vec<Row>) -> Result<Stats, ApiError> {
    rows.sort_by(|a, b| (&a.0, &a.1, &a.2, &a.3, &a.4, a.5).cmp(&(&b.0, &b.1, &b.2, &b.3, &b.4, b.5)));
    let park_names: HashMap<String, String> = if dimensions.contains(&Dimension::Park) {
        parks::table.select((parks::code, parks::name)).load::<(String, String)>(conn)?.into_iter().collect()
    } else {
        HashMap::new()
    };
    let money = library == Library::Projects;
    let mut total = zero_money(money);
    let mut groups = Vec::with_capacity(rows.len());
    for (k1, k2, k3, k4, k5, year, count, planned, contracted, in_place) in rows {
        let mut text_keys = [k1, k2, k3, k4, k5].into_iter();
        let (mut key, mut labels) = (Map::new(), Map::new());
        for dimension in &dimensions {
            let name = dimension.name().to_owned();
            if *dimension == Dimension::Year {
                key.insert(name, year.map_or(Value::Null, Value::from));
                continue;
            }
            let value = text_keys.next().flatten();
            let label = value.as_deref().and_then(|v| match dimension {
                Dimension::Park => park_names.get(v).cloned(),
                _ => library.label(*dimension, v).map(str::to_owned),
            });
            labels.insert(name.clone(), label.map_or(Value::Null, Value::from));
            key.insert(name, value.map_or(Value::Null, Value::from));
        }
        let figures = if money {
            Figures { count, planned_usd: Some(planned.unwrap_or(0)), contracted_usd: Some(contracted.unwrap_or(0)), in_place_usd: Some(in_place.unwrap_or(0)) }
        } else {
            Figures { count, ..Figures::default() }
        };
        total.add(&figures);
        groups.push(Group { key, labels, figures });
    }
    Ok(Stats { group_by: dimensions, groups, total })
}

fn zero_money(money: bool) -> Figures {
    let zero = money.then_some(0);
    Figures { count: 0, planned_usd: zero, contracted_usd: zero, in_place_usd: zero }
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        let plus = |a: Option<i64>, b: Option<i64>| a.zip(b).map(|(a, b)| a + b).or(a);
        self.count += other.count;
        self.planned_usd = plus(self.planned_usd, other.planned_usd);
        self.contracted_usd = plus(self.contracted_usd, other.contracted_usd);
        self.in_place_usd = plus(self.in_place_usd, other.in_place_usd);
    }
}
