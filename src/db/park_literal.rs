//! `park_code = 'yueyang'`, the park written into the statement's text
//! instead of bound: for the plain pages that stay prepared
//! (`records::list`). With the park bound, a generic plan would be made for
//! an average park and read a whole `*_created` index for a small or new
//! one; with the park in the text, each park's statement is planned from
//! that park's own statistics (bench/RESULTS.md, twelfth session).
//!
//! Only park codes the caller's token carries are written so, never a value
//! from the query string: each distinct text is one more prepared statement
//! kept by every connection. And only text shaped as a park code
//! (`parks::is_code`: lower-case letters, digits, `-`, `_`) is written at
//! all, so no quoting rule of the server's matters.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::QueryResult;

/// `column = 'park'` with the park as an SQL string literal; a park that is
/// not shaped as a park code is refused when the statement is written.
#[derive(Debug, Clone)]
pub struct ParkIs<C> {
    column: C,
    park: String,
}

impl<C> ParkIs<C> {
    pub fn new(column: C, park: &str) -> Self {
        Self { column, park: park.to_owned() }
    }
}

impl<C: Expression<SqlType = Text>> Expression for ParkIs<C> {
    type SqlType = Bool;
}

impl<C: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for ParkIs<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !crate::parks::is_code(&self.park) {
            return Err(diesel::result::Error::QueryBuilderError(format!("{:?} is not a park code to write into SQL", self.park).into()));
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = '");
        out.push_sql(&self.park);
        out.push_sql("'");
        Ok(())
    }
}

/// No static id: diesel finds the prepared statement by its text, which holds the park.
impl<C> QueryId for ParkIs<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: ValidGrouping<()>> ValidGrouping<()> for ParkIs<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: AppearsOnTable<QS, SqlType = Text>, QS> AppearsOnTable<QS> for ParkIs<C> {}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::projects;

    #[test]
    fn the_park_is_written_into_the_text_and_nothing_is_bound() {
        let query = projects::table.select(projects::id).filter(ParkIs::new(projects::park_code, "yueyang"));
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.contains(r#""projects"."park_code" = 'yueyang'"#), "{sql}");
        assert!(sql.ends_with("-- binds: []"), "{sql}");
    }

    #[test]
    fn text_that_is_no_park_code_is_never_written() {
        use diesel::query_builder::{QueryBuilder, QueryFragment};
        for park in ["o'neil", "x\\' OR TRUE --", "", "Yueyang"] {
            let mut builder = <Pg as diesel::backend::Backend>::QueryBuilder::default();
            let written = ParkIs::new(projects::park_code, park).to_sql(&mut builder, &Pg);
            assert!(written.is_err(), "{park:?} written: {}", builder.finish());
        }
    }
}
