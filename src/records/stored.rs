//! The table glue of a record: a few statements every record table answers
//! alike (`id`, `park_code`, `version`, `deleted_at`, `created_*`,
//! `updated_*`). Diesel's statements are typed by table, which generic
//! functions cannot name, so a thin macro writes them per table.

use diesel::QueryResult;

use super::Stamp;
use crate::auth::ParkScope;
use crate::db::DbConnection;

/// What every record's view answers: its id and version.
pub trait Keyed {
    fn id(&self) -> &str;
    fn version(&self) -> i32;
}

/// A create body's `park_code`, taken out of the fields (a record keeps its park).
pub trait ParkField {
    fn take_park(&mut self) -> Option<String>;
}

/// What the protocol reads of any stored row.
pub struct Meta {
    pub park: String,
    pub version: i32,
    pub created: Stamp,
}

pub trait Stored {
    type Row: Clone;

    /// The live row `id` if `scope` can see it.
    fn find(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> QueryResult<Option<Self::Row>>;
    /// The park of a deleted row `id` that `scope` could see.
    fn find_deleted_park(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> QueryResult<Option<String>>;
    fn meta(row: &Self::Row) -> Meta;
    fn insert(conn: &mut DbConnection, row: &Self::Row) -> QueryResult<usize>;
    /// Writes `row` over the stored one if that is still at `expected`.
    fn replace(conn: &mut DbConnection, row: &Self::Row, expected: i32) -> QueryResult<usize>;
    fn mark_deleted(conn: &mut DbConnection, id: &str, expected: i32, stamp: &Stamp) -> QueryResult<usize>;
    /// A change below the record (a sub-resource): a new version, the time and who.
    fn touch(conn: &mut DbConnection, id: &str, stamp: &Stamp) -> QueryResult<usize>;
}

/// Declares a record's view (what reads answer) with the fields every record
/// answers alike after its own: when and by whom it was created and last
/// changed, and its version, documented once. A macro because a schema
/// cannot share fields through serde's `flatten` without turning the
/// record's schema into an `allOf`.
macro_rules! record_view {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
            #[serde(serialize_with = "crate::http::date_text::instant")]
            pub created_at: chrono::DateTime<chrono::Utc>,
            #[serde(serialize_with = "crate::http::date_text::instant")]
            pub updated_at: chrono::DateTime<chrono::Utc>,
            pub created_by: String,
            pub updated_by: String,
            /// Increases by one on each change; send it back in `If-Match`.
            #[schema(example = 1)]
            pub version: i32,
        }
    };
}

/// What a row's bookkeeping columns are made from on a write.
pub trait Bookkeeping {
    fn new(created: &Stamp, updated: &Stamp, version: i32) -> Self;
}

/// Declares `$name`, the bookkeeping columns of `$table` (when and by whom a
/// row was created and last changed, its version, when it was deleted), for
/// the table's row to embed with `#[diesel(embed)]`. Every record table keeps
/// these alike, but diesel's derives name one table each, so each table
/// declares its own with this macro.
macro_rules! bookkeeping_columns {
    ($name:ident, $table:ident) => {
        /// When and by whom the row was created and last changed, its version,
        /// and when it was deleted.
        #[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, diesel::Insertable, diesel::AsChangeset)]
        #[diesel(table_name = $table, treat_none_as_null = true)]
        pub struct $name {
            pub created_at: chrono::NaiveDateTime,
            pub updated_at: chrono::NaiveDateTime,
            pub created_by: String,
            pub updated_by: String,
            pub version: i32,
            pub deleted_at: Option<chrono::NaiveDateTime>,
        }

        impl $crate::records::Bookkeeping for $name {
            fn new(created: &$crate::records::Stamp, updated: &$crate::records::Stamp, version: i32) -> Self {
                Self {
                    created_at: created.at,
                    updated_at: updated.at,
                    created_by: created.by.clone(),
                    updated_by: updated.by.clone(),
                    version,
                    deleted_at: None,
                }
            }
        }
    };
}

/// The two writes every row answers alike: insert, and replace at an
/// expected version (0 rows when another writer got there first).
macro_rules! row_writes {
    ($table:ident, $row:ty) => {
        fn insert(conn: &mut $crate::db::DbConnection, row: &$row) -> diesel::QueryResult<usize> {
            diesel::insert_into($table::table).values(row).execute(conn)
        }

        fn replace(conn: &mut $crate::db::DbConnection, row: &$row, expected: i32) -> diesel::QueryResult<usize> {
            diesel::update($table::table.filter($table::id.eq(&row.id)).filter($table::version.eq(expected)))
                .set(row)
                .execute(conn)
        }
    };
}
pub(crate) use row_writes;

/// The live rows of `$table` that `$scope` can see, as a boxed query on the
/// backend its context asks for: `visible()` on the multi-backend, and the
/// lists on each concrete one (`searched_table!`).
macro_rules! visible_rows {
    ($table:ident, $scope:expr) => {{
        let query = $table::table.filter($table::deleted_at.is_null()).into_boxed();
        match $scope {
            $crate::auth::ParkScope::All => query,
            $crate::auth::ParkScope::One(park) => query.filter($table::park_code.eq(park.clone())),
        }
    }};
}

/// Implements [`Stored`] for `$record` over `$table` with rows of `$row`
/// (which derives `Queryable`, `Selectable`, `Insertable` and `AsChangeset`),
/// the [`Keyed`] and [`ParkField`] accessors of the record's view (`$record`
/// itself) and fields (`$fields`), and `$record::visible(scope)`, the live
/// rows a scope sees, for the library's lists.
macro_rules! stored_table {
    ($record:ident, $table:ident, $row:ty, $fields:ty) => {
        impl $record {
            /// The live rows `scope` can see, as a boxed query to filter further
            /// (lists start from [`visible_rows!`] on their own backend, so a
            /// library may not need this one).
            #[allow(dead_code)]
            pub(crate) fn visible<'a>(
                scope: &$crate::auth::ParkScope,
            ) -> $table::BoxedQuery<'a, $crate::db::MultiBackend> {
                $crate::records::visible_rows!($table, scope)
            }
        }

        impl $crate::records::Keyed for $record {
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
        }

        impl $crate::records::ParkField for $fields {
            fn take_park(&mut self) -> Option<String> {
                self.park_code.take()
            }
        }

        impl $crate::records::Stored for $record {
            type Row = $row;

            fn find(
                conn: &mut $crate::db::DbConnection,
                scope: &$crate::auth::ParkScope,
                id: &str,
            ) -> diesel::QueryResult<Option<$row>> {
                // Typed, not boxed, and on the concrete connection: diesel then
                // keeps the prepared statement by the query's type and writes
                // its SQL once; a boxed query is looked up by its SQL, written
                // again on every read (see `db::on_native`). The same rows as
                // `visible()` gives `scope`: keep the two alike.
                let live = $table::table.filter($table::deleted_at.is_null()).filter($table::id.eq(id));
                match scope {
                    $crate::auth::ParkScope::All => {
                        $crate::db::on_native!(conn, |c| live.select(<$row>::as_select()).first(c).optional())
                    }
                    $crate::auth::ParkScope::One(park) => $crate::db::on_native!(conn, |c| live
                        .filter($table::park_code.eq(park))
                        .select(<$row>::as_select())
                        .first(c)
                        .optional()),
                }
            }

            fn find_deleted_park(
                conn: &mut $crate::db::DbConnection,
                scope: &$crate::auth::ParkScope,
                id: &str,
            ) -> diesel::QueryResult<Option<String>> {
                let mut query = $table::table
                    .filter($table::id.eq(id.to_owned()))
                    .filter($table::deleted_at.is_not_null())
                    .into_boxed();
                if let $crate::auth::ParkScope::One(park) = scope {
                    query = query.filter($table::park_code.eq(park.clone()));
                }
                query.select($table::park_code).first(conn).optional()
            }

            fn meta(row: &$row) -> $crate::records::Meta {
                $crate::records::Meta {
                    park: row.park_code.clone(),
                    version: row.bookkeeping.version,
                    created: $crate::records::Stamp { at: row.bookkeeping.created_at, by: row.bookkeeping.created_by.clone() },
                }
            }

            $crate::records::row_writes!($table, $row);

            fn mark_deleted(
                conn: &mut $crate::db::DbConnection,
                id: &str,
                expected: i32,
                stamp: &$crate::records::Stamp,
            ) -> diesel::QueryResult<usize> {
                diesel::update($table::table.filter($table::id.eq(id)).filter($table::version.eq(expected)))
                    .set((
                        $table::deleted_at.eq(Some(stamp.at)),
                        $table::updated_at.eq(stamp.at),
                        $table::updated_by.eq(&stamp.by),
                        $table::version.eq(expected + 1),
                    ))
                    .execute(conn)
            }

            fn touch(
                conn: &mut $crate::db::DbConnection,
                id: &str,
                stamp: &$crate::records::Stamp,
            ) -> diesel::QueryResult<usize> {
                diesel::update($table::table.filter($table::id.eq(id)).filter($table::deleted_at.is_null()))
                    .set((
                        $table::updated_at.eq(stamp.at),
                        $table::updated_by.eq(&stamp.by),
                        $table::version.eq($table::version + 1),
                    ))
                    .execute(conn)
            }
        }
    };
}

/// The table glue of a sub-resource in `$table`, whose rows (`$row`) hang
/// off a parent through `$parent` and carry `version`: implements the
/// storage half of [`super::Child`] for `$child`.
macro_rules! child_table {
    ($child:ty, $table:ident, $row:ty, $parent:ident, order_by = $order:expr) => {
        impl $crate::records::ChildTable for $child {
            type Row = $row;

            fn rows(conn: &mut $crate::db::DbConnection, parent_id: &str) -> diesel::QueryResult<Vec<$row>> {
                $table::table
                    .filter($table::$parent.eq(parent_id))
                    .order($order)
                    .select(<$row>::as_select())
                    .load(conn)
            }

            fn row(conn: &mut $crate::db::DbConnection, parent_id: &str, id: &str) -> diesel::QueryResult<Option<$row>> {
                $table::table
                    .filter($table::$parent.eq(parent_id))
                    .filter($table::id.eq(id))
                    .select(<$row>::as_select())
                    .first(conn)
                    .optional()
            }

            $crate::records::row_writes!($table, $row);

            fn remove(conn: &mut $crate::db::DbConnection, id: &str, expected: i32) -> diesel::QueryResult<usize> {
                diesel::delete($table::table.filter($table::id.eq(id)).filter($table::version.eq(expected))).execute(conn)
            }
        }
    };
}

pub(crate) use {bookkeeping_columns, child_table, record_view, stored_table, visible_rows};
