//! Logins, refresh-token rotation and logout.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::tokens::{random_token, token_hash, TokenKeys};
use super::{passwords, throttle, Caller};
use crate::audit::{self, Action, NewEvent};
use crate::clock;
use crate::db::schema::{refresh_tokens, revoked_tokens, users};
use crate::db::{write_tx, DbConnection};
use crate::error::ApiError;
use crate::vocab::Role;

/// What a login or a refresh answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// A JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; trade it at `/auth/refresh` for a new pair. It works once.
    pub refresh_token: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct AccountRow {
    id: String,
    username: String,
    password_hash: String,
    role: String,
    park_code: Option<String>,
    active: bool,
    token_version: i32,
}

struct Account {
    id: String,
    username: String,
    password_hash: String,
    role: Role,
    park: Option<String>,
    active: bool,
    token_version: i32,
}

enum Lookup<'a> {
    Username(&'a str),
    Id(&'a str),
}

fn load_account(conn: &mut DbConnection, lookup: Lookup<'_>) -> Result<Option<Account>, ApiError> {
    let query = users::table.select(AccountRow::as_select()).into_boxed();
    let query = match lookup {
        Lookup::Username(username) => query.filter(users::username.eq(username.to_owned())),
        Lookup::Id(id) => query.filter(users::id.eq(id.to_owned())),
    };
    let Some(row) = query.first(conn).optional()? else { return Ok(None) };
    Ok(Some(Account {
        role: crate::vocab::from_db(&row.role)?,
        id: row.id,
        username: row.username,
        password_hash: row.password_hash,
        park: row.park_code,
        active: row.active,
        token_version: row.token_version,
    }))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: String,
    family_id: String,
    user_id: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized("invalid username or password".into())
}

/// A login between its two database steps: the attempt is counted and the
/// account read, the password not yet checked. No connection is held while
/// the password is hashed.
pub struct PendingLogin {
    username: String,
    now: NaiveDateTime,
    account: Option<Account>,
}

impl PendingLogin {
    /// The slow part, for the blocking pool: true when the password is
    /// right and the account active. An unknown username costs the same.
    pub fn password_matches(&self, password: &str) -> bool {
        match &self.account {
            Some(a) => passwords::verify(&a.password_hash, password) && a.active,
            None => {
                passwords::verify_nothing(password);
                false
            }
        }
    }
}

/// The first step of a login: 429 when the username or address has failed
/// too often; otherwise the attempt is counted (see `throttle`) and the
/// account read.
pub fn begin_login(conn: &mut DbConnection, username: &str, address: &str) -> Result<PendingLogin, ApiError> {
    let username = username.trim().to_lowercase();
    let now = clock::now();
    throttle::reserve(conn, &username, address, now)?;
    let account = load_account(conn, Lookup::Username(&username))?;
    Ok(PendingLogin { username, now, account })
}

/// The last step: a session for a right password, the failure audited
/// (and left counted) for a wrong one.
pub fn finish_login(conn: &mut DbConnection, keys: &TokenKeys, pending: PendingLogin, ok: bool) -> Result<TokenPair, ApiError> {
    let PendingLogin { username, now, account } = pending;
    let Some(account) = account.filter(|_| ok) else {
        write_tx(conn, |conn| {
            audit::record(conn, NewEvent {
                actor: &username,
                action: Action::LoginFailed,
                entity_type: "user",
                entity_id: &username,
                park_code: None,
                changes: vec![],
            })
        })?;
        return Err(wrong_credentials());
    };
    write_tx(conn, |conn| {
        throttle::forgive(conn, &username)?;
        let family = uuid::Uuid::now_v7().to_string();
        let pair = start(conn, keys, &account, &family, now)?;
        audit::record(conn, NewEvent {
            actor: &account.username,
            action: Action::Login,
            entity_type: "user",
            entity_id: &account.id,
            park_code: account.park.as_deref(),
            changes: vec![],
        })?;
        Ok(pair)
    })
}

/// A whole login on one connection (the command line and tests; the HTTP
/// handler runs the steps apart, hashing with no connection held).
pub fn login(conn: &mut DbConnection, keys: &TokenKeys, username: &str, password: &str, address: &str) -> Result<TokenPair, ApiError> {
    let pending = begin_login(conn, username, address)?;
    let ok = pending.password_matches(password);
    finish_login(conn, keys, pending, ok)
}

/// Issues an access token and stores the next refresh token of `family`.
fn start(conn: &mut DbConnection, keys: &TokenKeys, account: &Account, family: &str, now: NaiveDateTime) -> Result<TokenPair, ApiError> {
    let refresh = random_token(32);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::now_v7().to_string()),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::user_id.eq(&account.id),
            refresh_tokens::token_hash.eq(token_hash(&refresh)),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + Duration::seconds(keys.refresh_ttl)),
        ))
        .execute(conn)?;
    let (access, _) = keys.issue(&account.id, &account.username, account.role, account.park.as_deref(), account.token_version, family)?;
    Ok(TokenPair { access_token: access, token_type: "Bearer", expires_in: keys.access_ttl, refresh_token: refresh })
}

enum Refreshed {
    Pair(TokenPair),
    Refused,
    Reused,
}

/// Trades a refresh token for a new pair. A token that was already spent
/// revokes its whole family: someone else may hold a copy.
pub fn refresh(conn: &mut DbConnection, keys: &TokenKeys, presented: &str) -> Result<TokenPair, ApiError> {
    let now = clock::now();
    let outcome = write_tx(conn, |conn| {
        let row = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash(presented)))
            .select(RefreshRow::as_select())
            .first(conn)
            .optional()?;
        let Some(RefreshRow { id, family_id: family, user_id, expires_at, used_at, revoked_at }) = row else {
            return Ok(Refreshed::Refused);
        };
        if used_at.is_some() {
            reused(conn, &family, &user_id, now, keys.access_ttl)?;
            return Ok(Refreshed::Reused);
        }
        if revoked_at.is_some() || expires_at <= now {
            return Ok(Refreshed::Refused);
        }
        let Some(account) = load_account(conn, Lookup::Id(&user_id))?.filter(|a| a.active) else {
            return Ok(Refreshed::Refused);
        };
        // Spent only if nobody spent it first: of two parallel refreshes with
        // one token, the second's update waits for the first to commit, then
        // finds it spent and changes nothing. A read-then-write let both win.
        let spent = diesel::update(
            refresh_tokens::table
                .find(&id)
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(Some(now)))
        .execute(conn)?;
        if spent == 0 {
            reused(conn, &family, &user_id, now, keys.access_ttl)?;
            return Ok(Refreshed::Reused);
        }
        start(conn, keys, &account, &family, now).map(Refreshed::Pair)
    })?;
    match outcome {
        Refreshed::Pair(pair) => Ok(pair),
        Refreshed::Refused => Err(ApiError::Unauthorized("invalid refresh token".into())),
        Refreshed::Reused => Err(ApiError::Unauthorized("refresh token already used: the session has been revoked".into())),
    }
}

/// A spent refresh token came back: someone else may hold a copy, so the
/// whole session ends. Audited once, when the family was still live.
fn reused(conn: &mut DbConnection, family: &str, user_id: &str, now: NaiveDateTime, access_ttl: i64) -> Result<(), ApiError> {
    if revoke_family(conn, family, now, access_ttl)? > 0 {
        audit::record(conn, NewEvent {
            actor: "system",
            action: Action::RefreshReuse,
            entity_type: "user",
            entity_id: user_id,
            park_code: None,
            changes: vec![],
        })?;
    }
    Ok(())
}

/// The `revoked_tokens` key that revokes every access token of a session
/// (refresh family): tokens carry their family as `sid`, and the live check
/// looks for this key beside the token's own jti.
pub(crate) fn family_revocation_key(family: &str) -> String {
    format!("session:{family}")
}

/// Ends a session: its refresh tokens, and its access tokens, however many
/// refreshes issued (none outlives `access_ttl` from now). Returns how many
/// refresh tokens were still live.
fn revoke_family(conn: &mut DbConnection, family: &str, now: NaiveDateTime, access_ttl: i64) -> Result<usize, ApiError> {
    let live = diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family)).filter(refresh_tokens::revoked_at.is_null()))
        .set(refresh_tokens::revoked_at.eq(Some(now)))
        .execute(conn)?;
    let key = family_revocation_key(family);
    if !super::caller::is_revoked(conn, &[key.as_str()])? {
        diesel::insert_into(revoked_tokens::table)
            .values((revoked_tokens::jti.eq(&key), revoked_tokens::expires_at.eq(now + Duration::seconds(access_ttl))))
            .execute(conn)?;
    }
    Ok(live)
}

/// Ends every session of a user (role, park, password or active changed).
pub fn revoke_user_sessions(conn: &mut DbConnection, user_id: &str) -> Result<(), ApiError> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)).filter(refresh_tokens::revoked_at.is_null()))
        .set(refresh_tokens::revoked_at.eq(Some(clock::now())))
        .execute(conn)?;
    Ok(())
}

/// Revokes the caller's access token and its session: its refresh tokens
/// and every other access token it issued.
pub fn logout(conn: &mut DbConnection, caller: &Caller, access_ttl: i64) -> Result<(), ApiError> {
    let now = clock::now();
    write_tx(conn, |conn| {
        if let Some(jti) = &caller.jti {
            if !super::caller::is_revoked(conn, &[jti.as_str()])? {
                let expires = chrono::DateTime::from_timestamp(caller.expires, 0).map(|t| t.naive_utc()).unwrap_or(now);
                diesel::insert_into(revoked_tokens::table)
                    .values((revoked_tokens::jti.eq(jti), revoked_tokens::expires_at.eq(expires)))
                    .execute(conn)?;
            }
        }
        if let Some(family) = &caller.session {
            revoke_family(conn, family, now, access_ttl)?;
        }
        // Revocations of expired tokens protect nothing any more.
        diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now - Duration::minutes(5)))).execute(conn)?;
        let id = caller.user_id.clone().unwrap_or_else(|| caller.username.clone());
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Logout,
            entity_type: "user",
            entity_id: &id,
            park_code: caller.park(),
            changes: vec![],
        })
    })
}
