use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;

use crate::error::ApiError;

/// The `ETag` of a record at `version`: a strong tag holding the version.
pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// One record's answer: `status`, the record as JSON, its version as `ETag`.
pub fn versioned<T: serde::Serialize>(status: actix_web::http::StatusCode, record: &T, version: i32) -> actix_web::HttpResponse {
    let mut response = actix_web::HttpResponse::build(status);
    response.insert_header(etag(version));
    super::json_answer(response, record, super::RECORD_BYTES)
}

/// `201 Created` with `Location` (and `ETag` when the record has a version).
pub fn created<T: serde::Serialize>(location: &str, record: &T, version: Option<i32>) -> actix_web::HttpResponse {
    let mut response = actix_web::HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if let Some(version) = version {
        response.insert_header(etag(version));
    }
    super::json_answer(response, record, super::RECORD_BYTES)
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One or more versions; the change proceeds when the record is at one of them.
    Versions(Vec<i32>),
}

impl IfMatch {
    pub fn matches(&self, version: i32) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(versions) => versions.contains(&version),
        }
    }
}

/// Reads `If-Match`. Tags are compared strongly (RFC 9110 §13.1.1): a weak
/// tag never matches. A bare number is accepted for hand-written requests.
pub fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    let values: Vec<&HeaderValue> = req.headers().get_all(header::IF_MATCH).collect();
    if values.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::bad_param("If-Match", "etag", "must be the ETag of the record, such as \"3\"");
    let mut versions = Vec::new();
    for value in values {
        let value = value.to_str().map_err(|_| bad())?;
        for tag in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "*" {
                return Ok(Some(IfMatch::Any));
            }
            if tag.starts_with("W/") {
                versions.push(-1);
                continue;
            }
            let number = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
            versions.push(number.parse::<i32>().map_err(|_| bad())?);
        }
    }
    if versions.is_empty() {
        return Err(bad());
    }
    Ok(Some(IfMatch::Versions(versions)))
}

/// Reads the `If-Match` of a change that must name the version it read
/// (`PATCH`, `PUT`, merges): none at all is a 428.
pub fn required_if_match(req: &HttpRequest) -> Result<IfMatch, ApiError> {
    if_match(req)?.ok_or(ApiError::PreconditionRequired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parse(value: &str) -> Result<Option<IfMatch>, ApiError> {
        if_match(&TestRequest::default().insert_header((header::IF_MATCH, value)).to_http_request())
    }

    #[test]
    fn reads_strong_tags_star_and_bare_numbers() {
        assert_eq!(parse("\"3\"").ok().flatten(), Some(IfMatch::Versions(vec![3])));
        assert_eq!(parse("\"3\", \"4\"").ok().flatten(), Some(IfMatch::Versions(vec![3, 4])));
        assert_eq!(parse("*").ok().flatten(), Some(IfMatch::Any));
        assert_eq!(parse("7").ok().flatten(), Some(IfMatch::Versions(vec![7])));
        assert!(if_match(&TestRequest::default().to_http_request()).ok().flatten().is_none());
    }

    #[test]
    fn weak_tags_never_match_and_garbage_is_rejected() {
        let weak = parse("W/\"3\"").ok().flatten();
        assert!(weak.is_some_and(|m| !m.matches(3)));
        assert!(parse("\"three\"").is_err());
    }
}
