//! The error answers most operations share, named once for the OpenAPI
//! document. An operation's `responses(...)` lists its own success and any
//! answer particular to it, then these by name; each renders as one
//! `application/problem+json` response carrying a [`Problem`].
//!
//! They are never built: the server answers through `ApiError`. Only the
//! document reads them, hence the `dead_code` allowance.
#![allow(dead_code)]

use utoipa::IntoResponses;

use crate::error::Problem;

#[derive(IntoResponses)]
#[response(status = 401, description = "No valid token", content_type = "application/problem+json")]
pub struct Unauthenticated(Problem);

#[derive(IntoResponses)]
#[response(status = 403, description = "The role may not do this", content_type = "application/problem+json")]
pub struct Forbidden(Problem);

#[derive(IntoResponses)]
#[response(status = 404, description = "No such record visible to the caller", content_type = "application/problem+json")]
pub struct NotVisible(Problem);

#[derive(IntoResponses)]
#[response(status = 409, description = "Conflicts with a record that exists", content_type = "application/problem+json")]
pub struct Conflict(Problem);

#[derive(IntoResponses)]
#[response(status = 412, description = "The record changed since it was read", content_type = "application/problem+json")]
pub struct Stale(Problem);

#[derive(IntoResponses)]
#[response(status = 422, description = "A field breaks a rule", content_type = "application/problem+json")]
pub struct Unprocessable(Problem);

/// Creating a user or changing a password hashes it through the login gate.
#[derive(IntoResponses)]
#[response(status = 503, description = "Too many logins and password changes in progress (passwords are hashed through one bounded gate), or the database is unavailable; see Retry-After",
    content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))]
pub struct PasswordsBusy(Problem);

#[derive(IntoResponses)]
#[response(status = 428, description = "If-Match is missing", content_type = "application/problem+json")]
pub struct IfMatchMissing(Problem);

#[derive(IntoResponses)]
#[response(status = 400, description = "A query parameter is invalid", content_type = "application/problem+json")]
pub struct BadQuery(Problem);
