//! What a project's row reads beside the columns `projects` declares to
//! diesel: its money columns (past diesel's 32-column limit, see `money`),
//! the read copy of its investors' latest follow-up (`lights` keeps it) and
//! the stamp of the monitoring rules its light is judged by. Read in the
//! row's own statement, they cost no round trip of their own: each was a
//! statement per read, and each round trip parks and wakes a worker thread.

use std::marker::PhantomData;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Timestamp};
use diesel::{QueryResult, Queryable};

use crate::db::schema::projects;
use crate::monitoring::rules::RulesStamp;

/// One piece of SQL that reads the `projects` row being selected: its
/// text and its SQL type.
pub trait ProjectsSql: 'static {
    type SqlType: TypedExpressionType;
    const SQL: &'static str;
}

/// The SQL of `C` as an expression of a `projects` query. Each piece is a
/// type of its own, so a statement that reads them has a static query id:
/// diesel keeps it prepared by its type and writes its SQL once, where a
/// literal (`sql()`) is sent unprepared and SQL looked up by its text is
/// written again on every read.
#[derive(Debug, Clone, Copy)]
pub struct OnProjects<C>(PhantomData<C>);

impl<C: ProjectsSql> Expression for OnProjects<C> {
    type SqlType = C::SqlType;
}

impl<C: ProjectsSql, DB: Backend> QueryFragment<DB> for OnProjects<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(C::SQL);
        Ok(())
    }
}

impl<C: ProjectsSql> QueryId for OnProjects<C> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C, GroupBy> ValidGrouping<GroupBy> for OnProjects<C> {
    type IsAggregate = is_aggregate::Never;
}

impl<C: ProjectsSql> AppearsOnTable<projects::table> for OnProjects<C> {}
impl<C: ProjectsSql> SelectableExpression<projects::table> for OnProjects<C> {}

/// Declares pieces of [`ProjectsSql`]: a type each, its SQL type and text.
macro_rules! projects_sql {
    ($($name:ident: $sql_type:ty = $sql:literal;)*) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl ProjectsSql for $name {
            type SqlType = $sql_type;
            const SQL: &'static str = $sql;
        }
    )*};
}

projects_sql! {
    ContractedInvestment: Nullable<BigInt> = r#""projects"."contracted_investment_usd""#;
    RegisteredOn: Nullable<Date> = r#""projects"."registered_on""#;
    PlannedStartOn: Nullable<Date> = r#""projects"."planned_start_on""#;
    PlannedOperatingOn: Nullable<Date> = r#""projects"."planned_operating_on""#;
    LastFollowUpOn: Nullable<Date> = r#""projects"."last_follow_up_on""#;
    RulesVersion: Nullable<Integer> = r#"(SELECT "version" FROM "monitoring_rules" WHERE "id" = 1)"#;
    RulesSavedAt: Nullable<Timestamp> = r#"(SELECT "updated_at" FROM "monitoring_rules" WHERE "id" = 1)"#;
}

/// The money and planning columns of the row (`money` writes them).
#[derive(Debug, Clone, Default, PartialEq, Queryable)]
pub struct MoneyColumns {
    pub contracted_investment_usd: Option<i64>,
    pub registered_on: Option<NaiveDate>,
    pub planned_start_on: Option<NaiveDate>,
    pub planned_operating_on: Option<NaiveDate>,
}

pub type Money = (OnProjects<ContractedInvestment>, OnProjects<RegisteredOn>, OnProjects<PlannedStartOn>, OnProjects<PlannedOperatingOn>);

pub const MONEY: Money = (OnProjects(PhantomData), OnProjects(PhantomData), OnProjects(PhantomData), OnProjects(PhantomData));

/// The latest follow-up day of the project's live investors, as `lights` stored it.
pub type FollowUp = OnProjects<LastFollowUpOn>;

pub const FOLLOW_UP: FollowUp = OnProjects(PhantomData);

/// The version and save time of the monitoring rules, as the row's statement
/// saw them: a scalar subquery of a one-row table, planned once a statement.
pub type Rules = (OnProjects<RulesVersion>, OnProjects<RulesSavedAt>);

pub const RULES: Rules = (OnProjects(PhantomData), OnProjects(PhantomData));

/// [`RULES`] as read; `None` in a row built in memory.
pub type RulesSeen = (Option<i32>, Option<NaiveDateTime>);

pub fn stamp_of(seen: &RulesSeen) -> Option<RulesStamp> {
    match *seen {
        (Some(version), Some(saved_at)) => Some(RulesStamp { version, saved_at }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    use crate::db::select_text::clause_text as columns_sql;
    use crate::projects::model::ProjectRow;

    /// Lists on PostgreSQL send the row's select clause as text written once
    /// (`db::search`), which the computed columns here must allow: no bound values.
    #[test]
    fn the_row_s_select_clause_can_be_sent_as_text() {
        for text in [columns_sql::<ProjectRow, Pg>(), columns_sql::<ProjectRow, Sqlite>()] {
            let text = text.unwrap_or_else(|e| panic!("{e}"));
            assert!(text.contains("\"projects\".\"id\"") || text.contains("`projects`.`id`"), "{text}");
            for computed in ["contracted_investment_usd", "last_follow_up_on", "monitoring_rules"] {
                assert!(text.contains(computed), "{computed} is selected: {text}");
            }
        }
    }
}
