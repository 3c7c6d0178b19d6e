use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Candidate, Fields, NewTop100, Top100, Top100Filter, Top100Patch};
use crate::audit::{self, Action, Change, NewEvent};
use crate::auth::{Caller, ParkScope};
use crate::clock;
use crate::db::schema::{investors, top100};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::{IfMatch, Page};

/// The `entity_type` of its audit events.
pub const ENTITY: &str = "top100";
const NOT_AUDITED: &[&str] = &["id", "version", "created_at", "updated_at", "created_by", "updated_by", "linked_investors"];

#[derive(Queryable, Selectable)]
#[diesel(table_name = top100)]
struct Row {
    id: String,
    rank: i32,
    group_name: String,
    group_name_en: Option<String>,
    taiwan_business_id: Option<String>,
    member_names: String,
    list_source: String,
    list_year: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    updated_by: String,
    version: i32,
}

/// The columns a group's fields fill, written alike on create and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = top100, treat_none_as_null = true, treat_none_as_default_value = false)]
struct Columns<'a> {
    rank: i32,
    group_name: &'a str,
    group_name_en: Option<&'a str>,
    taiwan_business_id: Option<&'a str>,
    member_names: String,
    list_source: &'a str,
    list_year: i32,
}

impl<'a> Columns<'a> {
    fn of(fields: &'a Fields) -> Result<Self, ApiError> {
        Ok(Self {
            rank: fields.rank,
            group_name: &fields.group_name,
            group_name_en: fields.group_name_en.as_deref(),
            taiwan_business_id: fields.taiwan_business_id.as_deref(),
            member_names: serde_json::to_string(&fields.member_names)?,
            list_source: &fields.list_source,
            list_year: fields.list_year,
        })
    }
}

fn linked_count(conn: &mut DbConnection, id: &str) -> Result<i64, ApiError> {
    Ok(investors::table
        .filter(investors::top100_id.eq(id))
        .filter(investors::deleted_at.is_null())
        .count()
        .get_result(conn)?)
}

fn to_record(row: Row, linked_investors: i64) -> Result<Top100, ApiError> {
    Ok(Top100 {
        member_names: serde_json::from_str(&row.member_names)?,
        id: row.id,
        rank: row.rank,
        group_name: row.group_name,
        group_name_en: row.group_name_en,
        taiwan_business_id: row.taiwan_business_id,
        list_source: row.list_source,
        list_year: row.list_year,
        linked_investors,
        version: row.version,
        created_at: clock::utc(row.created_at),
        updated_at: clock::utc(row.updated_at),
        created_by: row.created_by,
        updated_by: row.updated_by,
    })
}

/// The list, by edition (newest first) and rank. It is a few hundred rows
/// at most, so it comes in one page.
pub fn list(conn: &mut DbConnection, filter: Top100Filter) -> Result<Page<Top100>, ApiError> {
    let mut query = top100::table.filter(top100::deleted_at.is_null()).into_boxed();
    if let Some(year) = filter.list_year {
        query = query.filter(top100::list_year.eq(year));
    }
    let rows: Vec<Row> =
        query.order((top100::list_year.desc(), top100::rank, top100::id)).select(Row::as_select()).load(conn)?;
    let linked: Vec<(Option<String>, i64)> = investors::table
        .filter(investors::deleted_at.is_null())
        .filter(investors::top100_id.is_not_null())
        .group_by(investors::top100_id)
        .select((investors::top100_id, diesel::dsl::count_star()))
        .load(conn)?;
    let linked: std::collections::HashMap<String, i64> =
        linked.into_iter().filter_map(|(id, n)| id.map(|id| (id, n))).collect();
    let items = rows
        .into_iter()
        .map(|row| {
            let n = linked.get(&row.id).copied().unwrap_or(0);
            to_record(row, n)
        })
        .collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor: None, total: None })
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Top100, ApiError> {
    let row: Row = top100::table
        .filter(top100::id.eq(id))
        .filter(top100::deleted_at.is_null())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("top-100 group"))?;
    let n = linked_count(conn, id)?;
    to_record(row, n)
}

fn require_manager(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_manage_reference_data() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only a provincial administrator keeps the top-100 list".into()))
    }
}

fn fields_of(record: &Top100) -> Fields {
    Fields {
        rank: record.rank,
        group_name: record.group_name.clone(),
        group_name_en: record.group_name_en.clone(),
        taiwan_business_id: record.taiwan_business_id.clone(),
        member_names: record.member_names.clone(),
        list_source: record.list_source.clone(),
        list_year: record.list_year,
    }
}

/// One edition of the list holds each rank once.
fn check_rank_free(conn: &mut DbConnection, fields: &Fields, except: Option<&str>) -> Result<(), ApiError> {
    let mut query = top100::table
        .filter(top100::deleted_at.is_null())
        .filter(top100::list_year.eq(fields.list_year))
        .filter(top100::rank.eq(fields.rank))
        .select(top100::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(top100::id.ne(id.to_owned()));
    }
    match query.first::<String>(conn).optional()? {
        Some(other) => Err(ApiError::Conflict(FieldError::new(
            "rank",
            "taken",
            format!("rank {} of the {} list is already group {other}", fields.rank, fields.list_year),
        ))),
        None => Ok(()),
    }
}

pub fn create(conn: &mut DbConnection, caller: &Caller, body: NewTop100) -> Result<Top100, ApiError> {
    require_manager(caller)?;
    let mut fields = body.into_fields();
    let errors = fields.check();
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    write_tx(conn, |conn| {
        check_rank_free(conn, &fields, None)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = clock::now();
        diesel::insert_into(top100::table)
            .values((
                top100::id.eq(&id),
                Columns::of(&fields)?,
                top100::created_at.eq(now),
                top100::updated_at.eq(now),
                top100::created_by.eq(&caller.username),
                top100::updated_by.eq(&caller.username),
                top100::version.eq(1),
            ))
            .execute(conn)?;
        let record = get(conn, &id)?;
        let changes = audit::diff(&serde_json::Value::Null, &serde_json::to_value(&record)?, NOT_AUDITED);
        audit_change(conn, caller, Action::Create, &id, changes)?;
        Ok(record)
    })
}

pub fn update(conn: &mut DbConnection, caller: &Caller, id: &str, expected: &IfMatch, patch: Top100Patch) -> Result<Top100, ApiError> {
    write_tx(conn, |conn| {
        let before = get(conn, id)?;
        require_manager(caller)?;
        if !expected.matches(before.version) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        let mut fields = patch.apply(&before);
        let errors = fields.check();
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        if fields == fields_of(&before) {
            return Ok(before);
        }
        check_rank_free(conn, &fields, Some(id))?;
        let changed = diesel::update(top100::table.filter(top100::id.eq(id)).filter(top100::version.eq(before.version)))
            .set((
                Columns::of(&fields)?,
                top100::updated_at.eq(clock::now()),
                top100::updated_by.eq(&caller.username),
                top100::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(ApiError::PreconditionFailed { current: get(conn, id)?.version });
        }
        // A renamed group may now be, or no longer be, another edition's group.
        crate::targets::summary::refresh_top100(conn)?;
        let after = get(conn, id)?;
        let changes = audit::diff(&serde_json::to_value(&before)?, &serde_json::to_value(&after)?, NOT_AUDITED);
        audit_change(conn, caller, Action::Update, id, changes)?;
        Ok(after)
    })
}

/// Removes a group from the list. A group with linked investors stays until
/// they are unlinked: deleting it would silently change the target.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str, expected: Option<&IfMatch>) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let before = get(conn, id)?;
        require_manager(caller)?;
        if expected.is_some_and(|e| !e.matches(before.version)) {
            return Err(ApiError::PreconditionFailed { current: before.version });
        }
        if before.linked_investors > 0 {
            return Err(ApiError::Conflict(FieldError::new(
                "id",
                "linked",
                format!("{} investors are linked to this group; unlink them first", before.linked_investors),
            )));
        }
        let now = clock::now();
        diesel::update(top100::table.filter(top100::id.eq(id)))
            .set((
                top100::deleted_at.eq(Some(now)),
                top100::updated_at.eq(now),
                top100::updated_by.eq(&caller.username),
                top100::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        audit_change(conn, caller, Action::Delete, id, vec![])
    })
}

/// The audit event of a change to group `id`: the list belongs to no park.
fn audit_change(conn: &mut DbConnection, caller: &Caller, action: Action, id: &str, changes: Vec<Change>) -> Result<(), ApiError> {
    audit::record(conn, NewEvent { actor: &caller.username, action, entity_type: ENTITY, entity_id: id, park_code: None, changes })
}

#[derive(Queryable)]
struct InvestorKeys {
    id: String,
    park_code: String,
    name: String,
    name_en: Option<String>,
    taiwan_business_id: Option<String>,
    status: String,
    name_key: String,
    name_en_key: Option<String>,
}

/// The caller's visible investors, not linked to the list yet, whose folded
/// name (or English name) is the group's or a member's, or whose 統一編號 is
/// the group's.
pub fn candidates(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<Page<Candidate>, ApiError> {
    let group = get(conn, id)?;
    let fields = fields_of(&group);
    let keys = fields.name_keys();
    let key_values: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    let mut query = investors::table
        .filter(investors::deleted_at.is_null())
        .filter(investors::top100_id.is_null())
        .into_boxed();
    if let ParkScope::One(park) = scope {
        query = query.filter(investors::park_code.eq(park.clone()));
    }
    let matches_name = investors::name_key
        .eq_any(key_values.clone())
        .or(investors::name_en_key.eq_any(key_values).assume_not_null());
    query = match &fields.taiwan_business_id {
        Some(ubn) => query.filter(matches_name.or(investors::taiwan_business_id.eq(ubn.clone()).assume_not_null())),
        None => query.filter(matches_name),
    };
    let rows: Vec<InvestorKeys> = query
        .order((investors::park_code, investors::name_key, investors::id))
        .select((
            investors::id,
            investors::park_code,
            investors::name,
            investors::name_en,
            investors::taiwan_business_id,
            investors::status,
            investors::name_key,
            investors::name_en_key,
        ))
        .limit(500)
        .load(conn)?;
    let name_of = |key: &str| keys.iter().find(|(k, _)| k == key).map(|(_, name)| name.clone());
    let items = rows
        .into_iter()
        .map(|row| {
            let by_ubn = fields.taiwan_business_id.is_some() && row.taiwan_business_id == fields.taiwan_business_id;
            let (matched_by, matched) = if by_ubn {
                ("taiwan_business_id".to_owned(), row.taiwan_business_id.clone().unwrap_or_default())
            } else {
                let named = name_of(&row.name_key).or_else(|| row.name_en_key.as_deref().and_then(name_of));
                ("name".to_owned(), named.unwrap_or_default())
            };
            Candidate {
                investor_id: row.id,
                park_code: row.park_code,
                name: row.name,
                name_en: row.name_en,
                taiwan_business_id: row.taiwan_business_id,
                status: row.status,
                matched_by,
                matched,
            }
        })
        .collect();
    Ok(Page { items, next_cursor: None, total: None })
}
