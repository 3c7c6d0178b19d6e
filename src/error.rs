//! One error type for the whole service, rendered as RFC 9457
//! `application/problem+json`. Internal detail is logged, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One bad input: which field, which rule, in words.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the body or the query parameter's name (`tags[2]`, `limit`).
    #[schema(example = "planned_investment_usd")]
    pub field: String,
    /// A stable machine-readable rule name.
    #[schema(example = "range")]
    pub code: String,
    #[schema(example = "must be between 0 and 1000000000000")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// The problem document every 4xx and 5xx answer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[schema(example = "/problems/validation-failed")]
    #[serde(rename = "type")]
    pub problem_type: String,
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "1 field is invalid")]
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// The request's id (its `X-Request-Id`, sent back on every response):
    /// quote it when reporting a problem.
    #[schema(example = "0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5b")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// On a `409` for a duplicate: the id of the record that exists already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read: malformed syntax, bad query parameter, bad path id.
    #[error("bad request: {detail}")]
    BadRequest { detail: String, errors: Vec<FieldError> },
    /// The request was read but its content breaks a rule.
    #[error("validation failed: {0:?}")]
    Invalid(Vec<FieldError>),
    /// No credentials were sent.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Credentials were sent and are not valid (bad, expired, revoked token; wrong password).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// What was asked for does not exist, or the caller may not know it exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("version mismatch: the record is at version {current}")]
    PreconditionFailed { current: i32 },
    #[error("If-Match is required")]
    PreconditionRequired,
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("conflict: {0:?}")]
    Conflict(FieldError),
    /// The record would duplicate `existing_id` (a 409 that names it).
    #[error("duplicate of {existing_id}: {error:?}")]
    Duplicate { error: FieldError, existing_id: String },
    #[error("too many requests; retry after {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be reached (down, restarting, no connection).
    #[error("database unavailable: {0}")]
    DatabaseDown(String),
    /// The database is reachable but cannot store or read data: disk full,
    /// an I/O error, a damaged file.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Too much slow work (password hashing) is queued already.
    #[error("overloaded: {0}")]
    Overloaded(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into())
    }

    pub fn invalid(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }

    pub fn bad_param(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, code, message);
        Self::BadRequest { detail: format!("invalid parameter {}: {}", error.field, error.message), errors: vec![error] }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest { .. } => ("bad-request", "Bad request"),
            Self::Invalid(_) => ("validation-failed", "Validation failed"),
            Self::Unauthenticated(_) | Self::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            Self::PreconditionFailed { .. } => ("version-mismatch", "Precondition failed"),
            Self::PreconditionRequired => ("if-match-required", "Precondition required"),
            Self::PayloadTooLarge { .. } => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            Self::Conflict(_) | Self::Duplicate { .. } => ("conflict", "Conflict"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::DatabaseDown(_) => ("database-unavailable", "Database unavailable"),
            Self::Storage(_) => ("storage-unavailable", "Storage unavailable"),
            Self::Overloaded(_) => ("overloaded", "Service overloaded"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let (detail, errors) = match self {
            Self::BadRequest { detail, errors } => (detail.clone(), errors.clone()),
            Self::Invalid(errors) => {
                let n = errors.len();
                (format!("{n} field{} invalid", if n == 1 { " is" } else { "s are" }), errors.clone())
            }
            Self::Unauthenticated(d) | Self::Unauthorized(d) | Self::Forbidden(d) => (d.clone(), vec![]),
            Self::Conflict(error) | Self::Duplicate { error, .. } => (error.message.clone(), vec![error.clone()]),
            Self::TooManyRequests { retry_after } => {
                (format!("too many failed logins; try again in {retry_after} seconds"), vec![])
            }
            Self::NotFound(what) => (format!("no {what} with that identifier is visible to you"), vec![]),
            Self::MethodNotAllowed => ("this method is not allowed on this resource".into(), vec![]),
            Self::PreconditionFailed { current } => (
                format!("the record has changed: it is now at version {current}; read it again and retry"),
                vec![FieldError::new("If-Match", "stale_version", format!("current version is {current}"))],
            ),
            Self::PreconditionRequired => (
                "send If-Match with the version you read (its ETag)".into(),
                vec![FieldError::new("If-Match", "required", "the If-Match header is required")],
            ),
            Self::PayloadTooLarge { limit } => (format!("the body exceeds {limit} bytes"), vec![]),
            Self::UnsupportedMediaType => (
                "send the body as application/json".into(),
                vec![FieldError::new("Content-Type", "media_type", "must be application/json")],
            ),
            Self::Unavailable(_) => ("the database is busy or unreachable; retry shortly".into(), vec![]),
            Self::DatabaseDown(_) => ("the database cannot be reached; retry shortly".into(), vec![]),
            Self::Storage(_) => ("the database cannot store or read data now (disk full or damaged); nothing was written; retry later".into(), vec![]),
            Self::Overloaded(what) => (format!("too many {what} are in progress; retry shortly"), vec![]),
            Self::Internal(_) => ("an unexpected error occurred; it has been logged".into(), vec![]),
        };
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            // Filled in by the envelope middleware, which knows the request.
            request_id: None,
            existing_id: match self {
                Self::Duplicate { existing_id, .. } => Some(existing_id.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated(_) | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Conflict(_) | Self::Duplicate { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::DatabaseDown(_) | Self::Storage(_) | Self::Overloaded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(d) => tracing::error!(detail = %d, "internal error"),
            // Outages and storage failures are logged once, where the pool
            // notices them (`db::DbPool`), not by every request meeting them.
            Self::Unavailable(d) => tracing::warn!(detail = %d, "service unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            Self::Unavailable(_) | Self::DatabaseDown(_) | Self::Overloaded(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            // A full disk is not freed in a second.
            Self::Storage(_) => {
                response.insert_header((header::RETRY_AFTER, "30"));
            }
            Self::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            // RFC 6750 §3: say which scheme, and whether the token sent was the problem.
            Self::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"invest-registry\""));
            }
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"invest-registry\", error=\"invalid_token\""));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

/// Messages of SQLite and PostgreSQL that mean the storage under the
/// database failed, not the statement: SQLITE_FULL, SQLITE_IOERR,
/// SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_CANTOPEN, SQLITE_READONLY; PostgreSQL's
/// disk_full (53100) and io_error (58030), which diesel does not classify.
const STORAGE_MESSAGES: [&str; 9] = [
    "database or disk is full",
    "disk i/o error",
    "database disk image is malformed",
    "file is not a database",
    "unable to open database file",
    "attempt to write a readonly database",
    "no space left on device",
    "could not extend file",
    "could not write to file",
];

/// Messages of a connection that went away under a statement (a restart,
/// a stop, a network cut).
const CONNECTION_MESSAGES: [&str; 6] = [
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "could not connect",
    "the database system is",
    "connection to server",
];

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        let message = match &err {
            Error::DatabaseError(_, info) => info.message().to_lowercase(),
            _ => String::new(),
        };
        match &err {
            Error::DatabaseError(..) if STORAGE_MESSAGES.iter().any(|m| message.contains(m)) => {
                Self::Storage(err.to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Self::DatabaseDown(err.to_string()),
            Error::DatabaseError(_, _) if CONNECTION_MESSAGES.iter().any(|m| message.contains(m)) => {
                Self::DatabaseDown(err.to_string())
            }
            // SQLite's busy timeout ran out: the write queue is too long, not a bug.
            Error::DatabaseError(DatabaseErrorKind::Unknown, _) if message.contains("locked") => {
                Self::Unavailable(err.to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::Unavailable(err.to_string()),
            // The slow lane's statement_timeout ended a runaway statement (db::lane).
            Error::DatabaseError(_, _) if message.contains("statement timeout") => Self::Unavailable(err.to_string()),
            // Two writers raced past a uniqueness check: the loser is told
            // which field is taken, as if the check had caught it.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let field = unique_field(info.message(), info.details()).unwrap_or_else(|| "body".into());
                Self::Conflict(FieldError::new(field, "taken", "a record with this value exists already"))
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// The column a unique violation is about: the last one of the key, as
/// PostgreSQL details it (`Key (investor_id, year)=(…) already exists.`)
/// or SQLite names it (`UNIQUE constraint failed: t.investor_id, t.year`).
fn unique_field(message: &str, details: Option<&str>) -> Option<String> {
    let columns = match details.and_then(|d| d.strip_prefix("Key (")) {
        Some(rest) => rest.split(')').next()?,
        None => message.split_once("UNIQUE constraint failed:")?.1,
    };
    let last = columns.split(',').next_back()?.trim();
    Some(last.rsplit('.').next().unwrap_or(last).to_owned())
}

impl From<serde_json::Error> for ApiError {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("json: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_names_each_field() {
        let err = ApiError::Invalid(vec![
            FieldError::new("name", "length", "must not be empty"),
            FieldError::new("stage", "enum", "unknown value"),
        ]);
        let json = serde_json::to_value(err.problem()).unwrap_or_default();
        assert_eq!(json["type"], "/problems/validation-failed");
        assert_eq!(json["status"], 422);
        assert_eq!(json["detail"], "2 fields are invalid");
        assert_eq!(json["errors"][1]["field"], "stage");
        assert_eq!(json["errors"][1]["code"], "enum");
    }

    struct Info(&'static str);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn from_db(message: &'static str) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        ApiError::from(Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(Info(message))))
    }

    #[test]
    fn storage_failures_are_503_with_their_own_type() {
        for message in [
            "database or disk is full",
            "disk I/O error",
            "database disk image is malformed",
            "could not extend file \"base/16384/2619\": No space left on device",
        ] {
            let err = from_db(message);
            assert!(matches!(err, ApiError::Storage(_)), "{message}: {err:?}");
            assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(err.problem().problem_type, "/problems/storage-unavailable");
            assert!(err.error_response().headers().contains_key(header::RETRY_AFTER));
        }
    }

    #[test]
    fn lost_connections_are_503_and_other_errors_500() {
        let err = from_db("server closed the connection unexpectedly");
        assert!(matches!(err, ApiError::DatabaseDown(_)), "{err:?}");
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(matches!(from_db("syntax error at or near"), ApiError::Internal(_)));
    }

    #[test]
    fn unique_violations_name_the_last_key_column() {
        let pg = unique_field("duplicate key value", Some("Key (investor_id, year)=(a, 2024) already exists."));
        assert_eq!(pg.as_deref(), Some("year"));
        let sqlite = unique_field("UNIQUE constraint failed: investor_figures.investor_id, investor_figures.year", None);
        assert_eq!(sqlite.as_deref(), Some("year"));
        assert_eq!(unique_field("something else", None), None);
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let err = ApiError::internal("relation \"projects\" does not exist");
        let json = serde_json::to_value(err.problem()).unwrap_or_default();
        assert_eq!(json["status"], 500);
        assert!(!json.to_string().contains("relation"));
    }
}
