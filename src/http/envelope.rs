//! What every response gets, whoever answered it: a request id, and for an
//! error a problem document. The routes answer problem+json themselves; the
//! framework's own answers (a CORS preflight refused, a method the path does
//! not have) were plain text or a misleading 404.

use actix_web::body::{to_bytes_limited, BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use serde_json::Value;

use crate::error::{ApiError, PROBLEM_JSON};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: the caller's `X-Request-Id` when it is a sensible
/// token, else a fresh UUIDv7. Kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Longest incoming id kept; a longer one is replaced, not refused.
const MAX_REQUEST_ID: usize = 128;

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?.trim();
    let ok = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/+=@".contains(c));
    ok.then(|| value.to_owned())
}

/// The id of a request, as the envelope set it.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// The outermost middleware: sets the request id, answers it back, and
/// makes every error answer a problem document carrying it.
pub async fn envelope(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    // The routes and the middleware inside answer errors as responses; an
    // `Err` here (none is known) is left to the framework to render.
    let res = next.call(req).await?.map_into_boxed_body();
    let (http_req, mut response) = res.into_parts();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if response.status().as_u16() >= 400 && http_req.method() != Method::HEAD {
        response = as_problem(response, &id).await;
    }
    Ok(ServiceResponse::new(http_req, response))
}

/// An error response as problem+json with `request_id`: our own problem
/// documents gain the field; anything else is rewrapped, its text kept as
/// the detail.
async fn as_problem(response: HttpResponse<BoxBody>, id: &str) -> HttpResponse<BoxBody> {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    let (head, body) = response.into_parts();
    // Error bodies are small; one that is not is replaced by a plain problem.
    let bytes = match to_bytes_limited(body, 64 * 1024).await {
        Ok(Ok(bytes)) => bytes,
        _ => Default::default(),
    };
    let mut problem = if is_problem {
        serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| framework_problem(status, ""))
    } else {
        framework_problem(status, String::from_utf8_lossy(&bytes).trim())
    };
    if let Some(fields) = problem.as_object_mut() {
        fields.insert("request_id".into(), Value::String(id.to_owned()));
    }
    let mut response = head.set_body(BoxBody::new(serde_json::to_vec(&problem).unwrap_or_default()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// A problem document for an answer the framework gave (CORS, routing).
fn framework_problem(status: StatusCode, text: &str) -> Value {
    let title = status.canonical_reason().unwrap_or("Error");
    let slug = title.to_lowercase().replace(' ', "-");
    let detail = if text.is_empty() || text.len() > 500 { title.to_owned() } else { text.to_owned() };
    serde_json::json!({
        "type": format!("/problems/{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "errors": [],
    })
}

/// The paths the service routes and the methods each has, read from the
/// OpenAPI document (the same table the routes are built from), so that a
/// method a path does not have is a 405 naming the ones it does.
pub struct MethodTable {
    paths: Vec<(ResourceDef, String)>,
}

impl MethodTable {
    pub fn from_document(doc: &utoipa::openapi::OpenApi) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let allow: Vec<&str> = methods.iter().filter(|(_, has)| *has).map(|(m, _)| *m).collect();
                (ResourceDef::new(path.as_str()), allow.join(", "))
            })
            .collect();
        Self { paths }
    }

    /// The `Allow` value of a routed path, `None` for a path not routed.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        self.paths.iter().find(|(def, _)| def.is_match(path)).map(|(_, allow)| allow.as_str())
    }
}

/// What no route answered: 405 with `Allow` when the path exists with other
/// methods, else 404.
pub async fn no_route(req: HttpRequest, table: web::Data<MethodTable>) -> HttpResponse {
    match table.allowed(req.path()) {
        Some(allow) => {
            let mut response = ApiError::MethodNotAllowed.error_response();
            if let Ok(value) = HeaderValue::from_str(allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::NotFound("resource").error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_answers_become_problems() {
        let problem = framework_problem(StatusCode::BAD_REQUEST, "Origin is not allowed to make this request");
        assert_eq!(problem["type"], "/problems/bad-request");
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["detail"], "Origin is not allowed to make this request");
    }
}
