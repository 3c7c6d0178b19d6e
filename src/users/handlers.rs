//! HTTP handlers of `/api/v1/users`.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

use super::queries::{self, NewUser, UserFilter, UserPatch};
use super::User;
use crate::auth::{passwords, Caller};
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::{answers, created, parse_id, required_if_match, versioned, Json, Page, Query};
use crate::state::AppState;

/// List the users the caller manages.
#[utoipa::path(
    operation_id = "listUsers",
    tag = "users",
    params(UserFilter),
    responses(
        (status = 200, description = "One page of users, oldest first", body = Page<User>),
        answers::BadQuery, answers::Unauthenticated,
        (status = 403, description = "Only administrators manage users", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(state: web::Data<AppState>, caller: Caller, filter: Query<UserFilter>) -> Result<HttpResponse, ApiError> {
    let page = db::run(&state.pool, move |conn| queries::list(conn, &caller, filter.0)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a user.
#[utoipa::path(
    operation_id = "createUser",
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User, headers(("Location" = String), ("ETag" = String))),
        answers::Unauthenticated,
        (status = 403, description = "The caller may not give this role or park", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        answers::Unprocessable, answers::PasswordsBusy,
    )
)]
#[post("/users")]
pub async fn create_user(state: web::Data<AppState>, caller: Caller, body: Json<NewUser>) -> Result<HttpResponse, ApiError> {
    queries::require_manager(&caller)?;
    let hash = hashed(&state, Some(&body.0.password)).await?;
    let user = db::run(&state.pool, move |conn| queries::create(conn, &caller, body.0, hash)).await?;
    Ok(created(&format!("/api/v1/users/{}", user.id), &user, Some(user.version)))
}

/// Read one user.
#[utoipa::path(
    operation_id = "getUser",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id (UUID)")),
    responses(
        (status = 200, description = "The user", body = User, headers(("ETag" = String))),
        answers::Unauthenticated,
        (status = 403, description = "Only administrators manage users", body = Problem, content_type = "application/problem+json"),
        answers::NotVisible,
    )
)]
#[get("/users/{id}")]
pub async fn get_user(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let user = db::run(&state.pool, move |conn| queries::get(conn, &caller, &id)).await?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

/// Change a user: display name, password, role, park or active flag. A change
/// of role, park, password or active flag ends the user's sessions.
#[utoipa::path(
    operation_id = "updateUser",
    tag = "users",
    params(
        ("id" = uuid::Uuid, Path, description = "The user's id (UUID)"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The changed user", body = User, headers(("ETag" = String))),
        answers::Unauthenticated, answers::Forbidden, answers::NotVisible, answers::Stale, answers::Unprocessable, answers::IfMatchMissing, answers::PasswordsBusy,
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let expected = required_if_match(&req)?;
    queries::require_manager(&caller)?;
    let hash = hashed(&state, body.0.password.as_deref()).await?;
    let user = db::run(&state.pool, move |conn| queries::update(conn, &caller, &id, &expected, body.0, hash)).await?;
    // A change of role, park, password or active flag ends the user's tokens.
    state.rechecks.forget_all();
    Ok(versioned(StatusCode::OK, &user, user.version))
}

/// A new password's hash, made through the same bounded gate as logins and
/// without a database connection held; `None` when there is no password or
/// it breaks the password rule (the rule is reported with the other fields).
async fn hashed(state: &AppState, password: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(password) = password.filter(|p| passwords::check_new(p, "password").is_ok()).map(str::to_owned) else {
        return Ok(None);
    };
    let entered = state.hashing.enter().await?;
    entered.hash(move || passwords::hash(&password)).await?.map(Some)
}
