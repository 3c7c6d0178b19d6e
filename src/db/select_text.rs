//! A row's select clause written once as SQL text. Diesel writes a
//! statement's SQL anew for every boxed query, and for the select clause that
//! means quoting each column name again, with an allocation each (67 of a
//! page of projects' 576 allocations, bench/RESULTS.md, twelfth session).
//! The lists select [`Columns`] instead: the clause's text, kept in a
//! static, pushed as it is. Unlike diesel's `sql()` it leaves the statement
//! cacheable, so the statements that stay prepared still do.

use std::marker::PhantomData;
use std::sync::OnceLock;

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping};
use diesel::query_builder::{AstPass, QueryBuilder, QueryFragment, QueryId};
use diesel::{QueryResult, Selectable};

/// The SQL types of `R`'s selected columns.
pub type ColumnTypes<R, DB> = <<R as Selectable<DB>>::SelectExpression as Expression>::SqlType;

/// `R`'s select clause on `DB` as text, typed as its columns.
#[derive(Debug, Clone, Copy)]
pub struct Columns<ST> {
    text: &'static str,
    columns: PhantomData<ST>,
}

/// `R`'s select clause, written into `cache` the first time (one static per
/// row type and backend, which a generic function cannot declare itself).
pub fn columns<R, DB>(cache: &'static OnceLock<String>) -> QueryResult<Columns<ColumnTypes<R, DB>>>
where
    R: Selectable<DB>,
    R::SelectExpression: QueryFragment<DB>,
    DB: Backend + Default,
    DB::QueryBuilder: Default,
{
    let text = match cache.get() {
        Some(text) => text,
        None => {
            let written = clause_text::<R, DB>()?;
            cache.get_or_init(|| written)
        }
    };
    Ok(Columns { text, columns: PhantomData })
}

/// The SQL text of `R`'s select clause on `DB`. A select expression with a
/// bound value cannot be sent as text: its placeholder would be numbered
/// before the statement's own. (`to_sql` is the call diesel's own
/// `debug_query` makes.)
pub fn clause_text<R, DB>() -> QueryResult<String>
where
    R: Selectable<DB>,
    R::SelectExpression: QueryFragment<DB>,
    DB: Backend + Default,
    DB::QueryBuilder: Default,
{
    let mut builder = DB::QueryBuilder::default();
    R::construct_selection().to_sql(&mut builder, &DB::default())?;
    let text = builder.finish();
    match text.contains('$') || text.contains('?') {
        false => Ok(text),
        true => Err(diesel::result::Error::QueryBuilderError(format!("a select clause with bound values cannot be sent as text: {text}").into())),
    }
}

impl<ST: TypedExpressionType> Expression for Columns<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for Columns<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.text);
        Ok(())
    }
}

/// No static id: diesel finds a prepared statement by its text.
impl<ST> QueryId for Columns<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, GroupBy> ValidGrouping<GroupBy> for Columns<ST> {
    type IsAggregate = is_aggregate::Never;
}

impl<ST: TypedExpressionType, QS> AppearsOnTable<QS> for Columns<ST> {}
impl<ST: TypedExpressionType, QS> SelectableExpression<QS> for Columns<ST> {}
