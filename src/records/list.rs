//! Lists every library shares: the caller's scope, keyset pages in one of
//! the four orders, and the cursor that continues them.

use chrono::NaiveDateTime;
use diesel::dsl::{Eq, EqAny};
use diesel::expression::{AsExpression, TypedExpressionType};
use diesel::query_dsl::methods::FilterDsl;
use diesel::sql_types::SqlType;
use diesel::{Expression, ExpressionMethods, PgConnection, QueryResult, SqliteConnection};
use utoipa::ToSchema;

use crate::auth::ParkScope;
use crate::db::search::SearchConnection;
use crate::db::{backend_of, on_native, Backend, DbConnection, MultiBackend};
use crate::error::ApiError;
use crate::http::{take_page, Cursor, Limit, Page, SortKey, SortOrder};

use super::{Record, Stored};

/// Where a list page starts and how long it is, from `limit`, `sort` and `cursor`.
pub struct Paging {
    pub limit: Limit,
    pub key: SortKey,
    pub order: SortOrder,
    pub after: Option<Cursor>,
}

impl Paging {
    pub fn parse(limit: Option<i64>, sort: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = Limit::parse(limit)?;
        let (key, order) = SortKey::parse(sort)?;
        // `cursor=` (empty) is the first page, as clients that always send the parameter expect.
        let after = cursor.filter(|raw| !raw.trim().is_empty()).map(|raw| Cursor::decode(raw, key, order)).transpose()?;
        Ok(Self { limit, key, order, after })
    }

    /// The cursor that continues after a row with these sort values.
    pub fn cursor_after(&self, created_at: NaiveDateTime, updated_at: NaiveDateTime, id: &str) -> Cursor {
        let at = match self.key {
            SortKey::CreatedAt => created_at,
            SortKey::UpdatedAt => updated_at,
        };
        Cursor { key: self.key, order: self.order, at, id: id.to_owned() }
    }
}

/// `query` narrowed to the rows whose `column` holds one of `wanted` (values
/// as stored); a list filter left empty narrows nothing. One value is sent
/// as `column = $1`: PostgreSQL reads `= ANY($1)` as a set even of one, and
/// then cannot take the order of a `(column, created_at, id)` index.
pub fn one_of<Q, C>(query: Q, column: C, mut wanted: Vec<String>) -> Q
where
    C: Expression + ExpressionMethods,
    C::SqlType: SqlType + TypedExpressionType,
    String: AsExpression<C::SqlType>,
    Q: FilterDsl<EqAny<C, Vec<String>>, Output = Q> + FilterDsl<Eq<C, String>, Output = Q>,
{
    match wanted.len() {
        0 => query,
        1 => FilterDsl::filter(query, column.eq(wanted.remove(0))),
        _ => FilterDsl::filter(query, column.eq_any(wanted)),
    }
}

/// The parameters every library's list shares, as [`list_filter!`] declares
/// them: the search, the order, the page and the count. (`park` is each
/// library's [`FilteredOn::filtered`], which starts from the caller's visible rows.)
pub trait ListParams {
    /// The words of `q`, folded as the stored search text is.
    fn terms(&self) -> Vec<String>;
    fn paging(&self) -> Result<Paging, ApiError>;
    /// Whether the page also carries `total`.
    fn counted(&self) -> bool;
    /// Whether the list is slow work (`db::run_list`'s lane): counting every
    /// match reads as much as the filters match; so does a search without an index.
    fn is_slow(&self, pool: &crate::db::DbPool) -> bool;
    /// The park codes asked for (`park`).
    fn parks(&self) -> &[String];
    /// Whether the list filters by nothing of the library's own and searches
    /// nothing: its rows are then the visible ones of at most one park (see [`list`]).
    fn is_plain(&self) -> bool;
}

/// A list parameter left out (see [`ListParams::is_plain`]).
pub trait Unset {
    fn is_unset(&self) -> bool;
}

impl<T> Unset for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

impl<T> Unset for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

/// What a searched record's list is, whatever the backend: its filter, and
/// the order of its rows. [`crate::db::search::searched_table!`] implements
/// it with [`FilteredOn`] and [`SearchedOn`].
pub trait Searched: Stored {
    /// The list's parameters.
    type Filter: ListParams;
    /// What a row is ordered by: `created_at`, `updated_at` and `id`.
    fn sort_values(row: &Self::Row) -> (NaiveDateTime, NaiveDateTime, &str);
}

/// A list's query on one backend `DB`, which generic code cannot name (a
/// boxed query is typed by its table and backend): the library writes its
/// filters once and `searched_table!` stamps them for PostgreSQL, SQLite and
/// the multi-backend (statistics).
pub trait FilteredOn<DB: diesel::backend::Backend>: Searched {
    /// A boxed query over the table's rows.
    type Query<'a>;

    /// The visible records that pass the list's filters other than `q`.
    fn filtered<'a>(scope: &ParkScope, filter: &Self::Filter) -> Self::Query<'a>;
    /// The live records of `park` (of every park with none), the park
    /// written into the statement's text (`db::park_literal`).
    fn plain<'a>(park: Option<&str>) -> Self::Query<'a>;
    /// `query` narrowed to the rows holding every term (with the pair index too
    /// when `indexed`, PostgreSQL only).
    fn with_terms<'a>(query: Self::Query<'a>, terms: &[String], indexed: bool) -> Self::Query<'a>;
}

/// The list's statements on a concrete connection `C` (see
/// [`SearchConnection`]), written once by `searched_table!`.
pub trait SearchedOn<C: SearchConnection>: FilteredOn<C::Backend> {
    /// `query` marked to be planned for its values on every run (see [`list`]).
    fn planned_for_values<'a>(query: <Self as FilteredOn<C::Backend>>::Query<'a>) -> <Self as FilteredOn<C::Backend>>::Query<'a>;
    fn count(conn: &mut C, query: <Self as FilteredOn<C::Backend>>::Query<'_>) -> QueryResult<i64>;
    /// A page's rows, `limit + 1` of them (see `searched_rows!`); `listed()`
    /// makes the list's query without `q`, order or cursor.
    fn page_rows<'a>(
        conn: &mut C,
        paging: &Paging,
        terms: &[String],
        listed: impl Fn() -> <Self as FilteredOn<C::Backend>>::Query<'a>,
    ) -> QueryResult<Vec<Self::Row>>;
}

/// A library's list: its own filters (`searched_table!`), and how a page's
/// rows become what the list shows. The rest (paging, search, count) is
/// [`list`]'s.
pub trait Listed: Record + SearchedOn<PgConnection> + SearchedOn<SqliteConnection> + FilteredOn<MultiBackend> {
    /// A page's rows as the list shows them.
    fn listed(conn: &mut DbConnection, rows: Vec<Self::Row>) -> Result<Vec<Self::View>, ApiError>;
}

/// One page of a library's list for `scope`, with `total` when asked.
///
/// Its statements run on the concrete connection ([`SearchConnection`]). On
/// PostgreSQL they go unprepared, each planned for its values in its one
/// round trip, as a list needs (why: `db::with_custom_plans`, whose `SET`
/// and `RESET` around the page cost two more round trips). A plain first
/// page ([`plain_park`]: the caller's park's records, the list people open
/// most; later pages' cursors are SQL text, which diesel does not keep)
/// stays prepared with its park written into the text: PostgreSQL need not
/// parse it on every request, and should it keep a generic plan, each park
/// has one of its own (bench/RESULTS.md, twelfth session).
pub fn list<R: Listed>(conn: &mut DbConnection, scope: &ParkScope, filter: &R::Filter) -> Result<Page<R::View>, ApiError>
where
    R::View: ToSchema,
{
    let paging = filter.paging()?;
    let (rows, total) = on_native!(conn, |c| rows_and_total::<R, _>(c, scope, filter, &paging))?;
    let (rows, next_cursor) = take_page(rows, paging.limit, |last| {
        let (created_at, updated_at, id) = R::sort_values(last);
        paging.cursor_after(created_at, updated_at, id)
    });
    Ok(Page { items: R::listed(conn, rows)?, next_cursor, total })
}

/// A page's rows, `limit + 1` of them, and `total` when asked, read on `conn`.
fn rows_and_total<R: SearchedOn<C>, C: SearchConnection>(
    conn: &mut C,
    scope: &ParkScope,
    filter: &R::Filter,
    paging: &Paging,
) -> QueryResult<(Vec<R::Row>, Option<i64>)> {
    let planned = |query| if C::PLANNED_FOR_VALUES { R::planned_for_values(query) } else { query };
    let terms = filter.terms();
    let rows = match plain_park(scope, filter).filter(|_| C::PLANNED_FOR_VALUES) {
        Some(park) => R::page_rows(conn, paging, &terms, || R::plain(park))?,
        None => R::page_rows(conn, paging, &terms, || planned(R::filtered(scope, filter)))?,
    };
    let total = match filter.counted() {
        true => Some(R::count(conn, planned(R::with_terms(R::filtered(scope, filter), &terms, C::PAIR_INDEX)))?),
        false => None,
    };
    Ok((rows, total))
}

/// The park a plain list's page is confined to (`Some(None)`: none), when
/// the list is plain and the park is the caller's own: a provincial role's
/// list of every park, a park role's of its park. A park asked for in the
/// query string is not written into a statement's text (`db::park_literal`),
/// so a provincial role's list of one park is planned for its values. A
/// token's park is always shaped as a park code (an outside provider's is
/// checked when its token is read); the check here stays as a second guard.
fn plain_park<'s>(scope: &'s ParkScope, filter: &impl ListParams) -> Option<Option<&'s str>> {
    if !filter.is_plain() {
        return None;
    }
    match (scope, filter.parks()) {
        (ParkScope::All, []) => Some(None),
        (ParkScope::One(own), []) if crate::parks::is_code(own) => Some(Some(own)),
        (ParkScope::One(own), [asked]) if asked == own && crate::parks::is_code(own) => Some(Some(own)),
        _ => None,
    }
}

/// The visible records that pass every filter of the list, `q` included
/// (with the pair index on PostgreSQL), on the multi-backend: what
/// statistics cover.
pub fn matching<'a, R: Listed>(conn: &DbConnection, scope: &ParkScope, filter: &R::Filter) -> <R as FilteredOn<MultiBackend>>::Query<'a> {
    let indexed = backend_of(conn) == Backend::Postgres;
    <R as FilteredOn<MultiBackend>>::with_terms(<R as FilteredOn<MultiBackend>>::filtered(scope, filter), &filter.terms(), indexed)
}

/// Declares a library's list filter with the parameters every list shares:
/// `park` first, then the library's own fields, then `q`, `sort`, `limit`,
/// `cursor` and `count` (the library words what `q` searches and what
/// `count` counts), each documented and bounded once, and implements
/// [`ListParams`] for it. A macro because a query string cannot share fields
/// through serde's `flatten`: it reads every value as text (`limit=5` is no
/// number then) and cannot refuse unknown parameters.
macro_rules! list_filter {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
        q = $q_doc:literal, q_example = $q_example:literal, count = $count_doc:literal
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Park codes (repeat for several). A park role sees its own park whatever is asked.
            #[serde(default)]
            #[param(example = json!(["yueyang"]))]
            pub park: Vec<String>,
            $($(#[$field_meta])* pub $field: $type,)*
            #[doc = $q_doc]
            #[param(example = $q_example)]
            pub q: Option<String>,
            /// `created_at`, `-created_at` (default, newest first), `updated_at` or `-updated_at`.
            #[param(value_type = Option<$crate::http::Sort>)]
            pub sort: Option<String>,
            /// Page size, 1 to 200 (default 50).
            #[param(minimum = 1, maximum = 200, example = 50)]
            pub limit: Option<i64>,
            /// `next_cursor` of the previous page.
            pub cursor: Option<String>,
            #[doc = $count_doc]
            pub count: Option<bool>,
        }

        impl $crate::records::ListParams for $name {
            fn terms(&self) -> Vec<String> {
                self.q.as_deref().map($crate::text::terms).unwrap_or_default()
            }
            fn paging(&self) -> Result<$crate::records::Paging, $crate::error::ApiError> {
                $crate::records::Paging::parse(self.limit, self.sort.as_deref(), self.cursor.as_deref())
            }
            fn counted(&self) -> bool {
                self.count == Some(true)
            }
            fn is_slow(&self, pool: &$crate::db::DbPool) -> bool {
                self.counted() || (self.q.is_some() && $crate::db::search::is_slow_work(pool))
            }
            fn parks(&self) -> &[String] {
                &self.park
            }
            fn is_plain(&self) -> bool {
                use $crate::records::Unset;
                self.q.is_none() $(&& self.$field.is_unset())*
            }
        }
    };
}
pub(crate) use list_filter;
