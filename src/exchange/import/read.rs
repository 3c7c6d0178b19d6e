//! A file as rows of cells: XLSX (by its zip signature, after checking what
//! it unpacks to) or CSV (UTF-8 with or without BOM, else GB18030/GBK),
//! within the size limits.

use std::io::{Cursor, Read, Seek};

use crate::error::ApiError;

/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// The most data rows a file may hold.
pub const MAX_ROWS: usize = 200_000;
/// The most an XLSX may unpack to (a zip bomb is refused before it is opened).
pub const MAX_UNPACKED_BYTES: u64 = 200 * 1024 * 1024;

/// A cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Text(String),
    /// An XLSX cell holding a formula or an error value: never taken.
    Refused(&'static str, String),
}

impl Raw {
    pub fn is_blank(&self) -> bool {
        matches!(self, Raw::Text(t) if t.trim().is_empty())
    }
}

/// The file as rows of cells, the header first.
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<Raw>>, ApiError> {
    let mut table = vec![];
    read_rows(bytes, &mut |row| {
        table.push(row);
        Ok(())
    })?;
    Ok(table)
}

/// Hands the file's rows, the header first, one at a time to `sink`, which
/// may stop the reading with an error. An XLSX sheet is read as a stream, so
/// a caller can work on the first rows while the rest are still unpacked.
/// A CSV is read whole first, so that a file with too many rows is refused
/// before any row is handed on.
pub fn read_rows(bytes: &[u8], sink: &mut dyn FnMut(Vec<Raw>) -> Result<(), ApiError>) -> Result<(), ApiError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_FILE_BYTES });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return stream_xlsx(bytes, sink);
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
    table.into_iter().try_for_each(sink)
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

/// The first worksheet of an XLSX, after checking what it unpacks to, one
/// row at a time. The rows run from the first row holding a cell to the
/// last, empty rows between included (as a blank row); a cell's place in its
/// row is its sheet column.
fn stream_xlsx(bytes: &[u8], sink: &mut dyn FnMut(Vec<Raw>) -> Result<(), ApiError>) -> Result<(), ApiError> {
    use calamine::{Reader, XlsxError};
    let not_xlsx = |e: String| ApiError::invalid("file", "format", format!("not a readable XLSX file: {e}"));
    check_unpacked(Cursor::new(bytes)).map_err(|e| match e {
        Unpacked::TooLarge => ApiError::PayloadTooLarge { limit: MAX_UNPACKED_BYTES as usize },
        Unpacked::Bad(e) => not_xlsx(e),
    })?;
    let mut workbook: calamine::Xlsx<Cursor<&[u8]>> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e: XlsxError| not_xlsx(e.to_string()))?;
    let name = workbook.sheet_names().first().cloned().ok_or_else(|| not_xlsx("it has no worksheet".into()))?;
    let mut cells = match workbook.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(()), // a chart sheet: no rows
        Err(e) => return Err(not_xlsx(e.to_string())),
    };
    // The sheet's own claim of its size, when it claims too many rows, is
    // checked by counting them before any row is handed on.
    let claimed = cells.dimensions();
    let claimed_height = claimed.end.0.saturating_sub(claimed.start.0) as usize + 1;
    if claimed_height > MAX_ROWS + 1 {
        let mut count_only = |_| Ok(());
        let mut rows = SheetRows::new(&mut count_only);
        while let Some(cell) = cells.next_cell_with_formula_metadata().map_err(|e| not_xlsx(e.to_string()))? {
            rows.add(cell)?;
        }
        rows.finish()?;
        drop(cells);
        cells = workbook.worksheet_cells_reader(&name).map_err(|e| not_xlsx(e.to_string()))?;
    }
    let mut rows = SheetRows::new(sink);
    while let Some(cell) = cells.next_cell_with_formula_metadata().map_err(|e| not_xlsx(e.to_string()))? {
        rows.add(cell)?;
    }
    rows.finish()
}

/// Columns a sheet may have: A to XFD, as in Excel.
const MAX_COLUMNS: u32 = 16_384;

/// Cells in sheet order gathered into rows for a sink.
struct SheetRows<'s> {
    sink: &'s mut dyn FnMut(Vec<Raw>) -> Result<(), ApiError>,
    /// The sheet row of the row being gathered, once a cell was seen.
    at: Option<u32>,
    row: Vec<Raw>,
    /// Rows handed on (or counted).
    handed: usize,
}

impl<'s> SheetRows<'s> {
    fn new(sink: &'s mut dyn FnMut(Vec<Raw>) -> Result<(), ApiError>) -> Self {
        Self { sink, at: None, row: Vec::new(), handed: 0 }
    }

    fn add(&mut self, cell: calamine::XlsxCellFormulaMetadataRecord<'_>) -> Result<(), ApiError> {
        use calamine::{DataRef, XlsxFormulaMetadata};
        let formula = match &cell.formula {
            Some(XlsxFormulaMetadata::Normal { formula } | XlsxFormulaMetadata::Shared { formula, .. }) => !formula.is_empty(),
            // A cell sharing another's formula, or a kind calamine adds later.
            Some(_) => true,
            None => false,
        };
        let raw = if formula {
            Raw::Refused("formula", "a formula cell is not imported; paste its value instead".into())
        } else {
            match cell.value {
                // An empty cell (a styled one) neither starts a row nor ends the sheet.
                DataRef::Empty => return Ok(()),
                DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Raw::Text(s),
                DataRef::SharedString(s) => Raw::Text(s.to_owned()),
                DataRef::Int(i) => Raw::Text(i.to_string()),
                DataRef::Float(f) => Raw::Text(number_text(f)),
                DataRef::Bool(b) => Raw::Text(b.to_string()),
                // A date cell: its serial number, read by the date rules.
                DataRef::DateTime(d) => Raw::Text(number_text(d.as_f64())),
                DataRef::Error(e) => Raw::Refused("cell_error", format!("the cell holds an error value ({e})")),
            }
        };
        let (sheet_row, column) = cell.pos;
        if column >= MAX_COLUMNS {
            return Err(ApiError::invalid("file", "format", format!("a cell lies past the sheet's last column (XFD), in row {}", sheet_row + 1)));
        }
        match self.at {
            Some(at) if at == sheet_row => {}
            // Excel and every library we know write rows in order; a file
            // that does not would have its rows split and misnumbered.
            Some(at) if sheet_row < at => {
                return Err(ApiError::invalid(
                    "file",
                    "format",
                    format!("the sheet's rows are out of order (row {} after row {}); save the file again from Excel", sheet_row + 1, at + 1),
                ))
            }
            Some(at) => {
                self.hand_on()?;
                // Rows with no cell between two rows that have some: blank lines.
                for _ in at.saturating_add(1)..sheet_row {
                    self.hand_on()?;
                }
            }
            None => {}
        }
        self.at = Some(sheet_row);
        let column = column as usize;
        if self.row.len() <= column {
            self.row.resize(column + 1, Raw::Text(String::new()));
        }
        self.row[column] = raw;
        Ok(())
    }

    fn hand_on(&mut self) -> Result<(), ApiError> {
        self.handed += 1;
        if self.handed > MAX_ROWS + 1 {
            return Err(too_many_rows());
        }
        (self.sink)(std::mem::take(&mut self.row))
    }

    fn finish(mut self) -> Result<(), ApiError> {
        if self.at.is_some() {
            self.hand_on()?;
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_csv_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("项目名称,产业\n岳阳电子,电子信息\n");
        assert_eq!(decode_text(&bytes).ok().as_deref(), Some("项目名称,产业\n岳阳电子,电子信息\n"));
        assert!(decode_text(b"\x00\x01binary").is_err());
    }
}
