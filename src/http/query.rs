use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::{field_and_code, human_message};
use crate::error::{ApiError, FieldError};

/// Query parameters; a parameter may repeat (`park=a&park=b`) into a `Vec`.
/// Any bad or unknown parameter is a 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// The search parameter of every list.
const SEARCH_PARAMETER: &str = "q";
/// Words in a search: each is one more condition, and about 1,000 made
/// SQLite refuse the statement ("Expression tree is too large") with a 500.
pub const MAX_SEARCH_TERMS: usize = 16;
/// Characters in a search.
pub const MAX_SEARCH_CHARS: usize = 200;

pub(crate) fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_values(query)?;
    // An empty parameter (`park=&cursor=`, as an HTML form sends an empty
    // field) is a parameter left out, for every parameter of every operation.
    let query: String = query
        .split('&')
        .filter(|pair| pair.split_once('=').is_some_and(|(_, value)| !value.is_empty()))
        .collect::<Vec<_>>()
        .join("&");
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|err| {
        // A repeated parameter is named without its index: `stage`, not `stage[1]`.
        let path = err.path().to_string();
        let path = path.split('[').next().unwrap_or(&path).to_owned();
        let inner = err.into_inner().to_string();
        // serde_html_form's words for several values of a one-value parameter
        // (read as a value, or as anything).
        if inner == "unsupported value" || inner.starts_with("invalid type: sequence") {
            return ApiError::bad_param(path, "repeated", "must be given once");
        }
        let (field, code) = field_and_code(&path, &inner);
        let code = if code == "unknown_field" { "unknown_parameter" } else { code };
        let message = human_message(&inner).replace("is not a field of this resource", "is not a parameter of this operation");
        ApiError::BadRequest {
            detail: format!("invalid query parameter {field}: {message}"),
            errors: vec![FieldError::new(field, code, message)],
        }
    })
}

/// Checks every parameter before it is read, whatever the operation: the
/// rules that hold for any parameter of any list.
pub(crate) fn check_values(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = String::from_utf8_lossy(&percent_decode(raw_name)).into_owned();
        // Invalid UTF-8 (`q=%ff%fe`) was read as replacement characters and
        // searched for; it is not text, so it is a bad parameter.
        let value = String::from_utf8(percent_decode(raw_value))
            .map_err(|_| ApiError::bad_param(name.clone(), "encoding", "must be UTF-8 text, percent-encoded"))?;
        // No text column can hold NUL (PostgreSQL refuses it), so no parameter may.
        if value.contains('\0') {
            return Err(ApiError::bad_param(name, "characters", "must not contain NUL characters"));
        }
        if name == SEARCH_PARAMETER {
            if value.split_whitespace().count() > MAX_SEARCH_TERMS {
                return Err(ApiError::bad_param(name, "terms", format!("must have at most {MAX_SEARCH_TERMS} words")));
            }
            if value.chars().count() > MAX_SEARCH_CHARS {
                return Err(ApiError::bad_param(name, "length", format!("must be at most {MAX_SEARCH_CHARS} characters")));
            }
            continue;
        }
        // Every date the API reads lies in one range (see `dates`): a
        // parameter that is a date or an instant is checked here, whichever
        // list it filters.
        if let Some(date) = as_date(&value) {
            super::dates::check_date(&name, date).map_err(|e| ApiError::bad_param(e.field, e.code, e.message))?;
        }
    }
    Ok(())
}

/// A value that is a date (`2026-01-31`, `+99999-01-01`) or an RFC 3339
/// instant, as the date it names in UTC.
pub(crate) fn as_date(value: &str) -> Option<chrono::NaiveDate> {
    let value = value.trim();
    value
        .parse::<chrono::NaiveDate>()
        .ok()
        .or_else(|| chrono::DateTime::parse_from_rfc3339(value).ok().map(|t| t.naive_utc().date()))
}

/// `application/x-www-form-urlencoded` decoding to bytes, without the lossy
/// step to text: `+` is a space, `%XY` a byte, a stray `%` itself.
fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[serde(default)]
        park: Vec<String>,
        limit: Option<u32>,
    }

    #[test]
    fn repeated_parameters_collect() {
        let p: Result<Params, _> = parse("park=yueyang&park=xiangtan&limit=5");
        assert_eq!(p.ok(), Some(Params { park: vec!["yueyang".into(), "xiangtan".into()], limit: Some(5) }));
    }

    #[test]
    fn bad_and_unknown_parameters_are_named() {
        let field = |q: &str| {
            parse::<Params>(q).err().map(|e| e.problem().errors[0].field.clone()).unwrap_or_default()
        };
        assert_eq!(field("limit=many"), "limit");
        assert_eq!(field("limit=5&limit=6"), "limit");
        let code = parse::<Params>("limit=5&limit=6").err().map(|e| e.problem().errors[0].code.clone());
        assert_eq!(code.as_deref(), Some("repeated"));
        assert_eq!(field("colour=red"), "colour");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Search {
        q: Option<String>,
        created_from: Option<String>,
    }

    fn error(q: &str) -> Option<(String, String)> {
        parse::<Search>(q).err().map(|e| {
            let first = e.problem().errors[0].clone();
            (first.field, first.code)
        })
    }

    #[test]
    fn searches_are_capped_and_must_be_text() {
        let many = vec!["词"; MAX_SEARCH_TERMS + 1].join("+");
        assert_eq!(error(&format!("q={many}")), Some(("q".into(), "terms".into())));
        assert_eq!(error(&format!("q={}", vec!["词"; MAX_SEARCH_TERMS].join("+"))), None);
        assert_eq!(error("q=%ff%fe"), Some(("q".into(), "encoding".into())));
        assert_eq!(error("q=%E8%8A%AF"), None);
        assert_eq!(error("q=a%00b"), Some(("q".into(), "characters".into())));
    }

    #[test]
    fn dates_out_of_range_are_refused_by_name() {
        assert_eq!(error("created_from=-5000-01-01"), Some(("created_from".into(), "date_range".into())));
        assert_eq!(error("created_from=%2B99999-01-01"), Some(("created_from".into(), "date_range".into())));
        assert_eq!(error("created_from=2026-01-01T00:00:00Z"), None);
        assert_eq!(error("created_from=2101-01-01T00:00:00Z"), Some(("created_from".into(), "date_range".into())));
    }

    #[test]
    fn percent_decoding_keeps_bytes() {
        assert_eq!(percent_decode("a+b%41%"), b"a bA%".to_vec());
        assert_eq!(percent_decode("%zz"), b"%zz".to_vec());
    }
}
