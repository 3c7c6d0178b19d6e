//! `q=` search that stays quick for common words and for rare ones.
//!
//! A term matches when the folded `search_text` contains it (`LIKE '%term%'`).
//! Walking a list in its order and filtering finds a page of a common word
//! after a few rows, but reads the whole table for a word nothing holds. An
//! index of the text's character pairs (PostgreSQL: GIN on
//! `search_bigrams(search_text)`, migration 5) is the other way round: its
//! cost grows with the number of rows it matches. Pairs, because two
//! characters make a word in Chinese and a trigram index cannot serve those.
//!
//! So a search first reads a window, the next few hundred rows of the list
//! without `q`. When the window holds a full page, that page is exact: the
//! first matches in list order are in it. Otherwise it tries a wider window,
//! and then the word is rare enough for the index, which has few rows to
//! fetch. SQLite has no such index and scans instead; its databases are a
//! park's, not the province's. (PostgreSQL's own choice between the two plans
//! was tried and is not reliable: its estimate for `@>` on the pair index was
//! 25 rows for a word in 8,364 and 677 for a word in none; bench/RESULTS.md.)

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::DbConnection;

/// The windows a search walks, in rows of the list, before it turns to the
/// index: a narrow one that finds common words at once, then a wide one.
pub const WINDOWS: [i64; 2] = [500, 4000];

/// The sort key and id of the last row of the window.
pub type Edge = (NaiveDateTime, String);

/// The first `wanted` matches in list order: from a window when one holds
/// them, else from the index.
///
/// - `edge(conn, n)` reads the `n`-th row of the list without `q` (`None`
///   when the list is shorter: then the narrow window is the whole list,
///   and past it the index serves);
/// - `in_window` reads the matches up to that row (all of them for `None`);
/// - `indexed` reads the matches anywhere, with the index's help.
pub fn first_matches<R>(
    conn: &mut DbConnection,
    wanted: i64,
    mut edge: impl FnMut(&mut DbConnection, i64) -> QueryResult<Option<Edge>>,
    mut in_window: impl FnMut(&mut DbConnection, Option<&Edge>) -> QueryResult<Vec<R>>,
    indexed: impl FnOnce(&mut DbConnection) -> QueryResult<Vec<R>>,
) -> QueryResult<Vec<R>> {
    for (i, size) in WINDOWS.into_iter().enumerate() {
        let edge = edge(conn, size)?;
        if edge.is_none() && i > 0 {
            // A list shorter than the wide window: a word the narrow one
            // missed has fewer rows in the index than the list has to read.
            break;
        }
        let rows = in_window(conn, edge.as_ref())?;
        if edge.is_none() || rows.len() as i64 >= wanted {
            return Ok(rows);
        }
    }
    indexed(conn)
}

/// Adds the search conditions of `terms` to a boxed query over a table with a
/// `search_text` column; with `indexed`, on PostgreSQL, each term of two or
/// more characters also asks the pair index (the `LIKE` stays: a row holding
/// both pairs of 台积电 need not hold the word).
macro_rules! search_terms {
    ($query:ident, $column:expr, $terms:expr, $indexed:expr) => {{
        for term in $terms {
            $query = $query.filter($column.like($crate::text::contains_pattern(term)).escape('\\'));
            if $indexed && term.chars().nth(1).is_some() {
                $query = $query.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("search_bigrams(search_text) @> search_bigrams(")
                        .bind::<diesel::sql_types::Text, _>(term.clone())
                        .sql(")"),
                );
            }
        }
    }};
}

/// Keeps the rows of an ordered boxed query up to and including `edge`.
macro_rules! within_window {
    ($query:ident, $column:expr, $id:expr, $order:expr, $edge:expr) => {{
        use $crate::http::SortOrder;
        let op = match $order {
            SortOrder::Desc => ">=",
            SortOrder::Asc => "<=",
        };
        let (at, id): &$crate::db::search::Edge = $edge;
        let lhs = format!("({}, {}) {op} (", $crate::http::column_name($column), $crate::http::column_name($id));
        $query = $query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(&lhs)
                .bind::<diesel::sql_types::Timestamp, _>(*at)
                .sql(", ")
                .bind::<diesel::sql_types::Text, _>(id.clone())
                .sql(")"),
        );
    }};
}

pub(crate) use {search_terms, within_window};
