//! A project import on two threads. A ledger of 100,000 rows kept one core
//! busy reading the workbook while PostgreSQL waited, then PostgreSQL busy
//! while the reading was over (bench/RESULTS.md). Here a thread of its own
//! reads the sheet as a stream, turns each row into a new project's fields
//! (on PostgreSQL, the project built: row, view, create event), and hands
//! them on a part at a time to the caller's thread, which holds the
//! connection and checks links and writes each part while the next is read. All parts go into one transaction, so an import stays all or
//! nothing and a dry run is rolled back as before.

use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

use super::batch::{prepare, Prepared, ProjectParts};
use super::read::{read_rows, Raw};
use super::{all_or_nothing, map_columns, ImportReport, ImportRequest, Mapped, Row, RowError, RowFailure};
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::projects::Project;

/// Rows handed on at a time (one INSERT of new projects).
const PART: usize = 900;
/// Parts read ahead of the writer: what bounds the rows an import holds.
const AHEAD: usize = 2;

/// What the reading thread hands to the writing one, in file order.
enum Message {
    /// The header maps onto these columns; parts follow.
    Columns(Vec<Mapped>),
    /// The header's errors: no row is read, only counted.
    Header(Vec<RowError>),
    /// Rows read: new projects' fields, and the rows that could not be read.
    Part { rows: Vec<Prepared>, errors: Vec<RowError> },
    /// The end of the file, and its data rows (the header not counted).
    End { rows: u64 },
    /// The file could not be read (too large, not a workbook…).
    Failed(ApiError),
}

/// Imports a projects file (see [`super::run`]).
pub(super) fn run_projects(conn: &mut DbConnection, caller: &Caller, request: &ImportRequest) -> Result<ImportReport, ApiError> {
    std::thread::scope(|scope| {
        let (sender, parts) = mpsc::sync_channel(AHEAD);
        let park = request.park_code.as_deref();
        // SQLite's import holds the whole file (see `write_parts`): its rows are built as written.
        let build = db::backend_of(conn) != db::Backend::Sqlite;
        let reading = scope.spawn(move || read_parts(&request.file, caller, park, build, sender));
        // `parts` goes with the writer: when it stops early, the reader's
        // next hand-over fails and the reading ends.
        let report = write_parts(conn, caller, request, parts);
        match reading.join() {
            Ok(()) => report,
            Err(_) => Err(ApiError::internal("the import's reading thread panicked")),
        }
    })
}

fn stopped() -> ApiError {
    ApiError::internal("the import's reading stopped")
}

/// The caller's side: the header's outcome, then every part in one transaction.
fn write_parts(conn: &mut DbConnection, caller: &Caller, request: &ImportRequest, parts: Receiver<Message>) -> Result<ImportReport, ApiError> {
    let mut report =
        ImportReport { library: request.library, dry_run: request.dry_run, rows: 0, created: 0, updated: 0, unchanged: 0, errors: vec![] };
    let columns = match parts.recv() {
        Ok(Message::Columns(columns)) => columns,
        Ok(Message::Header(errors)) => {
            report.rows = rows_to_end(&parts)?;
            report.errors = errors;
            return Ok(report);
        }
        Ok(Message::End { .. }) => {
            report.errors.push(RowError { row: 1, column: String::new(), code: "empty".into(), message: "the file has no header row".into() });
            return Ok(report);
        }
        Ok(Message::Failed(err)) => return Err(err),
        Ok(Message::Part { .. }) | Err(_) => return Err(stopped()),
    };
    let importer = Row { columns: &columns, caller, park: request.park_code.as_deref() };
    // SQLite's write transaction locks the whole file: other writers would
    // wait out the reading, so there the file is read to its end first.
    let mut read_ahead = (db::backend_of(conn) == db::Backend::Sqlite).then(|| read_to_end(&parts));
    let mut next = move || match &mut read_ahead {
        Some(read) => read.pop_front().ok_or(mpsc::RecvError),
        None => parts.recv(),
    };
    all_or_nothing::<Project>(conn, caller, request, report, move |conn, counts, errors| {
        let mut writer = ProjectParts::new(&importer);
        // Which side an import waits on (debug level): the reading, or the writing.
        let mut waited = Duration::ZERO;
        loop {
            let asked = Instant::now();
            let message = next();
            waited += asked.elapsed();
            match message {
                Ok(Message::Part { rows, errors: unread }) => {
                    errors.extend(unread);
                    writer.write(conn, rows, counts, errors)?;
                }
                Ok(Message::End { rows }) => {
                    tracing::debug!(rows, waited_ms = waited.as_millis() as u64, "import: the writer waited for the reading");
                    writer.finish(conn, errors)?;
                    return Ok(rows);
                }
                Ok(Message::Failed(err)) => return Err(err),
                Ok(Message::Columns(_) | Message::Header(_)) | Err(_) => return Err(stopped()),
            }
        }
    })
}

/// Every message up to the end of the file (or its failure), in order.
fn read_to_end(parts: &Receiver<Message>) -> VecDeque<Message> {
    let mut read = VecDeque::new();
    while let Ok(message) = parts.recv() {
        let last = matches!(message, Message::End { .. } | Message::Failed(_));
        read.push_back(message);
        if last {
            break;
        }
    }
    read
}

/// The data rows of a file whose header was refused.
fn rows_to_end(parts: &Receiver<Message>) -> Result<u64, ApiError> {
    loop {
        match parts.recv() {
            Ok(Message::End { rows }) => return Ok(rows),
            Ok(Message::Failed(err)) => return Err(err),
            Ok(_) => {}
            Err(_) => return Err(stopped()),
        }
    }
}

/// The reading thread: the file's rows, read, placed and decoded, handed on.
fn read_parts(file: &[u8], caller: &Caller, park: Option<&str>, build: bool, sender: SyncSender<Message>) {
    let started = Instant::now();
    let mut reading = Reading {
        caller,
        park,
        build,
        sender: &sender,
        columns: None,
        handed: 0,
        refs_seen: HashSet::new(),
        rows: vec![],
        errors: vec![],
        waited: Duration::ZERO,
    };
    let read = read_rows(file, &mut |cells| reading.take(cells)).and_then(|()| reading.hand_on());
    tracing::debug!(
        read_ms = started.elapsed().as_millis() as u64,
        waited_ms = reading.waited.as_millis() as u64,
        "import: the reading ended, having waited for the writer"
    );
    let last = match read {
        Ok(()) => Message::End { rows: reading.handed.saturating_sub(1) },
        Err(err) => Message::Failed(err),
    };
    // The writer may have stopped already; it then needs no answer.
    let _ = sender.send(last);
}

struct Reading<'a> {
    caller: &'a Caller,
    park: Option<&'a str>,
    /// Whether rows are built as new projects here (see `batch::prepare`).
    build: bool,
    sender: &'a SyncSender<Message>,
    /// The header's columns, once it mapped.
    columns: Option<Vec<Mapped>>,
    /// Rows read, the header included: the last one's spreadsheet row.
    handed: u64,
    refs_seen: HashSet<String>,
    /// The part being filled.
    rows: Vec<Prepared>,
    errors: Vec<RowError>,
    /// Time spent handing parts on to a writer still busy with earlier ones.
    waited: Duration,
}

impl Reading<'_> {
    fn take(&mut self, cells: Vec<Raw>) -> Result<(), ApiError> {
        self.handed += 1;
        let row = self.handed;
        let Some(columns) = &self.columns else {
            if row == 1 {
                let message = match map_columns::<Project>(&cells) {
                    Ok(columns) => {
                        self.columns = Some(columns.clone());
                        Message::Columns(columns)
                    }
                    Err(errors) => Message::Header(errors),
                };
                self.sender.send(message).map_err(|_| stopped())?;
            }
            return Ok(()); // after a refused header, rows are only counted
        };
        if cells.iter().all(Raw::is_blank) {
            return Ok(()); // a blank line
        }
        let importer = Row { columns, caller: self.caller, park: self.park };
        match importer.place::<Project>(&cells, &mut self.refs_seen) {
            Ok(placed) => self.rows.push(prepare(&importer, row, placed, self.build)?),
            Err(RowFailure::Cells(bad)) => self.errors.extend(bad.into_iter().map(|e| e.at(row))),
            Err(RowFailure::Fatal(err)) => return Err(err),
        }
        if self.rows.len() >= PART {
            self.hand_on()?;
        }
        Ok(())
    }

    /// Hands the part read so far to the writer.
    fn hand_on(&mut self) -> Result<(), ApiError> {
        if self.rows.is_empty() && self.errors.is_empty() {
            return Ok(());
        }
        let part = Message::Part { rows: std::mem::take(&mut self.rows), errors: std::mem::take(&mut self.errors) };
        let handing = Instant::now();
        let sent = self.sender.send(part).map_err(|_| stopped());
        self.waited += handing.elapsed();
        sent
    }
}
