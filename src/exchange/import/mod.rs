//! Imports (`POST /imports`, `invest-registry import`): a CSV or XLSX file of
//! records, checked row by row and written all or nothing.
//!
//! Every row goes through the records core ([`records::create_in_tx`], or
//! [`records::update_in_tx`] for a row whose external ref names a record
//! already there): the same permission, rules and audit event as an API
//! write, all in ONE write transaction. A dry run (the default) does the
//! same work and rolls it back, so it finds exactly the errors a commit
//! would meet — links to investors, parks a role may not write, rules across
//! fields. One bad row and nothing is written; every bad row is reported
//! with its spreadsheet row number (the header is row 1) and column.

mod batch;
mod cells;
mod libraries;
mod many;
mod read;
mod stream;
mod template;

pub use read::MAX_FILE_BYTES;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use self::cells::{cell_value, folded, is_masked, unneutralised, Column, Kind};
use self::read::{read_table, Raw};
use self::libraries::Importable;
use self::template::EXTERNAL_REF;
use super::refs;
use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::funds::Fund;
use crate::investors::Investor;
use crate::projects::Project;
use crate::talents::Talent;
use crate::top100::Top100;

/// Which library a file is imported into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
// Its own name in the document: the change feed's kinds of record are `Library` there.
#[schema(as = ImportLibrary)]
pub enum Library {
    Projects,
    Investors,
    Talents,
    /// Funds in place of projects (rows name their project).
    Funds,
    /// The top-100 reference list (provincial_admin only).
    Top100,
}

impl Library {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw.trim() {
            "projects" => Ok(Self::Projects),
            "investors" => Ok(Self::Investors),
            "talents" => Ok(Self::Talents),
            "funds" => Ok(Self::Funds),
            "top100" => Ok(Self::Top100),
            _ => Err(ApiError::invalid("library", "enum", "must be one of projects, investors, talents, funds, top100")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Projects => "projects",
            Self::Investors => "investors",
            Self::Talents => "talents",
            Self::Funds => "funds",
            Self::Top100 => "top100",
        }
    }

    /// The worksheet of its template (an export's, where the list is exported).
    fn sheet(self) -> &'static str {
        match self {
            Self::Projects => "重大项目库",
            Self::Investors => "客商库",
            Self::Talents => "人才库",
            Self::Funds => "到位资金",
            Self::Top100 => "台湾地区前百大企业",
        }
    }
}

/// The template workbook of `library` (`GET /imports/template`).
pub fn template(library: Library) -> Result<Vec<u8>, ApiError> {
    match library {
        Library::Projects => template::workbook::<Project>(),
        Library::Investors => template::workbook::<Investor>(),
        Library::Talents => template::workbook::<Talent>(),
        Library::Funds => template::workbook::<Fund>(),
        Library::Top100 => template::workbook::<Top100>(),
    }
}

/// One bad cell or row.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RowError {
    /// The spreadsheet row (the header is row 1).
    #[schema(example = 7)]
    pub row: u64,
    /// The column's header as in the file (or the field when no column holds it).
    #[schema(example = "计划投资（美元）")]
    pub column: String,
    #[schema(example = "type")]
    pub code: String,
    #[schema(example = "must be a whole number")]
    pub message: String,
}

/// What became of a file's rows.
#[derive(Debug, Default)]
struct Counts {
    /// Records created (in a dry run: that would be).
    created: u64,
    /// Records named by their external ref whose fields changed.
    updated: u64,
    /// Records named by their external ref that the row repeats.
    unchanged: u64,
}

/// What an import did, or would do (a dry run).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub library: Library,
    pub dry_run: bool,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Records created (in a dry run: that a commit would create; a file
    /// with errors: 0, nothing is written).
    pub created: u64,
    /// Records named again by their `external_ref` whose fields change.
    pub updated: u64,
    /// Records named again by their `external_ref` that the row repeats.
    pub unchanged: u64,
    pub errors: Vec<RowError>,
}

/// What an import is asked to do.
pub struct ImportRequest {
    pub library: Library,
    pub file: Vec<u8>,
    pub park_code: Option<String>,
    pub dry_run: bool,
}

/// Reads, checks and (unless a dry run, or any row is bad) writes a file.
pub fn run(conn: &mut DbConnection, caller: &Caller, request: ImportRequest) -> Result<ImportReport, ApiError> {
    caller.require_writer()?;
    if request.library == Library::Top100 && !caller.may_manage_reference_data() {
        return Err(ApiError::Forbidden("only a provincial administrator keeps the top-100 list".into()));
    }
    match request.library {
        // A ledger runs to 100,000 rows: read on a thread of its own while written.
        Library::Projects => stream::run_projects(conn, caller, &request),
        Library::Investors => run_as::<Investor>(conn, caller, &request, &read_table(&request.file)?),
        Library::Talents => run_as::<Talent>(conn, caller, &request, &read_table(&request.file)?),
        Library::Funds => run_as::<Fund>(conn, caller, &request, &read_table(&request.file)?),
        Library::Top100 => run_as::<Top100>(conn, caller, &request, &read_table(&request.file)?),
    }
}

fn run_as<R: Importable>(conn: &mut DbConnection, caller: &Caller, request: &ImportRequest, table: &[Vec<Raw>]) -> Result<ImportReport, ApiError> {
    let rows = table.len().saturating_sub(1) as u64;
    let mut report =
        ImportReport { library: request.library, dry_run: request.dry_run, rows, created: 0, updated: 0, unchanged: 0, errors: vec![] };
    let Some((header, data)) = table.split_first() else {
        report.errors.push(RowError { row: 1, column: String::new(), code: "empty".into(), message: "the file has no header row".into() });
        return Ok(report);
    };
    let columns = match map_columns::<R>(header) {
        Ok(columns) => columns,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };

    let importer = Row { columns: &columns, caller, park: request.park_code.as_deref() };
    all_or_nothing::<R>(conn, caller, request, report, |conn, counts, errors| {
        // Investors and talents have batch paths (projects have theirs in
        // `stream`); funds and the top-100 list go row by row.
        match R::LIBRARY {
            Library::Investors => many::write_rows::<Investor>(conn, &importer, data, counts, errors)?,
            Library::Talents => many::write_rows::<Talent>(conn, &importer, data, counts, errors)?,
            Library::Projects | Library::Funds | Library::Top100 => {
                let mut refs_seen = HashSet::new();
                for (index, cells) in data.iter().enumerate() {
                    let row = index as u64 + 2;
                    if cells.iter().all(Raw::is_blank) {
                        continue; // a blank line
                    }
                    let written = in_savepoint(conn, |conn| importer.write::<R>(conn, cells, &mut refs_seen))?;
                    tally(written, row, counts, errors);
                }
            }
        }
        Ok(rows)
    })
}

/// Runs `write` (which answers the file's data rows) in ONE transaction,
/// rolled back for a dry run or any bad row, and fills the report.
fn all_or_nothing<R: Importable>(
    conn: &mut DbConnection,
    caller: &Caller,
    request: &ImportRequest,
    mut report: ImportReport,
    write: impl FnOnce(&mut DbConnection, &mut Counts, &mut Vec<RowError>) -> Result<u64, ApiError>,
) -> Result<ImportReport, ApiError> {
    let mut outcome: Option<(u64, Counts, Vec<RowError>)> = None;
    let written = db::write_tx(conn, |conn| {
        let mut counts = Counts::default();
        let mut errors = vec![];
        let rows = write(conn, &mut counts, &mut errors)?;
        let keep = errors.is_empty() && !request.dry_run;
        if keep {
            record_import::<R>(conn, caller, rows, &counts)?;
        }
        outcome = Some((rows, counts, errors));
        if keep {
            Ok(())
        } else {
            Err(ApiError::internal("import rolled back")) // a dry run, or bad rows: nothing stays
        }
    });
    let counts = match (written, outcome) {
        (Ok(()), Some((rows, counts, _))) => {
            report.rows = rows;
            counts
        }
        (Err(_), Some((rows, counts, errors))) if errors.is_empty() && request.dry_run => {
            report.rows = rows;
            counts
        }
        (Err(_), Some((rows, _, errors))) if !errors.is_empty() => {
            report.rows = rows;
            report.errors = errors;
            Counts::default()
        }
        (Err(err), _) => return Err(err),
        (Ok(()), None) => return Err(ApiError::internal("import finished without an outcome")),
    };
    (report.created, report.updated, report.unchanged) = (counts.created, counts.updated, counts.unchanged);
    report.errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    Ok(report)
}

/// Runs one row's write in a savepoint: a row the database refuses
/// (PostgreSQL then refuses everything after in its transaction) undoes only
/// itself. A failure of the import itself ends it.
fn in_savepoint(
    conn: &mut DbConnection,
    write: impl FnOnce(&mut DbConnection) -> Result<Written, RowFailure>,
) -> Result<Result<Written, Vec<CellError>>, ApiError> {
    let mut failure = None;
    let written = db::write_tx(conn, |conn| {
        write(conn).map_err(|f| {
            failure = Some(f);
            ApiError::internal("row rolled back")
        })
    });
    match (written, failure) {
        (Ok(written), _) => Ok(Ok(written)),
        (Err(_), Some(RowFailure::Cells(bad))) => Ok(Err(bad)),
        (Err(_), Some(RowFailure::Fatal(err))) | (Err(err), None) => Err(err),
    }
}

/// Counts what became of spreadsheet row `row`, or lists its bad cells.
fn tally(written: Result<Written, Vec<CellError>>, row: u64, counts: &mut Counts, errors: &mut Vec<RowError>) {
    match written {
        Ok(Written::Created) => counts.created += 1,
        Ok(Written::Updated) => counts.updated += 1,
        Ok(Written::Unchanged) => counts.unchanged += 1,
        Err(bad) => errors.extend(bad.into_iter().map(|e| e.at(row))),
    }
}

/// The import as one audit event: the file's rows and what became of them.
fn record_import<R: Importable>(conn: &mut DbConnection, caller: &Caller, rows: u64, counts: &Counts) -> Result<(), ApiError> {
    let count = |field: &str, n: u64| Change { field: field.into(), old: Value::Null, new: Value::from(n) };
    audit::record(conn, NewEvent {
        actor: &caller.username,
        action: Action::Import,
        entity_type: R::ENTITY_TYPE,
        entity_id: &uuid::Uuid::now_v7().to_string(),
        park_code: caller.park(),
        changes: vec![
            count("rows", rows),
            count("created", counts.created),
            count("updated", counts.updated),
            count("unchanged", counts.unchanged),
        ],
    })
}

/// A file column that feeds a field: where, the header as written, how to read it.
#[derive(Clone)]
struct Mapped {
    index: usize,
    header: String,
    field: &'static str,
    kind: Kind,
}

fn map_columns<R: Importable>(header: &[Raw]) -> Result<Vec<Mapped>, Vec<RowError>> {
    let mut mapped: Vec<Mapped> = vec![];
    let mut errors = vec![];
    let at_header = |column: &str, code: &str, message: String| RowError { row: 1, column: column.to_owned(), code: code.into(), message };
    for (index, cell) in header.iter().enumerate() {
        let Raw::Text(text) = cell else {
            errors.push(at_header(&format!("column {}", index + 1), "formula", "a header must be text".into()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let key = folded(text);
        let known = |c: &&Column| folded(c.zh) == key || c.field == key;
        match R::COLUMNS.iter().chain([&EXTERNAL_REF]).find(known) {
            Some(column) if mapped.iter().any(|m| m.field == column.field) => {
                errors.push(at_header(text.trim(), "duplicate", format!("a second column for {}", column.field)))
            }
            Some(column) => mapped.push(Mapped { index, header: text.trim().to_owned(), field: column.field, kind: column.kind }),
            None => errors.push(at_header(
                text.trim(),
                "unknown_column",
                format!("not a column of the {} template (Chinese or English header)", R::LIBRARY.as_str()),
            )),
        }
    }
    for field in R::REQUIRED {
        if !mapped.iter().any(|m| m.field == *field) {
            let zh = R::COLUMNS.iter().find(|c| c.field == *field).map_or("", |c| c.zh);
            errors.push(at_header(zh, "required", format!("the file needs a column {zh} ({field})")));
        }
    }
    if errors.is_empty() {
        Ok(mapped)
    } else {
        Err(errors)
    }
}

/// A bad cell before its row number is known.
struct CellError {
    column: String,
    code: String,
    message: String,
}

impl CellError {
    fn at(self, row: u64) -> RowError {
        RowError { row, column: self.column, code: self.code, message: self.message }
    }
}

/// What became of one row.
enum Written {
    Created,
    Updated,
    Unchanged,
}

/// Why a row was not written: its bad cells, or a failure of the import itself.
enum RowFailure {
    Cells(Vec<CellError>),
    Fatal(ApiError),
}

/// A row's cells read into fields: the values of the columns it fills
/// (`null` for an empty cell), and its external ref.
struct RowValues {
    values: Map<String, Value>,
    external_ref: Option<String>,
}

/// A row read and placed: its fields, its ref, and the park it goes to.
struct Placed {
    values: Map<String, Value>,
    external_ref: Option<String>,
    park: String,
}

/// The field of a row's park.
const PARK_CODE: &str = "park_code";

/// One row of a file on its way into its library.
struct Row<'a> {
    columns: &'a [Mapped],
    caller: &'a Caller,
    /// The park of rows without a park column (`park_code` of the request).
    park: Option<&'a str>,
}

impl Row<'_> {
    fn write<R: Importable>(&self, conn: &mut DbConnection, cells: &[Raw], refs_seen: &mut HashSet<String>) -> Result<Written, RowFailure> {
        let Placed { mut values, external_ref, park } = self.place::<R>(cells, refs_seen)?;
        let existing = match &external_ref {
            Some(external_ref) => match refs::find(conn, R::ENTITY_TYPE, &park, external_ref).map_err(RowFailure::Fatal)? {
                Some(id) => R::version(conn, self.caller, &id).map_err(|e| self.failure(e))?.map(|version| (id, version)),
                None => None,
            },
            None => None,
        };
        if let Some((id, before)) = existing {
            return self.update::<R>(conn, &id, before, values);
        }
        // New, or its record was deleted since: a new record (which takes the ref).
        values.retain(|_, value| !value.is_null());
        let id = R::create(conn, self.caller, &park, values).map_err(|e| self.failure(e))?;
        if let Some(external_ref) = external_ref {
            refs::bind(conn, R::ENTITY_TYPE, &park, &external_ref, &id).map_err(RowFailure::Fatal)?;
        }
        Ok(Written::Created)
    }

    /// Reads a row and finds its park; a ref seen on an earlier row is an error.
    fn place<R: Importable>(&self, cells: &[Raw], refs_seen: &mut HashSet<String>) -> Result<Placed, RowFailure> {
        let RowValues { mut values, external_ref } = self.read(cells).map_err(RowFailure::Cells)?;
        let requested = values.remove(PARK_CODE).and_then(|v| v.as_str().map(str::to_owned)).or(self.park.map(str::to_owned));
        // The key of a ref: its park, or '' for a library outside the parks.
        let park = if R::IN_PARKS { self.writable_park(requested)? } else { String::new() };
        if let Some(external_ref) = &external_ref {
            if !refs_seen.insert(format!("{park}\u{0}{external_ref}")) {
                let message = format!("the external ref {external_ref:?} is on an earlier row of this file");
                return Err(RowFailure::Cells(vec![self.cell_error(FieldError::new(EXTERNAL_REF.field, "duplicate", message))]));
            }
        }
        Ok(Placed { values, external_ref, park })
    }

    /// Applies a row to the record (at version `before`) its ref names.
    fn update<R: Importable>(&self, conn: &mut DbConnection, id: &str, before: i32, values: Map<String, Value>) -> Result<Written, RowFailure> {
        let after = R::update(conn, self.caller, id, values).map_err(|e| self.failure(e))?;
        Ok(if after == before { Written::Unchanged } else { Written::Updated })
    }

    /// The park a row goes to (its park column, the request's park, or a
    /// park role's own), if the caller may write there.
    fn writable_park(&self, requested: Option<String>) -> Result<String, RowFailure> {
        let park = self.caller.park_for_new(requested).and_then(|park| self.caller.require_write(&park).map(|()| park));
        park.map_err(|err| self.failure(err))
    }

    /// The row's cells as field values, or every bad cell.
    fn read(&self, cells: &[Raw]) -> Result<RowValues, Vec<CellError>> {
        let mut values = Map::new();
        let mut external_ref = None;
        let mut errors = vec![];
        for column in self.columns {
            let raw = cells.get(column.index).cloned().unwrap_or(Raw::Text(String::new()));
            let text = match raw {
                Raw::Text(text) => text,
                Raw::Refused(code, message) => {
                    errors.push(CellError { column: column.header.clone(), code: code.into(), message });
                    continue;
                }
            };
            let text = unneutralised(text.trim());
            match column.kind {
                Kind::Ignored => continue,
                // A masked value of an export: the stored one stays.
                Kind::Personal if is_masked(text) => continue,
                _ if column.field == EXTERNAL_REF.field => {
                    if text.chars().count() > refs::MAX_LEN {
                        let message = format!("at most {} characters", refs::MAX_LEN);
                        errors.push(CellError { column: column.header.clone(), code: "length".into(), message });
                    }
                    external_ref = Some(text.to_owned()).filter(|t| !t.is_empty());
                    continue;
                }
                // An empty cell clears the field: a list to no values, anything else to null.
                Kind::List | Kind::EnumList(_) if text.is_empty() => {
                    values.insert(column.field.to_owned(), Value::Array(vec![]));
                    continue;
                }
                _ if text.is_empty() => {
                    values.insert(column.field.to_owned(), Value::Null);
                    continue;
                }
                _ => {}
            }
            match cell_value(column.kind, text) {
                Ok(value) => {
                    values.insert(column.field.to_owned(), value);
                }
                Err((code, message)) => errors.push(CellError { column: column.header.clone(), code: code.into(), message }),
            }
        }
        if errors.is_empty() {
            Ok(RowValues { values, external_ref })
        } else {
            Err(errors)
        }
    }

    /// An error of the records core as the row's errors; anything else ends the import.
    fn failure(&self, err: ApiError) -> RowFailure {
        match err {
            ApiError::Invalid(bad) => RowFailure::Cells(bad.into_iter().map(|e| self.cell_error(e)).collect()),
            ApiError::Conflict(e) => RowFailure::Cells(vec![self.cell_error(e)]),
            ApiError::Forbidden(message) => {
                RowFailure::Cells(vec![CellError { column: self.column_of(PARK_CODE), code: "forbidden".into(), message }])
            }
            other => RowFailure::Fatal(other),
        }
    }

    /// The header of the column that holds `field` (`tags[1]` is in the tags column).
    fn column_of(&self, field: &str) -> String {
        let base = field.split(['[', '.']).next().unwrap_or(field);
        self.columns.iter().find(|m| m.field == base).map_or_else(|| base.to_owned(), |m| m.header.clone())
    }

    fn cell_error(&self, error: FieldError) -> CellError {
        CellError { column: self.column_of(&error.field), code: error.code, message: error.message }
    }
}
