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
    let mut workbook: calamine::Xlsx<Cursor<&[u8]>> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e: calamine::XlsxError| not_xlsx(e.to_string()))?;
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
                // A date cell: its serial number, read by the date rules.
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
