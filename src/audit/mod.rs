//! The audit trail: every write appends an event in the same transaction as
//! the change, naming who, when, and each field's old and new value.

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::clock;
use crate::db::schema::audit_events;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::http::{Cursor, Limit, Page, SortKey, SortOrder};

/// Paging of a record's history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    #[schema(example = "stage")]
    pub field: String,
    #[schema(example = "negotiating")]
    pub old: Value,
    #[schema(example = "signed")]
    pub new: Value,
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Login,
    LoginFailed,
    Logout,
    /// A spent refresh token was presented again: its family was revoked.
    RefreshReuse,
    /// Personal data was shown unmasked.
    ReadPersonal,
    /// Personal data was erased for good.
    Purge,
    /// A list was exported as a spreadsheet (the event names the format and filter).
    Export,
    /// A file was imported (the event counts its rows and the records created).
    Import,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::RefreshReuse => "refresh_reuse",
            Self::ReadPersonal => "read_personal",
            Self::Purge => "purge",
            Self::Export => "export",
            Self::Import => "import",
        }
    }

    fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "create" => Ok(Self::Create),
            "update" => Ok(Self::Update),
            "delete" => Ok(Self::Delete),
            "login" => Ok(Self::Login),
            "login_failed" => Ok(Self::LoginFailed),
            "logout" => Ok(Self::Logout),
            "refresh_reuse" => Ok(Self::RefreshReuse),
            "read_personal" => Ok(Self::ReadPersonal),
            "purge" => Ok(Self::Purge),
            "export" => Ok(Self::Export),
            "import" => Ok(Self::Import),
            other => Err(ApiError::internal(format!("unknown audit action {other:?}"))),
        }
    }
}

/// An event of a record's history, as `GET /{library}/{id}/history` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<chrono::Utc>,
    /// The username of who made the change.
    #[schema(example = "yueyang.zhang")]
    pub actor: String,
    pub action: Action,
    pub changes: Vec<Change>,
}

/// The actor of changes the service makes by its own rules (a claim that
/// lapses, an investor settled by its project), not at a caller's request.
pub const SYSTEM_ACTOR: &str = "system";

/// The event to append; `entity_type` names the library (`project`, …).
pub struct NewEvent<'a> {
    pub actor: &'a str,
    pub action: Action,
    pub entity_type: &'static str,
    pub entity_id: &'a str,
    pub park_code: Option<&'a str>,
    pub changes: Vec<Change>,
}

/// A stored event (the change feed reads it with its place in commit order).
#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) at: NaiveDateTime,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) entity_type: String,
    pub(crate) entity_id: String,
    pub(crate) park_code: Option<String>,
    pub(crate) changes: String,
}

impl EventRow {
    /// The event as a history shows it.
    pub(crate) fn into_event(self) -> Result<AuditEvent, ApiError> {
        Ok(AuditEvent {
            action: Action::parse(&self.action)?,
            changes: serde_json::from_str(&self.changes)?,
            id: self.id,
            at: clock::utc(self.at),
            actor: self.actor,
        })
    }
}

/// Appends one event. Call it inside the write's transaction.
pub fn record(conn: &mut DbConnection, event: NewEvent<'_>) -> Result<(), ApiError> {
    diesel::insert_into(audit_events::table).values(&event_row(event)?).execute(conn)?;
    Ok(())
}

/// Appends many events in a few statements, in their order (a batch write:
/// an import's rows). Call it inside the write's transaction.
pub fn record_many(conn: &mut DbConnection, events: Vec<NewEvent<'_>>) -> Result<(), ApiError> {
    record_rows(conn, events.into_iter().map(event_row).collect::<Result<Vec<_>, _>>()?)
}

/// [`record_many`] of events already made into rows (by [`event_row`], on
/// another thread than the connection's: an import's reading thread).
pub(crate) fn record_rows(conn: &mut DbConnection, rows: Vec<EventRow>) -> Result<(), ApiError> {
    // Eight values an event; SQLite binds at most 32,766 in one statement.
    const CHUNK: usize = 1_000;
    if let DbConnection::Pg(pg) = conn {
        return record_rows_pg(pg, &rows);
    }
    for chunk in rows.chunks(CHUNK) {
        crate::db::insert_all!(conn, audit_events::table, chunk)?;
    }
    Ok(())
}

/// PostgreSQL: the rows as one array a column (`unnest` yields them in
/// order, so `seq` numbers them in order as a VALUES list would), rather
/// than a VALUES list of 8,000 values to parse and bind.
fn record_rows_pg(conn: &mut diesel::PgConnection, rows: &[EventRow]) -> Result<(), ApiError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamp};
    if rows.is_empty() {
        return Ok(());
    }
    let text = |get: fn(&EventRow) -> &str| rows.iter().map(get).collect::<Vec<_>>();
    diesel::sql_query(
        "INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, park_code, changes) \
         SELECT * FROM unnest($1::text[], $2::timestamp[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
    )
    .bind::<Array<Text>, _>(text(|r| &r.id))
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.actor))
    .bind::<Array<Text>, _>(text(|r| &r.action))
    .bind::<Array<Text>, _>(text(|r| &r.entity_type))
    .bind::<Array<Text>, _>(text(|r| &r.entity_id))
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.park_code.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.changes))
    .execute(conn)?;
    Ok(())
}

/// The row of `event`, stamped now.
pub(crate) fn event_row(event: NewEvent<'_>) -> Result<EventRow, ApiError> {
    Ok(EventRow {
        id: uuid::Uuid::now_v7().to_string(),
        at: clock::now(),
        actor: event.actor.to_owned(),
        action: event.action.as_str().to_owned(),
        entity_type: event.entity_type.to_owned(),
        entity_id: event.entity_id.to_owned(),
        park_code: event.park_code.map(str::to_owned),
        changes: serde_json::to_string(&event.changes)?,
    })
}

/// The top-level fields whose values differ between two JSON views of a
/// record, skipping bookkeeping fields. `old = Null` describes a creation.
pub fn diff(old: &Value, new: &Value, skip: &[&str]) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let old_fields = old.as_object().unwrap_or(&empty);
    let new_fields = new.as_object().unwrap_or(&empty);
    let mut changes: Vec<Change> = new_fields
        .iter()
        .filter(|(field, _)| !skip.contains(&field.as_str()))
        .filter_map(|(field, new_value)| {
            let old_value = old_fields.get(field).unwrap_or(&Value::Null);
            (old_value != new_value).then(|| Change {
                field: field.clone(),
                old: old_value.clone(),
                new: new_value.clone(),
            })
        })
        .collect();
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    changes
}

/// [`diff`] from nothing to `new`: its top-level fields that hold a value,
/// moved into their changes rather than compared and copied (an import
/// builds 100,000 create events).
pub fn creation(new: Value, skip: &[&str]) -> Vec<Change> {
    let Value::Object(fields) = new else { return diff(&Value::Null, &new, skip) };
    let mut changes: Vec<Change> = fields
        .into_iter()
        .filter(|(field, value)| !value.is_null() && !skip.contains(&field.as_str()))
        .map(|(field, new)| Change { field, old: Value::Null, new })
        .collect();
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    changes
}

/// Replaces the old and new values of `fields` in every event of one record
/// (a purge of personal data must not leave copies in the trail).
pub fn scrub(conn: &mut DbConnection, entity_type: &str, entity_id: &str, fields: &[&str]) -> Result<(), ApiError> {
    let events: Vec<(String, String)> = audit_events::table
        .filter(audit_events::entity_type.eq(entity_type))
        .filter(audit_events::entity_id.eq(entity_id))
        .select((audit_events::id, audit_events::changes))
        .load(conn)?;
    let erased = |v: &Value| if v.is_null() { Value::Null } else { Value::from("(erased)") };
    for (id, changes) in events {
        let mut changes: Vec<Change> = serde_json::from_str(&changes)?;
        let mut touched = false;
        for change in changes.iter_mut().filter(|c| fields.contains(&c.field.as_str())) {
            change.old = erased(&change.old);
            change.new = erased(&change.new);
            touched = true;
        }
        if touched {
            diesel::update(audit_events::table.find(&id))
                .set(audit_events::changes.eq(serde_json::to_string(&changes)?))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The history of reference data that every caller may read (a park, a
/// top-100 group), newest first. 404 unless the thing `exists` or left a
/// trail (a deleted group keeps its history).
pub fn reference_history(
    conn: &mut DbConnection,
    entity_type: &'static str,
    entity_id: &str,
    exists: bool,
    params: HistoryParams,
) -> Result<Page<AuditEvent>, ApiError> {
    let limit = Limit::parse(params.limit)?;
    let trail = audit_events::table
        .filter(audit_events::entity_type.eq(entity_type))
        .filter(audit_events::entity_id.eq(entity_id))
        .select(audit_events::id)
        .first::<String>(conn)
        .optional()?;
    if !exists && trail.is_none() {
        return Err(ApiError::NotFound(entity_type));
    }
    history(conn, entity_type, entity_id, limit, params.cursor.as_deref())
}

/// A record's events, newest first, one page at a time.
pub fn history(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<AuditEvent>, ApiError> {
    let mut query = audit_events::table
        .filter(audit_events::entity_type.eq(entity_type))
        .filter(audit_events::entity_id.eq(entity_id))
        .into_boxed();
    if let Some(raw) = cursor.filter(|raw| !raw.trim().is_empty()) {
        let after = Cursor::decode(raw, SortKey::CreatedAt, SortOrder::Desc)?;
        query = query.filter(
            audit_events::at
                .lt(after.at)
                .or(audit_events::at.eq(after.at).and(audit_events::id.lt(after.id))),
        );
    }
    let rows: Vec<EventRow> = query
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit.get() + 1)
        .select(EventRow::as_select())
        .load(conn)?;
    Page::from_rows(
        rows,
        limit,
        |last| Cursor { key: SortKey::CreatedAt, order: SortOrder::Desc, at: last.at, id: last.id.clone() },
        EventRow::into_event,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_only() {
        let old = json!({"name": "a", "stage": "lead", "version": 1, "tags": ["x"]});
        let new = json!({"name": "a", "stage": "signed", "version": 2, "tags": ["x", "y"]});
        let changes = diff(&old, &new, &["version"]);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["stage", "tags"]);
        assert_eq!(changes[0].old, json!("lead"));
        assert_eq!(changes[0].new, json!("signed"));
    }

    #[test]
    fn creation_diffs_from_nothing() {
        let changes = diff(&Value::Null, &json!({"name": "a", "notes": null}), &[]);
        assert_eq!(changes.len(), 1, "null stays null, so only name changed");
    }

    #[test]
    fn creation_is_the_diff_from_nothing() {
        let new = json!({"stage": "lead", "name": "a", "notes": null, "tags": [], "version": 1, "high_tech": false});
        assert_eq!(creation(new.clone(), &["version"]), diff(&Value::Null, &new, &["version"]));
        let fields: Vec<_> = creation(new, &["version"]).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["high_tech", "name", "stage", "tags"]);
    }
}
