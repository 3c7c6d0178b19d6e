//! The batch path of a project import. A park's ledger runs to 100,000
//! rows, and one API write a row (a dozen statements, a read-back and a
//! targets refresh each) took minutes. Here the rows come a part at a time,
//! read, placed and decoded by the reading thread ([`super::stream`]); the
//! refs a part carries are looked up in a few set-based reads; its new
//! records are checked with the rules of an API create and written by
//! [`crate::projects::batch`] (multi-row INSERTs, the same audit event per
//! row), and the targets summary is refreshed once at the end. A row whose
//! ref names a live record is a merge patch through the records core, as
//! before (re-imports touch few rows).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::read::Raw;
use super::libraries::{Importable, Writer};
use super::{in_savepoint, refs, tally, CellError, Counts, Placed, Row, RowError, RowFailure, Written};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::projects::batch::{self, Inserted, NewProject};
use crate::projects::{Project, ProjectFields};
use crate::records::{self, Record};

const ENTITY: &str = <Project as Record>::ENTITY;

/// A row read and placed, ready for the writer.
pub(super) struct Prepared {
    /// Its spreadsheet row.
    row: u64,
    park: String,
    external_ref: Option<String>,
    /// The row as a merge patch (empty cells clear fields), kept when its
    /// ref may name a record already there.
    patch: Option<Map<String, Value>>,
    /// The row as a new project, or its bad cells.
    new: Result<Decoded, Vec<CellError>>,
}

/// A row's new project, built or still to build.
enum Decoded {
    /// Built, and checked by the rules that read no database.
    Built(NewProject),
    /// Its fields only, built by the writer.
    Fields(ProjectFields),
}

/// Decodes a placed row and, when `build`, builds it as a new project. On
/// the reading thread, PostgreSQL: the rules, the row, its view and its
/// create event are most of an import's own work, and the connection's
/// thread waits for none of it. Not for SQLite, whose import holds every row
/// of the file before it writes: a built project takes several times the
/// memory of its fields.
pub(super) fn prepare(importer: &Row<'_>, row: u64, Placed { values, external_ref, park }: Placed, build: bool) -> Result<Prepared, ApiError> {
    let patch = external_ref.is_some().then(|| values.clone());
    let mut values = values;
    values.retain(|_, value| !value.is_null());
    let new = match records::decode::<ProjectFields>(Value::Object(values)) {
        Ok(fields) if build => Ok(Decoded::Built(NewProject::build(importer.caller, park.clone(), fields)?)),
        Ok(fields) => Ok(Decoded::Fields(fields)),
        Err(err) => Err(cells_of(importer, err)?),
    };
    Ok(Prepared { row, park, external_ref, patch, new })
}

/// The writing side of a project import: one part after another, inside the
/// import's transaction; nothing new is inserted once any row is bad (the
/// import will be rolled back), but every later row is still checked.
pub(super) struct ProjectParts<'a> {
    importer: &'a Row<'a>,
    inserted: Inserted,
}

impl<'a> ProjectParts<'a> {
    pub(super) fn new(importer: &'a Row<'a>) -> Self {
        Self { importer, inserted: Inserted::default() }
    }

    /// Writes (or, in a dry run, writes before the rollback) one part's
    /// rows, counting them; bad rows go to `errors`.
    pub(super) fn write(&mut self, conn: &mut DbConnection, part: Vec<Prepared>, counts: &mut Counts, errors: &mut Vec<RowError>) -> Result<(), ApiError> {
        let importer = self.importer;
        let named = named_records(conn, importer, &part)?;
        let mut new_rows: Vec<(u64, Option<String>)> = Vec::new();
        let mut news: Vec<NewProject> = Vec::new();
        let mut taken: Vec<(String, String)> = Vec::new();
        for Prepared { row, park, external_ref, patch, new } in part {
            let key = external_ref.clone().map(|r| (park.clone(), r));
            match key.as_ref().map(|key| named.get(key)) {
                Some(Some(Named::Live(id, current))) => {
                    let values = patch.unwrap_or_default();
                    // What a PATCH would find unchanged before any rule runs (a
                    // re-imported ledger, mostly) needs no statement at all.
                    if records::merge(&**current, Value::Object(values.clone())).is_ok_and(|merged: ProjectFields| merged == **current) {
                        tally(Ok(Written::Unchanged), row, counts, errors);
                        continue;
                    }
                    let written = in_savepoint(conn, |conn| {
                        let before = Project::version(conn, importer.caller, id).map_err(|e| importer.failure(e))?;
                        let before = before.ok_or_else(|| RowFailure::Fatal(ApiError::internal("a record vanished during its import")))?;
                        importer.update::<Project>(conn, id, before, values)
                    })?;
                    tally(written, row, counts, errors);
                    continue;
                }
                // Its record was deleted since: the new record takes the ref.
                Some(Some(Named::Gone)) => taken.extend(key),
                _ => {}
            }
            match new {
                Ok(decoded) => {
                    news.push(match decoded {
                        Decoded::Built(new) => new,
                        Decoded::Fields(fields) => NewProject::build(importer.caller, park, fields)?,
                    });
                    new_rows.push((row, external_ref));
                }
                Err(bad) => tally(Err(bad), row, counts, errors),
            }
        }

        for ((row, _), broken) in new_rows.iter().zip(batch::check(conn, &news)?) {
            if let Err(err) = records::invalid_unless_empty(broken) {
                tally(Err(cells_of(importer, err)?), *row, counts, errors);
            }
        }
        if !errors.is_empty() {
            return Ok(()); // nothing stays: the counts no longer matter
        }
        let mut bindings: Vec<(String, String, String)> = Vec::with_capacity(news.len());
        for ((_, external_ref), new) in new_rows.into_iter().zip(&news) {
            let id = new.id().ok_or_else(|| ApiError::internal("a checked project has no row"))?;
            bindings.extend(external_ref.map(|r| (new.park().to_owned(), r, id.to_owned())));
        }
        counts.created += news.len() as u64;
        batch::insert_part(conn, news, &mut self.inserted)?;
        refs::bind_many(conn, ENTITY, &bindings, &taken)
    }

    /// After the last part: what hangs off the new projects, refreshed once.
    pub(super) fn finish(self, conn: &mut DbConnection, errors: &[RowError]) -> Result<(), ApiError> {
        if errors.is_empty() {
            batch::finish(conn, self.inserted)?;
        }
        Ok(())
    }
}

/// Every non-blank row read and placed, with its spreadsheet row number.
pub(super) fn place_rows<R: Importable>(importer: &Row<'_>, data: &[Vec<Raw>], errors: &mut Vec<RowError>) -> Result<Vec<(u64, Placed)>, ApiError> {
    let mut refs_seen = HashSet::new();
    let mut placed = Vec::with_capacity(data.len());
    for (index, cells) in data.iter().enumerate() {
        let row = index as u64 + 2;
        if cells.iter().all(Raw::is_blank) {
            continue; // a blank line
        }
        match importer.place::<R>(cells, &mut refs_seen) {
            Ok(row_placed) => placed.push((row, row_placed)),
            Err(RowFailure::Cells(bad)) => errors.extend(bad.into_iter().map(|e| e.at(row))),
            Err(RowFailure::Fatal(err)) => return Err(err),
        }
    }
    Ok(placed)
}

/// What a (park, ref) names already.
enum Named {
    /// A live record the caller sees, and its fields.
    Live(String, Box<ProjectFields>),
    /// A record deleted since (or out of sight).
    Gone,
}

/// The records the rows' refs name, by (park, ref).
fn named_records(conn: &mut DbConnection, importer: &Row<'_>, part: &[Prepared]) -> Result<HashMap<(String, String), Named>, ApiError> {
    let mut by_park: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in part {
        if let Some(external_ref) = &p.external_ref {
            by_park.entry(&p.park).or_default().push(external_ref.clone());
        }
    }
    let mut found: Vec<((String, String), String)> = Vec::new();
    for (park, park_refs) in by_park {
        found.extend(refs::find_many(conn, ENTITY, park, &park_refs)?.into_iter().map(|(r, id)| ((park.to_owned(), r), id)));
    }
    let ids: Vec<String> = found.iter().map(|(_, id)| id.clone()).collect();
    let live = batch::stored_fields(conn, &importer.caller.scope(), &ids)?;
    Ok(found
        .into_iter()
        .map(|(key, id)| match live.get(&id) {
            // Two refs of a park may name one record: each gets its fields.
            Some(fields) => (key, Named::Live(id, Box::new(fields.clone()))),
            None => (key, Named::Gone),
        })
        .collect())
}

/// A row's refusal as its bad cells; anything else ends the import.
pub(super) fn cells_of(importer: &Row<'_>, err: ApiError) -> Result<Vec<CellError>, ApiError> {
    match importer.failure(err) {
        RowFailure::Cells(bad) => Ok(bad),
        RowFailure::Fatal(err) => Err(err),
    }
}
