use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{NewPark, Park, ParkFields, ParkPatch};
use crate::audit::{self, Action, NewEvent};
use crate::auth::Caller;
use crate::clock;
use crate::db::schema::parks;
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::IfMatch;

/// The `entity_type` of its audit events.
pub const ENTITY: &str = "park";
const NOT_AUDITED: &[&str] = &["version", "updated_at", "updated_by"];

#[derive(Queryable, Selectable)]
#[diesel(table_name = parks)]
struct ParkRow {
    code: String,
    name: String,
    name_en: String,
    focus_industries: String,
    active: bool,
    baseline_output_2020_cny: Option<i64>,
    version: i32,
    updated_at: NaiveDateTime,
    updated_by: String,
}

impl TryFrom<ParkRow> for Park {
    type Error = ApiError;

    fn try_from(row: ParkRow) -> Result<Self, ApiError> {
        Ok(Park {
            focus_industries: serde_json::from_str(&row.focus_industries)?,
            code: row.code,
            name: row.name,
            name_en: row.name_en,
            active: row.active,
            baseline_output_2020_cny: row.baseline_output_2020_cny,
            version: row.version,
            updated_at: clock::utc(row.updated_at),
            updated_by: row.updated_by,
        })
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Park>, ApiError> {
    parks::table
        .order(parks::code)
        .select(ParkRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Park::try_from)
        .collect()
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<Park>, ApiError> {
    if !super::is_code(code) {
        return Ok(None);
    }
    parks::table
        .find(code)
        .select(ParkRow::as_select())
        .first(conn)
        .optional()?
        .map(Park::try_from)
        .transpose()
}

pub fn exists(conn: &mut DbConnection, code: &str) -> Result<bool, ApiError> {
    if !super::is_code(code) {
        return Ok(false);
    }
    let found: i64 = parks::table.filter(parks::code.eq(code)).count().get_result(conn)?;
    Ok(found > 0)
}

fn require_manager(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_manage_reference_data() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only a provincial administrator creates or changes parks".into()))
    }
}

/// Creates a park; its code is its identity and never changes.
pub fn create(conn: &mut DbConnection, caller: &Caller, new: NewPark) -> Result<Park, ApiError> {
    require_manager(caller)?;
    let code = new.code.trim().to_owned();
    let name = new.name.trim().to_owned();
    let fields = ParkFields {
        name_en: new.name_en.map(|n| n.trim().to_owned()).unwrap_or_else(|| name.clone()),
        name,
        focus_industries: new.focus_industries,
        active: new.active.unwrap_or(true),
        baseline_output_2020_cny: new.baseline_output_2020_cny,
    };
    let mut errors = fields.check();
    if !super::is_code(&code) {
        errors.insert(0, FieldError::new("code", "format", "must be 2 to 32 lower-case letters, digits, - or _, starting with a letter"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    write_tx(conn, |conn| {
        if exists(conn, &code)? {
            return Err(ApiError::Conflict(FieldError::new("code", "taken", format!("there is already a park {code:?}"))));
        }
        let now = clock::now();
        diesel::insert_into(parks::table)
            .values((
                parks::code.eq(&code),
                parks::name.eq(&fields.name),
                parks::name_en.eq(&fields.name_en),
                parks::focus_industries.eq(serde_json::to_string(&fields.focus_industries)?),
                parks::active.eq(fields.active),
                parks::baseline_output_2020_cny.eq(fields.baseline_output_2020_cny),
                parks::created_at.eq(now),
                parks::updated_at.eq(now),
                parks::created_by.eq(&caller.username),
                parks::updated_by.eq(&caller.username),
                parks::version.eq(1),
            ))
            .execute(conn)?;
        let park = find(conn, &code)?.ok_or(ApiError::NotFound("park"))?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Create,
            entity_type: ENTITY,
            entity_id: &code,
            park_code: Some(&code),
            changes: audit::diff(&serde_json::Value::Null, &serde_json::to_value(&park)?, NOT_AUDITED),
        })?;
        Ok(park)
    })
}

/// Changes a park at the version the caller read.
pub fn update(conn: &mut DbConnection, caller: &Caller, code: &str, expected: &IfMatch, patch: ParkPatch) -> Result<Park, ApiError> {
    write_tx(conn, |conn| {
        let before = find(conn, code)?.ok_or(ApiError::NotFound("park"))?;
        require_manager(caller)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let fields = patch.apply(&before);
        let errors = fields.check();
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        let unchanged = fields.name == before.name
            && fields.name_en == before.name_en
            && fields.focus_industries == before.focus_industries
            && fields.active == before.active
            && fields.baseline_output_2020_cny == before.baseline_output_2020_cny;
        if unchanged {
            return Ok(before);
        }
        let changed = diesel::update(parks::table.filter(parks::code.eq(code)).filter(parks::version.eq(before.version)))
            .set((
                parks::name.eq(&fields.name),
                parks::name_en.eq(&fields.name_en),
                parks::focus_industries.eq(serde_json::to_string(&fields.focus_industries)?),
                parks::active.eq(fields.active),
                parks::baseline_output_2020_cny.eq(fields.baseline_output_2020_cny),
                parks::updated_at.eq(clock::now()),
                parks::updated_by.eq(&caller.username),
                parks::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        if changed == 0 {
            let now = find(conn, code)?.map(|p| p.version).unwrap_or(before.version);
            return Err(ApiError::PreconditionFailed { current: now });
        }
        let after = find(conn, code)?.ok_or(ApiError::NotFound("park"))?;
        audit::record(conn, NewEvent {
            actor: &caller.username,
            action: Action::Update,
            entity_type: ENTITY,
            entity_id: code,
            park_code: Some(code),
            changes: audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, NOT_AUDITED),
        })?;
        Ok(after)
    })
}
