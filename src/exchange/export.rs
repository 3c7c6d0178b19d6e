//! Exports: every row of a list that matches its filters, as CSV or XLSX,
//! streamed to the client while it is written.
//!
//! The rows come from the library's list function, a page of 200 at a time
//! along its keyset, so memory holds one page whatever the list's length.
//! The work runs in the slow lane, in one turn from the first page to the
//! last (`db::run_in_turn`), on the blocking pool, and hands its bytes
//! to the response through a small bounded channel: a slow client slows the
//! export down instead of making it buffer. XLSX rows go to
//! rust_xlsxwriter's constant-memory worksheet (a temporary file), and the
//! workbook is zipped straight into the channel.
//!
//! The filter is checked, and the export recorded as an audit event, before
//! the answer starts: a bad filter is a 400 like the JSON list's.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION};
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook, XlsxError};
use serde_json::Value;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::columns::{Asker, Cell, Exportable, Rows};
use super::refs;
use super::{Format, ListQuery, CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE};
use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::Caller;
use crate::clock;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::state::AppState;

/// Bytes gathered before they are handed to the response.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for the client at most (with [`CHUNK_BYTES`], 256 KiB).
const CHUNKS_IN_FLIGHT: usize = 4;
/// How long an export waits for a client that stopped reading before it
/// ends: it holds a place of the slow lane (two places by default), so two
/// stalled downloads would otherwise shut searches, statistics and exports
/// out for as long as their clients kept the sockets open.
const STALL_LIMIT: Duration = Duration::from_secs(60);
/// How often a waiting export looks whether the client has read on.
const STALL_POLL: Duration = Duration::from_millis(20);
/// Rows of one worksheet (Excel's limit is 1,048,576 with the header row);
/// more rows go on to the next worksheet.
const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;
/// The longest text an Excel cell holds.
const XLSX_MAX_TEXT: usize = 32_767;

type Chunk = Result<Bytes, io::Error>;

/// Answers a list in `format` (CSV or XLSX): every row that matches the
/// filters of `query`, whatever its `limit` and `cursor`.
pub async fn export<L: Exportable>(state: &AppState, caller: Caller, query: ListQuery<L::Filter>) -> Result<HttpResponse, ApiError> {
    let format = query.format;
    // `limit` is ignored, but one the JSON list would refuse (outside 1 to
    // its largest page) is refused here too; an empty one is left out, as everywhere.
    for (name, value) in form_urlencoded::parse(query.query.as_bytes()) {
        let value = value.trim();
        if name == "limit" && !value.is_empty() && !value.parse::<i64>().is_ok_and(|limit| (1..=L::PAGE).contains(&limit)) {
            return Err(ApiError::bad_param("limit", "range", format!("must be between 1 and {}", L::PAGE)));
        }
    }
    let base = without_paging(&query.query);
    let asker = Asker { caller, today: state.clock.today() };

    // The first page checks the filter; the export is audited before it starts.
    let turn = state.pool.slow_turn(db::SlowWork::Long).await?;
    let (first, asker) = {
        let base = base.clone();
        db::run_in_turn(&state.pool, turn.clone(), move |conn| {
            let first = page::<L>(conn, &asker, &base, None)?;
            record_export::<L>(conn, &asker.caller, format, &base)?;
            Ok((first, asker))
        })
        .await?
    };

    let (tx, mut rx) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let pool = state.pool.clone();
    actix_web::rt::spawn(async move {
        let errors = tx.clone();
        let outcome = db::run_in_turn(&pool, turn, move |conn| {
            let out = ChannelWriter::new(tx);
            match format {
                Format::Xlsx => write_xlsx::<L>(conn, &asker, &base, first, out),
                _ => write_csv::<L>(conn, &asker, &base, first, out),
            }
        })
        .await;
        if let Err(err) = outcome {
            // The answer has started: all that is left is to cut it short, so
            // the client sees an incomplete download rather than a short file.
            tracing::error!(error = %err, library = L::LIBRARY, "export failed");
            // The client may be gone already; nothing more to tell then.
            let _ = errors.send(Err(io::Error::other("the export failed"))).await;
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));

    let (media, extension) = match format {
        Format::Xlsx => (XLSX_MEDIA_TYPE.to_owned(), "xlsx"),
        _ => (format!("{CSV_MEDIA_TYPE}; charset=utf-8"), "csv"),
    };
    let file = format!("{}-{}.{extension}", L::LIBRARY, clock::now().format("%Y%m%dT%H%M%SZ"));
    Ok(HttpResponse::Ok()
        .content_type(media)
        .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")))
        .insert_header((CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The query string without `limit`, `cursor` and `count`: an export reads
/// every page, and counting them would cost a query a page.
fn without_paging(query: &str) -> String {
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "limit" && name != "cursor" && name != "count" {
            kept.append_pair(&name, &value);
        }
    }
    kept.finish()
}

/// One page of the list with the filters of `base`, after `cursor`.
fn page<L: Exportable>(conn: &mut DbConnection, asker: &Asker, base: &str, cursor: Option<&str>) -> Result<Rows<L>, ApiError> {
    let mut query = form_urlencoded::Serializer::new(base.to_owned());
    query.append_pair("limit", &L::PAGE.to_string());
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    let filter = crate::http::parse_query::<L::Filter>(&query.finish())?;
    L::list(conn, asker, filter)
}

/// The header row: the list's columns, then for a library the external
/// ref (so that an export imports back onto the same records).
fn headers<L: Exportable>() -> impl Iterator<Item = &'static str> {
    L::COLUMNS.iter().copied().chain(L::HAS_REFS.then_some(refs::HEADER))
}

/// Every row, page after page: `write` takes each row's cells in turn, the
/// external ref last.
fn each_row<L: Exportable>(
    conn: &mut DbConnection,
    asker: &Asker,
    base: &str,
    first: Rows<L>,
    mut write: impl FnMut(Vec<Cell>) -> Result<(), ApiError>,
) -> Result<u64, ApiError> {
    let mut page = first;
    let mut rows = 0;
    loop {
        let mut external_refs = if L::HAS_REFS {
            let ids: Vec<&str> = page.items.iter().map(|item| item.id()).collect();
            refs::of_records(conn, L::ENTITY, &ids)?
        } else {
            Default::default()
        };
        for item in &page.items {
            let mut cells = item.cells();
            if L::HAS_REFS {
                cells.push(external_refs.remove(item.id()).map_or(Cell::Empty, Cell::Text));
            }
            write(cells)?;
            rows += 1;
        }
        match page.next_cursor.take() {
            Some(cursor) => page = self::page::<L>(conn, asker, base, Some(&cursor))?,
            None => return Ok(rows),
        }
    }
}

/// The audit event of an export: who, which library, which format and filter.
fn record_export<L: Exportable>(conn: &mut DbConnection, caller: &Caller, format: Format, base: &str) -> Result<(), ApiError> {
    let mut filter = serde_json::Map::new();
    for (name, value) in form_urlencoded::parse(base.as_bytes()) {
        let values = filter.entry(name.into_owned()).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(values) = values {
            values.push(Value::from(value.into_owned()));
        }
    }
    let format = match format {
        Format::Xlsx => "xlsx",
        _ => "csv",
    };
    let export_id = uuid::Uuid::now_v7().to_string();
    let changes = vec![
        Change { field: "format".into(), old: Value::Null, new: Value::from(format) },
        Change { field: "filter".into(), old: Value::Null, new: Value::Object(filter) },
    ];
    db::write_tx(conn, |conn| {
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Export,
            entity_type: L::ENTITY,
            entity_id: &export_id,
            park_code: caller.park(),
            changes,
        })
    })
}

/// A cell's text as it is safe to open in a spreadsheet: text that a
/// spreadsheet would take for a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return before one) gets a leading apostrophe (CSV injection).
pub(crate) fn neutralised(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn write_csv<L: Exportable>(
    conn: &mut DbConnection,
    asker: &Asker,
    base: &str,
    first: Rows<L>,
    mut out: ChannelWriter,
) -> Result<u64, ApiError> {
    // The BOM tells Excel the file is UTF-8 (it assumes the local code page otherwise).
    out.write_all("\u{feff}".as_bytes()).map_err(gone)?;
    let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    csv.write_record(headers::<L>()).map_err(csv_failed)?;
    let rows = each_row::<L>(conn, asker, base, first, |cells| {
        let record = cells.iter().map(|cell| match cell {
            Cell::Text(text) => neutralised(text).into_owned(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => x.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Empty => String::new(),
        });
        csv.write_record(record).map_err(csv_failed)
    })?;
    let mut out = csv.into_inner().map_err(|e| gone(e.into_error()))?;
    out.flush().map_err(gone)?;
    Ok(rows)
}

fn write_xlsx<L: Exportable>(
    conn: &mut DbConnection,
    asker: &Asker,
    base: &str,
    first: Rows<L>,
    out: ChannelWriter,
) -> Result<u64, ApiError> {
    let mut workbook = Workbook::new();
    let bold = XlsxFormat::new().set_bold();
    let date_format = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let mut sheets = 0;
    let mut add_sheet = |workbook: &mut Workbook| -> Result<usize, XlsxError> {
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheets += 1;
        sheet.set_name(if sheets == 1 { L::SHEET.to_owned() } else { format!("{}{sheets}", L::SHEET) })?;
        for (column, header) in headers::<L>().enumerate() {
            sheet.write_string_with_format(0, column as u16, header, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(sheets - 1)
    };
    let mut sheet = add_sheet(&mut workbook).map_err(xlsx_failed)?;
    let mut row: u32 = 0;
    let rows = each_row::<L>(conn, asker, base, first, |cells| {
        if row == XLSX_ROWS_PER_SHEET {
            sheet = add_sheet(&mut workbook).map_err(xlsx_failed)?;
            row = 0;
        }
        row += 1;
        let worksheet = workbook.worksheet_from_index(sheet).map_err(xlsx_failed)?;
        for (column, cell) in cells.into_iter().enumerate() {
            let column = column as u16;
            let written = match cell {
                Cell::Text(text) => worksheet.write_string(row, column, clipped(&neutralised(&text))),
                Cell::Int(n) => worksheet.write_number(row, column, n as f64),
                Cell::Float(x) => worksheet.write_number(row, column, x),
                Cell::Date(d) => match excel_date(d) {
                    Some(date) => worksheet.write_datetime_with_format(row, column, date, &date_format),
                    None => worksheet.write_string(row, column, d.format("%Y-%m-%d").to_string()),
                },
                Cell::Empty => continue,
            };
            written.map_err(xlsx_failed)?;
        }
        Ok(())
    })?;
    workbook.save_to_writer(out).map_err(xlsx_failed)?;
    Ok(rows)
}

/// A date as Excel stores it (Excel's calendar starts in 1900).
fn excel_date(date: chrono::NaiveDate) -> Option<ExcelDateTime> {
    use chrono::Datelike;
    let year = u16::try_from(date.year()).ok().filter(|y| (1900..=9999).contains(y))?;
    ExcelDateTime::from_ymd(year, date.month() as u8, date.day() as u8).ok()
}

/// Text cut to what one Excel cell holds (no field of ours is that long).
fn clipped(text: &str) -> String {
    text.chars().take(XLSX_MAX_TEXT).collect()
}

fn xlsx_failed(err: XlsxError) -> ApiError {
    match err {
        XlsxError::IoError(err) => gone(err),
        other => ApiError::internal(format!("writing the workbook: {other}")),
    }
}

fn csv_failed(err: csv::Error) -> ApiError {
    match err.into_kind() {
        csv::ErrorKind::Io(err) => gone(err),
        other => ApiError::internal(format!("writing the CSV: {other:?}")),
    }
}

fn gone(err: io::Error) -> ApiError {
    ApiError::internal(format!("sending the export: {err}"))
}

/// Bytes written on the blocking pool, handed to the response a chunk at a
/// time; waits while the client is behind (a minute at most without
/// progress), fails once it is gone.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Chunk>) -> Self {
        Self { tx, buf: Vec::with_capacity(CHUNK_BYTES) }
    }

    fn send(&mut self) -> io::Result<()> {
        let mut chunk = Ok(Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES))));
        let deadline = Instant::now() + STALL_LIMIT;
        loop {
            match self.tx.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")),
                Err(TrySendError::Full(_)) if Instant::now() >= deadline => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"));
                }
                Err(TrySendError::Full(back)) => {
                    chunk = back;
                    std::thread::sleep(STALL_POLL);
                }
            }
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        // rust_xlsxwriter writes its last bytes without flushing; the client
        // may be gone, and then there is no one to tell.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralised("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for risky in ["+1", "-1", "@SUM(A1)", "\t=1"] {
            assert!(neutralised(risky).starts_with('\''), "{risky}");
        }
        assert_eq!(neutralised("台积电 = TSMC"), "台积电 = TSMC");
    }

    #[test]
    fn paging_parameters_are_dropped() {
        assert_eq!(without_paging("park=yueyang&limit=5&cursor=abc&stage=lead"), "park=yueyang&stage=lead");
    }
}
