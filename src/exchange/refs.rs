//! External refs: the key a park's own ledger gives a record (its 台账编号),
//! unique per library and park, so that importing the same ledger again
//! updates the record instead of adding a second one. Kept in a side table
//! (`external_refs`) for every library alike; exports show it in the column
//! 外部编号 so that an exported list imports back onto itself.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::external_refs;
use crate::db::DbConnection;
use crate::error::ApiError;

/// The column of an export and a template that holds the ref (in English: `external_ref`).
pub const HEADER: &str = "外部编号";

/// The longest ref accepted.
pub const MAX_LEN: usize = 100;

/// The record `external_ref` names in `park`, if any (it may have been deleted since).
pub fn find(conn: &mut DbConnection, entity: &str, park: &str, external_ref: &str) -> Result<Option<String>, ApiError> {
    Ok(external_refs::table
        .filter(external_refs::entity_type.eq(entity))
        .filter(external_refs::park_code.eq(park))
        .filter(external_refs::external_ref.eq(external_ref))
        .select(external_refs::record_id)
        .first(conn)
        .optional()?)
}

/// Points `external_ref` in `park` at `record_id` (a ref whose record was
/// deleted is taken over by the new one).
pub fn bind(conn: &mut DbConnection, entity: &str, park: &str, external_ref: &str, record_id: &str) -> Result<(), ApiError> {
    release(conn, entity, park, external_ref)?;
    diesel::insert_into(external_refs::table)
        .values((
            external_refs::entity_type.eq(entity),
            external_refs::park_code.eq(park),
            external_refs::external_ref.eq(external_ref),
            external_refs::record_id.eq(record_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Frees `external_ref` in `park` for another record to take.
fn release(conn: &mut DbConnection, entity: &str, park: &str, external_ref: &str) -> QueryResult<usize> {
    diesel::delete(
        external_refs::table
            .filter(external_refs::entity_type.eq(entity))
            .filter(external_refs::park_code.eq(park))
            .filter(external_refs::external_ref.eq(external_ref)),
    )
    .execute(conn)
}

/// The refs of `ids` (one page of an export), by record id.
pub fn of_records(conn: &mut DbConnection, entity: &str, ids: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let pairs: Vec<(String, String)> = external_refs::table
        .filter(external_refs::entity_type.eq(entity))
        .filter(external_refs::record_id.eq_any(ids))
        .select((external_refs::record_id, external_refs::external_ref))
        .load(conn)?;
    Ok(pairs.into_iter().collect())
}

/// The records `refs` name in `park` (a batch: an import's refs), by ref.
pub fn find_many(conn: &mut DbConnection, entity: &str, park: &str, refs: &[String]) -> Result<HashMap<String, String>, ApiError> {
    if let DbConnection::Pg(pg) = conn {
        return find_many_pg(pg, entity, park, refs);
    }
    let mut found = HashMap::new();
    for chunk in refs.chunks(CHUNK) {
        let pairs: Vec<(String, String)> = external_refs::table
            .filter(external_refs::entity_type.eq(entity))
            .filter(external_refs::park_code.eq(park))
            .filter(external_refs::external_ref.eq_any(chunk))
            .select((external_refs::external_ref, external_refs::record_id))
            .load(conn)?;
        found.extend(pairs);
    }
    Ok(found)
}

/// PostgreSQL: one probe of the primary key a ref, whatever the statistics
/// say. As `external_ref = ANY($3)` the planner, seeing a table it believed
/// small (an import fills it in its own transaction), read every ref of the
/// park and searched the array for each: 23 ms a part of 900 rows, 2.6 s of
/// a 100,000-row import; under a generic plan, 1.3 s a part, 157 s to
/// re-import 100,000 unchanged rows (bench/RESULTS.md). The probes take
/// 3 ms a part.
fn find_many_pg(conn: &mut diesel::PgConnection, entity: &str, park: &str, refs: &[String]) -> Result<HashMap<String, String>, ApiError> {
    use diesel::sql_types::{Array, Text};
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        external_ref: String,
        #[diesel(sql_type = Text)]
        record_id: String,
    }
    let mut found = HashMap::new();
    for chunk in refs.chunks(CHUNK) {
        // OFFSET 0 keeps the subquery a probe per ref (not flattened into a join to plan).
        let pairs: Vec<Found> = diesel::sql_query(
            "SELECT r.external_ref, r.record_id FROM unnest($3::text[]) AS wanted(external_ref) \
             CROSS JOIN LATERAL (SELECT external_ref, record_id FROM external_refs \
             WHERE entity_type = $1 AND park_code = $2 AND external_ref = wanted.external_ref OFFSET 0) AS r",
        )
        .bind::<Text, _>(entity)
        .bind::<Text, _>(park)
        .bind::<Array<Text>, _>(chunk)
        .load(conn)?;
        found.extend(pairs.into_iter().map(|f| (f.external_ref, f.record_id)));
    }
    Ok(found)
}

/// [`bind`] for many refs at once, each (park, ref, record) new or taken
/// over from a deleted record; `taken` are those that named a record before.
pub fn bind_many(conn: &mut DbConnection, entity: &str, bindings: &[(String, String, String)], taken: &[(String, String)]) -> Result<(), ApiError> {
    for (park, external_ref) in taken {
        release(conn, entity, park, external_ref)?;
    }
    if let DbConnection::Pg(pg) = conn {
        return bind_many_pg(pg, entity, bindings);
    }
    for chunk in bindings.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(park, external_ref, record)| {
                (
                    external_refs::entity_type.eq(entity),
                    external_refs::park_code.eq(park),
                    external_refs::external_ref.eq(external_ref),
                    external_refs::record_id.eq(record),
                )
            })
            .collect();
        crate::db::insert_all!(conn, external_refs::table, rows)?;
    }
    Ok(())
}

/// PostgreSQL: all of a batch's refs in one statement of three arrays,
/// rather than VALUES lists of 4,000 values to parse and bind each.
fn bind_many_pg(conn: &mut diesel::PgConnection, entity: &str, bindings: &[(String, String, String)]) -> Result<(), ApiError> {
    use diesel::sql_types::{Array, Text};
    if bindings.is_empty() {
        return Ok(());
    }
    let column = |get: fn(&(String, String, String)) -> &str| bindings.iter().map(get).collect::<Vec<_>>();
    diesel::sql_query(
        "INSERT INTO external_refs (entity_type, park_code, external_ref, record_id) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])",
    )
    .bind::<Text, _>(entity)
    .bind::<Array<Text>, _>(column(|b| &b.0))
    .bind::<Array<Text>, _>(column(|b| &b.1))
    .bind::<Array<Text>, _>(column(|b| &b.2))
    .execute(conn)?;
    Ok(())
}

/// Refs a statement reads or writes (four values a row; SQLite binds at most 32,766).
const CHUNK: usize = 1_000;
