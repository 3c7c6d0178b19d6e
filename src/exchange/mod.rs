//! Exchange with spreadsheets (DESIGN.md): every list answers CSV or XLSX
//! when asked, with every row that matches its filters.
//!
//! A list handler takes [`ListQuery`] instead of its plain query: it reads
//! the filters as the JSON list does, plus which format the caller wants
//! (`format=csv|xlsx`, or the `Accept` header). For a spreadsheet it hands
//! over to [`export`], which walks the same list function page by page.
//!
//! `POST /imports` ([`handlers::import_records`]) reads a CSV or XLSX file
//! into records through the records core, all or nothing.

mod columns;
mod export;
pub mod handlers;
mod import;
mod lists;
mod refs;

pub use columns::{Asker, Cell, Exportable, Rows};
pub use export::export;
pub use lists::export_target_items;
pub use import::{run as run_import, ImportReport, ImportRequest, Library, RowError};

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, ACCEPT};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::records::{self, ListParams, Listed, Searched};
use crate::state::AppState;

/// The media type of an XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of a CSV file.
pub const CSV_MEDIA_TYPE: &str = "text/csv";

/// What a list answers: a JSON page, or every matching row as a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One page of JSON (the default).
    Json,
    /// Every matching row, UTF-8 with a BOM, Chinese headers.
    Csv,
    /// Every matching row as an Excel workbook.
    Xlsx,
}

impl Format {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            "xlsx" => Ok(Self::Xlsx),
            _ => Err(ApiError::bad_param("format", "enum", "must be one of json, csv, xlsx")),
        }
    }

    /// The format an `Accept` header prefers: the highest `q` among JSON,
    /// CSV and XLSX (the first listed on a tie); JSON when none is named.
    fn from_accept(headers: &HeaderMap) -> Self {
        let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else { return Self::Json };
        let mut best = (Self::Json, 0.0_f32);
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let media = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let format = match media.as_str() {
                CSV_MEDIA_TYPE => Self::Csv,
                XLSX_MEDIA_TYPE => Self::Xlsx,
                "application/json" | "application/*" | "*/*" => Self::Json,
                _ => continue,
            };
            if q > best.1 {
                best = (format, q);
            }
        }
        best.0
    }
}

/// The `format` parameter every exportable list takes (documentation only:
/// [`ListQuery`] reads it).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` or `xlsx`: every row matching the filters (not one page: `limit` and
    /// `cursor` are ignored, though a `limit` outside the list's own range is the
    /// list's 400), with Chinese headers and labels, as a download. The
    /// same as `Accept: text/csv` or `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`;
    /// this parameter wins over `Accept`. Each export is an audit event.
    #[param(inline)]
    pub format: Option<Format>,
}

/// A list's query: its filters (`F`, read exactly as the JSON list reads
/// them), the format asked for, and the query string without `format`.
#[derive(Debug)]
pub struct ListQuery<F> {
    pub filter: F,
    pub format: Format,
    /// The query string less `format`: what an export pages through.
    pub query: String,
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_list_query(req))
    }
}

/// A library's list: one page as JSON, or, with a spreadsheet `format` (or
/// `Accept`), every matching record as a download.
pub async fn list_or_export<R>(state: &AppState, caller: Caller, query: ListQuery<<R as Searched>::Filter>) -> Result<HttpResponse, ApiError>
where
    R: Listed + Exportable<Filter = <R as Searched>::Filter>,
    <R as Searched>::Filter: Clone + Send + 'static,
    R::View: ToSchema + Serialize + Send + 'static,
{
    if query.format != Format::Json {
        return export::<R>(state, caller, query).await;
    }
    let scope = caller.scope();
    let slow = query.filter.is_slow(&state.pool);
    let page = db::read_list(&state.reader(&caller), slow, move |conn| records::list::<R>(conn, &scope, &query.filter)).await?;
    let capacity = crate::http::RECORD_BYTES * (page.items.len() + 1);
    Ok(crate::http::json_answer(HttpResponse::Ok(), &page, capacity))
}

fn read_list_query<F: DeserializeOwned>(req: &HttpRequest) -> Result<ListQuery<F>, ApiError> {
    // The rules for every parameter (UTF-8, no NUL, the date range, the
    // search cap) on the query as sent: the re-encoding below is lossy.
    crate::http::check_query_values(req.query_string())?;
    let mut asked = None;
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if name == "format" {
            // One answer has one format: `format=csv&format=xlsx` is no choice.
            if asked.is_some() {
                return Err(repeated("format"));
            }
            asked = Some(Format::parse(&value)?);
        } else {
            kept.append_pair(&name, &value);
        }
    }
    let query = kept.finish();
    let filter = crate::http::parse_query::<F>(&query)?;
    let format = asked.unwrap_or_else(|| Format::from_accept(req.headers()));
    Ok(ListQuery { filter, format, query })
}

fn repeated(name: &str) -> ApiError {
    ApiError::bad_param(name, "repeated", "must be given once")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn accept(value: &str) -> Format {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("*/*")));
        Format::from_accept(&headers)
    }

    #[test]
    fn accept_picks_the_preferred_format() {
        assert_eq!(Format::from_accept(&HeaderMap::new()), Format::Json);
        assert_eq!(accept("*/*"), Format::Json);
        assert_eq!(accept("text/csv"), Format::Csv);
        assert_eq!(accept("text/csv; charset=utf-8"), Format::Csv);
        assert_eq!(accept(XLSX_MEDIA_TYPE), Format::Xlsx);
        assert_eq!(accept("application/json, text/csv"), Format::Json, "the first listed wins a tie");
        assert_eq!(accept("application/json;q=0.5, text/csv"), Format::Csv);
        assert_eq!(accept("text/html"), Format::Json);
    }

    #[test]
    fn format_parameter_is_checked() {
        assert_eq!(Format::parse("CSV").ok(), Some(Format::Csv));
        assert!(Format::parse("pdf").is_err());
    }
}
