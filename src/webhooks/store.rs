//! Hooks as records: created, changed and deleted by provincial_admin (any
//! park, or all parks) and by a park's administrator (its own park); each
//! write and its audit event commit together. A hook of a park the caller
//! cannot see does not exist for it (404), whatever the request.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::events;
use crate::audit::{self, Action, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::error::ApiError;
use crate::http::{Cursor, IfMatch, Limit, Page, SortKey, SortOrder};
use crate::records::{decode, Bookkeeping, Stamp};

/// The `entity_type` of a hook's audit events (not part of the change feed).
const ENTITY: &str = "webhook";

crate::records::record_view! {
    /// A hook as the API shows it; the secret only once, on creation.
    #[derive(Debug, Clone, Serialize, ToSchema)]
    pub struct Webhook {
        pub id: String,
        /// The park whose changes it receives; `null`: every park.
        #[schema(example = "yueyang")]
        pub park_code: Option<String>,
        #[schema(example = "https://zhaoshang.example.cn/hooks/registry")]
        pub url: String,
        #[schema(example = json!(["project.created", "project.stage_changed"]))]
        pub events: Vec<String>,
        pub active: bool,
        /// Set when deliveries failed for 24 hours; `PATCH {"active": true}` resumes.
        pub paused_at: Option<DateTime<Utc>>,
        /// The last failed delivery's error class (as in the delivery log), until one succeeds.
        #[schema(example = "timeout")]
        pub last_error: Option<String>,
        /// When the next retry of a failing delivery is due.
        pub next_attempt_at: Option<DateTime<Utc>>,
    }
}

/// The answer to a creation: the hook and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC key of `X-Signature` (its UTF-8 bytes). Shown only here: keep it.
    #[schema(example = "whsec_5f0c…")]
    pub secret: String,
}

/// The body of `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://zhaoshang.example.cn/hooks/registry", "events": ["project.stage_changed"], "park_code": "yueyang"}))]
pub struct NewWebhook {
    /// `http` or `https`; its host must resolve to public addresses unless listed in `WEBHOOK_ALLOWED_HOSTS`.
    pub url: String,
    /// Event names (see the README), or `["*"]` for every event.
    pub events: Vec<String>,
    /// A park role may leave it out (its own park); provincial_admin leaves it out for every park.
    pub park_code: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// The body of `PATCH /webhooks/{id}`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true}))]
// `value_type`: a field `null` cannot clear is documented as not nullable.
pub struct WebhookPatch {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = String)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = Vec<String>)]
    pub events: Option<Vec<String>>,
    /// `true` also resumes a paused hook from its first undelivered event.
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    #[schema(value_type = bool)]
    pub active: Option<bool>,
}

crate::records::bookkeeping_columns!(HookBookkeeping, webhooks);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub(crate) struct HookRow {
    pub id: String,
    pub park_code: Option<String>,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub active: bool,
    pub cursor_tx: i64,
    pub cursor_seq: i64,
    pub failing_since: Option<NaiveDateTime>,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub paused_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    #[diesel(embed)]
    pub bookkeeping: HookBookkeeping,
}

impl HookRow {
    pub(crate) fn event_names(&self) -> Result<Vec<String>, ApiError> {
        Ok(serde_json::from_str(&self.events)?)
    }

    fn view(&self) -> Result<Webhook, ApiError> {
        Ok(Webhook {
            id: self.id.clone(),
            park_code: self.park_code.clone(),
            url: self.url.clone(),
            events: self.event_names()?,
            active: self.active,
            paused_at: self.paused_at.map(clock::utc),
            last_error: self.last_error.clone(),
            next_attempt_at: self.next_attempt_at.map(clock::utc),
            created_at: clock::utc(self.bookkeeping.created_at),
            updated_at: clock::utc(self.bookkeeping.updated_at),
            created_by: self.bookkeeping.created_by.clone(),
            updated_by: self.bookkeeping.updated_by.clone(),
            version: self.bookkeeping.version,
        })
    }
}

/// One attempt to deliver an event, as `GET /webhooks/{id}/deliveries` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The event's id (the payload's `id`; the same on every attempt).
    pub event_id: String,
    #[schema(example = "project.stage_changed")]
    pub event: String,
    /// 1 for the first attempt of this event, 2 for its first retry, …
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's status code; `null` when no answer came.
    pub status_code: Option<i32>,
    /// A 2xx answer: the hook moved on to the next event.
    pub ok: bool,
    /// Why it failed, as a class: `timeout`, `connect`, `tls`, `http_status`, `redirect`,
    /// `body`, `request` or `forbidden_address` (the detail is in the service's log only).
    #[schema(example = "timeout")]
    pub error: Option<String>,
    pub duration_ms: i32,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub(crate) struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event: String,
    pub attempt: i32,
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub ok: bool,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// Refuses callers who manage no hooks at all (403 before anything is read).
pub fn require_manager(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_manage_webhooks(caller.park()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only provincial_admin and a park's administrator manage webhooks".into()))
    }
}

/// The live hook `id` if the caller can see its park (else 404) and may manage it (else 403).
fn managed(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<HookRow, ApiError> {
    let mut query = webhooks::table.filter(webhooks::id.eq(id.to_owned())).filter(webhooks::deleted_at.is_null()).into_boxed();
    if let ParkScope::One(park) = caller.scope() {
        query = query.filter(webhooks::park_code.eq(park));
    }
    let row = query.select(HookRow::as_select()).first(conn).optional()?.ok_or(ApiError::NotFound("webhook"))?;
    if !caller.may_manage_webhooks(row.park_code.as_deref()) {
        return Err(ApiError::Forbidden("only provincial_admin and the park's administrator manage its webhooks".into()));
    }
    Ok(row)
}

/// The hooks the caller manages, oldest first.
pub fn list(conn: &mut DbConnection, caller: &Caller, limit: Option<i64>, cursor: Option<&str>) -> Result<Page<Webhook>, ApiError> {
    require_manager(caller)?;
    let limit = Limit::parse(limit)?;
    let mut query = webhooks::table.filter(webhooks::deleted_at.is_null()).into_boxed();
    if let ParkScope::One(park) = caller.scope() {
        query = query.filter(webhooks::park_code.eq(park));
    }
    if let Some(raw) = cursor.filter(|raw| !raw.trim().is_empty()) {
        let after = Cursor::decode(raw, SortKey::CreatedAt, SortOrder::Asc)?;
        query = query.filter(webhooks::created_at.gt(after.at).or(webhooks::created_at.eq(after.at).and(webhooks::id.gt(after.id))));
    }
    let rows: Vec<HookRow> =
        query.order((webhooks::created_at.asc(), webhooks::id.asc())).limit(limit.get() + 1).select(HookRow::as_select()).load(conn)?;
    Page::from_rows(
        rows,
        limit,
        |last| Cursor { key: SortKey::CreatedAt, order: SortOrder::Asc, at: last.bookkeeping.created_at, id: last.id.clone() },
        |row| row.view(),
    )
}

/// One hook.
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    managed(conn, caller, id)?.view()
}

/// The park a new hook is for: the one asked (a park's administrator only
/// its own: 403 otherwise), or the caller's own; `None` for every park.
fn park_of_new(conn: &mut DbConnection, caller: &Caller, requested: Option<String>) -> Result<Option<String>, ApiError> {
    let park = match requested.map(|p| p.trim().to_owned()) {
        Some(park) => {
            if !crate::parks::exists(conn, &park)? {
                return Err(ApiError::invalid("park_code", "unknown", format!("there is no park {park:?}")));
            }
            Some(park)
        }
        None => caller.park().map(str::to_owned),
    };
    if !caller.may_manage_webhooks(park.as_deref()) {
        return Err(ApiError::Forbidden("a park's administrator manages webhooks of its own park only".into()));
    }
    Ok(park)
}

/// Reads a creation body (after [`require_manager`]); a park's
/// administrator naming another park is refused here, before the URL's
/// address is looked up.
pub fn read_new(caller: &Caller, body: Value) -> Result<NewWebhook, ApiError> {
    let new: NewWebhook = decode(body)?;
    if new.park_code.as_deref().is_some_and(|park| !caller.may_manage_webhooks(Some(park.trim()))) {
        return Err(ApiError::Forbidden("a park's administrator manages webhooks of its own park only".into()));
    }
    Ok(new)
}

/// Creates a hook from `new`, whose URL the caller has checked (`url` is
/// that URL, normalised). It starts at the end of the feed: it gets the
/// changes made after it.
pub fn create(conn: &mut DbConnection, caller: &Caller, new: NewWebhook, url: String) -> Result<CreatedWebhook, ApiError> {
    let names = events::check_names(&new.events)?;
    write_tx(conn, |conn| {
        let park = park_of_new(conn, caller, new.park_code)?;
        let (cursor_tx, cursor_seq) = crate::changes::settled_end_position(conn)?;
        let stamp = Stamp::of(caller);
        let row = HookRow {
            id: uuid::Uuid::now_v7().to_string(),
            park_code: park,
            url,
            events: serde_json::to_string(&names)?,
            secret: super::signature::new_secret(),
            active: new.active.unwrap_or(true),
            cursor_tx,
            cursor_seq,
            failing_since: None,
            attempts: 0,
            next_attempt_at: None,
            paused_at: None,
            last_error: None,
            lease_until: None,
            lease_owner: None,
            bookkeeping: Bookkeeping::new(&stamp, &stamp, 1),
        };
        diesel::insert_into(webhooks::table).values(&row).execute(conn)?;
        let webhook = row.view()?;
        trail(conn, caller, Action::Create, &row, &Value::Null, &serde_json::to_value(&webhook)?)?;
        Ok(CreatedWebhook { webhook, secret: row.secret })
    })
}

/// What a `PATCH` parsed and checked: the fields to set.
pub struct Changes {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Reads a `PATCH` body (after the caller's rights were checked); the URL
/// still needs its address check.
pub fn read_patch(body: Value) -> Result<Changes, ApiError> {
    let patch: WebhookPatch = decode(body)?;
    let events = patch.events.map(|e| events::check_names(&e)).transpose()?;
    Ok(Changes { url: patch.url, events, active: patch.active })
}

/// Applies `changes` to hook `id` at a version `if_match` accepts.
pub fn update(conn: &mut DbConnection, caller: &Caller, id: &str, if_match: &IfMatch, changes: Changes) -> Result<Webhook, ApiError> {
    write_tx(conn, |conn| {
        let before = managed(conn, caller, id)?;
        if !if_match.matches(before.bookkeeping.version) {
            return Err(ApiError::PreconditionFailed { current: before.bookkeeping.version });
        }
        let mut after = before.clone();
        if let Some(url) = changes.url {
            after.url = url;
        }
        if let Some(names) = changes.events {
            after.events = serde_json::to_string(&names)?;
        }
        if let Some(active) = changes.active {
            after.active = active;
            if active {
                // Resuming: the event that failed is tried again at once.
                (after.paused_at, after.failing_since, after.next_attempt_at, after.attempts) = (None, None, None, 0);
            }
        }
        if same_settings(&before, &after) {
            // Nothing changes (an empty body, or one repeating what is stored): no new version.
            return before.view();
        }
        after.bookkeeping.updated_at = clock::now();
        after.bookkeeping.updated_by = caller.username.clone();
        after.bookkeeping.version = before.bookkeeping.version + 1;
        let written = diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::version.eq(before.bookkeeping.version)))
            .set((
                webhooks::url.eq(&after.url),
                webhooks::events.eq(&after.events),
                webhooks::active.eq(after.active),
                webhooks::paused_at.eq(after.paused_at),
                webhooks::failing_since.eq(after.failing_since),
                webhooks::next_attempt_at.eq(after.next_attempt_at),
                webhooks::attempts.eq(after.attempts),
                webhooks::updated_at.eq(after.bookkeeping.updated_at),
                webhooks::updated_by.eq(&after.bookkeeping.updated_by),
                webhooks::version.eq(after.bookkeeping.version),
            ))
            .execute(conn)?;
        if written == 0 {
            return Err(ApiError::PreconditionFailed { current: before.bookkeeping.version + 1 });
        }
        let view = after.view()?;
        trail(conn, caller, Action::Update, &after, &serde_json::to_value(before.view()?)?, &serde_json::to_value(&view)?)?;
        Ok(view)
    })
}

/// Whether two versions of a hook say the same to clients and to the worker.
fn same_settings(a: &HookRow, b: &HookRow) -> bool {
    (&a.url, &a.events, a.active, a.paused_at, a.failing_since, a.next_attempt_at, a.attempts)
        == (&b.url, &b.events, b.active, b.paused_at, b.failing_since, b.next_attempt_at, b.attempts)
}

/// Deletes hook `id` (softly: its delivery log stays for the record).
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str, if_match: Option<&IfMatch>) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let before = managed(conn, caller, id)?;
        if if_match.is_some_and(|m| !m.matches(before.bookkeeping.version)) {
            return Err(ApiError::PreconditionFailed { current: before.bookkeeping.version });
        }
        let now = clock::now();
        diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
            .set((webhooks::deleted_at.eq(Some(now)), webhooks::updated_at.eq(now), webhooks::updated_by.eq(&caller.username), webhooks::version.eq(before.bookkeeping.version + 1)))
            .execute(conn)?;
        // A deletion names no field: its event carries no changes.
        trail(conn, caller, Action::Delete, &before, &Value::Null, &Value::Null)
    })
}

/// A hook's delivery attempts, newest first.
pub fn deliveries(conn: &mut DbConnection, caller: &Caller, id: &str, limit: Option<i64>, cursor: Option<&str>) -> Result<Page<Delivery>, ApiError> {
    managed(conn, caller, id)?;
    let limit = Limit::parse(limit)?;
    let mut query = webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id.to_owned())).into_boxed();
    if let Some(raw) = cursor.filter(|raw| !raw.trim().is_empty()) {
        let after = Cursor::decode(raw, SortKey::CreatedAt, SortOrder::Desc)?;
        query = query.filter(
            webhook_deliveries::at.lt(after.at).or(webhook_deliveries::at.eq(after.at).and(webhook_deliveries::id.lt(after.id))),
        );
    }
    let rows: Vec<DeliveryRow> = query
        .order((webhook_deliveries::at.desc(), webhook_deliveries::id.desc()))
        .limit(limit.get() + 1)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    Page::from_rows(
        rows,
        limit,
        |last| Cursor { key: SortKey::CreatedAt, order: SortOrder::Desc, at: last.at, id: last.id.clone() },
        |row| {
            Ok(Delivery {
                id: row.id,
                event_id: row.event_id,
                event: row.event,
                attempt: row.attempt,
                at: clock::utc(row.at),
                status_code: row.status_code,
                ok: row.ok,
                error: row.error,
                duration_ms: row.duration_ms,
            })
        },
    )
}

/// The audit event of a hook's change: its fields old → new (never the secret).
fn trail(conn: &mut DbConnection, caller: &Caller, action: Action, row: &HookRow, old: &Value, new: &Value) -> Result<(), ApiError> {
    let changes = audit::diff(old, new, &["id", "version", "created_at", "updated_at", "created_by", "updated_by"]);
    audit::record(conn, NewEvent {
        actor: &caller.username,
        action,
        entity_type: ENTITY,
        entity_id: &row.id,
        park_code: row.park_code.as_deref(),
        changes,
    })
}
