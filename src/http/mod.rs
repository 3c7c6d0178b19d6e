//! HTTP plumbing shared by every resource: body and query extractors that
//! name the bad field, version preconditions, ids and cursor pages.

pub mod answers;
pub mod date_text;
pub mod dates;
pub mod envelope;
mod filters;
mod json;
mod json_copy;
pub mod own_writes;
mod pagination;
pub mod patch;
mod preconditions;
mod query;

pub use filters::TimeBound;
pub use json::{Body, Json, BODY_LIMIT_BYTES};
pub use json_copy::JsonCopy;
pub(crate) use pagination::{keyset, row_compare};
pub use pagination::{column_name, take_page, CountedPage, Cursor, Limit, Page, Sort, SortKey, SortOrder, MAX_LIMIT};
pub use preconditions::{created, etag, if_match, required_if_match, versioned, IfMatch};
pub(crate) use query::{check_values as check_query_values, parse as parse_query};
pub use query::Query;
pub(crate) use query::as_date;

use crate::error::ApiError;

/// Parses a record id from the path; anything but a UUID is a 400 naming `id`.
pub fn parse_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| ApiError::bad_param("id", "uuid", "must be a UUID such as 01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b"))
}

/// Turns a serde error message into the field it names, when serde puts the
/// field in the message rather than the path (unknown and missing fields).
pub(crate) fn field_and_code(path: &str, message: &str) -> (String, &'static str) {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| {
                // serde_path_to_error already ends the path with an unknown field's name.
                if path.is_empty() || path == "." || path == name || path.ends_with(&format!(".{name}")) {
                    if path.is_empty() || path == "." { name.to_owned() } else { path.to_owned() }
                } else {
                    format!("{path}.{name}")
                }
            })
    };
    if let Some(field) = named("unknown field `") {
        (field, "unknown_field")
    } else if let Some(field) = named("missing field `") {
        (field, "required")
    } else if message.starts_with("unknown ") || message.starts_with("unknown variant") {
        (path.to_owned(), "enum")
    } else {
        (if path.is_empty() || path == "." { "body".to_owned() } else { path.to_owned() }, "type")
    }
}

/// Cleans serde's wording for people: no backticks, no "expected one of" lists
/// of unrelated fields.
pub(crate) fn human_message(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    match message.split_once(", expected one of") {
        Some((head, _)) if head.starts_with("unknown field") => {
            format!("{} is not a field of this resource", head.trim_start_matches("unknown field ").replace('`', ""))
        }
        _ => message.replace('`', ""),
    }
}

/// What one record's JSON takes, about: a project of the benchmark's data
/// is 1 to 2 KB (investors and talents less). An answer's buffer starts at
/// this size a record, so a page of 200 reserves at most 400 KB.
pub const RECORD_BYTES: usize = 2048;

/// `response` with `value` as its JSON body, written into a buffer of
/// `capacity` bytes to start with: grown from empty, a page of 20 projects
/// was copied a dozen times over (bench/RESULTS.md, CPU per request).
///
/// Written by sonic-rs, the same text as serde_json writes (a test below
/// holds them together), because serde_json checks a string for what it
/// must escape a byte at a time and sonic-rs sixteen at a time: escaping
/// was a seventh of a page of projects. Stored JSON copies ([`JsonCopy`])
/// go out as their text.
pub fn json_answer<T: serde::Serialize>(
    mut response: actix_web::HttpResponseBuilder,
    value: &T,
    capacity: usize,
) -> actix_web::HttpResponse {
    let mut body = Vec::with_capacity(capacity);
    match json_copy::as_stored(|| sonic_rs::to_writer(&mut body, value)) {
        Ok(()) => response.content_type(actix_web::http::header::ContentType::json()).body(body),
        Err(e) => actix_web::ResponseError::error_response(&crate::error::ApiError::internal(format!("answer not written: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_written_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        struct Sample {
            text: String,
            keys: std::collections::BTreeMap<String, Option<f64>>,
            numbers: (i64, u64, f64, f64, f64, bool),
            nested: Vec<Option<Vec<&'static str>>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<i32>,
        }
        // Every ASCII byte (controls, quote, backslash, slash, DEL) and
        // Chinese, Traditional, full-width and astral characters.
        let text: String = (0u8..0x80).map(char::from).chain("台积电 臺積電 ＡＢＣ 𠀀 é".chars()).collect();
        let keys = [("\u{1}\"键\\".to_owned(), Some(12.5)), ("land_area_mu".into(), None), ("big".into(), Some(1e21)), ("tiny".into(), Some(1e-7))];
        let sample = Sample {
            text: text.repeat(3),
            keys: keys.into_iter().collect(),
            numbers: (i64::MIN, u64::MAX, 100.0, 0.1 + 0.2, -0.0, true),
            nested: vec![None, Some(vec![]), Some(vec!["a", "乙"])],
            skipped: None,
        };
        let ours = json_answer(actix_web::HttpResponse::Ok(), &sample, 0);
        let body = actix_web::body::MessageBody::try_into_bytes(ours.into_body()).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&body), serde_json::to_string(&sample).unwrap_or_default());
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(parse_id("not-a-uuid").is_err());
        assert_eq!(
            parse_id("01936C6E-8B1F-7CC0-9A2B-3C4D5E6F7A8B").ok().as_deref(),
            Some("01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b")
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        assert_eq!(field_and_code("", "unknown field `colour`, expected one of `a`"), ("colour".into(), "unknown_field"));
        assert_eq!(field_and_code("tags", "missing field `name`"), ("tags.name".into(), "required"));
        assert_eq!(field_and_code("stage", "unknown project_stage \"x\""), ("stage".into(), "enum"));
        assert_eq!(field_and_code(".", "invalid type: string, expected i64"), ("body".into(), "type"));
    }
}

