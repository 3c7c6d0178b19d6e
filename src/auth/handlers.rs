//! `/auth/login`, `/auth/refresh`, `/auth/logout` and `/me`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::session::{self, TokenPair};
use super::{passwords, Caller};
use crate::db;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::{answers, Json};
use crate::vocab::Role;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "yueyang.zhang", "password": "correct horse battery"}))]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3J0c2VjcmV0LXJlZnJlc2gtdG9rZW4tZXhhbXBsZQ"}))]
pub struct Refresh {
    pub refresh_token: String,
}

/// The caller as the service sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(example = "yueyang.zhang")]
    pub username: String,
    pub role: Role,
    #[schema(example = "yueyang")]
    pub park_code: Option<String>,
    /// The local user's id; null for a caller of an external identity provider.
    pub user_id: Option<String>,
}

/// Usernames are at most 64 characters (see `users`); a few more are
/// allowed here so that the rule stays the users module's to tighten.
const USERNAME_MAX_CHARS: usize = 128;

/// The client address used for throttling.
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let info = req.connection_info();
    let address = if trust_forwarded_for { info.realip_remote_addr() } else { info.peer_addr() };
    address
        .map(|a| a.parse::<std::net::SocketAddr>().map(|s| s.ip().to_string()).unwrap_or_else(|_| a.to_owned()))
        .unwrap_or_else(|| "unknown".into())
}

/// Log in with a username and password.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    security(),
    request_body = Login,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong username or password (the same answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many logins in progress, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: Json<Login>) -> Result<HttpResponse, ApiError> {
    let address = client_address(&req, state.keys.trust_forwarded_for);
    let Login { username, password } = body.0;
    check_login_input(&username, &password)?;
    // Wait for a hashing permit first: a login turned away (503) is not
    // counted against the username's throttle.
    let entered = state.hashing.enter().await?;
    let pending = db::run(&state.pool, |conn| session::begin_login(conn, &username, &address)).await?;
    // No connection is held while hashing: the storm held the pool too.
    let (pending, ok) = entered
        .hash(move || {
            let ok = pending.password_matches(&password);
            (pending, ok)
        })
        .await?;
    drop(entered);
    let pair = db::run(&state.pool, |conn| session::finish_login(conn, &state.keys, pending, ok)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(pair))
}

/// Names no account can have are refused before the database (a NUL or a
/// 3 KB name made PostgreSQL answer 500), and passwords no account can have
/// before the hash.
fn check_login_input(username: &str, password: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if username.trim().chars().count() > USERNAME_MAX_CHARS {
        errors.push(FieldError::new("username", "length", format!("must be at most {USERNAME_MAX_CHARS} characters")));
    } else if username.chars().any(char::is_control) {
        errors.push(FieldError::new("username", "characters", "must not contain control characters"));
    }
    if password.chars().count() > passwords::MAX_LEN {
        errors.push(FieldError::new("password", "length", format!("must be at most {} characters", passwords::MAX_LEN)));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Trade a refresh token for a new token pair (the old refresh token is spent).
#[utoipa::path(
    operation_id = "refreshToken",
    tag = "auth",
    security(),
    request_body = Refresh,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, revoked or already used", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, body: Json<Refresh>) -> Result<HttpResponse, ApiError> {
    let keys = state.keys.clone();
    let token = body.0.refresh_token;
    let pair = db::run(&state.pool, move |conn| session::refresh(conn, &keys, &token)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(pair))
}

/// Revoke the presented access token and its session's refresh tokens.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        answers::Unauthenticated,
    )
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let access_ttl = state.keys.access_ttl;
    db::run(&state.pool, move |conn| session::logout(conn, &caller, access_ttl)).await?;
    state.rechecks.forget_all();
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is.
#[utoipa::path(
    operation_id = "getMe",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        answers::Unauthenticated,
    )
)]
#[get("/me")]
pub async fn me(caller: Caller) -> HttpResponse {
    let (role, park_code) = (caller.role(), caller.park().map(str::to_owned));
    HttpResponse::Ok().json(Me { username: caller.username, role, park_code, user_id: caller.user_id })
}
