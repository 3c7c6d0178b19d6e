//! Supervision notices (督办): the province asks a park, on one of its
//! projects, for a step by a due date; the park answers. Open notices past
//! their due date are overdue, and `/monitoring` lists the open ones. Each
//! notice and answer is an event in the project's history.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{notices, projects};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::records::{decode, invalid_unless_empty};
use crate::text::{self, Lines};

/// A supervision notice and its answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notice {
    pub id: String,
    pub project_id: String,
    #[schema(example = "yueyang")]
    pub park_code: String,
    pub due_on: NaiveDate,
    #[schema(example = "请于月底前说明项目未按期开工的原因及推进计划")]
    pub text: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub response: Option<String>,
    pub responded_by: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    /// Not answered yet.
    pub open: bool,
    /// Open and past its due date.
    pub overdue: bool,
    pub version: i32,
}

/// The body of `POST /projects/{id}/notices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewNotice, example = json!({"due_on": "2026-12-31", "text": "请于月底前说明项目未按期开工的原因及推进计划"}))]
pub struct NoticeFields {
    /// Today or later.
    pub due_on: NaiveDate,
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

/// The body of `POST /projects/{id}/notices/{nid}/response`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "已完成用地手续，预计下月开工"}))]
pub struct ResponseFields {
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notices)]
struct NoticeRow {
    id: String,
    project_id: String,
    park_code: String,
    due_on: NaiveDate,
    text: String,
    issued_by: String,
    issued_at: NaiveDateTime,
    response: Option<String>,
    responded_by: Option<String>,
    responded_at: Option<NaiveDateTime>,
    version: i32,
}

fn to_notice(row: NoticeRow, today: NaiveDate) -> Notice {
    let open = row.response.is_none();
    Notice {
        overdue: open && row.due_on < today,
        open,
        issued_at: clock::utc(row.issued_at),
        responded_at: row.responded_at.map(clock::utc),
        id: row.id,
        project_id: row.project_id,
        park_code: row.park_code,
        due_on: row.due_on,
        text: row.text,
        issued_by: row.issued_by,
        response: row.response,
        responded_by: row.responded_by,
        version: row.version,
    }
}

/// The park of the live project `id` the caller can see, or 404.
fn visible_project(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<String, ApiError> {
    let mut query = projects::table.filter(projects::id.eq(id.to_owned())).filter(projects::deleted_at.is_null()).into_boxed();
    if let ParkScope::One(park) = caller.scope() {
        query = query.filter(projects::park_code.eq(park));
    }
    query.select(projects::park_code).first(conn).optional()?.ok_or(ApiError::NotFound("project"))
}

fn checked_text(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim().to_owned();
    invalid_unless_empty(text::check(field, &value, 2000, Lines::Many).into_iter().collect())?;
    Ok(value)
}

fn in_history(conn: &mut DbConnection, caller: &Caller, project: &str, park: &str, id: &str, old: Value, new: Value) -> Result<(), ApiError> {
    let change = Change { field: format!("notices[{id}]"), old, new };
    audit::record(conn, NewEvent {
        actor: &caller.username,
        action: Action::Update,
        entity_type: "project",
        entity_id: project,
        park_code: Some(park),
        changes: vec![change],
    })
}

/// A project's notices, newest first.
pub fn list(conn: &mut DbConnection, caller: &Caller, project: &str, today: NaiveDate) -> Result<Vec<Notice>, ApiError> {
    visible_project(conn, caller, project)?;
    let rows: Vec<NoticeRow> = notices::table
        .filter(notices::project_id.eq(project))
        .order((notices::issued_at.desc(), notices::id.desc()))
        .select(NoticeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| to_notice(r, today)).collect())
}

/// Open notices of the visible projects of `parks` (all when empty), by due date.
pub fn open(conn: &mut DbConnection, scope: &ParkScope, parks: &[String], today: NaiveDate) -> Result<Vec<Notice>, ApiError> {
    let mut query = notices::table
        .inner_join(projects::table.on(projects::id.eq(notices::project_id)))
        .filter(notices::response.is_null())
        .filter(projects::deleted_at.is_null())
        .into_boxed();
    if let ParkScope::One(park) = scope {
        query = query.filter(notices::park_code.eq(park.clone()));
    }
    if !parks.is_empty() {
        query = query.filter(notices::park_code.eq_any(parks.to_vec()));
    }
    let rows: Vec<NoticeRow> = query.order((notices::due_on, notices::id)).select(NoticeRow::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|r| to_notice(r, today)).collect())
}

pub fn issue(conn: &mut DbConnection, caller: &Caller, project: &str, body: Value, now: NaiveDateTime) -> Result<Notice, ApiError> {
    write_tx(conn, |conn| {
        let park = visible_project(conn, caller, project)?;
        if !caller.may_issue_notices() {
            return Err(ApiError::Forbidden("supervision notices are issued by a provincial administrator".into()));
        }
        let fields: NoticeFields = decode(body)?;
        let text = checked_text("text", &fields.text)?;
        if fields.due_on < now.date() || fields.due_on.year() > 2100 {
            return Err(ApiError::Invalid(vec![FieldError::new("due_on", "range", "must be today or later (before 2101)")]));
        }
        let row = NoticeRow {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: project.to_owned(),
            park_code: park.clone(),
            due_on: fields.due_on,
            text,
            issued_by: caller.username.clone(),
            issued_at: now,
            response: None,
            responded_by: None,
            responded_at: None,
            version: 1,
        };
        diesel::insert_into(notices::table).values(&row).execute(conn)?;
        let notice = to_notice(row, now.date());
        in_history(conn, caller, project, &park, &notice.id, Value::Null, serde_json::to_value(&notice)?)?;
        Ok(notice)
    })
}

pub fn respond(conn: &mut DbConnection, caller: &Caller, project: &str, id: &str, body: Value, now: NaiveDateTime) -> Result<Notice, ApiError> {
    write_tx(conn, |conn| {
        let park = visible_project(conn, caller, project)?;
        caller.require_write(&park)?;
        let row: NoticeRow = notices::table
            .filter(notices::id.eq(id))
            .filter(notices::project_id.eq(project))
            .select(NoticeRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(ApiError::NotFound("notice"))?;
        let fields: ResponseFields = decode(body)?;
        let text = checked_text("text", &fields.text)?;
        if row.response.is_some() {
            return Err(ApiError::Conflict(FieldError::new("text", "answered", "the notice has its answer already")));
        }
        let before = serde_json::to_value(to_notice(row.clone(), now.date()))?;
        let written = diesel::update(notices::table.filter(notices::id.eq(id)).filter(notices::version.eq(row.version)))
            .set((
                notices::response.eq(Some(&text)),
                notices::responded_by.eq(Some(&caller.username)),
                notices::responded_at.eq(Some(now)),
                notices::version.eq(row.version + 1),
            ))
            .execute(conn)?;
        if written == 0 {
            return Err(ApiError::PreconditionFailed { current: row.version + 1 });
        }
        let after = NoticeRow { response: Some(text), responded_by: Some(caller.username.clone()), responded_at: Some(now), version: row.version + 1, ..row };
        let notice = to_notice(after, now.date());
        in_history(conn, caller, project, &park, id, before, serde_json::to_value(&notice)?)?;
        Ok(notice)
    })
}
