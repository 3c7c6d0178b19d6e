//! The life every record shares, written once: permission first, then the
//! rules inside the write transaction, then a version-guarded write, then
//! the audit event, all committed together or not at all.
//!
//! A library says only what is its own by implementing [`Record`] (fields,
//! rules, links, how a row is built); its table glue comes from
//! [`stored_table!`]. Sub-resources (an investor's contacts, a project's
//! funds) implement [`Child`] and share one protocol of their own.

pub mod batch;
mod body;
pub mod child;
mod list;
mod routes;
mod stored;

pub(crate) use body::patch_body;
pub(crate) use list::list_filter;
pub use list::{list, matching, one_of, FilteredOn, ListParams, Listed, Paging, Searched, SearchedOn, Unset};
pub(crate) use routes::{child_routes, record_delete_route, record_routes};
pub use body::{decode, merge, patch_schema};
pub use child::{Child, ChildBase, ChildTable, Items};
pub(crate) use stored::{bookkeeping_columns, child_table, record_view, row_writes, stored_table, visible_rows};
pub use stored::{Bookkeeping, Keyed, Meta, ParkField, Stored};

use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::{IfMatch, Limit, Page};

/// Who writes, and when: one instant for every row a write touches.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub at: NaiveDateTime,
    pub by: String,
}

impl Stamp {
    pub fn of(caller: &Caller) -> Self {
        Self { at: clock::now(), by: caller.username.clone() }
    }
}

/// What a row is built from besides the record's own fields.
pub struct RowBase<'a, Row> {
    pub id: &'a str,
    pub park: &'a str,
    pub version: i32,
    pub created: &'a Stamp,
    pub updated: &'a Stamp,
    /// The stored row before this write (`None` on create): columns that the
    /// fields do not own (read copies, dates kept by sub-resources) carry
    /// over from it.
    pub previous: Option<&'a Row>,
}

impl<Row> RowBase<'_, Row> {
    /// The row's bookkeeping columns after this write.
    pub fn bookkeeping<B: Bookkeeping>(&self) -> B {
        B::new(self.created, self.updated, self.version)
    }
}

/// Fields of every view that change on every write; audit diffs leave them out.
const BOOKKEEPING: &[&str] = &["id", "version", "created_at", "updated_at", "created_by", "updated_by"];

/// A library's record: what is its own, and nothing of the protocol.
pub trait Record: Stored {
    /// The entity's name in audit events and in "not found" answers.
    const ENTITY: &'static str;
    /// Read-only fields of the view that are kept elsewhere (links shown on
    /// both sides, dates kept by sub-resources); audit diffs leave them out.
    const DERIVED: &'static [&'static str] = &[];

    /// The writable fields: the create body, and what a `PATCH` merges into.
    type Fields: Clone + PartialEq + Serialize + DeserializeOwned + ParkField;
    /// The record as reads answer it.
    type View: Serialize + Keyed;

    fn view(conn: &mut DbConnection, row: Self::Row) -> Result<Self::View, ApiError>;
    /// The view's writable fields, as a `PATCH` merges into them.
    fn fields_of(view: &Self::View) -> Result<Self::Fields, ApiError>;
    /// Normalises `fields` and lists every rule they break. It runs inside
    /// the write transaction, so links are checked against what commits.
    /// `before` is the stored record on an update.
    fn check(
        conn: &mut DbConnection,
        park: &str,
        id: &str,
        before: Option<&Self::View>,
        fields: &mut Self::Fields,
    ) -> Result<Vec<FieldError>, ApiError>;
    fn to_row(fields: &Self::Fields, base: RowBase<'_, Self::Row>) -> Result<Self::Row, ApiError>;
    /// Writes what hangs off the row (link tables, stage history) once it is stored.
    fn after_write(
        _conn: &mut DbConnection,
        _id: &str,
        _before: Option<&Self::Fields>,
        _after: &Self::Fields,
        _stamp: &Stamp,
    ) -> Result<(), ApiError> {
        Ok(())
    }
    fn after_delete(_conn: &mut DbConnection, _id: &str) -> Result<(), ApiError> {
        Ok(())
    }
    /// Stores a new record whose fields passed the rules and answers it as a
    /// read would: by default its row, then what hangs off it
    /// ([`Record::after_write`]), then the record read back. A library that
    /// can build its whole row up front overrides it to write fewer statements.
    fn insert_new(conn: &mut DbConnection, id: &str, park: &str, fields: &Self::Fields, stamp: &Stamp) -> Result<Self::View, ApiError>
    where
        Self: Sized,
    {
        let base = RowBase { id, park, version: 1, created: stamp, updated: stamp, previous: None };
        Self::insert(conn, &Self::to_row(fields, base)?)?;
        Self::after_write(conn, id, None, fields, stamp)?;
        get::<Self>(conn, &ParkScope::All, id)
    }
    /// The changes as the audit trail keeps them: that personal data changed
    /// is recorded, its values never are.
    fn redact(changes: Vec<Change>) -> Vec<Change> {
        changes
    }
    /// The record as lists, write answers and roles without the right to
    /// personal data see it.
    fn masked(view: Self::View) -> Self::View {
        view
    }
    /// Whether the view holds personal data (its unmasked read is audited).
    fn has_personal(_view: &Self::View) -> bool {
        false
    }
}

/// A single-record read: the record, and whether personal data is shown.
pub struct Read<V> {
    pub view: V,
    pub version: i32,
    pub unmasked: bool,
}

/// One record for the caller: personal data unmasked only for the roles that
/// may see it, and each such read is an audit event.
pub fn read<R: Record>(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Read<R::View>, ApiError> {
    let row = R::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(R::ENTITY))?;
    let park = R::meta(&row).park;
    let view = R::view(conn, row)?;
    let version = view.version();
    if !R::has_personal(&view) {
        return Ok(Read { view, version, unmasked: false });
    }
    if !caller.may_read_personal() {
        return Ok(Read { view: R::masked(view), version, unmasked: false });
    }
    write_tx(conn, |conn| audit_event(conn, caller, Action::ReadPersonal, R::ENTITY, id, &park, vec![]))?;
    Ok(Read { view, version, unmasked: true })
}

/// The answer to a single read: the record with its `ETag`; personal data
/// shown unmasked must not linger in shared caches.
pub fn answer_read<R: Record>(read: Read<R::View>) -> actix_web::HttpResponse {
    let mut response = crate::http::versioned(actix_web::http::StatusCode::OK, &read.view, read.version);
    if read.unmasked {
        no_store(&mut response);
    }
    response
}

/// `Cache-Control: no-store`, for answers that may carry personal data.
pub fn no_store(response: &mut actix_web::HttpResponse) {
    use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// One visible, live record.
pub fn get<R: Record>(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<R::View, ApiError> {
    let row = R::find(conn, scope, id)?.ok_or(ApiError::NotFound(R::ENTITY))?;
    R::view(conn, row)
}

/// Creates a record from a create body: the caller's right to write in the
/// park is decided before the body is read.
pub fn create<R: Record>(conn: &mut DbConnection, caller: &Caller, body: Value) -> Result<R::View, ApiError> {
    caller.require_writer()?;
    let requested = body.get("park_code").and_then(Value::as_str).map(str::to_owned);
    if let Ok(park) = caller.park_for_new(requested) {
        caller.require_write(&park)?;
    }
    let fields: R::Fields = decode(body)?;
    write_tx(conn, |conn| create_in_tx::<R>(conn, caller, fields))
}

/// [`create_fields`] for a caller already inside a write transaction (an
/// import writes all its rows in one, all or nothing): the same permission,
/// rules, row and audit event, without a transaction of its own.
pub fn create_in_tx<R: Record>(conn: &mut DbConnection, caller: &Caller, mut fields: R::Fields) -> Result<R::View, ApiError> {
    let park = caller.park_for_new(fields.take_park())?;
    caller.require_write(&park)?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut errors = R::check(conn, &park, &id, None, &mut fields)?;
    if !crate::parks::exists(conn, &park)? {
        errors.push(FieldError::new("park_code", "unknown", format!("there is no park {park:?}")));
    }
    invalid_unless_empty(errors)?;
    let stamp = Stamp::of(caller);
    let created = R::insert_new(conn, &id, &park, &fields, &stamp)?;
    audit_event(conn, caller, Action::Create, R::ENTITY, &id, &park, creation_changes::<R>(&created)?)?;
    Ok(created)
}

/// [`create`] for callers inside the service (demo data, imports) that
/// hold typed fields: the same protocol, rules and audit as the API.
pub fn create_fields<R: Record>(conn: &mut DbConnection, caller: &Caller, fields: &R::Fields) -> Result<R::View, ApiError> {
    create::<R>(conn, caller, serde_json::to_value(fields)?)
}

/// Applies a `PATCH` body (a JSON merge patch over the record's fields) if
/// the record is still at the version the caller read.
pub fn update<R: Record>(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    expected: &IfMatch,
    patch: Value,
) -> Result<R::View, ApiError> {
    write_tx(conn, |conn| update_in_tx::<R>(conn, caller, id, expected, patch))
}

/// [`update`] for a caller already inside a write transaction (an import
/// updates the records its file names again): the same permission, rules,
/// version guard and audit event.
pub fn update_in_tx<R: Record>(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    expected: &IfMatch,
    patch: Value,
) -> Result<R::View, ApiError> {
    // Visibility (404), then the right to write (403), then the body (422).
    let row = R::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(R::ENTITY))?;
    let meta = R::meta(&row);
    caller.require_write(&meta.park)?;
    if !expected.matches(meta.version) {
        return Err(ApiError::PreconditionFailed { current: meta.version });
    }
    let before = R::view(conn, row.clone())?;
    let current = R::fields_of(&before)?;
    let mut fields: R::Fields = merge(&current, patch)?;
    if fields.take_park().is_some() {
        return Err(ApiError::invalid("park_code", "immutable", "a record cannot move to another park"));
    }
    if fields == current {
        return Ok(before); // an empty patch, or one that repeats what is stored
    }
    invalid_unless_empty(R::check(conn, &meta.park, id, Some(&before), &mut fields)?)?;
    if fields == current {
        return Ok(before); // nothing changes, so no new version either
    }
    let stamp = Stamp::of(caller);
    let base = RowBase {
        id,
        park: &meta.park,
        version: meta.version + 1,
        created: &meta.created,
        updated: &stamp,
        previous: Some(&row),
    };
    if R::replace(conn, &R::to_row(&fields, base)?, meta.version)? == 0 {
        // Another writer got in between our read and our write.
        return Err(stale::<R>(conn, id)?);
    }
    R::after_write(conn, id, Some(&current), &fields, &stamp)?;
    let after = get::<R>(conn, &ParkScope::All, id)?;
    let changes = diff::<R>(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?);
    audit_event(conn, caller, Action::Update, R::ENTITY, id, &meta.park, changes)?;
    Ok(after)
}

/// Soft-deletes a record: it leaves every read and list; its history stays.
pub fn delete<R: Record>(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    expected: Option<&IfMatch>,
) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let row = R::find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(R::ENTITY))?;
        let meta = R::meta(&row);
        caller.require_write(&meta.park)?;
        if expected.is_some_and(|e| !e.matches(meta.version)) {
            return Err(ApiError::PreconditionFailed { current: meta.version });
        }
        if R::mark_deleted(conn, id, meta.version, &Stamp::of(caller))? == 0 {
            return Err(stale::<R>(conn, id)?);
        }
        R::after_delete(conn, id)?;
        audit_event(conn, caller, Action::Delete, R::ENTITY, id, &meta.park, vec![])
    })
}

/// A record's audit events, newest first. A deleted record's history stays
/// readable by those who may review deletions in its park.
pub fn history<R: Record>(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<audit::AuditEvent>, ApiError> {
    let limit = Limit::parse(limit)?;
    let park = match R::find(conn, &caller.scope(), id)? {
        Some(row) => Some(R::meta(&row).park),
        None => R::find_deleted_park(conn, &caller.scope(), id)?.filter(|park| caller.may_review_deleted(park)),
    };
    if park.is_none() {
        return Err(ApiError::NotFound(R::ENTITY));
    }
    audit::history(conn, R::ENTITY, id, limit, cursor)
}

/// The 412 for a write that lost a race: the version now stored.
fn stale<R: Record>(conn: &mut DbConnection, id: &str) -> Result<ApiError, ApiError> {
    let current = R::find(conn, &ParkScope::All, id)?.map(|row| R::meta(&row).version).unwrap_or(0);
    Ok(ApiError::PreconditionFailed { current })
}

/// A list of strings as the JSON text column that stores it.
pub fn json_list(values: &[String]) -> String {
    Value::from(values.to_vec()).to_string()
}

pub(crate) fn invalid_unless_empty(mut errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    Err(ApiError::Invalid(errors))
}

/// The changes of a create's audit event: every field of the new record.
/// Batch writes (an import) build their events with it too, so that they
/// read exactly like an API create.
pub(crate) fn creation_changes<R: Record>(created: &R::View) -> Result<Vec<Change>, ApiError> {
    Ok(R::redact(audit::creation(serde_json::to_value(created)?, &skipped::<R>())))
}

fn diff<R: Record>(old: &Value, new: &Value) -> Vec<Change> {
    R::redact(audit::diff(old, new, &skipped::<R>()))
}

/// The fields no event lists: bookkeeping, and what is derived from the others.
fn skipped<R: Record>() -> Vec<&'static str> {
    BOOKKEEPING.iter().chain(R::DERIVED).copied().collect()
}

pub(crate) fn audit_event(
    conn: &mut DbConnection,
    caller: &Caller,
    action: Action,
    entity: &'static str,
    id: &str,
    park: &str,
    changes: Vec<Change>,
) -> Result<(), ApiError> {
    audit::record(conn, NewEvent {
        actor: &caller.username,
        action,
        entity_type: entity,
        entity_id: id,
        park_code: Some(park),
        changes,
    })
}
