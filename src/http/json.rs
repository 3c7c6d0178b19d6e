use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::{field_and_code, human_message};
use crate::error::{ApiError, FieldError};

/// The largest request body accepted; records are small, so this is generous.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// A JSON request body. Unlike actix's own extractor every failure is a
/// problem document naming the field: syntax errors are 400, wrong types,
/// unknown and missing fields are 422, oversized bodies 413.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// A record's create or `PATCH` body: any JSON object, read into the
/// record's fields only after the caller's rights are decided (403 before 422).
pub type Body = Json<serde_json::Value>;

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_len.is_some_and(|n| n > BODY_LIMIT_BYTES) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT_BYTES });
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest {
                    detail: format!("the body could not be read: {e}"),
                    errors: vec![],
                })?;
                if body.len() + chunk.len() > BODY_LIMIT_BYTES {
                    return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT_BYTES });
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest {
            detail: "the request body is empty; send a JSON object".into(),
            errors: vec![FieldError::new("body", "required", "a JSON body is required")],
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = serde_path_to_error::deserialize(&mut de);
    if result.is_ok() {
        // Trailing characters after the document are a syntax error too.
        if let Err(e) = de.end() {
            return Err(ApiError::BadRequest {
                detail: format!("the body is not valid JSON: {e}"),
                errors: vec![FieldError::new("body", "syntax", human_message(&e.to_string()))],
            });
        }
    }
    result.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = human_message(&inner.to_string());
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest {
                detail: format!("the body is not valid JSON: {inner}"),
                errors: vec![FieldError::new(
                    if path == "." || path.is_empty() { "body".to_owned() } else { path },
                    "syntax",
                    message,
                )],
            },
            Category::Data => {
                let (field, code) = field_and_code(&path, &inner.to_string());
                ApiError::Invalid(vec![FieldError::new(field, code, message)])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        amount: i64,
    }

    fn first_error(result: Result<Body, ApiError>) -> (u16, String, String) {
        use actix_web::ResponseError;
        let err = result.err().map(|e| (e.status_code().as_u16(), e.problem().errors));
        let (status, errors) = err.unwrap_or((0, vec![]));
        let first = errors.into_iter().next().map(|e| (e.field, e.code)).unwrap_or_default();
        (status, first.0, first.1)
    }

    #[test]
    fn each_failure_names_its_field() {
        assert_eq!(first_error(parse(br#"{"name": "a", "amount": "x"}"#)), (422, "amount".into(), "type".into()));
        assert_eq!(first_error(parse(br#"{"name": "a"}"#)), (422, "amount".into(), "required".into()));
        assert_eq!(first_error(parse(br#"{"name": "a", "amount": 1, "x": 1}"#)), (422, "x".into(), "unknown_field".into()));
        assert_eq!(first_error(parse(br#"{"name": "a", "amount": 1"#)).0, 400);
        assert_eq!(first_error(parse(br#"{"name": "a", "amount": 1} x"#)).0, 400);
        assert_eq!(first_error(parse(b"")), (400, "body".into(), "required".into()));
    }
}
