//! What a project's row reads beside the columns `projects` declares to
//! diesel: its money columns (past diesel's 32-column limit, see `money`)
//! and the stamp of the monitoring rules its light is judged by. Read in the
//! row's own statement, they cost no round trip of their own: each was a
//! statement per read, and each round trip parks and wakes a worker thread.
//! (The investors' latest follow-up stays a statement of its own: see
//! `lights::latest_follow_ups`.)

use std::marker::PhantomData;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Timestamp};
use diesel::{QueryResult, Queryable};

use crate::db::schema::projects;
use crate::monitoring::rules::RulesStamp;

/// SQL of type `ST` that reads the `projects` row being selected. Unlike
/// diesel's `sql()` literal it leaves the statement cacheable (its text is
/// fixed), so reads stay prepared.
#[derive(Debug, Clone, Copy)]
pub struct OnProjects<ST> {
    sql: &'static str,
    of: PhantomData<ST>,
}

const fn on_projects<ST>(sql: &'static str) -> OnProjects<ST> {
    OnProjects { sql, of: PhantomData }
}

impl<ST: TypedExpressionType> Expression for OnProjects<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for OnProjects<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for OnProjects<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, GroupBy> ValidGrouping<GroupBy> for OnProjects<ST> {
    type IsAggregate = is_aggregate::Never;
}

impl<ST: TypedExpressionType> AppearsOnTable<projects::table> for OnProjects<ST> {}
impl<ST: TypedExpressionType> SelectableExpression<projects::table> for OnProjects<ST> {}

/// The money and planning columns of the row (`money` writes them).
#[derive(Debug, Clone, Default, PartialEq, Queryable)]
pub struct MoneyColumns {
    pub contracted_investment_usd: Option<i64>,
    pub registered_on: Option<NaiveDate>,
    pub planned_start_on: Option<NaiveDate>,
    pub planned_operating_on: Option<NaiveDate>,
}

pub type Money = (OnProjects<Nullable<BigInt>>, OnProjects<Nullable<Date>>, OnProjects<Nullable<Date>>, OnProjects<Nullable<Date>>);

pub const MONEY: Money = (
    on_projects(r#""projects"."contracted_investment_usd""#),
    on_projects(r#""projects"."registered_on""#),
    on_projects(r#""projects"."planned_start_on""#),
    on_projects(r#""projects"."planned_operating_on""#),
);

/// The version and save time of the monitoring rules, as the row's statement
/// saw them: a scalar subquery of a one-row table, planned once a statement.
pub type Rules = (OnProjects<Nullable<Integer>>, OnProjects<Nullable<Timestamp>>);

pub const RULES: Rules = (
    on_projects(r#"(SELECT "version" FROM "monitoring_rules" WHERE "id" = 1)"#),
    on_projects(r#"(SELECT "updated_at" FROM "monitoring_rules" WHERE "id" = 1)"#),
);

/// [`RULES`] as read; `None` in a row built in memory.
pub type RulesSeen = (Option<i32>, Option<NaiveDateTime>);

pub fn stamp_of(seen: &RulesSeen) -> Option<RulesStamp> {
    match *seen {
        (Some(version), Some(saved_at)) => Some(RulesStamp { version, saved_at }),
        _ => None,
    }
}
