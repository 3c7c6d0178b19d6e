//! Filing, reading and deciding first claims (首报首谈). A claim's status
//! ages with the service clock: an active or contested claim without
//! progress for longer than the rules allow reads as `lapsed`, and is
//! written so (by the system, audited) as soon as another claim or a
//! decision depends on it, so a lapse is final.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use super::model::{Claim, ClaimFields, ClaimFilter, ClaimRow, Decision, Identity, Rival};
use crate::audit::{self, Action, Change, NewEvent, SYSTEM_ACTOR};
use crate::auth::{Caller, ParkScope};
use crate::clock::{self, Clock};
use crate::db::schema::{claim_keys, claims, funds, investors, project_investors, project_stage_history, projects};
use crate::db::{write_tx, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::http::{Cursor, Limit, Page, SortKey, SortOrder};
use crate::monitoring::rules::{self, Rules};
use crate::records::{decode, invalid_unless_empty, one_of, Bookkeeping, Stamp};
use crate::text::{self, Lines};
use crate::vocab::{from_db, ClaimStatus, Stage};

const ENTITY: &str = "claim";
/// Stored statuses that may still be lapsed by time.
const OPEN: [&str; 2] = ["active", "contested"];

/// "Today" and "now" of one request, from the service clock.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub today: NaiveDate,
    pub now: NaiveDateTime,
}

impl Moment {
    pub fn of(clock: &Clock) -> Self {
        let now = clock.now();
        Self { today: now.date(), now }
    }
}

/// A stored claim with what time has made of it.
struct Aged {
    row: ClaimRow,
    status: ClaimStatus,
    last_progress: NaiveDate,
}

// ---- filing ------------------------------------------------------------------

pub fn file(conn: &mut DbConnection, caller: &Caller, body: Value, at: Moment) -> Result<Claim, ApiError> {
    caller.require_writer()?;
    let mut fields: ClaimFields = decode(body)?;
    fields.evidence_ref = fields.evidence_ref.trim().to_owned();
    let mut errors: Vec<FieldError> = text::check("evidence_ref", &fields.evidence_ref, 200, Lines::One).into_iter().collect();
    write_tx(conn, |conn| {
        let project_id = fields.project_id.to_string();
        let mut project = projects::table
            .filter(projects::id.eq(&project_id))
            .filter(projects::deleted_at.is_null())
            .into_boxed();
        if let ParkScope::One(park) = caller.scope() {
            project = project.filter(projects::park_code.eq(park));
        }
        let Some((park, stage)) = project.select((projects::park_code, projects::stage)).first::<(String, String)>(conn).optional()? else {
            errors.push(FieldError::new("project_id", "unknown", "no project with this id in your park"));
            return Err(ApiError::Invalid(errors));
        };
        caller.require_write(&park)?;
        let stage: Stage = from_db(&stage)?;
        if stage < Stage::Negotiating || stage == Stage::Dropped {
            errors.push(FieldError::new(
                "project_id",
                "stage",
                format!("a claim is filed once formal talks begin: the project is {stage}, it must be negotiating or later"),
            ));
        }
        let identity = identity_of(conn, &project_id)?;
        let keys = identity.keys();
        if keys.is_empty() {
            errors.push(FieldError::new("project_id", "no_investors", "the project lists no investor to claim"));
        }
        invalid_unless_empty(errors)?;
        let rules = rules::load(conn)?.rules;

        let own: Vec<ClaimRow> = live()
            .filter(claims::project_id.eq(&project_id))
            .filter(claims::status.ne("lapsed"))
            .select(ClaimRow::as_select())
            .load(conn)?;
        if let Some(existing) = settle_lapses(conn, own, at, &rules)?.first() {
            return Err(ApiError::Conflict(FieldError::new(
                "project_id",
                "claimed",
                format!("the project has a claim already ({}, {})", existing.row.id, existing.status),
            )));
        }

        let rivals = rival_rows(conn, &park, &keys, &["active", "contested", "awarded"])?;
        let rivals = settle_lapses(conn, rivals, at, &rules)?;
        for rival in rivals.iter().filter(|r| r.status == ClaimStatus::Active) {
            change_status(conn, &rival.row, ClaimStatus::Contested, SYSTEM_ACTOR, at.now, None)?;
        }
        let status = if rivals.is_empty() { ClaimStatus::Active } else { ClaimStatus::Contested };

        let id = uuid::Uuid::now_v7().to_string();
        let stamp = Stamp { at: at.now, by: caller.username.clone() };
        let row = ClaimRow {
            id: id.clone(),
            park_code: park.clone(),
            project_id,
            evidence: fields.evidence.to_string(),
            evidence_ref: fields.evidence_ref.clone(),
            identity: serde_json::to_string(&identity)?,
            status: status.to_string(),
            filed_at: at.now,
            decided_by: None,
            decided_at: None,
            reason: None,
            bookkeeping: Bookkeeping::new(&stamp, &stamp, 1),
        };
        diesel::insert_into(claims::table).values(&row).execute(conn)?;
        for key in &keys {
            diesel::insert_into(claim_keys::table)
                .values((claim_keys::claim_id.eq(&id), claim_keys::key.eq(key)))
                .execute(conn)?;
        }
        let claim = one_view(conn, caller, row, at.today, &rules)?;
        let changes = audit::diff(&Value::Null, &serde_json::to_value(&claim)?, &["id", "version", "created_at", "updated_at", "created_by", "updated_by", "rivals", "light", "last_progress_on", "expires_on"]);
        record(conn, &caller.username, Action::Create, &claim.id, &park, changes)?;
        Ok(claim)
    })
}

/// The project's live investors' identifiers and folded names.
fn identity_of(conn: &mut DbConnection, project_id: &str) -> Result<Identity, ApiError> {
    type Ids = (Option<String>, Option<String>, String, Option<String>);
    let rows: Vec<Ids> = project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(project_investors::project_id.eq(project_id))
        .filter(investors::deleted_at.is_null())
        .select((investors::unified_social_credit_code, investors::taiwan_business_id, investors::name_key, investors::name_en_key))
        .load(conn)?;
    let mut uscc = BTreeSet::new();
    let mut ubn = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (code, number, name, name_en) in rows {
        uscc.extend(code);
        ubn.extend(number);
        names.extend(Some(name).into_iter().chain(name_en).filter(|n| !n.is_empty()));
    }
    Ok(Identity {
        unified_social_credit_codes: uscc.into_iter().collect(),
        taiwan_business_ids: ubn.into_iter().collect(),
        names: names.into_iter().collect(),
    })
}

// ---- deciding ----------------------------------------------------------------

pub fn decide(conn: &mut DbConnection, caller: &Caller, id: &str, body: Value, at: Moment) -> Result<Claim, ApiError> {
    write_tx(conn, |conn| {
        let row = find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(ENTITY))?;
        if !caller.may_decide_claims() {
            return Err(ApiError::Forbidden("a contest between parks' claims is decided by a provincial administrator".into()));
        }
        let mut decision: Decision = decode(body)?;
        decision.reason = decision.reason.trim().to_owned();
        invalid_unless_empty(text::check("reason", &decision.reason, 2000, Lines::Many).into_iter().collect())?;
        let rules = rules::load(conn)?.rules;
        let contest = contest_of(conn, row)?;
        let contest = settle_lapses(conn, contest, at, &rules)?;
        if !contest.iter().any(|c| c.row.id == id) {
            return Err(ApiError::Conflict(FieldError::new(
                "status",
                "not_contested",
                "only a contested claim is decided; this one is not (or no longer) contested",
            )));
        }
        let award = decision.award.to_string();
        if !contest.iter().any(|c| c.row.id == award) {
            return Err(ApiError::invalid("award", "not_in_contest", "must be one of the contested claims on this identity"));
        }
        for claim in &contest {
            let status = if claim.row.id == award { ClaimStatus::Awarded } else { ClaimStatus::Rejected };
            let decided = (caller.username.as_str(), decision.reason.as_str());
            change_status(conn, &claim.row, status, &caller.username, at.now, Some(decided))?;
        }
        let row = find(conn, &ParkScope::All, id)?.ok_or(ApiError::NotFound(ENTITY))?;
        one_view(conn, caller, row, at.today, &rules)
    })
}

/// The claims in dispute with `start` when it is contested: the contested
/// (and already awarded) claims that share an identity key with it,
/// directly or through one another, `start` among them. An earlier award
/// is in the contest again: a later claim from another park disputes it.
fn contest_of(conn: &mut DbConnection, start: ClaimRow) -> Result<Vec<ClaimRow>, ApiError> {
    let mut found: Vec<ClaimRow> = Vec::new();
    let mut frontier = if start.status == "contested" { vec![start] } else { vec![] };
    // A contest is a handful of parks; the bound only guards against a loop.
    for _ in 0..20 {
        if frontier.is_empty() {
            break;
        }
        let ids: Vec<String> = frontier.iter().map(|c| c.id.clone()).collect();
        found.append(&mut frontier);
        let keys: Vec<String> = claim_keys::table.filter(claim_keys::claim_id.eq_any(&ids)).select(claim_keys::key).load(conn)?;
        let known: Vec<String> = found.iter().map(|c| c.id.clone()).collect();
        frontier = live()
            .filter(claims::status.eq_any(["contested", "awarded"]))
            .filter(claims::id.ne_all(known))
            .filter(claims::id.eq_any(claim_keys::table.filter(claim_keys::key.eq_any(keys)).select(claim_keys::claim_id)))
            .select(ClaimRow::as_select())
            .load(conn)?;
    }
    Ok(found)
}

// ---- reading -----------------------------------------------------------------

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str, today: NaiveDate) -> Result<Claim, ApiError> {
    let row = find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(ENTITY))?;
    let rules = rules::load(conn)?.rules;
    one_view(conn, caller, row, today, &rules)
}

pub fn list(conn: &mut DbConnection, caller: &Caller, filter: ClaimFilter, today: NaiveDate) -> Result<Page<Claim>, ApiError> {
    let limit = Limit::parse(filter.limit)?;
    let after = filter
        .cursor
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Cursor::decode(c, SortKey::CreatedAt, SortOrder::Desc))
        .transpose()?;
    let rules = rules::load(conn)?.rules;
    let mut items: Vec<Claim> = Vec::new();
    let mut last: Option<(NaiveDateTime, String)> = after.map(|c| (c.at, c.id));
    let wanted = limit.get() as usize + 1;
    // Statuses age, so the status filter is applied after reading; chunks
    // are read until a page is full.
    loop {
        let mut query = matching(caller, &filter);
        if let Some((at, id)) = &last {
            query = query.filter(claims::filed_at.lt(*at).or(claims::filed_at.eq(*at).and(claims::id.lt(id.clone()))));
        }
        let chunk: Vec<ClaimRow> =
            query.order((claims::filed_at.desc(), claims::id.desc())).limit(200).select(ClaimRow::as_select()).load(conn)?;
        let done = chunk.len() < 200;
        last = chunk.last().map(|r| (r.filed_at, r.id.clone()));
        let views = views(conn, caller, chunk, today, &rules)?;
        items.extend(views.into_iter().filter(|c| filter.status.is_empty() || filter.status.contains(&c.status)));
        if done || items.len() >= wanted {
            break;
        }
    }
    let next_cursor = if items.len() >= wanted {
        items.truncate(limit.get() as usize);
        items.last().map(|c| Cursor { key: SortKey::CreatedAt, order: SortOrder::Desc, at: c.filed_at.naive_utc(), id: c.id.clone() }.encode())
    } else {
        None
    };
    let total = match filter.count {
        Some(true) => Some(count(conn, caller, &filter, today, &rules)?),
        _ => None,
    };
    Ok(Page { items, next_cursor, total })
}

/// The caller's live claims that pass the list's filters but `status`.
fn matching(caller: &Caller, filter: &ClaimFilter) -> claims::BoxedQuery<'static, <DbConnection as Connection>::Backend> {
    let mut query = live();
    if let ParkScope::One(park) = caller.scope() {
        query = query.filter(claims::park_code.eq(park));
    }
    query = one_of(query, claims::park_code, filter.park.clone());
    if let Some(project) = filter.project_id {
        query = query.filter(claims::project_id.eq(project.to_string()));
    }
    query
}

/// Every claim of the list. A status is today's (claims age), so with a
/// status filter each claim's view is worked out, a chunk at a time.
fn count(conn: &mut DbConnection, caller: &Caller, filter: &ClaimFilter, today: NaiveDate, rules: &Rules) -> Result<i64, ApiError> {
    if filter.status.is_empty() {
        return Ok(matching(caller, filter).count().get_result(conn)?);
    }
    let mut total = 0;
    let mut last: Option<String> = None;
    loop {
        let mut query = matching(caller, filter);
        if let Some(id) = &last {
            query = query.filter(claims::id.gt(id.clone()));
        }
        let chunk: Vec<ClaimRow> = query.order(claims::id.asc()).limit(500).select(ClaimRow::as_select()).load(conn)?;
        let done = chunk.len() < 500;
        last = chunk.last().map(|r| r.id.clone());
        total += views(conn, caller, chunk, today, rules)?.iter().filter(|c| filter.status.contains(&c.status)).count() as i64;
        if done {
            return Ok(total);
        }
    }
}

pub fn history(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<audit::AuditEvent>, ApiError> {
    let limit = Limit::parse(limit)?;
    find(conn, &caller.scope(), id)?.ok_or(ApiError::NotFound(ENTITY))?;
    audit::history(conn, ENTITY, id, limit, cursor)
}

fn live() -> claims::BoxedQuery<'static, <DbConnection as Connection>::Backend> {
    claims::table.filter(claims::deleted_at.is_null()).into_boxed()
}

fn find(conn: &mut DbConnection, scope: &ParkScope, id: &str) -> Result<Option<ClaimRow>, ApiError> {
    let mut query = live().filter(claims::id.eq(id.to_owned()));
    if let ParkScope::One(park) = scope {
        query = query.filter(claims::park_code.eq(park.clone()));
    }
    Ok(query.select(ClaimRow::as_select()).first(conn).optional()?)
}

/// Other parks' claims sharing one of `keys`, in the given stored statuses.
fn rival_rows(conn: &mut DbConnection, park: &str, keys: &[String], statuses: &[&str]) -> Result<Vec<ClaimRow>, ApiError> {
    Ok(live()
        .filter(claims::park_code.ne(park.to_owned()))
        .filter(claims::status.eq_any(statuses.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        .filter(claims::id.eq_any(claim_keys::table.filter(claim_keys::key.eq_any(keys.to_vec())).select(claim_keys::claim_id)))
        .order((claims::filed_at, claims::id))
        .select(ClaimRow::as_select())
        .load(conn)?)
}

fn one_view(conn: &mut DbConnection, caller: &Caller, row: ClaimRow, today: NaiveDate, rules: &Rules) -> Result<Claim, ApiError> {
    views(conn, caller, vec![row], today, rules)?.pop().ok_or_else(|| ApiError::internal("claim vanished while reading"))
}

/// Claims as the caller reads them: aged to `today`, with their rivals.
fn views(conn: &mut DbConnection, caller: &Caller, rows: Vec<ClaimRow>, today: NaiveDate, rules: &Rules) -> Result<Vec<Claim>, ApiError> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut keys_of: HashMap<String, Vec<String>> = HashMap::new();
    for (claim, key) in claim_keys::table.filter(claim_keys::claim_id.eq_any(&ids)).select((claim_keys::claim_id, claim_keys::key)).load::<(String, String)>(conn)? {
        keys_of.entry(claim).or_default().push(key);
    }
    let all_keys: Vec<String> = keys_of.values().flatten().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let others: Vec<ClaimRow> = live()
        .filter(claims::id.eq_any(claim_keys::table.filter(claim_keys::key.eq_any(all_keys)).select(claim_keys::claim_id)))
        .order((claims::filed_at, claims::id))
        .select(ClaimRow::as_select())
        .load(conn)?;
    let mut other_keys: HashMap<String, Vec<String>> = HashMap::new();
    let other_ids: Vec<String> = others.iter().map(|r| r.id.clone()).collect();
    for (claim, key) in claim_keys::table.filter(claim_keys::claim_id.eq_any(&other_ids)).select((claim_keys::claim_id, claim_keys::key)).load::<(String, String)>(conn)? {
        other_keys.entry(claim).or_default().push(key);
    }
    let others = age(conn, others, today, rules)?;
    let rows = age(conn, rows, today, rules)?;
    let province = caller.park().is_none();
    rows.into_iter()
        .map(|claim| {
            let mine = keys_of.get(&claim.row.id).cloned().unwrap_or_default();
            let rivals = others
                .iter()
                .filter(|o| o.row.park_code != claim.row.park_code)
                .filter(|o| other_keys.get(&o.row.id).is_some_and(|k| k.iter().any(|k| mine.contains(k))))
                .map(|o| Rival {
                    park_code: o.row.park_code.clone(),
                    status: o.status,
                    filed_on: o.row.filed_at.date(),
                    claim_id: province.then(|| o.row.id.clone()),
                })
                .collect();
            to_claim(claim, rivals, today, rules)
        })
        .collect()
}

fn to_claim(aged: Aged, rivals: Vec<Rival>, today: NaiveDate, rules: &Rules) -> Result<Claim, ApiError> {
    let Aged { row, status, last_progress } = aged;
    let open = matches!(status, ClaimStatus::Active | ClaimStatus::Contested);
    let watched = open || status == ClaimStatus::Awarded;
    let days = (today - last_progress).num_days();
    Ok(Claim {
        evidence: from_db(&row.evidence)?,
        identity: serde_json::from_str(&row.identity)?,
        status,
        last_progress_on: last_progress,
        expires_on: open.then(|| last_progress + chrono::Duration::days(rules.claim_lapse_days)),
        light: if watched { rules::claim_light(days.min(rules.claim_lapse_days), rules) } else { None },
        rivals,
        filed_at: clock::utc(row.filed_at),
        decided_at: row.decided_at.map(clock::utc),
        created_at: clock::utc(row.bookkeeping.created_at),
        updated_at: clock::utc(row.bookkeeping.updated_at),
        id: row.id,
        park_code: row.park_code,
        project_id: row.project_id,
        evidence_ref: row.evidence_ref,
        decided_by: row.decided_by,
        reason: row.reason,
        created_by: row.bookkeeping.created_by,
        updated_by: row.bookkeeping.updated_by,
        version: row.bookkeeping.version,
    })
}

// ---- ageing ------------------------------------------------------------------

/// The latest progress of each project: a stage reached, a follow-up of one
/// of its investors, a fund received — each by the day it happened.
fn progress(conn: &mut DbConnection, project_ids: &[String]) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let mut latest: HashMap<String, NaiveDate> = HashMap::new();
    let mut note = |project: String, day: Option<NaiveDate>| {
        if let Some(day) = day {
            let entry = latest.entry(project).or_insert(day);
            *entry = (*entry).max(day);
        }
    };
    let stages: Vec<(String, NaiveDate)> = project_stage_history::table
        .filter(project_stage_history::project_id.eq_any(project_ids))
        .select((project_stage_history::project_id, project_stage_history::on_date))
        .load(conn)?;
    for (project, day) in stages {
        note(project, Some(day));
    }
    let follow_ups: Vec<(String, Option<NaiveDate>)> = project_investors::table
        .inner_join(investors::table.on(investors::id.eq(project_investors::investor_id)))
        .filter(project_investors::project_id.eq_any(project_ids))
        .filter(investors::deleted_at.is_null())
        .select((project_investors::project_id, investors::last_follow_up_on))
        .load(conn)?;
    for (project, day) in follow_ups {
        note(project, day);
    }
    let received: Vec<(String, NaiveDate)> = funds::table
        .filter(funds::project_id.eq_any(project_ids))
        .filter(funds::deleted_at.is_null())
        .select((funds::project_id, funds::received_on))
        .load(conn)?;
    for (project, day) in received {
        note(project, Some(day));
    }
    Ok(latest)
}

/// Each claim with its status as of `today` and its latest progress.
fn age(conn: &mut DbConnection, rows: Vec<ClaimRow>, today: NaiveDate, rules: &Rules) -> Result<Vec<Aged>, ApiError> {
    let projects: Vec<String> = rows.iter().map(|r| r.project_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let latest = progress(conn, &projects)?;
    rows.into_iter()
        .map(|row| {
            let filed = row.filed_at.date();
            let last_progress = latest.get(&row.project_id).map_or(filed, |d| (*d).max(filed));
            let stored: ClaimStatus = from_db(&row.status)?;
            let lapsed = OPEN.contains(&row.status.as_str()) && (today - last_progress).num_days() > rules.claim_lapse_days;
            Ok(Aged { status: if lapsed { ClaimStatus::Lapsed } else { stored }, last_progress, row })
        })
        .collect()
}

/// Writes the lapse of every claim of `rows` that time has lapsed (as the
/// system, audited) and returns the others.
fn settle_lapses(conn: &mut DbConnection, rows: Vec<ClaimRow>, at: Moment, rules: &Rules) -> Result<Vec<Aged>, ApiError> {
    let mut kept = Vec::new();
    for claim in age(conn, rows, at.today, rules)? {
        if claim.status == ClaimStatus::Lapsed && claim.row.status != "lapsed" {
            change_status(conn, &claim.row, ClaimStatus::Lapsed, SYSTEM_ACTOR, at.now, None)?;
        } else if claim.status != ClaimStatus::Lapsed {
            kept.push(claim);
        }
    }
    Ok(kept)
}

/// A new status for a stored claim (with the decision, when there is one),
/// guarded by its version and audited.
fn change_status(
    conn: &mut DbConnection,
    row: &ClaimRow,
    status: ClaimStatus,
    actor: &str,
    now: NaiveDateTime,
    decision: Option<(&str, &str)>,
) -> Result<(), ApiError> {
    let (decided_by, reason) = match decision {
        Some((by, reason)) => (Some(by.to_owned()), Some(reason.to_owned())),
        None => (row.decided_by.clone(), row.reason.clone()),
    };
    let decided_at = if decision.is_some() { Some(now) } else { row.decided_at };
    let written = diesel::update(claims::table.filter(claims::id.eq(&row.id)).filter(claims::version.eq(row.bookkeeping.version)))
        .set((
            claims::status.eq(status.to_string()),
            claims::decided_by.eq(&decided_by),
            claims::decided_at.eq(decided_at),
            claims::reason.eq(&reason),
            claims::version.eq(row.bookkeeping.version + 1),
            claims::updated_at.eq(now),
            claims::updated_by.eq(actor),
        ))
        .execute(conn)?;
    if written == 0 {
        return Err(ApiError::PreconditionFailed { current: row.bookkeeping.version + 1 });
    }
    let mut changes = vec![Change { field: "status".into(), old: row.status.clone().into(), new: status.to_string().into() }];
    if decision.is_some() {
        changes.push(Change { field: "decided_by".into(), old: row.decided_by.clone().into(), new: decided_by.into() });
        changes.push(Change { field: "reason".into(), old: row.reason.clone().into(), new: reason.into() });
    }
    record(conn, actor, Action::Update, &row.id, &row.park_code, changes)?;
    // A rejected claim's project leaves the targets; an award can bring it back.
    crate::targets::summary::refresh_project(conn, &row.project_id)
}

fn record(conn: &mut DbConnection, actor: &str, action: Action, id: &str, park: &str, changes: Vec<Change>) -> Result<(), ApiError> {
    audit::record(conn, NewEvent { actor, action, entity_type: ENTITY, entity_id: id, park_code: Some(park), changes })
}
