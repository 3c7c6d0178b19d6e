use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::User;
use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::{passwords, session, Caller, ParkScope};
use crate::clock;
use crate::db::schema::users;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::{Cursor, IfMatch, Limit, Page, SortKey, SortOrder};
use crate::vocab::Role;

const NOT_AUDITED: &[&str] = &["id", "version", "created_at", "updated_at", "created_by", "updated_by"];

/// The body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "yueyang.zhang", "display_name": "张伟", "password": "correct horse battery", "role": "park_staff", "park_code": "yueyang"}))]
pub struct NewUser {
    /// 3 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`; stored lower-case.
    #[schema(min_length = 3, max_length = 64)]
    pub username: String,
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    /// 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    pub role: Role,
    /// Required for park roles (a park administrator may omit it: its own park); absent for provincial roles.
    pub park_code: Option<String>,
}

/// The body of `PATCH /users/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UserPatch {
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    /// 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub park_code: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Filters of `GET /users`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    #[serde(default)]
    pub role: Vec<Role>,
    #[serde(default)]
    pub park: Vec<String>,
    pub active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    park_code: Option<String>,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    updated_by: String,
    version: i32,
}

impl UserRow {
    fn into_user(self) -> Result<User, ApiError> {
        Ok(User {
            role: crate::vocab::from_db(&self.role)?,
            created_at: clock::utc(self.created_at),
            updated_at: clock::utc(self.updated_at),
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            park_code: self.park_code,
            active: self.active,
            created_by: self.created_by,
            updated_by: self.updated_by,
            version: self.version,
        })
    }
}

/// Which users the caller may manage: all, its park's, or none (403).
fn managed(caller: &Caller) -> Result<ParkScope, ApiError> {
    match caller.role() {
        Role::ProvincialAdmin => Ok(ParkScope::All),
        Role::ParkAdmin => Ok(caller.scope()),
        _ => Err(ApiError::Forbidden("only administrators manage users".into())),
    }
}

type Backend = <DbConnection as Connection>::Backend;

fn visible<'a>(scope: &ParkScope) -> users::BoxedQuery<'a, Backend> {
    match scope {
        ParkScope::All => users::table.into_boxed(),
        ParkScope::One(park) => users::table.filter(users::park_code.eq(park.clone())).into_boxed(),
    }
}

fn find_row(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<UserRow, ApiError> {
    visible(scope)
        .filter(users::id.eq(id.to_owned()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("user"))
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<User, ApiError> {
    find_row(conn, &managed(caller)?, id)?.into_user()
}

pub fn list(conn: &mut DbConnection, caller: &Caller, filter: UserFilter) -> Result<Page<User>, ApiError> {
    let scope = managed(caller)?;
    let limit = Limit::parse(filter.limit)?;
    let mut query = visible(&scope);
    if !filter.role.is_empty() {
        query = query.filter(users::role.eq_any(filter.role.iter().map(|r| r.to_string()).collect::<Vec<_>>()));
    }
    if !filter.park.is_empty() {
        query = query.filter(users::park_code.eq_any(filter.park));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(raw) = filter.cursor.as_deref().filter(|raw| !raw.trim().is_empty()) {
        let after = Cursor::decode(raw, SortKey::CreatedAt, SortOrder::Asc)?;
        query = query.filter(users::created_at.gt(after.at).or(users::created_at.eq(after.at).and(users::id.gt(after.id))));
    }
    let rows: Vec<UserRow> = query
        .order((users::created_at.asc(), users::id.asc()))
        .limit(limit.get() + 1)
        .select(UserRow::as_select())
        .load(conn)?;
    Page::from_rows(
        rows,
        limit,
        |r| Cursor { key: SortKey::CreatedAt, order: SortOrder::Asc, at: r.created_at, id: r.id.clone() },
        UserRow::into_user,
    )
}

fn check_username(username: &str) -> Option<FieldError> {
    let ok = (3..=64).contains(&username.len())
        && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'));
    (!ok).then(|| FieldError::new("username", "format", "must be 3 to 64 of a-z, 0-9, '.', '_', '-', '@'"))
}

fn check_display_name(name: &str) -> Option<FieldError> {
    crate::text::check("display_name", name, 100, crate::text::Lines::One)
}

/// A role and park that fit together, that the caller may give, in a park that exists.
fn check_assignment(conn: &mut DbConnection, caller: &Caller, role: Role, park: Option<&str>, errors: &mut Vec<FieldError>) -> Result<(), ApiError> {
    if !caller.role().may_assign(role) {
        return Err(ApiError::Forbidden(format!("you may not give the role {role}")));
    }
    match (role.is_provincial(), park) {
        (true, Some(_)) => errors.push(FieldError::new("park_code", "not_allowed", "provincial roles have no park")),
        (false, None) => errors.push(FieldError::new("park_code", "required", "park roles need a park")),
        (false, Some(park)) => {
            if !caller.scope().includes(park) {
                return Err(ApiError::Forbidden(format!("you may not manage users of park {park}")));
            }
            if !crate::parks::exists(conn, park)? {
                errors.push(FieldError::new("park_code", "unknown", format!("there is no park {park:?}")));
            }
        }
        (true, None) => {}
    }
    Ok(())
}

/// Refuses callers who manage no users, before anything costly (hashing) is done for them.
pub fn require_manager(caller: &Caller) -> Result<(), ApiError> {
    managed(caller).map(|_| ())
}

/// Creates a user; `password_hash` is the hash of `new.password`, made by the
/// caller off the database connection (hashing is slow on purpose).
pub fn create(conn: &mut DbConnection, caller: &Caller, new: NewUser, password_hash: Option<String>) -> Result<User, ApiError> {
    managed(caller)?;
    let username = new.username.trim().to_lowercase();
    let display_name = new.display_name.map(|d| d.trim().to_owned()).unwrap_or_else(|| username.clone());
    let park = match (&new.park_code, caller.role()) {
        (None, Role::ParkAdmin) => caller.park().map(str::to_owned),
        (park, _) => park.as_ref().map(|p| p.trim().to_owned()),
    };
    let mut errors: Vec<FieldError> = [check_username(&username), check_display_name(&display_name)].into_iter().flatten().collect();
    if let Err(e) = passwords::check_new(&new.password, "password") {
        errors.push(e);
    }
    check_assignment(conn, caller, new.role, park.as_deref(), &mut errors)?;
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let password_hash = password_hash.ok_or_else(|| ApiError::internal("the new password was not hashed"))?;
    write_tx(conn, |conn| {
        let taken: i64 = users::table.filter(users::username.eq(&username)).count().get_result(conn)?;
        if taken > 0 {
            return Err(ApiError::Conflict(FieldError::new("username", "taken", format!("the username {username} is taken"))));
        }
        let now = clock::now();
        let id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&id),
                users::username.eq(&username),
                users::display_name.eq(&display_name),
                users::password_hash.eq(&password_hash),
                users::role.eq(new.role.to_string()),
                users::park_code.eq(&park),
                users::active.eq(true),
                users::token_version.eq(1),
                users::created_at.eq(now),
                users::updated_at.eq(now),
                users::created_by.eq(&caller.username),
                users::updated_by.eq(&caller.username),
                users::version.eq(1),
            ))
            .execute(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    ApiError::Conflict(FieldError::new("username", "taken", format!("the username {username} is taken")))
                }
                other => other.into(),
            })?;
        let user = find_row(conn, &ParkScope::All, &id)?.into_user()?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Create,
            entity_type: "user",
            entity_id: &id,
            park_code: park.as_deref(),
            changes: audit::diff(&serde_json::Value::Null, &serde_json::to_value(&user)?, NOT_AUDITED),
        })?;
        Ok(user)
    })
}

/// Changes a user; `password_hash` is the hash of `patch.password` when one is given.
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    expected: &IfMatch,
    patch: UserPatch,
    password_hash: Option<String>,
) -> Result<User, ApiError> {
    let scope = managed(caller)?;
    if let Some(password) = patch.password.as_deref() {
        passwords::check_new(password, "password").map_err(|e| ApiError::Invalid(vec![e]))?;
    }
    let new_hash = match (&patch.password, password_hash) {
        (Some(_), None) => return Err(ApiError::internal("the new password was not hashed")),
        (_, hash) => hash,
    };
    write_tx(conn, |conn| {
        let row = find_row(conn, &scope, id)?;
        if !expected.matches(row.version) {
            return Err(ApiError::PreconditionFailed { current: row.version });
        }
        let before = row.into_user()?;
        // A park administrator may not touch users whose role it could not give.
        if !caller.role().may_assign(before.role) {
            return Err(ApiError::Forbidden(format!("you may not manage a user with the role {}", before.role)));
        }
        let role = patch.role.unwrap_or(before.role);
        let park = match &patch.park_code {
            Some(p) => p.as_ref().map(|p| p.trim().to_owned()),
            None if role.is_provincial() => None,
            None => before.park_code.clone(),
        };
        let active = patch.active.unwrap_or(before.active);
        let display_name = patch.display_name.as_ref().map(|d| d.trim().to_owned()).unwrap_or_else(|| before.display_name.clone());
        let is_self = caller.user_id.as_deref() == Some(id);
        if is_self && (role != before.role || park != before.park_code || !active) {
            return Err(ApiError::Forbidden("you may not change your own role or park, or deactivate yourself".into()));
        }
        let mut errors: Vec<FieldError> = check_display_name(&display_name).into_iter().collect();
        check_assignment(conn, caller, role, park.as_deref(), &mut errors)?;
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        let ends_sessions = role != before.role || park != before.park_code || active != before.active || new_hash.is_some();
        if !ends_sessions && display_name == before.display_name {
            return Ok(before);
        }
        let now = clock::now();
        let bump = if ends_sessions { 1 } else { 0 };
        let changed = diesel::update(users::table.filter(users::id.eq(id)).filter(users::version.eq(before.version)))
            .set((
                users::display_name.eq(&display_name),
                users::role.eq(role.to_string()),
                users::park_code.eq(&park),
                users::active.eq(active),
                users::token_version.eq(users::token_version + bump),
                users::updated_at.eq(now),
                users::updated_by.eq(&caller.username),
                users::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(ApiError::PreconditionFailed { current: before.version + 1 });
        }
        if let Some(hash) = &new_hash {
            diesel::update(users::table.find(id)).set(users::password_hash.eq(hash)).execute(conn)?;
        }
        if ends_sessions {
            session::revoke_user_sessions(conn, id)?;
        }
        let after = find_row(conn, &ParkScope::All, id)?.into_user()?;
        let mut changes = audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, NOT_AUDITED);
        if new_hash.is_some() {
            changes.push(Change { field: "password".into(), old: "(hidden)".into(), new: "(changed)".into() });
        }
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: "user",
            entity_id: id,
            park_code: after.park_code.as_deref(),
            changes,
        })?;
        Ok(after)
    })
}

