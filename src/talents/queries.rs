//! Reading and writing talents within the caller's scope, with masking,
//! audited unmasked reads, and purges.

use chrono::Datelike;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Talent, TalentFields, TalentPatch, TalentRow};
use super::{privacy, rules};
use crate::audit::{self, Action, NewEvent};
use crate::auth::{Caller, ParkScope, Role};
use crate::clock;
use crate::db::schema::talents;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::{keyset, take_page, Cursor, IfMatch, Limit, Page, SortKey};
use crate::text;
use crate::vocab::{from_db, values, Education, Industry, ProgrammeStatus, TalentStatus};

const ENTITY: &str = "talent";
const NOT_AUDITED: &[&str] = &["id", "version", "created_at", "updated_at", "created_by", "updated_by", "masked", "purged_at"];
/// What a purge erases, in the record and in its audit trail.
const ERASED: &[&str] = &["full_name", "school", "major", "phone", "email", "permit_no", "consent_on", "notes"];
/// What a purged talent's name reads.
const ERASED_NAME: &str = "（已清除）";
/// 青年: aged 35 or under in the current year.
const YOUTH_MAX_AGE: i32 = 35;

/// Filters, search, order and paging of `GET /talents`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TalentFilter {
    #[serde(default)]
    pub park: Vec<String>,
    #[serde(default)]
    pub status: Vec<TalentStatus>,
    #[serde(default)]
    pub specialty: Vec<Industry>,
    #[serde(default)]
    pub education: Vec<Education>,
    /// Region of origin, exactly as entered.
    pub origin: Option<String>,
    /// `true`: aged 35 or under this year; `false`: older.
    pub youth: Option<bool>,
    /// Talents with a programme application in this status.
    pub programme_status: Option<ProgrammeStatus>,
    /// Talents employed by this investor.
    pub employer: Option<uuid::Uuid>,
    /// Words to find in name, region, school, major, qualifications and programmes.
    pub q: Option<String>,
    pub sort: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

type Backend = <DbConnection as Connection>::Backend;

fn visible<'a>(scope: &ParkScope) -> talents::BoxedQuery<'a, Backend> {
    let query = talents::table.filter(talents::deleted_at.is_null()).into_boxed();
    match scope {
        ParkScope::All => query,
        ParkScope::One(park) => query.filter(talents::park_code.eq(park.clone())),
    }
}

fn find_row(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<TalentRow, ApiError> {
    visible(scope)
        .filter(talents::id.eq(id.to_owned()))
        .select(TalentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("talent"))
}

/// May this caller see personal data in a single-record read?
fn sees_personal_data(caller: &Caller) -> bool {
    matches!(caller.role, Role::ProvincialAdmin | Role::ParkAdmin | Role::ParkStaff)
}

/// One talent: unmasked for writer roles, which is audited; masked otherwise.
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Talent, ApiError> {
    let talent = to_talent(find_row(conn, &caller.scope(), id)?)?;
    let has_personal = talent.phone.is_some() || talent.email.is_some() || talent.permit_no.is_some();
    if !sees_personal_data(caller) {
        return Ok(privacy::mask(talent));
    }
    if has_personal {
        write_tx(conn, |conn| {
            audit::record(conn, NewEvent {
                actor: &caller.username,
                action: Action::ReadPersonal,
                entity_type: ENTITY,
                entity_id: id,
                park_code: Some(&talent.park_code),
                changes: vec![],
            })
        })?;
    }
    Ok(talent)
}

pub fn list(conn: &mut DbConnection, scope: &ParkScope, filter: TalentFilter) -> Result<Page<Talent>, ApiError> {
    let limit = Limit::parse(filter.limit)?;
    let (key, order) = SortKey::parse(filter.sort.as_deref())?;
    let after = filter.cursor.as_deref().map(|raw| Cursor::decode(raw, key, order)).transpose()?;
    let mut query = visible(scope);
    if !filter.park.is_empty() {
        query = query.filter(talents::park_code.eq_any(filter.park));
    }
    if !filter.status.is_empty() {
        query = query.filter(talents::status.eq_any(values(&filter.status)));
    }
    if !filter.specialty.is_empty() {
        query = query.filter(talents::specialty.eq_any(values(&filter.specialty)));
    }
    if !filter.education.is_empty() {
        query = query.filter(talents::education.eq_any(values(&filter.education)));
    }
    if let Some(origin) = filter.origin.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        query = query.filter(talents::origin_region.eq(origin.to_owned()));
    }
    let youngest_adult_year = clock::today().year() - YOUTH_MAX_AGE;
    match filter.youth {
        Some(true) => query = query.filter(talents::birth_year.ge(youngest_adult_year)),
        Some(false) => query = query.filter(talents::birth_year.lt(youngest_adult_year)),
        None => {}
    }
    if let Some(status) = filter.programme_status {
        // Programmes are stored as compact JSON written by this service.
        query = query.filter(talents::programmes.like(format!("%\"status\":\"{status}\"%")));
    }
    if let Some(employer) = filter.employer {
        query = query.filter(talents::employer_id.eq(employer.to_string()));
    }
    for term in filter.q.as_deref().map(text::terms).unwrap_or_default() {
        query = query.filter(talents::search_text.like(text::contains_pattern(&term)).escape('\\'));
    }
    match key {
        SortKey::CreatedAt => keyset!(query, talents::created_at, talents::id, order, &after),
        SortKey::UpdatedAt => keyset!(query, talents::updated_at, talents::id, order, &after),
    }
    let rows: Vec<TalentRow> = query.limit(limit.get() + 1).select(TalentRow::as_select()).load(conn)?;
    let cursor_of = |last: &TalentRow| {
        let at = match key {
            SortKey::CreatedAt => last.created_at,
            SortKey::UpdatedAt => last.updated_at,
        };
        Cursor { key, order, at, id: last.id.clone() }
    };
    let (rows, next_cursor) = take_page(rows, limit, cursor_of);
    // Lists never show personal data.
    let items = rows.into_iter().map(|r| to_talent(r).map(privacy::mask)).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

fn employer_errors(conn: &mut DbConnection, park: &str, f: &TalentFields) -> Result<Vec<FieldError>, ApiError> {
    let ids: Vec<String> = f.employer_id.iter().cloned().collect();
    crate::links::check_investors(conn, park, &ids, "employer_id")
}

pub fn create(conn: &mut DbConnection, caller: &Caller, park_code: Option<String>, mut fields: TalentFields) -> Result<Talent, ApiError> {
    let park = caller.park_for_new(park_code)?;
    caller.require_write(&park)?;
    rules::normalise(&mut fields);
    let mut errors = rules::check(&fields, clock::today());
    if !crate::parks::exists(conn, &park)? {
        errors.push(FieldError::new("park_code", "unknown", format!("there is no park {park:?}")));
    } else {
        errors.extend(employer_errors(conn, &park, &fields)?);
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    write_tx(conn, |conn| {
        let now = clock::now();
        let id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(talents::table).values(&to_row(&fields, &id, &park, now, &caller.username)).execute(conn)?;
        let talent = to_talent(find_row(conn, &ParkScope::All, &id)?)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Create,
            entity_type: ENTITY,
            entity_id: &id,
            park_code: Some(&park),
            changes: privacy::redact(audit::diff(&serde_json::Value::Null, &serde_json::to_value(&talent)?, NOT_AUDITED)),
        })?;
        Ok(privacy::mask(talent))
    })
}

pub fn update(conn: &mut DbConnection, caller: &Caller, id: &str, expected: &IfMatch, patch: TalentPatch) -> Result<Talent, ApiError> {
    write_tx(conn, |conn| {
        let before = to_talent(find_row(conn, &caller.scope(), id)?)?;
        caller.require_write(&before.park_code)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let current = fields_of(&before);
        let mut fields = patch.apply(&current);
        rules::normalise(&mut fields);
        let mut errors = rules::check(&fields, clock::today());
        if fields.employer_id != current.employer_id {
            errors.extend(employer_errors(conn, &before.park_code, &fields)?);
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        if fields == current {
            return Ok(privacy::mask(before));
        }
        let now = clock::now();
        let row = to_row(&fields, id, &before.park_code, now, &caller.username);
        let changed = diesel::update(talents::table.filter(talents::id.eq(id)).filter(talents::version.eq(before.version)))
            .set((
                talents::full_name.eq(row.full_name),
                talents::birth_year.eq(row.birth_year),
                talents::origin_region.eq(row.origin_region),
                talents::education.eq(row.education),
                talents::school.eq(row.school),
                talents::major.eq(row.major),
                talents::specialty.eq(row.specialty),
                talents::qualifications.eq(row.qualifications),
                talents::programmes.eq(row.programmes),
                talents::status.eq(row.status),
                talents::employer_id.eq(row.employer_id),
                talents::phone.eq(row.phone),
                talents::email.eq(row.email),
                talents::permit_no.eq(row.permit_no),
                talents::consent_on.eq(row.consent_on),
                talents::notes.eq(row.notes),
                talents::search_text.eq(row.search_text),
                talents::updated_at.eq(now),
                talents::updated_by.eq(&caller.username),
                talents::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(ApiError::PreconditionFailed { current: find_row(conn, &ParkScope::All, id)?.version });
        }
        let after = to_talent(find_row(conn, &ParkScope::All, id)?)?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: ENTITY,
            entity_id: id,
            park_code: Some(&after.park_code),
            changes: privacy::redact(audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, NOT_AUDITED)),
        })?;
        Ok(privacy::mask(after))
    })
}

/// Soft-deletes a talent; with `purge`, erases its personal data for good
/// instead and keeps the anonymous rest for statistics (admins only).
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str, expected: Option<&IfMatch>, purge: bool) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let row = find_row(conn, &caller.scope(), id)?;
        caller.require_write(&row.park_code)?;
        if purge && !matches!(caller.role, Role::ProvincialAdmin | Role::ParkAdmin) {
            return Err(ApiError::Forbidden("only administrators may purge personal data".into()));
        }
        if expected.is_some_and(|e| !e.matches(row.version)) {
            return Err(ApiError::PreconditionFailed { current: row.version });
        }
        let now = clock::now();
        if purge {
            let anonymous = TalentFields {
                full_name: ERASED_NAME.into(),
                school: None,
                major: None,
                phone: None,
                email: None,
                permit_no: None,
                consent_on: None,
                notes: None,
                ..fields_of(&to_talent(row.clone())?)
            };
            diesel::update(talents::table.filter(talents::id.eq(id)))
                .set((
                    talents::full_name.eq(ERASED_NAME),
                    talents::school.eq(None::<String>),
                    talents::major.eq(None::<String>),
                    talents::phone.eq(None::<String>),
                    talents::email.eq(None::<String>),
                    talents::permit_no.eq(None::<String>),
                    talents::consent_on.eq(None::<chrono::NaiveDate>),
                    talents::notes.eq(None::<String>),
                    talents::search_text.eq(search_text(&anonymous)),
                    talents::purged_at.eq(Some(now)),
                    talents::updated_at.eq(now),
                    talents::updated_by.eq(&caller.username),
                    talents::version.eq(row.version + 1),
                ))
                .execute(conn)?;
            audit::scrub(conn, ENTITY, id, ERASED)?;
        } else {
            diesel::update(talents::table.filter(talents::id.eq(id)))
                .set((
                    talents::deleted_at.eq(Some(now)),
                    talents::updated_at.eq(now),
                    talents::updated_by.eq(&caller.username),
                    talents::version.eq(row.version + 1),
                ))
                .execute(conn)?;
        }
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: if purge { Action::Purge } else { Action::Delete },
            entity_type: ENTITY,
            entity_id: id,
            park_code: Some(&row.park_code),
            changes: vec![],
        })
    })
}

pub fn history(conn: &mut DbConnection, scope: &ParkScope, id: &str, limit: Option<i64>, cursor: Option<&str>) -> Result<Page<audit::AuditEvent>, ApiError> {
    let limit = Limit::parse(limit)?;
    find_row(conn, scope, id)?;
    audit::history(conn, ENTITY, id, limit, cursor)
}

fn search_text(f: &TalentFields) -> String {
    let mut parts = vec![f.full_name.clone(), f.origin_region.clone()];
    parts.extend(f.school.iter().cloned());
    parts.extend(f.major.iter().cloned());
    parts.extend(f.qualifications.iter().map(|q| q.name.clone()));
    parts.extend(f.programmes.iter().map(|p| p.name.clone()));
    text::fold(&parts.join("\n"))
}

fn to_row(f: &TalentFields, id: &str, park: &str, now: chrono::NaiveDateTime, by: &str) -> TalentRow {
    TalentRow {
        id: id.to_owned(),
        park_code: park.to_owned(),
        full_name: f.full_name.clone(),
        birth_year: f.birth_year,
        origin_region: f.origin_region.clone(),
        education: f.education.to_string(),
        school: f.school.clone(),
        major: f.major.clone(),
        specialty: f.specialty.to_string(),
        qualifications: serde_json::to_string(&f.qualifications).unwrap_or_else(|_| "[]".into()),
        programmes: serde_json::to_string(&f.programmes).unwrap_or_else(|_| "[]".into()),
        status: f.status.to_string(),
        employer_id: f.employer_id.clone(),
        phone: f.phone.clone(),
        email: f.email.clone(),
        permit_no: f.permit_no.clone(),
        consent_on: f.consent_on,
        notes: f.notes.clone(),
        search_text: search_text(f),
        purged_at: None,
        created_at: now,
        updated_at: now,
        created_by: by.to_owned(),
        updated_by: by.to_owned(),
        version: 1,
        deleted_at: None,
    }
}

fn fields_of(t: &Talent) -> TalentFields {
    TalentFields {
        full_name: t.full_name.clone(),
        birth_year: t.birth_year,
        origin_region: t.origin_region.clone(),
        education: t.education,
        school: t.school.clone(),
        major: t.major.clone(),
        specialty: t.specialty,
        qualifications: t.qualifications.clone(),
        programmes: t.programmes.clone(),
        status: t.status,
        employer_id: t.employer_id.clone(),
        phone: t.phone.clone(),
        email: t.email.clone(),
        permit_no: t.permit_no.clone(),
        consent_on: t.consent_on,
        notes: t.notes.clone(),
    }
}

/// A row as a record, unmasked; callers mask it as the reader requires.
fn to_talent(row: TalentRow) -> Result<Talent, ApiError> {
    Ok(Talent {
        education: from_db(&row.education)?,
        specialty: from_db(&row.specialty)?,
        status: from_db(&row.status)?,
        qualifications: serde_json::from_str(&row.qualifications)?,
        programmes: serde_json::from_str(&row.programmes)?,
        created_at: clock::utc(row.created_at),
        updated_at: clock::utc(row.updated_at),
        purged_at: row.purged_at.map(clock::utc),
        masked: false,
        id: row.id,
        park_code: row.park_code,
        full_name: row.full_name,
        birth_year: row.birth_year,
        origin_region: row.origin_region,
        school: row.school,
        major: row.major,
        employer_id: row.employer_id,
        phone: row.phone,
        email: row.email,
        permit_no: row.permit_no,
        consent_on: row.consent_on,
        notes: row.notes,
        created_by: row.created_by,
        updated_by: row.updated_by,
        version: row.version,
    })
}
