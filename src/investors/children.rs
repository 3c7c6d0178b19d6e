//! An investor's contacts, follow-ups (跟进记录) and yearly figures. Each
//! write checks the investor is visible and writable, and is audited on the
//! investor's history in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::contact;
use crate::db::schema::{investor_contacts, investor_figures, investor_follow_ups, investors};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::vocab::Channel;

/// A list of an investor's children; they are few, so there is one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

// ---- shared steps ----------------------------------------------------------

fn visible_park(conn: &mut DbConnection, scope: &ParkScope, investor_id: &str) -> Result<String, ApiError> {
    let mut query = investors::table
        .filter(investors::id.eq(investor_id))
        .filter(investors::deleted_at.is_null())
        .select(investors::park_code)
        .into_boxed();
    if let ParkScope::One(park) = scope {
        query = query.filter(investors::park_code.eq(park.clone()));
    }
    query.first(conn).optional()?.ok_or(ApiError::NotFound("investor"))
}

fn writable_park(conn: &mut DbConnection, caller: &Caller, investor_id: &str) -> Result<String, ApiError> {
    let park = visible_park(conn, &caller.scope(), investor_id)?;
    caller.require_write(&park)?;
    Ok(park)
}

fn audit_child(
    conn: &mut DbConnection,
    caller: &Caller,
    investor_id: &str,
    park: &str,
    field: String,
    old: Option<Value>,
    new: Option<Value>,
) -> Result<(), ApiError> {
    audit::record(conn, NewEvent {
        actor: &caller.username,
        action: Action::Update,
        entity_type: "investor",
        entity_id: investor_id,
        park_code: Some(park),
        changes: vec![Change { field, old: old.unwrap_or(Value::Null), new: new.unwrap_or(Value::Null) }],
    })
}

fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let n = value.chars().count();
    if n == 0 || n > max || value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.push(FieldError::new(field, "length", format!("must be 1 to {max} characters without control characters")));
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

// ---- contacts --------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = investor_contacts)]
pub struct Contact {
    pub id: String,
    #[schema(example = "陈志明")]
    pub name: String,
    #[schema(example = "大陆投资部经理")]
    pub title: Option<String>,
    /// E.164.
    #[schema(example = "+886912345678")]
    pub phone: Option<String>,
    pub email: Option<String>,
    #[diesel(deserialize_as = chrono::NaiveDateTime)]
    #[schema(value_type = DateTime<Utc>)]
    pub updated_at: UtcTime,
    pub updated_by: String,
}

/// The body of `POST …/contacts`; `PATCH` takes any of its fields (`null` clears the optional ones).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "陈志明", "title": "大陆投资部经理", "phone": "0912-345-678", "email": "chen@example.com"}))]
pub struct ContactBody {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
}

/// A timestamp read as naive UTC and shown as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UtcTime(pub DateTime<Utc>);

impl From<chrono::NaiveDateTime> for UtcTime {
    fn from(t: chrono::NaiveDateTime) -> Self {
        Self(clock::utc(t))
    }
}

pub fn list_contacts(conn: &mut DbConnection, scope: &ParkScope, investor_id: &str) -> Result<Items<Contact>, ApiError> {
    visible_park(conn, scope, investor_id)?;
    let items = investor_contacts::table
        .filter(investor_contacts::investor_id.eq(investor_id))
        .order((investor_contacts::created_at, investor_contacts::id))
        .select(Contact::as_select())
        .load(conn)?;
    Ok(Items { items })
}

struct ContactFields {
    name: String,
    title: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

fn contact_fields(body: ContactBody, current: Option<&Contact>) -> Result<ContactFields, ApiError> {
    let mut errors = Vec::new();
    let name = body.name.map(|n| n.trim().to_owned()).or_else(|| current.map(|c| c.name.clone()));
    let name = match name {
        Some(name) => name,
        None => return Err(ApiError::invalid("name", "required", "a contact needs a name")),
    };
    text("name", &name, 100, &mut errors);
    let title = match body.title {
        Some(t) => trimmed(t),
        None => current.and_then(|c| c.title.clone()),
    };
    if let Some(title) = &title {
        text("title", title, 100, &mut errors);
    }
    let phone = match body.phone {
        Some(p) => trimmed(p).map(|p| contact::phone(&p, "phone")).transpose().unwrap_or_else(|e| {
            errors.push(e);
            None
        }),
        None => current.and_then(|c| c.phone.clone()),
    };
    let email = match body.email {
        Some(e) => trimmed(e).map(|e| contact::email(&e, "email")).transpose().unwrap_or_else(|e| {
            errors.push(e);
            None
        }),
        None => current.and_then(|c| c.email.clone()),
    };
    if errors.is_empty() { Ok(ContactFields { name, title, phone, email }) } else { Err(ApiError::Invalid(errors)) }
}

fn find_contact(conn: &mut DbConnection, investor_id: &str, id: &str) -> Result<Contact, ApiError> {
    investor_contacts::table
        .filter(investor_contacts::investor_id.eq(investor_id))
        .filter(investor_contacts::id.eq(id))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("contact"))
}

pub fn create_contact(conn: &mut DbConnection, caller: &Caller, investor_id: &str, body: ContactBody) -> Result<Contact, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let ContactFields { name, title, phone, email } = contact_fields(body, None)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = clock::now();
        diesel::insert_into(investor_contacts::table)
            .values((
                investor_contacts::id.eq(&id),
                investor_contacts::investor_id.eq(investor_id),
                investor_contacts::name.eq(name),
                investor_contacts::title.eq(title),
                investor_contacts::phone.eq(phone),
                investor_contacts::email.eq(email),
                investor_contacts::created_at.eq(now),
                investor_contacts::updated_at.eq(now),
                investor_contacts::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let contact = find_contact(conn, investor_id, &id)?;
        audit_child(conn, caller, investor_id, &park, format!("contacts[{id}]"), None, Some(serde_json::to_value(&contact)?))?;
        Ok(contact)
    })
}

pub fn update_contact(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str, body: ContactBody) -> Result<Contact, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_contact(conn, investor_id, id)?;
        let ContactFields { name, title, phone, email } = contact_fields(body, Some(&before))?;
        diesel::update(investor_contacts::table.find(id))
            .set((
                investor_contacts::name.eq(name),
                investor_contacts::title.eq(title),
                investor_contacts::phone.eq(phone),
                investor_contacts::email.eq(email),
                investor_contacts::updated_at.eq(clock::now()),
                investor_contacts::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let after = find_contact(conn, investor_id, id)?;
        audit_child(conn, caller, investor_id, &park, format!("contacts[{id}]"), Some(serde_json::to_value(&before)?), Some(serde_json::to_value(&after)?))?;
        Ok(after)
    })
}

pub fn delete_contact(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_contact(conn, investor_id, id)?;
        diesel::delete(investor_contacts::table.find(id)).execute(conn)?;
        audit_child(conn, caller, investor_id, &park, format!("contacts[{id}]"), Some(serde_json::to_value(&before)?), None)
    })
}

// ---- follow-ups ------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = investor_follow_ups)]
pub struct FollowUp {
    pub id: String,
    /// The day it happened.
    pub date: NaiveDate,
    #[diesel(deserialize_as = String)]
    pub channel: Channel,
    #[schema(example = "赴新竹总部拜访，介绍园区配套与台资企业扶持政策")]
    pub summary: String,
    pub next_step: Option<String>,
    /// When the next step is due; past due with nothing newer means overdue.
    pub due_on: Option<NaiveDate>,
    /// Who recorded it.
    #[diesel(column_name = by_user)]
    pub by: String,
}

/// The body of `POST …/follow-ups`; `PATCH` takes any of its fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"date": "2026-11-20", "channel": "visit", "summary": "赴新竹总部拜访", "next_step": "寄送园区用地方案", "due_on": "2026-12-05"}))]
pub struct FollowUpBody {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub channel: Option<Channel>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<String>)]
    pub next_step: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::patch::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_on: Option<Option<NaiveDate>>,
}

struct FollowUpFields {
    date: NaiveDate,
    channel: String,
    summary: String,
    next_step: Option<String>,
    due_on: Option<NaiveDate>,
}

fn follow_up_fields(body: FollowUpBody, current: Option<&FollowUp>) -> Result<FollowUpFields, ApiError> {
    let mut errors = Vec::new();
    let date = body.date.or(current.map(|c| c.date));
    let channel = body.channel.map(|c| c.to_string()).or(current.map(|c| c.channel.to_string()));
    let summary = body.summary.map(|s| s.trim().to_owned()).or(current.map(|c| c.summary.clone()));
    for (field, missing) in [("date", date.is_none()), ("channel", channel.is_none()), ("summary", summary.is_none())] {
        if missing {
            errors.push(FieldError::new(field, "required", "is required"));
        }
    }
    let (Some(date), Some(channel), Some(summary)) = (date, channel, summary) else {
        return Err(ApiError::Invalid(errors));
    };
    text("summary", &summary, 2000, &mut errors);
    let next_step = match body.next_step {
        Some(n) => trimmed(n),
        None => current.and_then(|c| c.next_step.clone()),
    };
    if let Some(next) = &next_step {
        text("next_step", next, 1000, &mut errors);
    }
    let due_on = match body.due_on {
        Some(d) => d,
        None => current.and_then(|c| c.due_on),
    };
    // A follow-up is a record of what happened: not later than tomorrow
    // (time zones), not before the zone existed.
    if date > clock::today() + chrono::Duration::days(1) || date.year_ce().1 < 2000 {
        errors.push(FieldError::new("date", "range", "must be a day that has happened (2000 or later)"));
    }
    if due_on.is_some_and(|due| due < date) {
        errors.push(FieldError::new("due_on", "date_order", "must not be before the follow-up's date"));
    }
    if errors.is_empty() { Ok(FollowUpFields { date, channel, summary, next_step, due_on }) } else { Err(ApiError::Invalid(errors)) }
}

use chrono::Datelike;

fn find_follow_up(conn: &mut DbConnection, investor_id: &str, id: &str) -> Result<FollowUp, ApiError> {
    investor_follow_ups::table
        .filter(investor_follow_ups::investor_id.eq(investor_id))
        .filter(investor_follow_ups::id.eq(id))
        .select(FollowUp::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("follow-up"))
}

/// Keeps the investor's latest follow-up date and its due date current, so
/// that "overdue" is one indexed comparison in lists.
fn refresh_latest(conn: &mut DbConnection, investor_id: &str) -> Result<(), ApiError> {
    let latest: Option<(NaiveDate, Option<NaiveDate>)> = investor_follow_ups::table
        .filter(investor_follow_ups::investor_id.eq(investor_id))
        .order((investor_follow_ups::date.desc(), investor_follow_ups::created_at.desc()))
        .select((investor_follow_ups::date, investor_follow_ups::due_on))
        .first(conn)
        .optional()?;
    diesel::update(investors::table.find(investor_id))
        .set((
            investors::last_follow_up_on.eq(latest.map(|l| l.0)),
            investors::follow_up_due_on.eq(latest.and_then(|l| l.1)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list_follow_ups(conn: &mut DbConnection, scope: &ParkScope, investor_id: &str) -> Result<Items<FollowUp>, ApiError> {
    visible_park(conn, scope, investor_id)?;
    let items = investor_follow_ups::table
        .filter(investor_follow_ups::investor_id.eq(investor_id))
        .order((investor_follow_ups::date.desc(), investor_follow_ups::created_at.desc()))
        .select(FollowUp::as_select())
        .load(conn)?;
    Ok(Items { items })
}

pub fn create_follow_up(conn: &mut DbConnection, caller: &Caller, investor_id: &str, body: FollowUpBody) -> Result<FollowUp, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let f = follow_up_fields(body, None)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = clock::now();
        diesel::insert_into(investor_follow_ups::table)
            .values((
                investor_follow_ups::id.eq(&id),
                investor_follow_ups::investor_id.eq(investor_id),
                investor_follow_ups::date.eq(f.date),
                investor_follow_ups::channel.eq(f.channel),
                investor_follow_ups::summary.eq(f.summary),
                investor_follow_ups::next_step.eq(f.next_step),
                investor_follow_ups::due_on.eq(f.due_on),
                investor_follow_ups::by_user.eq(&caller.username),
                investor_follow_ups::created_at.eq(now),
                investor_follow_ups::updated_at.eq(now),
            ))
            .execute(conn)?;
        refresh_latest(conn, investor_id)?;
        let follow_up = find_follow_up(conn, investor_id, &id)?;
        audit_child(conn, caller, investor_id, &park, format!("follow_ups[{id}]"), None, Some(serde_json::to_value(&follow_up)?))?;
        Ok(follow_up)
    })
}

pub fn update_follow_up(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str, body: FollowUpBody) -> Result<FollowUp, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_follow_up(conn, investor_id, id)?;
        let f = follow_up_fields(body, Some(&before))?;
        diesel::update(investor_follow_ups::table.find(id))
            .set((
                investor_follow_ups::date.eq(f.date),
                investor_follow_ups::channel.eq(f.channel),
                investor_follow_ups::summary.eq(f.summary),
                investor_follow_ups::next_step.eq(f.next_step),
                investor_follow_ups::due_on.eq(f.due_on),
                investor_follow_ups::updated_at.eq(clock::now()),
            ))
            .execute(conn)?;
        refresh_latest(conn, investor_id)?;
        let after = find_follow_up(conn, investor_id, id)?;
        audit_child(conn, caller, investor_id, &park, format!("follow_ups[{id}]"), Some(serde_json::to_value(&before)?), Some(serde_json::to_value(&after)?))?;
        Ok(after)
    })
}

pub fn delete_follow_up(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_follow_up(conn, investor_id, id)?;
        diesel::delete(investor_follow_ups::table.find(id)).execute(conn)?;
        refresh_latest(conn, investor_id)?;
        audit_child(conn, caller, investor_id, &park, format!("follow_ups[{id}]"), Some(serde_json::to_value(&before)?), None)
    })
}

// ---- figures ---------------------------------------------------------------

/// One year's output value (产值), in whole yuan.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = investor_figures)]
pub struct Figure {
    pub id: String,
    #[schema(example = 2025)]
    pub year: i32,
    #[schema(example = 380000000)]
    pub output_value_cny: i64,
}

/// The body of `POST …/figures`; `PATCH` takes either field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"year": 2025, "output_value_cny": 380000000}))]
pub struct FigureBody {
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub year: Option<i32>,
    #[serde(default, deserialize_with = "crate::http::patch::not_null")]
    pub output_value_cny: Option<i64>,
}

fn figure_fields(body: FigureBody, current: Option<&Figure>) -> Result<(i32, i64), ApiError> {
    let mut errors = Vec::new();
    let year = body.year.or(current.map(|c| c.year));
    let value = body.output_value_cny.or(current.map(|c| c.output_value_cny));
    let (Some(year), Some(value)) = (year, value) else {
        if year.is_none() {
            errors.push(FieldError::new("year", "required", "is required"));
        }
        if value.is_none() {
            errors.push(FieldError::new("output_value_cny", "required", "is required"));
        }
        return Err(ApiError::Invalid(errors));
    };
    let this_year = clock::today().year();
    if !(2000..=this_year).contains(&year) {
        errors.push(FieldError::new("year", "range", format!("must be between 2000 and {this_year}")));
    }
    if !(0..=1_000_000_000_000_000).contains(&value) {
        errors.push(FieldError::new("output_value_cny", "range", "must be between 0 and 10^15 yuan"));
    }
    if errors.is_empty() { Ok((year, value)) } else { Err(ApiError::Invalid(errors)) }
}

fn find_figure(conn: &mut DbConnection, investor_id: &str, id: &str) -> Result<Figure, ApiError> {
    investor_figures::table
        .filter(investor_figures::investor_id.eq(investor_id))
        .filter(investor_figures::id.eq(id))
        .select(Figure::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("figure"))
}

fn year_taken(conn: &mut DbConnection, investor_id: &str, year: i32, except: Option<&str>) -> Result<(), ApiError> {
    let mut query = investor_figures::table
        .filter(investor_figures::investor_id.eq(investor_id))
        .filter(investor_figures::year.eq(year))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(investor_figures::id.ne(id.to_owned()));
    }
    let n: i64 = query.count().get_result(conn)?;
    if n > 0 {
        return Err(ApiError::Conflict(FieldError::new("year", "taken", format!("{year} already has a figure; change that one"))));
    }
    Ok(())
}

pub fn list_figures(conn: &mut DbConnection, scope: &ParkScope, investor_id: &str) -> Result<Items<Figure>, ApiError> {
    visible_park(conn, scope, investor_id)?;
    let items = investor_figures::table
        .filter(investor_figures::investor_id.eq(investor_id))
        .order(investor_figures::year)
        .select(Figure::as_select())
        .load(conn)?;
    Ok(Items { items })
}

pub fn create_figure(conn: &mut DbConnection, caller: &Caller, investor_id: &str, body: FigureBody) -> Result<Figure, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let (year, value) = figure_fields(body, None)?;
        year_taken(conn, investor_id, year, None)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = clock::now();
        diesel::insert_into(investor_figures::table)
            .values((
                investor_figures::id.eq(&id),
                investor_figures::investor_id.eq(investor_id),
                investor_figures::year.eq(year),
                investor_figures::output_value_cny.eq(value),
                investor_figures::created_at.eq(now),
                investor_figures::updated_at.eq(now),
                investor_figures::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let figure = find_figure(conn, investor_id, &id)?;
        audit_child(conn, caller, investor_id, &park, format!("figures[{year}]"), None, Some(serde_json::to_value(&figure)?))?;
        Ok(figure)
    })
}

pub fn update_figure(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str, body: FigureBody) -> Result<Figure, ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_figure(conn, investor_id, id)?;
        let (year, value) = figure_fields(body, Some(&before))?;
        year_taken(conn, investor_id, year, Some(id))?;
        diesel::update(investor_figures::table.find(id))
            .set((
                investor_figures::year.eq(year),
                investor_figures::output_value_cny.eq(value),
                investor_figures::updated_at.eq(clock::now()),
                investor_figures::updated_by.eq(&caller.username),
            ))
            .execute(conn)?;
        let after = find_figure(conn, investor_id, id)?;
        audit_child(conn, caller, investor_id, &park, format!("figures[{year}]"), Some(serde_json::to_value(&before)?), Some(serde_json::to_value(&after)?))?;
        Ok(after)
    })
}

pub fn delete_figure(conn: &mut DbConnection, caller: &Caller, investor_id: &str, id: &str) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let park = writable_park(conn, caller, investor_id)?;
        let before = find_figure(conn, investor_id, id)?;
        diesel::delete(investor_figures::table.find(id)).execute(conn)?;
        audit_child(conn, caller, investor_id, &park, format!("figures[{}]", before.year), Some(serde_json::to_value(&before)?), None)
    })
}
