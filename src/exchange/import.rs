//! Imports (`POST /imports`): a CSV or XLSX file of records, checked row by
//! row and written all or nothing.
//!
//! Every row goes through the records core ([`records::create_in_tx`]): the
//! same permission, rules and audit event as an API write, all in ONE write
//! transaction. A dry run (the default) does the same work and rolls it
//! back, so it finds exactly the errors a commit would meet — links to
//! investors, parks a role may not write, rules across fields. One bad row
//! and nothing is written; every bad row is reported with its spreadsheet
//! row number (the header is row 1) and column.
//!
//! Only projects are imported for now.

use std::io::{Cursor, Read, Seek};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::projects::Project;
use crate::records::{self, Record};
use crate::vocab::{AttractionMode, ChainRole, HqType, Industry, Stage, Vocabulary};

/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// The most data rows a file may hold.
pub const MAX_ROWS: usize = 200_000;
/// The most an XLSX may unpack to (a zip bomb is refused before it is opened).
pub const MAX_UNPACKED_BYTES: u64 = 200 * 1024 * 1024;

/// Which library a file is imported into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Library {
    Projects,
}

impl Library {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw.trim() {
            "projects" => Ok(Self::Projects),
            "investors" | "talents" | "funds" | "top100" => Err(ApiError::invalid(
                "library",
                "not_supported",
                format!("importing {} is not built yet; only projects can be imported", raw.trim()),
            )),
            _ => Err(ApiError::invalid("library", "enum", "must be projects")),
        }
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

/// What an import did, or would do (a dry run).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub library: Library,
    pub dry_run: bool,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Records created (a dry run or a file with errors: 0, nothing is written).
    pub created: u64,
    pub updated: u64,
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
    let table = read_table(&request.file)?;
    let rows = table.len().saturating_sub(1) as u64;
    let mut report = ImportReport {
        library: request.library,
        dry_run: request.dry_run,
        rows,
        created: 0,
        updated: 0,
        unchanged: 0,
        errors: vec![],
    };
    let Some((header, data)) = table.split_first() else {
        report.errors.push(RowError { row: 1, column: String::new(), code: "empty".into(), message: "the file has no header row".into() });
        return Ok(report);
    };
    let columns = match map_columns(header) {
        Ok(columns) => columns,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };

    // All rows in one transaction; rolled back for a dry run or any bad row.
    let mut outcome: Option<(u64, Vec<RowError>)> = None;
    let written = db::write_tx(conn, |conn| {
        let mut created = 0;
        let mut errors = vec![];
        for (index, cells) in data.iter().enumerate() {
            let row = index as u64 + 2;
            if cells.iter().all(|c| matches!(c, Raw::Text(t) if t.trim().is_empty())) {
                continue; // a blank line
            }
            match row_fields(&columns, cells, request.park_code.as_deref()) {
                Err(bad) => errors.extend(bad.into_iter().map(|e| e.at(row))),
                Ok(fields) => match records::create_in_tx::<Project>(conn, caller, fields) {
                    Ok(_) => created += 1,
                    Err(ApiError::Invalid(bad)) => errors.extend(bad.into_iter().map(|e| cell_error(&columns, e).at(row))),
                    Err(ApiError::Conflict(e)) => errors.push(cell_error(&columns, e).at(row)),
                    Err(ApiError::Forbidden(message)) => {
                        errors.push(CellError { column: column_of(&columns, "park_code"), code: "forbidden".into(), message }.at(row))
                    }
                    Err(other) => return Err(other),
                },
            }
        }
        let keep = errors.is_empty() && !request.dry_run;
        if keep {
            audit::record(conn, NewEvent {
                actor: &caller.username,
                action: Action::Import,
                entity_type: Project::ENTITY,
                entity_id: &uuid::Uuid::now_v7().to_string(),
                park_code: caller.park(),
                changes: vec![
                    Change { field: "rows".into(), old: Value::Null, new: Value::from(rows) },
                    Change { field: "created".into(), old: Value::Null, new: Value::from(created) },
                ],
            })?;
        }
        outcome = Some((created, errors));
        if keep {
            Ok(())
        } else {
            Err(ApiError::internal("import rolled back")) // a dry run, or bad rows: nothing stays
        }
    });
    match (written, outcome) {
        (Ok(()), Some((created, _))) => report.created = created,
        (Err(_), Some((_, errors))) if !errors.is_empty() || request.dry_run => report.errors = errors,
        (Err(err), _) => return Err(err),
        (Ok(()), None) => return Err(ApiError::internal("import finished without an outcome")),
    }
    report.errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    Ok(report)
}

/// A cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Text(String),
    /// An XLSX cell holding a formula or an error value: never taken.
    Refused(&'static str, String),
}

/// The file as rows of cells, the header first. XLSX (by its zip
/// signature) or CSV (UTF-8 with or without BOM, else GB18030/GBK).
fn read_table(bytes: &[u8]) -> Result<Vec<Vec<Raw>>, ApiError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_FILE_BYTES });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(ApiError::invalid("file", "format", "old .xls workbooks are not read; save the file as .xlsx or .csv"));
    }
    let text = decode_text(bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut table = vec![];
    for record in reader.records() {
        let record = record.map_err(|e| ApiError::invalid("file", "format", format!("not a readable CSV file: {e}")))?;
        table.push(record.iter().map(|c| Raw::Text(c.to_owned())).collect());
        if table.len() > MAX_ROWS + 1 {
            return Err(too_many_rows());
        }
    }
    Ok(table)
}

/// More than [`MAX_ROWS`] rows: a 413 like an oversized file (the problem's
/// wording is error.rs's, which speaks of bytes).
fn too_many_rows() -> ApiError {
    tracing::info!(max_rows = MAX_ROWS, "import refused: too many rows");
    ApiError::PayloadTooLarge { limit: MAX_FILE_BYTES }
}

/// UTF-8 (a BOM is dropped), or else GB18030 (a superset of GBK), which
/// Excel writes on Chinese Windows. Binary files are neither.
fn decode_text(bytes: &[u8]) -> Result<String, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let not_text = || ApiError::invalid("file", "format", "not a CSV or XLSX file");
    if bytes.contains(&0) {
        return Err(not_text());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| text.into_owned())
            .ok_or_else(|| ApiError::invalid("file", "encoding", "the CSV is neither UTF-8 nor GB18030/GBK")),
    }
}

/// The first worksheet of an XLSX, after checking what it unpacks to.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<Raw>>, ApiError> {
    use calamine::{Data, Reader};
    let not_xlsx = |e: String| ApiError::invalid("file", "format", format!("not a readable XLSX file: {e}"));
    check_unpacked(Cursor::new(bytes)).map_err(|e| match e {
        Unpacked::TooLarge => ApiError::PayloadTooLarge { limit: MAX_UNPACKED_BYTES as usize },
        Unpacked::Bad(e) => not_xlsx(e),
    })?;
    let mut workbook: calamine::Xlsx<Cursor<&[u8]>> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e: calamine::XlsxError| not_xlsx(e.to_string()))?;
    let name = workbook.sheet_names().first().cloned().ok_or_else(|| not_xlsx("it has no worksheet".into()))?;
    let range = workbook.worksheet_range(&name).map_err(|e| not_xlsx(e.to_string()))?;
    if range.height() > MAX_ROWS + 1 {
        return Err(too_many_rows());
    }
    let formulas = workbook.worksheet_formula(&name).map_err(|e| not_xlsx(e.to_string()))?;
    let Some((top, left)) = range.start() else { return Ok(vec![]) };
    let mut table = Vec::with_capacity(range.height());
    for (r, row) in range.rows().enumerate() {
        let mut cells = Vec::with_capacity(row.len());
        for (c, cell) in row.iter().enumerate() {
            let at = (top + r as u32, left + c as u32);
            if formulas.get_value(at).is_some_and(|f| !f.is_empty()) {
                cells.push(Raw::Refused("formula", "a formula cell is not imported; paste its value instead".into()));
                continue;
            }
            cells.push(match cell {
                Data::Empty => Raw::Text(String::new()),
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Raw::Text(s.clone()),
                Data::Int(i) => Raw::Text(i.to_string()),
                Data::Float(f) => Raw::Text(number_text(*f)),
                Data::Bool(b) => Raw::Text(b.to_string()),
                // A date cell: its serial number, read by the date rules below.
                Data::DateTime(d) => Raw::Text(number_text(d.as_f64())),
                Data::Error(e) => Raw::Refused("cell_error", format!("the cell holds an error value ({e})")),
            });
        }
        table.push(cells);
    }
    Ok(table)
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

enum Unpacked {
    TooLarge,
    Bad(String),
}

/// Sums the sizes the zip directory declares, before anything is inflated.
fn check_unpacked<R: Read + Seek>(reader: R) -> Result<(), Unpacked> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| Unpacked::Bad(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| Unpacked::Bad(e.to_string()))?;
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(Unpacked::TooLarge);
        }
    }
    Ok(())
}

/// How a column's text becomes a field's JSON value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Enum(fn(&str) -> Option<&'static str>),
    Whole,
    Number,
    Bool,
    Date,
    List,
    /// Read-only columns of an export (id, timestamps): skipped.
    Ignored,
}

/// A project field and the headers that name it (Chinese as exported, English as the API).
struct Column {
    field: &'static str,
    zh: &'static str,
    kind: Kind,
}

const PROJECT_COLUMNS: &[Column] = &[
    Column { field: "park_code", zh: "园区代码", kind: Kind::Text },
    Column { field: "name", zh: "项目名称", kind: Kind::Text },
    Column { field: "summary", zh: "项目简介", kind: Kind::Text },
    Column { field: "industry", zh: "产业", kind: Kind::Enum(code::<Industry>) },
    Column { field: "chain_role", zh: "延链强链补链", kind: Kind::Enum(code::<ChainRole>) },
    Column { field: "attraction_mode", zh: "招商方式", kind: Kind::Enum(code::<AttractionMode>) },
    Column { field: "stage", zh: "项目阶段", kind: Kind::Enum(code::<Stage>) },
    Column { field: "planned_investment_usd", zh: "计划投资（美元）", kind: Kind::Whole },
    Column { field: "actual_investment_usd", zh: "到位资金（美元）", kind: Kind::Whole },
    Column { field: "hq_type", zh: "功能性总部", kind: Kind::Enum(code::<HqType>) },
    Column { field: "high_tech", zh: "高精尖新", kind: Kind::Bool },
    Column { field: "land_area_mu", zh: "用地面积（亩）", kind: Kind::Number },
    Column { field: "first_contact_on", zh: "首次接触日期", kind: Kind::Date },
    Column { field: "signed_on", zh: "签约日期", kind: Kind::Date },
    Column { field: "started_on", zh: "开工日期", kind: Kind::Date },
    Column { field: "operating_on", zh: "投产日期", kind: Kind::Date },
    Column { field: "owner_id", zh: "负责人编号", kind: Kind::Text },
    Column { field: "investor_ids", zh: "关联客商编号", kind: Kind::List },
    Column { field: "tags", zh: "标签", kind: Kind::List },
    Column { field: "notes", zh: "备注", kind: Kind::Text },
    Column { field: "id", zh: "记录编号", kind: Kind::Ignored },
    Column { field: "created_at", zh: "创建时间", kind: Kind::Ignored },
    Column { field: "created_by", zh: "创建人", kind: Kind::Ignored },
    Column { field: "updated_at", zh: "更新时间", kind: Kind::Ignored },
    Column { field: "updated_by", zh: "更新人", kind: Kind::Ignored },
    Column { field: "version", zh: "版本", kind: Kind::Ignored },
];

/// The fields a project row must have a column for.
const REQUIRED: &[&str] = &["name", "industry", "attraction_mode", "planned_investment_usd"];

/// A header as compared: no spaces, half-width brackets, lower case.
fn folded(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A file column that feeds a field: where, the header as written, how to read it.
struct Mapped {
    index: usize,
    header: String,
    field: &'static str,
    kind: Kind,
}

fn map_columns(header: &[Raw]) -> Result<Vec<Mapped>, Vec<RowError>> {
    let mut mapped: Vec<Mapped> = vec![];
    let mut errors = vec![];
    for (index, cell) in header.iter().enumerate() {
        let Raw::Text(text) = cell else {
            errors.push(RowError { row: 1, column: format!("column {}", index + 1), code: "formula".into(), message: "a header must be text".into() });
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let key = folded(text);
        match PROJECT_COLUMNS.iter().find(|c| folded(c.zh) == key || c.field == key) {
            Some(column) if mapped.iter().any(|m| m.field == column.field) => errors.push(RowError {
                row: 1,
                column: text.trim().to_owned(),
                code: "duplicate".into(),
                message: format!("a second column for {}", column.field),
            }),
            Some(column) => mapped.push(Mapped { index, header: text.trim().to_owned(), field: column.field, kind: column.kind }),
            None => errors.push(RowError {
                row: 1,
                column: text.trim().to_owned(),
                code: "unknown_column".into(),
                message: "not a column of the projects template (Chinese or English header)".into(),
            }),
        }
    }
    for field in REQUIRED {
        if !mapped.iter().any(|m| m.field == *field) {
            let zh = PROJECT_COLUMNS.iter().find(|c| c.field == *field).map_or("", |c| c.zh);
            errors.push(RowError { row: 1, column: zh.to_owned(), code: "required".into(), message: format!("the file needs a column {zh} ({field})") });
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

/// The header of the column that holds `field` (`tags[1]` is in the tags column).
fn column_of(columns: &[Mapped], field: &str) -> String {
    let base = field.split(['[', '.']).next().unwrap_or(field);
    columns.iter().find(|m| m.field == base).map_or_else(|| base.to_owned(), |m| m.header.clone())
}

fn cell_error(columns: &[Mapped], error: FieldError) -> CellError {
    CellError { column: column_of(columns, &error.field), code: error.code, message: error.message }
}

/// A row's cells as the create body of the API, decoded as it is.
fn row_fields(columns: &[Mapped], cells: &[Raw], park: Option<&str>) -> Result<<Project as Record>::Fields, Vec<CellError>> {
    let mut body = Map::new();
    let mut errors = vec![];
    for column in columns {
        let raw = cells.get(column.index).cloned().unwrap_or(Raw::Text(String::new()));
        let text = match raw {
            Raw::Text(text) => text,
            Raw::Refused(code, message) => {
                errors.push(CellError { column: column.header.clone(), code: code.into(), message });
                continue;
            }
        };
        let text = text.trim();
        if text.is_empty() || matches!(column.kind, Kind::Ignored) {
            continue;
        }
        match cell_value(column.kind, text) {
            Ok(value) => {
                body.insert(column.field.to_owned(), value);
            }
            Err((code, message)) => errors.push(CellError { column: column.header.clone(), code: code.into(), message }),
        }
    }
    if let Some(park) = park.filter(|_| !body.contains_key("park_code")) {
        body.insert("park_code".into(), Value::from(park));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    records::decode(Value::Object(body)).map_err(|err| match err {
        ApiError::Invalid(bad) => bad.into_iter().map(|e| cell_error(columns, e)).collect(),
        other => vec![CellError { column: String::new(), code: "invalid".into(), message: other.to_string() }],
    })
}

fn cell_value(kind: Kind, text: &str) -> Result<Value, (&'static str, String)> {
    match kind {
        Kind::Text | Kind::Ignored => Ok(Value::from(text)),
        Kind::Enum(code) => code(text).map(Value::from).ok_or(("enum", format!("{text:?} is neither a label nor a code of this vocabulary (GET /meta/enums)"))),
        Kind::Whole => {
            let plain: String = text.chars().filter(|c| !matches!(c, ',' | '，' | ' ')).collect();
            plain
                .parse::<i64>()
                .ok()
                .or_else(|| plain.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
                .map(Value::from)
                .ok_or(("type", format!("{text:?} is not a whole number")))
        }
        Kind::Number => text.replace(',', "").parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from).ok_or(("type", format!("{text:?} is not a number"))),
        Kind::Bool => match text.to_lowercase().as_str() {
            "是" | "true" | "yes" | "y" | "1" | "√" => Ok(Value::Bool(true)),
            "否" | "false" | "no" | "n" | "0" | "×" => Ok(Value::Bool(false)),
            _ => Err(("type", format!("{text:?} is not 是/否 (true/false)"))),
        },
        Kind::Date => parse_date(text).map(|d| Value::from(d.to_string())).ok_or(("date", format!("{text:?} is not a date (2026-03-02, 2026/3/2, 2026年3月2日 or an Excel date)"))),
        Kind::List => Ok(Value::from(
            text.split([';', '；', '、', '\n']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
        )),
    }
}

/// A vocabulary's code from its code, Chinese label or English label.
fn code<V: Vocabulary>(text: &str) -> Option<&'static str> {
    V::ALL.iter().map(|v| v.label()).find(|l| l.value == text || l.zh == text || l.en.eq_ignore_ascii_case(text)).map(|l| l.value)
}

/// `2026-03-02`, `2026/3/2`, `2026.3.2`, `2026年3月2日`, or an Excel date number.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(serial) = text.parse::<f64>() {
        // Excel's day 1 is 1900-01-01, counting the 1900-02-29 that never was;
        // from day 61 on, day 0 is 1899-12-30.
        if serial.fract() == 0.0 && (61.0..=2_958_465.0).contains(&serial) {
            return NaiveDate::from_ymd_opt(1899, 12, 30).map(|epoch| epoch + Duration::days(serial as i64));
        }
        return None;
    }
    let unified: String = text.replace(['年', '月', '/', '.'], "-").trim_end_matches('日').to_owned();
    let mut parts = unified.split('-').map(str::trim);
    let (y, m, d) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 2);
        for form in ["2026-03-02", "2026/3/2", "2026年3月2日", "2026.3.2", "46083"] {
            assert_eq!(parse_date(form), want, "{form}");
        }
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("3/2/2026"), None);
        assert_eq!(parse_date("12.5"), None);
    }

    #[test]
    fn labels_and_codes_both_read() {
        assert_eq!(code::<Stage>("签约"), Some("signed"));
        assert_eq!(code::<Stage>("signed"), Some("signed"));
        assert_eq!(code::<Industry>("Electronic information"), Some("electronic_information"));
        assert_eq!(code::<Stage>("done"), None);
    }

    #[test]
    fn gbk_csv_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("项目名称,产业\n岳阳电子,电子信息\n");
        assert_eq!(decode_text(&bytes).ok().as_deref(), Some("项目名称,产业\n岳阳电子,电子信息\n"));
        assert!(decode_text(b"\x00\x01binary").is_err());
    }

    #[test]
    fn headers_fold_width_and_case() {
        assert_eq!(folded(" 计划投资(美元) "), folded("计划投资（美元）"));
        assert_eq!(folded("Name"), "name");
    }
}
