//! Columns a row writes but no read shows: `search_text`, which every write
//! builds anew from the fields. A read selects `''` in its place, so that a
//! page neither carries nor copies the folded text of every row (a page of
//! 20 projects: 2 % of its instructions, bench/RESULTS.md, eleventh session).

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::QueryResult;

/// `''` as a text column of any table; a type of its own, so that a
/// statement reading it keeps its static query id and stays prepared.
#[derive(Debug, Clone, Copy)]
pub struct EmptyText;

/// For a row's `#[diesel(select_expression = ...)]`.
pub const UNREAD: EmptyText = EmptyText;

impl Expression for EmptyText {
    type SqlType = Text;
}

impl<DB: Backend> QueryFragment<DB> for EmptyText {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("''");
        Ok(())
    }
}

impl QueryId for EmptyText {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<GroupBy> ValidGrouping<GroupBy> for EmptyText {
    type IsAggregate = is_aggregate::Never;
}

impl<QS> AppearsOnTable<QS> for EmptyText {}
impl<QS> SelectableExpression<QS> for EmptyText {}
