//! The counts of `GET /monitoring` (watched projects by park, stage and
//! light as of a day), kept in `light_counts` so that a request reads a few
//! rows instead of counting a million projects.
//!
//! A day's counts are computed from the projects the first time the day is
//! asked ([`as_of`]); from then on every write that changes a project's
//! light days or watched stage moves them in its own transaction
//! ([`moved`]). Writers hold a shared lock and the first count an exclusive
//! one (PostgreSQL; SQLite writes one at a time anyway), so a day's counts
//! never miss a write that committed while they were computed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use super::rules::LightDates;
use crate::db::schema::{light_counts, parks};
use crate::db::{backend_of, write_tx, Backend, DbConnection};
use crate::error::ApiError;
use crate::vocab::{Stage, Vocabulary};

/// The advisory lock of the counts (shared by writers, exclusive to a first count).
const LOCK: i64 = 0x0000_6c69_6768_7473; // "lights" in ASCII

/// The stages a light watches.
const WATCHED: [Stage; 5] = [Stage::Lead, Stage::Negotiating, Stage::Signed, Stage::Registered, Stage::UnderConstruction];

/// What a project stores (`projects::lights` writes it) for monitoring: its
/// stage and light days, `None` when it is not watched (dropped, operating or
/// deleted), and the latest follow-up of its investors, kept for every live
/// project (a read shows it) and `None` for a deleted one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watched {
    pub stage: Option<String>,
    pub dates: LightDates,
    pub last_follow_up_on: Option<NaiveDate>,
}

/// One project's stored and judged [`Watched`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub project_id: String,
    pub park_code: String,
    pub stored: Watched,
    pub judged: Watched,
}

/// Watched projects of one park and stage on one day: all, amber or red, red.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub watched: i64,
    pub amber: i64,
    pub red: i64,
}

type Key = (String, String); // park, stage

/// Taken by every write of light days before it reads which days are kept.
pub fn lock_for_write(conn: &mut DbConnection) -> Result<(), ApiError> {
    if backend_of(conn) == Backend::Postgres {
        diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)").bind::<BigInt, _>(LOCK).execute(conn)?;
    }
    Ok(())
}

/// Taken by whoever must see no write of light days in flight: the first
/// count of a day, and the daily pass of lights (`webhooks::light_days`).
pub fn lock_exclusive(conn: &mut DbConnection) -> Result<(), ApiError> {
    if backend_of(conn) == Backend::Postgres {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(LOCK).execute(conn)?;
    }
    Ok(())
}

/// The counts of `day` by park and stage, computed and kept the first time
/// the day is asked.
pub fn as_of(conn: &mut DbConnection, day: NaiveDate) -> Result<BTreeMap<Key, Count>, ApiError> {
    if let Some(kept) = kept(conn, day)? {
        return Ok(kept);
    }
    write_tx(conn, |conn| {
        lock_exclusive(conn)?;
        if let Some(kept) = kept(conn, day)? {
            return Ok(kept);
        }
        let counted = count(conn, day)?;
        // A row for every park and stage, zeros too: writers then only add.
        let park_codes: Vec<String> = parks::table.select(parks::code).load(conn)?;
        let rows: Vec<_> = park_codes
            .iter()
            .flat_map(|park| WATCHED.iter().map(move |stage| (park.clone(), stage.as_str().to_owned())))
            .map(|key| {
                let c = counted.get(&key).copied().unwrap_or_default();
                (
                    light_counts::as_of.eq(day),
                    light_counts::park_code.eq(key.0),
                    light_counts::stage.eq(key.1),
                    light_counts::watched.eq(c.watched),
                    light_counts::amber.eq(c.amber),
                    light_counts::red.eq(c.red),
                )
            })
            .collect();
        for row in rows {
            diesel::insert_into(light_counts::table).values(row).execute(conn)?;
        }
        // Days long past are not asked again (the service clock only moves on).
        diesel::delete(light_counts::table.filter(light_counts::as_of.lt(day - chrono::Duration::days(7)))).execute(conn)?;
        Ok(counted)
    })
}

/// The kept counts of `day`, if the day was counted.
fn kept(conn: &mut DbConnection, day: NaiveDate) -> Result<Option<BTreeMap<Key, Count>>, ApiError> {
    let rows: Vec<(String, String, i64, i64, i64)> = light_counts::table
        .filter(light_counts::as_of.eq(day))
        .select((light_counts::park_code, light_counts::stage, light_counts::watched, light_counts::amber, light_counts::red))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(rows.into_iter().map(|(park, stage, watched, amber, red)| ((park, stage), Count { watched, amber, red })).collect()))
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    park_code: String,
    #[diesel(sql_type = Text)]
    watched_stage: String,
    #[diesel(sql_type = BigInt)]
    watched: i64,
    #[diesel(sql_type = BigInt)]
    amber: i64,
    #[diesel(sql_type = BigInt)]
    red: i64,
}

/// The counts of `day` from the projects (one pass over the watched ones).
fn count(conn: &mut DbConnection, day: NaiveDate) -> Result<BTreeMap<Key, Count>, ApiError> {
    let mark = if backend_of(conn) == Backend::Postgres { "$1" } else { "?1" };
    let sql = format!(
        "SELECT park_code, watched_stage, CAST(COUNT(*) AS BIGINT) AS watched,
                CAST(SUM(CASE WHEN amber_on <= {mark} THEN 1 ELSE 0 END) AS BIGINT) AS amber,
                CAST(SUM(CASE WHEN red_on <= {mark} THEN 1 ELSE 0 END) AS BIGINT) AS red
         FROM projects WHERE watched_stage IS NOT NULL GROUP BY park_code, watched_stage"
    );
    let rows: Vec<Counted> = diesel::sql_query(sql).bind::<Date, _>(day).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.park_code, r.watched_stage), Count { watched: r.watched, amber: r.amber, red: r.red }))
        .collect())
}

/// What one project adds to the counts of `day`.
fn share(w: &Watched, day: NaiveDate) -> Option<(String, Count)> {
    let stage = w.stage.clone()?;
    let on = |d: Option<NaiveDate>| i64::from(d.is_some_and(|d| d <= day));
    Some((stage, Count { watched: 1, amber: on(w.dates.amber_on), red: on(w.dates.red_on) }))
}

/// Moves the kept counts of every counted day for projects whose watched
/// stage or light days changed (in the writer's transaction, under
/// [`lock_for_write`]).
pub fn moved(conn: &mut DbConnection, changed: &[Judged]) -> Result<(), ApiError> {
    if changed.is_empty() {
        return Ok(());
    }
    let days: Vec<NaiveDate> = light_counts::table.select(light_counts::as_of).distinct().load(conn)?;
    for day in days {
        let mut deltas: BTreeMap<Key, Count> = BTreeMap::new();
        for j in changed {
            for (w, sign) in [(&j.stored, -1), (&j.judged, 1)] {
                if let Some((stage, c)) = share(w, day) {
                    let d = deltas.entry((j.park_code.clone(), stage)).or_default();
                    d.watched += sign * c.watched;
                    d.amber += sign * c.amber;
                    d.red += sign * c.red;
                }
            }
        }
        for ((park, stage), d) in deltas.into_iter().filter(|(_, d)| *d != Count::default()) {
            let written = diesel::update(light_counts::table.find((day, &park, &stage)))
                .set((
                    light_counts::watched.eq(light_counts::watched + d.watched),
                    light_counts::amber.eq(light_counts::amber + d.amber),
                    light_counts::red.eq(light_counts::red + d.red),
                ))
                .execute(conn)?;
            if written == 0 {
                // A park added after the day was counted: count the day again when asked.
                diesel::delete(light_counts::table.filter(light_counts::as_of.eq(day))).execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Drops every kept count (the rules changed: every light day may move).
pub fn forget_all(conn: &mut DbConnection) -> Result<(), ApiError> {
    lock_exclusive(conn)?;
    diesel::delete(light_counts::table).execute(conn)?;
    Ok(())
}

/// Every kept count that differs from a count of the projects.
pub fn check(conn: &mut DbConnection) -> Result<Vec<String>, ApiError> {
    let days: Vec<NaiveDate> = light_counts::table.select(light_counts::as_of).distinct().load(conn)?;
    let mut found = Vec::new();
    for day in days {
        let kept = kept(conn, day)?.unwrap_or_default();
        let counted = count(conn, day)?;
        for key in kept.keys().chain(counted.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (k, c) = (kept.get(key).copied().unwrap_or_default(), counted.get(key).copied().unwrap_or_default());
            if k != c {
                found.push(format!("counts of {day} for {} {}: kept {k:?}, counted {c:?}", key.0, key.1));
            }
        }
    }
    Ok(found)
}
