//! The protocol of sub-resources (an investor's contacts, follow-ups and
//! figures; a project's funds). A child has its own `version` and `ETag`;
//! every change to it checks that the parent is visible and writable, is
//! guarded by the child's version, moves the parent's `version` and
//! `updated_at` (a client syncing by `updated_at` sees it), and is an event
//! in the parent's history — in one transaction.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{audit_event, decode, invalid_unless_empty, merge, Record, Stamp, Stored};
use crate::audit::{Action, Change};
use crate::auth::Caller;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;

/// A list of one record's children; they are few, so there is one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

/// Storage of a child table (written by [`super::child_table!`]).
pub trait ChildTable {
    type Row: Clone;
    fn rows(conn: &mut DbConnection, parent_id: &str) -> diesel::QueryResult<Vec<Self::Row>>;
    fn row(conn: &mut DbConnection, parent_id: &str, id: &str) -> diesel::QueryResult<Option<Self::Row>>;
    fn insert(conn: &mut DbConnection, row: &Self::Row) -> diesel::QueryResult<usize>;
    fn replace(conn: &mut DbConnection, row: &Self::Row, expected: i32) -> diesel::QueryResult<usize>;
    fn remove(conn: &mut DbConnection, id: &str, expected: i32) -> diesel::QueryResult<usize>;
}

/// What a child row is built from besides its fields.
pub struct ChildBase<'a> {
    pub id: &'a str,
    pub parent_id: &'a str,
    pub version: i32,
    pub created: &'a Stamp,
    pub updated: &'a Stamp,
}

pub trait Child: ChildTable {
    type Parent: Record;
    /// The child's name in "not found" answers (`contact`).
    const ENTITY: &'static str;
    /// Its collection's name in the parent's history (`contacts[<id>]`).
    const FIELD: &'static str;
    /// The create body, and what a `PATCH` merges into.
    type Fields: Clone + PartialEq + Serialize + DeserializeOwned;
    type View: Serialize + ToSchema;

    fn view(row: Self::Row) -> Result<Self::View, ApiError>;
    fn fields_of(view: &Self::View) -> Self::Fields;
    fn version_of(view: &Self::View) -> i32;
    fn created_of(row: &Self::Row) -> Stamp;
    /// Normalises `fields` and lists every rule they break, inside the write
    /// transaction. `before` is the stored child on an update.
    fn check(
        conn: &mut DbConnection,
        parent: &<Self::Parent as crate::records::Stored>::Row,
        id: &str,
        before: Option<&Self::View>,
        fields: &mut Self::Fields,
    ) -> Result<Vec<FieldError>, ApiError>;
    fn to_row(fields: &Self::Fields, base: ChildBase<'_>) -> Self::Row;
    /// Refuses a removal the child's state forbids (a decided fund: 409).
    fn check_remove(_view: &Self::View) -> Result<(), ApiError> {
        Ok(())
    }
    /// Keeps what the parent derives from its children current.
    fn after_write(_conn: &mut DbConnection, _parent_id: &str, _stamp: &Stamp) -> Result<(), ApiError> {
        Ok(())
    }
    /// The child as lists, write answers and roles without the right to
    /// personal data see it.
    fn masked(view: Self::View) -> Self::View {
        view
    }
    /// Whether the view holds personal data (its unmasked read is audited).
    fn has_personal(_view: &Self::View) -> bool {
        false
    }
    /// The child as the audit trail keeps it; personal data must not be in it.
    fn audited(view: &Self::View) -> Result<Value, ApiError> {
        Ok(serde_json::to_value(view)?)
    }
}

/// The parent row, visible to the caller, or 404 naming the parent.
fn visible_parent<C: Child>(
    conn: &mut DbConnection,
    caller: &Caller,
    parent_id: &str,
) -> Result<<C::Parent as crate::records::Stored>::Row, ApiError> {
    C::Parent::find(conn, &caller.scope(), parent_id)?.ok_or(ApiError::NotFound(<C::Parent as Record>::ENTITY))
}

fn find<C: Child>(conn: &mut DbConnection, parent_id: &str, id: &str) -> Result<(C::Row, C::View), ApiError> {
    let row = C::row(conn, parent_id, id)?.ok_or(ApiError::NotFound(C::ENTITY))?;
    let view = C::view(row.clone())?;
    Ok((row, view))
}

/// Every child of a visible parent, masked.
pub fn list<C: Child>(conn: &mut DbConnection, caller: &Caller, parent_id: &str) -> Result<Items<C::View>, ApiError> {
    visible_parent::<C>(conn, caller, parent_id)?;
    let items = C::rows(conn, parent_id)?.into_iter().map(|row| C::view(row).map(C::masked)).collect::<Result<_, _>>()?;
    Ok(Items { items })
}

/// One child: unmasked for roles that may read personal data (and that
/// read is audited on the parent), masked for the others.
pub fn get<C: Child>(conn: &mut DbConnection, caller: &Caller, parent_id: &str, id: &str) -> Result<C::View, ApiError> {
    let parent = visible_parent::<C>(conn, caller, parent_id)?;
    let (_, view) = find::<C>(conn, parent_id, id)?;
    if !caller.may_read_personal() {
        return Ok(C::masked(view));
    }
    if C::has_personal(&view) {
        let park = C::Parent::meta(&parent).park;
        write_tx(conn, |conn| {
            audit_event(conn, caller, Action::ReadPersonal, <C::Parent as Record>::ENTITY, parent_id, &park, vec![])
        })?;
    }
    Ok(view)
}

/// Adds a child to a writable parent.
pub fn create<C: Child>(
    conn: &mut DbConnection,
    caller: &Caller,
    parent_id: &str,
    body: Value,
) -> Result<C::View, ApiError> {
    // Visibility (404), then the right to write (403), then the body (422).
    write_tx(conn, |conn| {
        let parent = visible_parent::<C>(conn, caller, parent_id)?;
        let park = C::Parent::meta(&parent).park;
        caller.require_write(&park)?;
        let mut fields: C::Fields = decode(body)?;
        let id = uuid::Uuid::now_v7().to_string();
        invalid_unless_empty(C::check(conn, &parent, &id, None, &mut fields)?)?;
        let stamp = Stamp::of(caller);
        let base = ChildBase { id: &id, parent_id, version: 1, created: &stamp, updated: &stamp };
        C::insert(conn, &C::to_row(&fields, base))?;
        let (_, view) = find::<C>(conn, parent_id, &id)?;
        changed::<C>(conn, caller, parent_id, &park, &id, Value::Null, C::audited(&view)?, &stamp)?;
        Ok(C::masked(view))
    })
}

/// Changes a child (a merge patch over its fields) if it is still at the
/// version the caller read.
pub fn update<C: Child>(
    conn: &mut DbConnection,
    caller: &Caller,
    parent_id: &str,
    id: &str,
    expected: &IfMatch,
    patch: Value,
) -> Result<C::View, ApiError> {
    // Visibility (404), then the right to write (403), then the body (422).
    write_tx(conn, |conn| {
        let parent = visible_parent::<C>(conn, caller, parent_id)?;
        let park = C::Parent::meta(&parent).park;
        caller.require_write(&park)?;
        let (row, before) = find::<C>(conn, parent_id, id)?;
        let version = C::version_of(&before);
        if !expected.matches(version) {
            return Err(ApiError::PreconditionFailed { current: version });
        }
        let current = C::fields_of(&before);
        let mut fields: C::Fields = merge(&current, patch)?;
        if fields == current {
            return Ok(C::masked(before));
        }
        invalid_unless_empty(C::check(conn, &parent, id, Some(&before), &mut fields)?)?;
        if fields == current {
            return Ok(C::masked(before));
        }
        let stamp = Stamp::of(caller);
        let created = C::created_of(&row);
        let base = ChildBase { id, parent_id, version: version + 1, created: &created, updated: &stamp };
        if C::replace(conn, &C::to_row(&fields, base), version)? == 0 {
            return Err(stale::<C>(conn, parent_id, id)?);
        }
        let (_, after) = find::<C>(conn, parent_id, id)?;
        changed::<C>(conn, caller, parent_id, &park, id, C::audited(&before)?, C::audited(&after)?, &stamp)?;
        Ok(C::masked(after))
    })
}

/// Removes a child for good (its values in the parent's history are those
/// [`Child::audited`] kept: never personal data).
pub fn delete<C: Child>(
    conn: &mut DbConnection,
    caller: &Caller,
    parent_id: &str,
    id: &str,
    expected: Option<&IfMatch>,
) -> Result<(), ApiError> {
    // Visibility (404), then the right to write (403), then the version (412).
    write_tx(conn, |conn| {
        let parent = visible_parent::<C>(conn, caller, parent_id)?;
        let park = C::Parent::meta(&parent).park;
        caller.require_write(&park)?;
        let (_, before) = find::<C>(conn, parent_id, id)?;
        let version = C::version_of(&before);
        if expected.is_some_and(|e| !e.matches(version)) {
            return Err(ApiError::PreconditionFailed { current: version });
        }
        C::check_remove(&before)?;
        if C::remove(conn, id, version)? == 0 {
            return Err(stale::<C>(conn, parent_id, id)?);
        }
        let stamp = Stamp::of(caller);
        changed::<C>(conn, caller, parent_id, &park, id, C::audited(&before)?, Value::Null, &stamp)
    })
}

/// The answer to a write that lost a race: the version now stored, or 404
/// when the child is gone.
fn stale<C: Child>(conn: &mut DbConnection, parent_id: &str, id: &str) -> Result<ApiError, ApiError> {
    let (_, view) = find::<C>(conn, parent_id, id)?;
    Ok(ApiError::PreconditionFailed { current: C::version_of(&view) })
}

/// The parent's side of a child's change: derived columns, a new version,
/// and the event in its history.
#[allow(clippy::too_many_arguments)]
fn changed<C: Child>(
    conn: &mut DbConnection,
    caller: &Caller,
    parent_id: &str,
    park: &str,
    id: &str,
    old: Value,
    new: Value,
    stamp: &Stamp,
) -> Result<(), ApiError> {
    // A parent deleted while this change waited takes the change with it.
    if C::Parent::touch(conn, parent_id, stamp)? == 0 {
        return Err(ApiError::NotFound(<C::Parent as Record>::ENTITY));
    }
    C::after_write(conn, parent_id, stamp)?;
    let change = Change { field: format!("{}[{id}]", C::FIELD), old, new };
    audit_event(conn, caller, Action::Update, <C::Parent as Record>::ENTITY, parent_id, park, vec![change])
}
