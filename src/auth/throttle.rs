//! Failed-login throttling, kept in the database so that every instance
//! behind a load balancer counts the same failures.
//!
//! An attempt is counted before its password is checked ([`reserve`]), in
//! the same transaction as the count it is checked against: checked first
//! and counted after the hash, 60 parallel guesses all passed the check
//! before any was counted (23–25 checks against a limit of 10). A success
//! takes its count back ([`forgive`]); a failure leaves it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use diesel::sql_types::Text;

use crate::db::schema::login_failures;
use crate::db::{backend_of, write_tx, Backend, DbConnection};
use crate::error::ApiError;

pub const WINDOW_MINUTES: i64 = 15;
pub const PER_USERNAME: i64 = 10;
pub const PER_ADDRESS: i64 = 50;

/// 429 with the seconds until the oldest counted failure leaves the window,
/// when a username or an address has failed too often.
fn check(conn: &mut DbConnection, username: &str, address: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let recent = login_failures::table.filter(login_failures::at.gt(since));
    let by_name: Vec<NaiveDateTime> = recent
        .filter(login_failures::username.eq(username))
        .order(login_failures::at.desc())
        .limit(PER_USERNAME)
        .select(login_failures::at)
        .load(conn)?;
    let by_address: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::at.gt(since))
        .filter(login_failures::client_ip.eq(address))
        .order(login_failures::at.desc())
        .limit(PER_ADDRESS)
        .select(login_failures::at)
        .load(conn)?;
    let blocked_until = [(by_name, PER_USERNAME), (by_address, PER_ADDRESS)]
        .into_iter()
        .filter(|(failures, limit)| failures.len() as i64 >= *limit)
        .filter_map(|(failures, _)| failures.last().map(|oldest| *oldest + Duration::minutes(WINDOW_MINUTES)))
        .max();
    match blocked_until {
        Some(until) => Err(ApiError::TooManyRequests { retry_after: (until - now).num_seconds().max(1) as u64 }),
        None => Ok(()),
    }
}

/// Checks the limits and counts this attempt as a failure until it proves
/// otherwise, atomically: parallel attempts for one username or address
/// take their turns.
pub fn reserve(conn: &mut DbConnection, username: &str, address: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        if backend_of(conn) == Backend::Postgres {
            // SQLite's write transaction (BEGIN IMMEDIATE) already runs one
            // at a time; PostgreSQL needs a lock, and the failures of an
            // unknown username have no row to lock. Always username first,
            // then address, so two attempts never wait on each other in a circle.
            for key in [format!("login-user:{username}"), format!("login-addr:{address}")] {
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<Text, _>(key)
                    .execute(conn)?;
            }
        }
        check(conn, username, address, now)?;
        record_failure(conn, username, address, now)
    })
}

fn record_failure(conn: &mut DbConnection, username: &str, address: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(uuid::Uuid::now_v7().to_string()),
            login_failures::username.eq(username),
            login_failures::client_ip.eq(address),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    // Old rows only cost space; trim them as we go.
    diesel::delete(login_failures::table.filter(login_failures::at.lt(now - Duration::minutes(WINDOW_MINUTES))))
        .execute(conn)?;
    Ok(())
}

/// A successful login forgives that username's earlier failures.
pub fn forgive(conn: &mut DbConnection, username: &str) -> Result<(), ApiError> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username))).execute(conn)?;
    Ok(())
}
