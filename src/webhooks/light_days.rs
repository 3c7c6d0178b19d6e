//! `project.light_changed`: a project's light (green, amber, red) changes
//! in two ways, and each leaves an audit event of the system's, which the
//! change feed and the hooks read like any other change:
//! - a write changes the facts its light reads: `projects::lights` records
//!   the event in the write's own transaction ([`light_event`]);
//! - days pass: on the day a project's `amber_on` or `red_on` comes, the
//!   daily pass ([`pass_days`], run by the webhook worker) records it. The
//!   pass remembers the last day it covered, so a restart sends nothing
//!   twice and days the service was down are caught up.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::{Date, Nullable};
use serde_json::Value;

use crate::audit::{self, Action, Change, NewEvent, SYSTEM_ACTOR};
use crate::db::schema::{audit_events, light_days_passed, projects};
use crate::db::{write_tx, DbConnection};
use crate::error::ApiError;
use crate::monitoring::rules::LightDates;
use crate::monitoring::tally;
use crate::vocab::Light;

/// The longest stretch a pass catches up (a service down longer sends the last year's changes).
const CATCH_UP_DAYS: i64 = 366;

/// The audit event of project `id`'s light changing from `old` to `new`:
/// the lights only, no other value.
pub(crate) fn light_event<'a>(id: &'a str, park_code: &'a str, old: Light, new: Light) -> NewEvent<'a> {
    NewEvent {
        actor: SYSTEM_ACTOR,
        action: Action::Update,
        entity_type: "project",
        entity_id: id,
        park_code: Some(park_code),
        changes: vec![Change { field: "light".into(), old: old.to_string().into(), new: new.to_string().into() }],
    }
}

#[derive(QueryableByName)]
struct Passed {
    #[diesel(sql_type = Nullable<Date>)]
    last_day: Option<NaiveDate>,
}

/// Records the light changes of the days after the last one passed, up to
/// `today`, in one transaction; answers how many. The first pass covers
/// `today` only. On PostgreSQL the mark's row lock keeps two instances from
/// passing the same days.
pub fn pass_days(conn: &mut DbConnection, today: NaiveDate) -> Result<usize, ApiError> {
    write_tx(conn, |conn| {
        const READ: &str = "SELECT last_day FROM light_days_passed WHERE id = 1";
        let passed: Vec<Passed> = match conn {
            DbConnection::Pg(c) => diesel::sql_query(format!("{READ} FOR UPDATE")).load(c)?,
            DbConnection::Sqlite(c) => diesel::sql_query(READ).load(c)?,
        };
        let last = passed.into_iter().next().and_then(|p| p.last_day);
        if last.is_some_and(|last| last >= today) {
            return Ok(0);
        }
        // No write may change a light while the pass reads and records:
        // its event and the pass's would cross (PostgreSQL; SQLite writes
        // one at a time anyway).
        tally::lock_exclusive(conn)?;
        // Events from here on are this pass's own (writes wait on the lock).
        let started = crate::clock::now();
        let from = last.map_or(today, |last| last.succ_opt().unwrap_or(today)).max(today - chrono::Duration::days(CATCH_UP_DAYS));
        let due: Vec<(String, String, Option<NaiveDate>, Option<NaiveDate>)> = projects::table
            .filter(projects::deleted_at.is_null())
            .filter(projects::watched_stage.is_not_null())
            .filter(projects::amber_on.between(from, today).or(projects::red_on.between(from, today)))
            .order(projects::id)
            .select((projects::id, projects::park_code, projects::amber_on, projects::red_on))
            .load(conn)?;
        let mut recorded = 0;
        for (id, park, amber_on, red_on) in &due {
            let dates = LightDates { amber_on: *amber_on, red_on: *red_on };
            let mut days: Vec<NaiveDate> = [*amber_on, *red_on].into_iter().flatten().filter(|d| (from..=today).contains(d)).collect();
            days.sort();
            days.dedup();
            for day in days {
                let old = dates.light_on(day.pred_opt().unwrap_or(day));
                let new = dates.light_on(day);
                if old != new && !announced_since(conn, id, (day, started), new, day < today)? {
                    audit::record(conn, light_event(id, park, old, new))?;
                    recorded += 1;
                }
            }
        }
        diesel::update(light_days_passed::table.find(1)).set(light_days_passed::last_day.eq(Some(today))).execute(conn)?;
        Ok(recorded)
    })
}

/// Whether project `id`'s turn to `new` on `day` is told already by a light
/// event recorded since that day began and before this pass `started`: a
/// write that moved its dates onto the day announced it, or (`superseded`,
/// a day caught up late) a later change of the light made it old news.
/// Events before the day do not count: a project watched again after a
/// pause starts from green anew.
fn announced_since(
    conn: &mut DbConnection,
    id: &str,
    (day, started): (NaiveDate, NaiveDateTime),
    new: Light,
    superseded: bool,
) -> Result<bool, ApiError> {
    let latest: Option<String> = audit_events::table
        .filter(audit_events::entity_type.eq("project"))
        .filter(audit_events::entity_id.eq(id))
        .filter(audit_events::actor.eq(SYSTEM_ACTOR))
        .filter(audit_events::changes.like("[{\"field\":\"light\"%"))
        .filter(audit_events::at.ge(day.and_time(NaiveTime::MIN)))
        .filter(audit_events::at.lt(started))
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .select(audit_events::changes)
        .first(conn)
        .optional()?;
    let Some(text) = latest else { return Ok(false) };
    let changes: Vec<Change> = serde_json::from_str(&text)?;
    let told = changes.into_iter().next().is_some_and(|c| c.new == Value::String(new.to_string()));
    Ok(told || superseded)
}
