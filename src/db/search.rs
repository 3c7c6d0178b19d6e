//! `q=` search that stays quick for common words and for rare ones.
//!
//! A term matches when the folded `search_text` contains it (`LIKE '%term%'`).
//! Walking a list in its order and filtering finds a page of a common word
//! after a few rows, but reads the whole table for a word nothing holds. An
//! index of the text's character pairs (PostgreSQL: GIN on
//! `search_pair_keys(search_text)`, each pair keyed as a number, migration
//! 17) is the other way round: its
//! cost grows with the number of rows it matches. Pairs, because two
//! characters make a word in Chinese and a trigram index cannot serve those.
//!
//! So a search first asks the index's statistics (kept in the process): a
//! word they bound to fewer rows than a wide window goes to the index at
//! once. Any other reads a window, the next few hundred rows of the list
//! without `q`. When the window holds a full page, that page is exact: the
//! first matches in list order are in it. Otherwise it tries a wider window,
//! and then the word is rare enough for the index, which has few rows to
//! fetch. SQLite has no such index and scans instead; its databases are a
//! park's, not the province's. (PostgreSQL's own choice between the two plans
//! was tried and is not reliable: its estimate for `@>` on the pair index was
//! 25 rows for a word in 8,364 and 677 for a word in none; bench/RESULTS.md.)
//!
//! Projects, investors and talents search alike ([`searched_rows`]); each
//! has its pair index (migrations 17 and 19), asked for each term's rarest
//! pairs only ([`rarest_pairs`]).

use chrono::NaiveDateTime;
use diesel::{PgConnection, QueryResult, SqliteConnection};

/// The windows a search walks, in rows of the list, before it turns to the
/// index: a narrow one that finds common words at once, then a wide one.
pub const WINDOWS: [i64; 2] = [500, 4000];

/// The sort key and id of the last row of the window.
pub type Edge = (NaiveDateTime, String);

/// What the index's statistics say before a search: the rows it covers, and
/// at most how many of them the search's pairs could fetch (both `None`
/// without an index or without statistics).
#[derive(Clone, Copy, Default)]
pub struct Outlook {
    pub table_rows: Option<f64>,
    pub candidates: Option<f64>,
}

/// A word the index fetches at most as many rows for as the wide window
/// reads goes to the index first: spread over the table, it is too rare for
/// the narrow window to hold a page (0.4 % of 1M rows: two in 500), and a
/// word in none costs one probe instead of a window (bench/RESULTS.md, rare
/// words).
const INDEX_FIRST: f64 = WINDOWS[1] as f64;

/// The most rows the statistics may bound a word to for it to go to the
/// index first: [`INDEX_FIRST`], or on a large table as many as leave even
/// the wide window short of a page when spread over it, so that the search
/// would most likely end at the index after reading the windows. At 1M
/// projects 宏碁农业先进封装 (676 rows; its rarest pair bounds it to 4,512)
/// read the narrow window's edge and rows before the index; going to the
/// index at once served 1.3–1.9 times the requests a second
/// (bench/RESULTS.md, tenth session). Capped at twice [`INDEX_FIRST`], so
/// that on a far larger table a word the windows would serve is not
/// fetched whole from the index.
fn index_first(table_rows: Option<f64>, wanted: i64) -> f64 {
    let short_of_a_page = table_rows.filter(|rows| *rows >= 0.0).map_or(0.0, |rows| rows * wanted as f64 / WINDOWS[1] as f64);
    short_of_a_page.clamp(INDEX_FIRST, 2.0 * INDEX_FIRST)
}

/// The first `wanted` matches in list order: from a window when one holds
/// them, else from the index.
///
/// - `outlook` says what the index's statistics expect (see [`Outlook`]);
///   a word they bound to a few rows goes to the index at once;
/// - `edge(conn, n)` reads the `n`-th row of the list without `q` (`None`
///   when the list is shorter: then the narrow window is the whole list,
///   and past it the index serves);
/// - `in_window` reads the matches up to that row (all of them for `None`);
/// - `indexed` reads the matches anywhere, with the index's help.
pub fn first_matches<C, R>(
    conn: &mut C,
    wanted: i64,
    outlook: impl FnOnce(&mut C) -> QueryResult<Outlook>,
    mut edge: impl FnMut(&mut C, i64) -> QueryResult<Option<Edge>>,
    mut in_window: impl FnMut(&mut C, Option<&Edge>) -> QueryResult<Vec<R>>,
    indexed: impl FnOnce(&mut C) -> QueryResult<Vec<R>>,
) -> QueryResult<Vec<R>> {
    let [narrow, wide] = WINDOWS;
    let Outlook { table_rows, candidates } = outlook(conn)?;
    if candidates.is_some_and(|c| c <= index_first(table_rows, wanted)) {
        return indexed(conn);
    }
    let narrow_edge = edge(conn, narrow)?;
    let rows = in_window(conn, narrow_edge.as_ref())?;
    if narrow_edge.is_none() || rows.len() as i64 >= wanted {
        return Ok(rows);
    }
    if index_beats_window(table_rows, wanted, wide) || (table_rows.is_some() && wide_falls_short(rows.len(), wanted)) {
        return indexed(conn);
    }
    // A list shorter than the wide window: a word the narrow one missed has
    // fewer rows in the index than the list has to read.
    let Some(wide_edge) = edge(conn, wide)? else { return indexed(conn) };
    let rows = in_window(conn, Some(&wide_edge))?;
    if rows.len() as i64 >= wanted {
        return Ok(rows);
    }
    indexed(conn)
}

/// What a list's statements need to know of the connection they run on: a
/// list runs on the concrete connection, not diesel's multi-backend one,
/// which writes a boxed statement's whole SQL four times a statement and
/// decodes every field through its own value type (a fifth of a page's CPU,
/// bench/RESULTS.md). The search and list macros are written once and
/// stamped per connection; what differs between the backends is here.
pub trait SearchConnection: diesel::Connection {
    /// Whether the searched tables have their pair index (PostgreSQL).
    const PAIR_INDEX: bool;
    /// Whether a list's statements go unprepared, each planned for its
    /// values (PostgreSQL; see `records::list`).
    const PLANNED_FOR_VALUES: bool;
    /// The [`Outlook`] of a search of `terms` over `table` and its pair `index`.
    fn outlook(&mut self, table: &'static str, index: &'static str, terms: &[String]) -> QueryResult<Outlook>;
    /// The pair keys to ask `index` for ([`rarest_pairs`]); none without an index.
    fn rarest_pairs(&mut self, terms: &[String], table: &'static str, index: &'static str) -> QueryResult<Vec<i64>>;
}

impl SearchConnection for PgConnection {
    const PAIR_INDEX: bool = true;
    const PLANNED_FOR_VALUES: bool = true;

    fn outlook(&mut self, table: &'static str, index: &'static str, terms: &[String]) -> QueryResult<Outlook> {
        outlook(self, table, index, terms)
    }

    fn rarest_pairs(&mut self, terms: &[String], table: &'static str, index: &'static str) -> QueryResult<Vec<i64>> {
        rarest_pairs(self, terms, table, index)
    }
}

impl SearchConnection for SqliteConnection {
    const PAIR_INDEX: bool = false;
    const PLANNED_FOR_VALUES: bool = false;

    fn outlook(&mut self, _: &'static str, _: &'static str, _: &[String]) -> QueryResult<Outlook> {
        Ok(Outlook::default())
    }

    fn rarest_pairs(&mut self, _: &[String], _: &'static str, _: &'static str) -> QueryResult<Vec<i64>> {
        Ok(Vec::new())
    }
}

/// The [`Outlook`] of a search of `terms` over `table` and its pair `index`.
pub fn outlook(conn: &mut PgConnection, table: &'static str, index: &'static str, terms: &[String]) -> QueryResult<Outlook> {
    let stats = index_stats(conn, table, index)?;
    let rows = stats.table_rows;
    let share = share_at_most(&stats.shares, terms);
    Ok(Outlook { table_rows: Some(rows), candidates: share.filter(|_| rows >= 0.0).map(|share| f64::from(share) * rows) })
}

/// The largest share of rows a search of every term can fetch from the
/// index: that of its rarest pair. A pair the statistics do not list is
/// rarer than the rarest they list (`None` without statistics or pairs).
fn share_at_most(common: &Shares, terms: &[String]) -> Option<f32> {
    let unlisted = common.values().copied().reduce(f32::min)?;
    terms.iter().flat_map(|term| pair_keys(term)).map(|key| common.get(&key).copied().unwrap_or(unlisted)).reduce(f32::min)
}

/// Whether a `q` search is slow work (the slow lane's, `db::run_list`): on
/// SQLite, which has no pair index, a rare word scans the table; on
/// PostgreSQL a search reads a window and a few index entries, as quick as a
/// filtered page (bench/RESULTS.md, rare words), and queueing it behind
/// exports on the lane's two connections made it slower than the search.
pub fn is_slow_work(pool: &super::DbPool) -> bool {
    pool.backend() == super::Backend::Sqlite
}

/// PostgreSQL's estimate of a table's rows, from its catalog (no scan).
pub fn estimated_rows(conn: &mut PgConnection, table: &'static str) -> QueryResult<f64> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Estimate {
        #[diesel(sql_type = diesel::sql_types::Double)]
        rows: f64,
    }
    diesel::sql_query("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = to_regclass($1)")
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result::<Estimate>(conn)
        .map(|e| e.rows)
}

/// A word the narrow window missed is in fewer than `wanted` of its rows, so
/// the index fetches at most that share of the table: when that is less than
/// the wide window would read, the index is the cheaper way. (PostgreSQL
/// reports -1 rows for a table never analysed: unknown, so no shortcut.)
fn index_beats_window(table_rows: Option<f64>, wanted: i64, window: i64) -> bool {
    let narrow = WINDOWS[0] as f64;
    table_rows.is_some_and(|rows| rows >= 0.0 && rows * wanted as f64 / narrow < window as f64)
}

/// The pair keys a search asks the index for: of each term, the two its
/// index's statistics count rarest (a pair they do not list among the common
/// ones first). Every pair of the term would say no more than the `LIKE`
/// does, and the common ones make the index slow: 宏碁农业先进封装 (676 of 1M
/// projects) took 15 ms with its seven pairs and 1.1 ms with its rarest two,
/// for the same 678 candidates (bench/RESULTS.md). Without statistics (an
/// index never analysed, or a role that may not read them) nothing tells
/// rare from common, so every pair of the term is asked.
pub fn rarest_pairs(conn: &mut PgConnection, terms: &[String], table: &'static str, index: &'static str) -> QueryResult<Vec<i64>> {
    let common = index_stats(conn, table, index)?.shares.clone();
    let mut keys = Vec::new();
    for term in terms {
        let mut pairs = pair_keys(term);
        pairs.sort_unstable_by(|a, b| {
            let share = |key| common.get(key).copied().unwrap_or(0.0);
            share(a).total_cmp(&share(b)).then(a.cmp(b))
        });
        pairs.dedup();
        if !common.is_empty() {
            pairs.truncate(2);
        }
        keys.extend(pairs);
    }
    Ok(keys)
}

/// The keys `search_pair_keys()` (migration 17) gives a text: each two
/// adjacent characters' code points side by side, 21 bits each.
fn pair_keys(term: &str) -> Vec<i64> {
    let points: Vec<i64> = term.chars().map(|c| c as i64).collect();
    points.windows(2).map(|pair| pair[0] << 21 | pair[1]).collect()
}

/// How long a process keeps an index's statistics. `pg_stats` costs 5–16 ms
/// a read (bench/RESULTS.md), more than the search it steers; the figures
/// move only when the table is analysed, and stale ones can only make a
/// search slower, never change its answer.
const STATS_KEPT: std::time::Duration = std::time::Duration::from_secs(300);

type Shares = std::sync::Arc<std::collections::HashMap<i64, f32>>;

/// What a search needs to know of a table and its pair index.
struct IndexStats {
    /// The common pairs and the share of rows holding each (empty when the
    /// index has no statistics).
    shares: Shares,
    /// The table's rows as its catalog estimates them (-1: never analysed).
    table_rows: f64,
}

/// The statistics of `table`'s pair `index`, read at most every [`STATS_KEPT`].
fn index_stats(conn: &mut PgConnection, table: &'static str, index: &'static str) -> QueryResult<std::sync::Arc<IndexStats>> {
    use diesel::RunQueryDsl;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    type Kept = (&'static str, Instant, Arc<IndexStats>);
    static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
    let now = Instant::now();
    let fresh = |kept: &[Kept]| {
        kept.iter().find(|(name, at, _)| *name == index && now.duration_since(*at) < STATS_KEPT).map(|(_, _, stats)| stats.clone())
    };
    if let Some(stats) = fresh(&KEPT.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(stats);
    }
    #[derive(diesel::QueryableByName)]
    struct Common {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        key: i64,
        #[diesel(sql_type = diesel::sql_types::Float)]
        share: f32,
    }
    let rows = diesel::sql_query(
        "SELECT key, share FROM ( \
             SELECT unnest(s.most_common_elems::text::bigint[]) AS key, unnest(s.most_common_elem_freqs) AS share \
             FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass($1) JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE s.schemaname = n.nspname AND s.tablename = c.relname) AS common \
         WHERE key IS NOT NULL AND share IS NOT NULL",
    )
    .bind::<diesel::sql_types::Text, _>(index)
    .load::<Common>(conn)?;
    let shares: Shares = Arc::new(rows.into_iter().map(|c| (c.key, c.share)).collect());
    let stats = Arc::new(IndexStats { shares, table_rows: estimated_rows(conn, table)? });
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(name, _, _)| *name != index);
    kept.push((index, now, stats.clone()));
    Ok(stats)
}

/// The condition that a row holds every pair of `keys` (`None` for none);
/// the keys are numbers the database gave, written into the statement so
/// the planner estimates them from its statistics.
pub fn pairs_contain(keys: &[i64]) -> Option<diesel::expression::SqlLiteral<diesel::sql_types::Bool>> {
    let list: Vec<String> = keys.iter().map(i64::to_string).collect();
    (!keys.is_empty()).then(|| diesel::dsl::sql(&format!("search_pair_keys(search_text) @> '{{{}}}'::bigint[]", list.join(","))))
}

/// Whether the wide window, going by the narrow one's `found` matches, would
/// hold less than half a page: then it is read in vain and the index asked
/// after it anyway. A word in none of the rows, or in one in a thousand, pays
/// for the narrow window only (the wide one was 5 ms at 1M projects).
fn wide_falls_short(found: usize, wanted: i64) -> bool {
    let [narrow, wide] = WINDOWS;
    2 * found as i64 * wide < wanted * narrow
}

/// The rows of a list's page, `limit + 1` of them, with `terms` searched as
/// [`first_matches`] does; for a table with `created_at`, `updated_at`, `id`
/// and `search_text` (and, on PostgreSQL, the pair index). `$conn` is a
/// concrete [`SearchConnection`] of type `$conn_ty`; `$listed()` makes the list's query without
/// `q`, order or cursor. Evaluates to `QueryResult<Vec<$row>>`.
macro_rules! searched_rows {
    ($conn:expr, $conn_ty:ty, $table:ident, $row:ty, $paging:expr, $terms:expr, $listed:expr) => {{
        use $crate::db::search::{first_matches, search_terms, within_window, SearchConnection};
        use $crate::http::{keyset, SortKey};
        let conn = $conn;
        let paging: &$crate::records::Paging = $paging;
        let terms: &[String] = $terms;
        let (key, order, wanted) = (paging.key, paging.order, paging.limit.get() + 1);
        let index = concat!(stringify!($table), "_search_pairs");
        // The list without `q`, in order, after the cursor.
        let listed = || {
            let mut query = $listed();
            match key {
                SortKey::CreatedAt => keyset!(query, $table::created_at, $table::id, order, &paging.after),
                SortKey::UpdatedAt => keyset!(query, $table::updated_at, $table::id, order, &paging.after),
            }
            query
        };
        // The list with the terms' `LIKE`s: exact on either backend.
        let searched = || {
            let mut query = listed();
            search_terms!(query, $table::search_text, terms, false);
            query.limit(wanted)
        };
        // The select clause, written once (`db::select_text`).
        static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        type Db = <$conn_ty as diesel::Connection>::Backend;
        let load = |conn: &mut $conn_ty, query: $table::BoxedQuery<'_, Db>| {
            query.select($crate::db::select_text::columns::<$row, Db>(&COLUMNS)?).load::<$row>(conn)
        };
        if terms.is_empty() {
            load(conn, listed().limit(wanted))
        } else {
            first_matches(
                conn,
                wanted,
                |conn| conn.outlook(stringify!($table), index, terms),
                |conn, size| {
                    let query = listed().offset(size - 1);
                    match key {
                        SortKey::CreatedAt => query.select(($table::created_at, $table::id)).first(conn).optional(),
                        SortKey::UpdatedAt => query.select(($table::updated_at, $table::id)).first(conn).optional(),
                    }
                },
                |conn, edge| {
                    let mut query = searched();
                    if let Some(edge) = edge {
                        match key {
                            SortKey::CreatedAt => within_window!(query, $table::created_at, $table::id, order, edge),
                            SortKey::UpdatedAt => within_window!(query, $table::updated_at, $table::id, order, edge),
                        }
                    }
                    load(conn, query)
                },
                |conn| {
                    let mut query = searched();
                    // No keys without an index (SQLite): the `LIKE`s alone.
                    let keys = conn.rarest_pairs(terms, stringify!($table), index)?;
                    if let Some(keys) = $crate::db::search::pairs_contain(&keys) {
                        query = query.filter(keys);
                    }
                    load(conn, query)
                },
            )
        }
    }};
}

/// Implements [`crate::records::Searched`], [`crate::records::FilteredOn`]
/// and [`crate::records::SearchedOn`] for `$record`, whose rows (`$row`)
/// live in `$table`: the typed statements its list, count and statistics
/// need, written once here for every searched table and stamped for each
/// backend. The library writes its list's filters as the body of `filtered`:
/// `query` starts as the caller's visible rows, typed to the backend `DB`
/// (the name the body gives it), and the body returns it narrowed by
/// `filter`. A macro because a body generic over the backend would need a
/// bound for every expression it filters by.
macro_rules! searched_table {
    (
        $record:ident in $table:ident, rows $row:ty, filter $filter_ty:ty;
        $(#[$meta:meta])*
        fn filtered<$db:ident>(mut $query:ident, $filter:ident) $body:block
    ) => {
        impl $crate::records::Searched for $record {
            type Filter = $filter_ty;

            fn sort_values(row: &$row) -> (chrono::NaiveDateTime, chrono::NaiveDateTime, &str) {
                (row.bookkeeping.created_at, row.bookkeeping.updated_at, &row.id)
            }
        }

        $crate::db::search::searched_table!(@filtered $record, $table, diesel::pg::Pg, $filter_ty, $(#[$meta])* $db, $query, $filter, $body);
        $crate::db::search::searched_table!(@filtered $record, $table, diesel::sqlite::Sqlite, $filter_ty, $(#[$meta])* $db, $query, $filter, $body);
        $crate::db::search::searched_table!(@filtered $record, $table, $crate::db::MultiBackend, $filter_ty, $(#[$meta])* $db, $query, $filter, $body);
        $crate::db::search::searched_table!(@native $record, $table, $row, diesel::PgConnection);
        $crate::db::search::searched_table!(@native $record, $table, $row, diesel::SqliteConnection);
    };
    (@filtered $record:ident, $table:ident, $backend:ty, $filter_ty:ty, $(#[$meta:meta])* $db:ident, $query:ident, $filter:ident, $body:block) => {
        impl $crate::records::FilteredOn<$backend> for $record {
            type Query<'a> = $table::BoxedQuery<'a, $backend>;

            $(#[$meta])*
            fn filtered<'a>(scope: &$crate::auth::ParkScope, $filter: &$filter_ty) -> Self::Query<'a> {
                #[allow(dead_code)]
                type $db = $backend;
                let mut $query: Self::Query<'a> = $crate::records::visible_rows!($table, scope);
                $body
            }

            fn plain<'a>(park: Option<&str>) -> Self::Query<'a> {
                let query = $table::table.filter($table::deleted_at.is_null()).into_boxed();
                match park {
                    Some(park) => query.filter($crate::db::park_literal::ParkIs::new($table::park_code, park)),
                    None => query,
                }
            }

            fn with_terms<'a>(mut query: Self::Query<'a>, terms: &[String], indexed: bool) -> Self::Query<'a> {
                $crate::db::search::search_terms!(query, $table::search_text, terms, indexed);
                query
            }
        }
    };
    (@native $record:ident, $table:ident, $row:ty, $conn:ty) => {
        impl $crate::records::SearchedOn<$conn> for $record {
            fn planned_for_values<'a>(
                query: <Self as $crate::records::FilteredOn<<$conn as diesel::Connection>::Backend>>::Query<'a>,
            ) -> <Self as $crate::records::FilteredOn<<$conn as diesel::Connection>::Backend>>::Query<'a> {
                // A literal makes diesel send the statement unprepared.
                query.filter(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"))
            }

            fn count(
                conn: &mut $conn,
                query: <Self as $crate::records::FilteredOn<<$conn as diesel::Connection>::Backend>>::Query<'_>,
            ) -> diesel::QueryResult<i64> {
                query.count().get_result(conn)
            }

            fn page_rows<'a>(
                conn: &mut $conn,
                paging: &$crate::records::Paging,
                terms: &[String],
                listed: impl Fn() -> <Self as $crate::records::FilteredOn<<$conn as diesel::Connection>::Backend>>::Query<'a>,
            ) -> diesel::QueryResult<Vec<$row>> {
                $crate::db::search::searched_rows!(conn, $conn, $table, $row, paging, terms, listed)
            }
        }
    };
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
                    diesel::dsl::sql::<diesel::sql_types::Bool>("search_pair_keys(search_text) @> search_pair_keys(")
                        .bind::<diesel::sql_types::Text, _>(term.clone())
                        .sql(")"),
                );
            }
        }
    }};
}

/// Keeps the rows of an ordered boxed query up to and including `edge`.
///
/// The plain bound on the column says nothing the row comparison does not,
/// but PostgreSQL estimates it from its statistics: without it, on a small
/// table, it took the window for a third of the rows and scanned them all
/// (13 ms instead of 0.5 ms at 10k projects).
macro_rules! within_window {
    ($query:ident, $column:expr, $id:expr, $order:expr, $edge:expr) => {{
        use $crate::http::SortOrder;
        let (at, id): &$crate::db::search::Edge = $edge;
        let op = match $order {
            SortOrder::Desc => {
                $query = $query.filter($column.ge(*at));
                ">="
            }
            SortOrder::Asc => {
                $query = $query.filter($column.le(*at));
                "<="
            }
        };
        $crate::http::row_compare!($query, $column, $id, op, *at, id.clone());
    }};
}

pub(crate) use {search_terms, searched_rows, searched_table, within_window};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_the_statistics_do_not_list_is_rarer_than_any_they_list() {
        let [common, listed] = [pair_keys("芯片")[0], pair_keys("宏碁")[0]];
        let shares: Shares = std::sync::Arc::new([(common, 0.08), (listed, 0.002)].into_iter().collect());
        assert_eq!(share_at_most(&shares, &["芯片".into()]), Some(0.08));
        assert_eq!(share_at_most(&shares, &["芯片".into(), "宏碁".into()]), Some(0.002));
        assert_eq!(share_at_most(&shares, &["量子".into()]), Some(0.002), "unlisted: at most the rarest listed");
        assert_eq!(share_at_most(&shares, &["芯".into()]), None, "no pair");
        assert_eq!(share_at_most(&Default::default(), &["量子".into()]), None, "no statistics");
    }

    #[test]
    fn pair_keys_are_the_index_functions() {
        // `SELECT search_pair_keys('台积电a')` on PostgreSQL.
        assert_eq!(pair_keys("台积电a"), [45063633391, 65462629685, 62925045857]);
        assert!(pair_keys("台").is_empty());
    }

    #[test]
    fn a_word_no_window_would_hold_a_page_of_goes_to_the_index_first() {
        // 1M rows: the wide window holds 21 matches of a word in 5,250.
        assert_eq!(index_first(Some(1_000_000.0), 21), 5250.0);
        // Smaller tables keep the wide window's own size; far larger ones a cap.
        assert_eq!(index_first(Some(200_000.0), 21), INDEX_FIRST);
        assert_eq!(index_first(Some(10_000_000.0), 21), 2.0 * INDEX_FIRST);
        // Unknown sizes take no shortcut past the wide window's.
        assert_eq!(index_first(Some(-1.0), 21), INDEX_FIRST);
        assert_eq!(index_first(None, 21), INDEX_FIRST);
    }

    #[test]
    fn the_index_serves_small_tables_past_the_narrow_window() {
        // 21 wanted of 500 rows: at most 4.2 % of the table.
        assert!(index_beats_window(Some(10_000.0), 21, 4000));
        assert!(!index_beats_window(Some(1_000_000.0), 21, 4000));
        assert!(!index_beats_window(Some(-1.0), 21, 4000));
        assert!(!index_beats_window(None, 21, 4000));
    }

    #[test]
    fn the_wide_window_is_skipped_when_the_narrow_one_predicts_it_short() {
        // One match in 500 rows: about 8 in 4,000, not half of 21.
        assert!(wide_falls_short(0, 21));
        assert!(wide_falls_short(1, 21));
        // Three in 500: about 24 in 4,000, likely a page.
        assert!(!wide_falls_short(3, 21));
        // A page of one: the wide window would find about 8.
        assert!(!wide_falls_short(1, 2));
    }
}
