//! The batch path of investor and talent imports: rows are placed first,
//! the refs they carry looked up in one read a park, new records checked
//! row by row with the rules of an API create and written a chunk at a
//! time by [`crate::records::batch`]. A row whose ref names a live record is
//! a merge patch through the records core, as before; the new records of
//! the rows above it are written first, so the rows take effect in file
//! order, as they did one by one.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::batch::{cells_of, place_rows};
use super::libraries::Importable;
use super::read::Raw;
use super::{in_savepoint, refs, tally, Counts, Placed, Row, RowError, RowFailure};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::records::batch::{Batched, Creates};
use crate::records::{self, Record};

/// Writes (or, in a dry run, writes before the rollback) every row of
/// `data`, counting them; bad rows go to `errors`.
pub(super) fn write_rows<R: Importable + Batched>(
    conn: &mut DbConnection,
    importer: &Row<'_>,
    data: &[Vec<Raw>],
    counts: &mut Counts,
    errors: &mut Vec<RowError>,
) -> Result<(), ApiError> {
    let placed = place_rows::<R>(importer, data, errors)?;
    let named = named_ids::<R>(conn, &placed)?;
    let mut creates = Creates::<R>::new(importer.caller);
    let mut bindings: Vec<(String, String, String)> = Vec::new();
    let mut taken: Vec<(String, String)> = Vec::new();
    for (row, Placed { mut values, external_ref, park }) in placed {
        let key = external_ref.clone().map(|r| (park.clone(), r));
        if let Some(id) = key.as_ref().and_then(|key| named.get(key)) {
            let before = match R::version(conn, importer.caller, id) {
                Ok(before) => before,
                Err(err) => {
                    tally(Err(cells_of(importer, err)?), row, counts, errors);
                    continue;
                }
            };
            if let Some(before) = before {
                creates.flush(conn)?;
                let written = in_savepoint(conn, |conn| importer.update::<R>(conn, id, before, values))?;
                tally(written, row, counts, errors);
                continue;
            }
            // Its record was deleted since: the new record takes the ref.
            taken.extend(key.clone());
        }
        values.retain(|_, value| !value.is_null());
        let added = records::decode::<<R as Record>::Fields>(Value::Object(values)).and_then(|fields| creates.add(conn, &park, fields));
        match added {
            Ok(id) => {
                counts.created += 1;
                bindings.extend(external_ref.map(|r| (park, r, id)));
            }
            Err(err) => match importer.failure(err) {
                RowFailure::Cells(bad) => errors.extend(bad.into_iter().map(|e| e.at(row))),
                RowFailure::Fatal(err) => return Err(err),
            },
        }
    }
    if !errors.is_empty() {
        return Ok(()); // nothing stays
    }
    creates.flush(conn)?;
    refs::bind_many(conn, R::ENTITY_TYPE, &bindings, &taken)
}

/// The records the rows' refs name (live or not), by (park, ref).
fn named_ids<R: Importable>(conn: &mut DbConnection, placed: &[(u64, Placed)]) -> Result<HashMap<(String, String), String>, ApiError> {
    let mut by_park: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (_, p) in placed {
        if let Some(external_ref) = &p.external_ref {
            by_park.entry(&p.park).or_default().push(external_ref.clone());
        }
    }
    let mut found = HashMap::new();
    for (park, park_refs) in by_park {
        found.extend(refs::find_many(conn, R::ENTITY_TYPE, park, &park_refs)?.into_iter().map(|(r, id)| ((park.to_owned(), r), id)));
    }
    Ok(found)
}
