//! The delivery side of hooks in the database: which hook a worker takes
//! next, and what each attempt leaves behind. The audit trail is the outbox;
//! a hook's cursor moves past an event only in the transaction that logs its
//! 2xx, so a crash between the answer and that commit sends it again (at
//! least once), and nothing later is sent before it (in order).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::store::{DeliveryRow, HookRow};
use crate::audit::{self, Action, Change, NewEvent, SYSTEM_ACTOR};
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::error::ApiError;

/// The longest wait between two attempts of one event.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// `at` plus a std duration (saturating at a day: leases and waits are far shorter).
fn later(at: NaiveDateTime, by: Duration) -> NaiveDateTime {
    at + chrono::Duration::from_std(by).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// A hook that is due: live, active, not paused, not held by a worker, not
/// waiting for a retry, and with events after its cursor that a delivery
/// could describe. Hooks never held come first, then those released longest
/// ago, so one busy hook does not starve the others. `$1` is now (SQLite
/// reads `$1` as one named parameter, so it is bound once on both).
const DUE: &str = "SELECT w.id FROM webhooks w \
    WHERE w.deleted_at IS NULL AND w.active AND w.paused_at IS NULL \
      AND (w.next_attempt_at IS NULL OR w.next_attempt_at <= $1) \
      AND (w.lease_until IS NULL OR w.lease_until <= $1) \
      AND EXISTS (SELECT 1 FROM audit_events e \
          WHERE (e.tx, e.seq) > (w.cursor_tx, w.cursor_seq) \
            AND (w.park_code IS NULL OR e.park_code = w.park_code) \
            AND e.entity_type IN ('project', 'investor', 'talent', 'claim') \
            AND e.action NOT IN ('read_personal', 'export')) \
    ORDER BY w.lease_until IS NOT NULL, w.lease_until, w.id \
    LIMIT 1";

#[derive(QueryableByName)]
struct HookId {
    #[diesel(sql_type = Text)]
    id: String,
}

fn due(conn: &mut DbConnection, now: NaiveDateTime, lock: bool) -> Result<Option<String>, ApiError> {
    let found: Vec<HookId> = match conn {
        // Several instances: a hook another worker is claiming is skipped, not waited for.
        DbConnection::Pg(c) if lock => diesel::sql_query(format!("{DUE} FOR UPDATE OF w SKIP LOCKED")).bind::<Timestamp, _>(now).load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(DUE).bind::<Timestamp, _>(now).load(c)?,
        // SQLite has one writer at a time: the write transaction is the lock.
        DbConnection::Sqlite(c) => diesel::sql_query(DUE).bind::<Timestamp, _>(now).load(c)?,
    };
    Ok(found.into_iter().next().map(|h| h.id))
}

/// Takes the next due hook for `owner` until `now + lease` (renewed by each
/// attempt it logs), or `None` when no hook is due. A plain read comes
/// first, so an idle service writes nothing.
pub fn claim(conn: &mut DbConnection, owner: &str, now: NaiveDateTime, lease: Duration) -> Result<Option<HookRow>, ApiError> {
    if due(conn, now, false)?.is_none() {
        return Ok(None);
    }
    write_tx(conn, |conn| {
        let Some(id) = due(conn, now, true)? else { return Ok(None) };
        diesel::update(webhooks::table.find(&id))
            .set((webhooks::lease_until.eq(Some(later(now, lease))), webhooks::lease_owner.eq(Some(owner))))
            .execute(conn)?;
        Ok(Some(webhooks::table.find(&id).select(HookRow::as_select()).first(conn)?))
    })
}

/// The live hook `id` as `owner` holds it: the updates below touch nothing else.
type Held<'a> = dsl::Filter<
    dsl::Filter<dsl::Filter<webhooks::table, dsl::Eq<webhooks::id, &'a str>>, dsl::Eq<webhooks::lease_owner, &'a str>>,
    dsl::IsNull<webhooks::deleted_at>,
>;

/// The cursor of a hook, at `position`.
type Cursor = (dsl::Eq<webhooks::cursor_tx, i64>, dsl::Eq<webhooks::cursor_seq, i64>);

/// Moves the cursor of hook `id` to `position` and writes `changes` with it,
/// if `owner` still holds the hook: the rows written, 0 when it no longer
/// does. Every write of a worker after its claim goes through here, so none
/// can change a hook it lost.
fn advance<'a, C>(conn: &mut DbConnection, id: &'a str, owner: &'a str, position: (i64, i64), changes: C) -> QueryResult<usize>
where
    C: AsChangeset<Target = webhooks::table>,
    dsl::Update<Held<'a>, (Cursor, C)>: diesel::query_dsl::methods::ExecuteDsl<DbConnection>,
{
    let held: Held<'a> =
        webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::lease_owner.eq(owner)).filter(webhooks::deleted_at.is_null());
    let cursor = (webhooks::cursor_tx.eq(position.0), webhooks::cursor_seq.eq(position.1));
    diesel::update(held).set((cursor, changes)).execute(conn)
}

/// Logs a 2xx and moves the cursor past its event. False when the hook is
/// no longer this worker's (deleted, or its lease ran out): stop.
pub fn delivered(conn: &mut DbConnection, owner: &str, attempt: DeliveryRow, position: (i64, i64), lease: Duration) -> Result<bool, ApiError> {
    write_tx(conn, |conn| {
        diesel::insert_into(webhook_deliveries::table).values(&attempt).execute(conn)?;
        let kept = advance(conn, &attempt.webhook_id, owner, position, (
            webhooks::attempts.eq(0),
            webhooks::failing_since.eq(None::<NaiveDateTime>),
            webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
            webhooks::last_error.eq(None::<String>),
            webhooks::lease_until.eq(Some(later(attempt.at, lease))),
        ))?;
        Ok(kept > 0)
    })
}

/// When to try a failing event again, and whether to give up: the wait
/// doubles from `base` with each failed attempt (at most an hour), and a
/// hook failing for `pause_after` is paused.
pub fn after_failure(attempts: i32, failing_since: NaiveDateTime, now: NaiveDateTime, base: Duration, pause_after: Duration) -> (NaiveDateTime, bool) {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let wait = base.saturating_mul(2u32.saturating_pow(doublings)).min(MAX_BACKOFF);
    let paused = (now - failing_since).to_std().unwrap_or_default() >= pause_after;
    (later(now, wait), paused)
}

/// What a worker knows of a hook whose delivery just failed.
pub struct Failure {
    pub attempt: DeliveryRow,
    pub park_code: Option<String>,
    /// The hook's failed attempts of this event, this one included.
    pub attempts: i32,
    pub failing_since: Option<NaiveDateTime>,
    /// Past the events skipped before the failing one.
    pub position: (i64, i64),
}

/// Logs a failed attempt, schedules the retry (or pauses the hook after its
/// time is up) and releases the hook.
pub fn failed(conn: &mut DbConnection, owner: &str, failure: Failure, base: Duration, pause_after: Duration) -> Result<(), ApiError> {
    let Failure { attempt, park_code, attempts, failing_since, position } = failure;
    let now = attempt.at;
    let since = failing_since.unwrap_or(now);
    let (next, paused) = after_failure(attempts, since, now, base, pause_after);
    write_tx(conn, |conn| {
        diesel::insert_into(webhook_deliveries::table).values(&attempt).execute(conn)?;
        let kept = advance(conn, &attempt.webhook_id, owner, position, (
            webhooks::attempts.eq(attempts),
            webhooks::failing_since.eq(Some(since)),
            webhooks::next_attempt_at.eq(Some(next)),
            webhooks::last_error.eq(attempt.error.clone()),
            webhooks::paused_at.eq(paused.then_some(now)),
            webhooks::lease_until.eq(Some(now)),
            webhooks::lease_owner.eq(None::<String>),
        ))?;
        if paused && kept > 0 {
            audit::record(conn, NewEvent {
                actor: SYSTEM_ACTOR,
                action: Action::Update,
                entity_type: "webhook",
                entity_id: &attempt.webhook_id,
                park_code: park_code.as_deref(),
                changes: vec![Change { field: "paused_at".into(), old: serde_json::Value::Null, new: crate::clock::utc(now).to_rfc3339().into() }],
            })?;
        }
        Ok(())
    })
}

/// Moves the cursor to `position` (past events the hook does not want) and
/// releases the hook; the release time puts it behind the other due hooks.
pub fn release(conn: &mut DbConnection, id: &str, owner: &str, position: (i64, i64), now: NaiveDateTime) -> Result<(), ApiError> {
    advance(conn, id, owner, position, (webhooks::lease_until.eq(Some(now)), webhooks::lease_owner.eq(None::<String>)))?;
    Ok(())
}

/// Deletes hook `id`'s attempts but the newest `kept` (the log of a busy
/// or long-failing hook would otherwise grow without end).
pub fn prune(conn: &mut DbConnection, id: &str, kept: i64) -> Result<usize, ApiError> {
    let older = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id.to_owned()))
        .order((webhook_deliveries::at.desc(), webhook_deliveries::id.desc()))
        .offset(kept.max(0))
        .select(webhook_deliveries::id);
    let old: Vec<String> = older.load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    write_tx(conn, |conn| {
        let mut gone = 0;
        // Bound the statement's parameters (SQLite allows 32766).
        for chunk in old.chunks(10_000) {
            gone += diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(chunk))).execute(conn)?;
        }
        Ok(gone)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + seconds, 0).map(|t| t.naive_utc()).unwrap_or_default()
    }

    #[test]
    fn retries_back_off_then_pause_after_a_day() {
        let base = Duration::from_secs(10);
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(after_failure(1, at(0), at(0), base, day), (at(10), false));
        assert_eq!(after_failure(2, at(0), at(10), base, day), (at(30), false));
        assert_eq!(after_failure(3, at(0), at(30), base, day), (at(70), false));
        assert_eq!(after_failure(40, at(0), at(100), base, day), (at(3700), false), "at most an hour apart");
        assert!(after_failure(30, at(0), at(24 * 3600), base, day).1, "a day of failures pauses the hook");
        assert!(!after_failure(30, at(0), at(24 * 3600 - 1), base, day).1);
    }
}
