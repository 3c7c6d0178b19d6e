//! The slow lane (`db::lane`): work that is slow by design runs on
//! connections of its own, a few at a time, and the fast reads never wait
//! behind it. Outcomes only (statuses and order), no timings: the lane's
//! spare connection is lent after 100 ms without fast reads, which a test
//! that sends none gets however slow the machine; the busy side of that
//! rule is `admission`'s unit tests, with the count it reads `db::lane`'s.
//!
//! A slow request is held in the lane by a lock the test takes: SQLite's
//! write lock (the change of the monitoring rules writes), or on PostgreSQL
//! the rules' table locked against writes. Reads pass either lock.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use actix_web::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use futures_util::future::{join, select, Either};
use invest_registry::db::SlowLaneSettings;
use serde_json::json;

use crate::helpers::{As, Backend, Response, TestApp, Who};

/// A slow read: statistics run in the lane.
const SLOW_READ: &str = "/api/v1/stats/projects?group_by=stage";

/// Blocks writes to the monitoring rules until dropped.
enum Lock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Lock {
    fn take(app: &TestApp) -> Lock {
        match app.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&app.database_url).unwrap();
                conn.batch_execute("BEGIN IMMEDIATE").unwrap();
                Lock::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&app.database_url).unwrap();
                conn.batch_execute("BEGIN; LOCK TABLE monitoring_rules IN EXCLUSIVE MODE").unwrap();
                Lock::Postgres(conn)
            }
        }
    }

    fn release(self) {
        match self {
            Lock::Sqlite(mut conn) => conn.batch_execute("ROLLBACK").unwrap(),
            Lock::Postgres(mut conn) => conn.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

/// Runs `step` to its end while `pending` is still running; fails if
/// `pending` ends first.
async fn while_pending<P: Future + Unpin, S: Future>(pending: &mut P, step: S) -> S::Output {
    match select(pending, pin!(step)).await {
        Either::Right((out, _)) => out,
        Either::Left(_) => panic!("the slow request ended while the lock should hold it"),
    }
}

#[track_caller]
fn assert_turned_away(r: &Response) {
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(r.body["type"], "/problems/overloaded", "{}", r.text);
}

/// An app whose lane has one connection and lets one request wait 200 ms,
/// with one project.
async fn narrow_lane_app(backend: Backend) -> (TestApp, String) {
    let lane = SlowLaneSettings { connections: 1, queue: 1, wait: Duration::from_millis(200), statement_timeout: None, ..Default::default() };
    let app = TestApp::spawn_with_lane(backend, 1, None, lane).await;
    let project = app.create_project(json!({})).await;
    let id = project["id"].as_str().unwrap().to_owned();
    (app, id)
}

const RULE_CHANGE: [(&str, &str); 2] = [("content-type", "application/json"), ("if-match", "\"1\"")];

/// A change of the monitoring rules: slow work that writes, so the lock holds it.
fn change_rules<'a>(admin: &'a As<'a>) -> impl Future<Output = Response> + 'a {
    let rules = json!({"signed_to_registered_days": 100}).to_string().into_bytes();
    admin.send(Method::PUT, "/api/v1/monitoring/rules", &RULE_CHANGE, Some(rules))
}

/// Slow reads pass while the lane is free; once `holder` holds its one
/// connection (waiting for the lock), one waits its 200 ms and is turned
/// away: that answer.
async fn fill_the_lane<P: Future + Unpin>(holder: &mut P, admin: &As<'_>) -> Response {
    for _ in 0..200 {
        let probe = while_pending(holder, admin.get(SLOW_READ)).await;
        if probe.status != 200 {
            return probe;
        }
    }
    panic!("the held request never came to hold the lane")
}

/// With a slow request holding the lane's one connection, fast reads
/// answer, more slow work is turned away with 503 and Retry-After, and the
/// lane serves again once it is free.
async fn slow_work_waits_in_its_lane_and_fast_reads_do_not(backend: Backend) {
    let (app, id) = narrow_lane_app(backend).await;
    let admin = app.as_(Who::ProvincialAdmin);
    let lock = Lock::take(&app);
    let mut change = pin!(change_rules(&admin));
    assert_turned_away(&fill_the_lane(&mut change, &admin).await);

    // The fast reads keep their own connections.
    let read = while_pending(&mut change, app.get(&format!("/api/v1/projects/{id}"))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let list = while_pending(&mut change, app.get("/api/v1/projects?limit=20")).await;
    assert_eq!(list.status, 200, "{}", list.text);

    // Two more at once: one past the queue at once, the other after its wait.
    let (first, second) = while_pending(&mut change, join(admin.get(SLOW_READ), admin.get(SLOW_READ))).await;
    assert_turned_away(&first);
    assert_turned_away(&second);

    lock.release();
    let changed = change.await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let after = admin.get(SLOW_READ).await;
    assert_eq!(after.status, 200, "the lane serves again: {}", after.text);
}

#[actix_web::test]
async fn slow_work_waits_in_its_lane_and_fast_reads_do_not_sqlite() {
    slow_work_waits_in_its_lane_and_fast_reads_do_not(Backend::Sqlite).await
}

#[actix_web::test]
async fn slow_work_waits_in_its_lane_and_fast_reads_do_not_postgres() {
    slow_work_waits_in_its_lane_and_fast_reads_do_not(Backend::Postgres).await
}

/// Searches and counts are slow work too: with the lane full they are
/// turned away, while the same list without them answers.
async fn searches_and_counts_take_the_slow_lane(backend: Backend) {
    let (app, _) = narrow_lane_app(backend).await;
    let admin = app.as_(Who::ProvincialAdmin);
    let lock = Lock::take(&app);
    let mut change = pin!(change_rules(&admin));
    assert_turned_away(&fill_the_lane(&mut change, &admin).await);

    for slow in ["/api/v1/projects?count=true", "/api/v1/talents?count=true"] {
        assert_turned_away(&while_pending(&mut change, admin.get(slow)).await);
    }
    // A search scans on SQLite; on PostgreSQL the pair index keeps it a quick read.
    for search in ["/api/v1/projects?q=project", "/api/v1/investors?q=xy", "/api/v1/talents?q=xy"] {
        let answer = while_pending(&mut change, admin.get(search)).await;
        match backend {
            Backend::Sqlite => assert_turned_away(&answer),
            Backend::Postgres => assert_eq!(answer.status, 200, "{search}: {}", answer.text),
        }
    }
    let page = while_pending(&mut change, admin.get("/api/v1/projects?limit=20")).await;
    assert_eq!(page.status, 200, "{}", page.text);

    lock.release();
    assert_eq!(change.await.status, 200);
    assert_eq!(admin.get("/api/v1/projects?q=project&count=true").await.status, 200);
}

#[actix_web::test]
async fn searches_and_counts_take_the_slow_lane_sqlite() {
    searches_and_counts_take_the_slow_lane(Backend::Sqlite).await
}

#[actix_web::test]
async fn searches_and_counts_take_the_slow_lane_postgres() {
    searches_and_counts_take_the_slow_lane(Backend::Postgres).await
}

/// A lane of one connection of its own and one spare, whatever the
/// machine's cores (as on two cores), with a short wait.
async fn lane_with_a_spare(backend: Backend) -> TestApp {
    let lane = SlowLaneSettings { connections: 2, free_cores: u32::MAX, queue: 2, wait: Duration::from_millis(600), ..Default::default() };
    let app = TestApp::spawn_with_lane(backend, 1, None, lane).await;
    app.create_project(json!({})).await;
    app
}

const EXPORT: &str = "/api/v1/projects?format=csv";

/// Returns once `holder` runs in the lane (and so holds its own connection:
/// nothing else runs there).
async fn hold_the_own_connection<P: Future + Unpin>(holder: &mut P, app: &TestApp) {
    for _ in 0..500 {
        if app.pool.slow_lane_counts().is_some_and(|lane| lane.running == 1) {
            return;
        }
        while_pending(holder, actix_web::rt::time::sleep(Duration::from_millis(10))).await;
    }
    panic!("the held request never came to hold the lane")
}

/// While long work (a change of the rules) holds the lane's own
/// connection, statistics borrow the spare one (nothing else runs: the
/// fast reads are quiet); an export never borrows it and is turned away.
async fn short_slow_work_borrows_the_spare_connection_long_work_does_not(backend: Backend) {
    let app = lane_with_a_spare(backend).await;
    let admin = app.as_(Who::ProvincialAdmin);
    let lock = Lock::take(&app);
    let mut change = pin!(change_rules(&admin));
    hold_the_own_connection(&mut change, &app).await;

    let quiet = while_pending(&mut change, admin.get(SLOW_READ)).await;
    assert_eq!(quiet.status, 200, "statistics borrow the spare while nothing else runs: {}", quiet.text);
    let export = while_pending(&mut change, admin.get(EXPORT)).await;
    assert_turned_away(&export);

    lock.release();
    assert_eq!(change.await.status, 200);
    assert_eq!(admin.get(EXPORT).await.status, 200, "the lane's own connection is free again");
}

#[actix_web::test]
async fn short_slow_work_borrows_the_spare_connection_long_work_does_not_sqlite() {
    short_slow_work_borrows_the_spare_connection_long_work_does_not(Backend::Sqlite).await
}

#[actix_web::test]
async fn short_slow_work_borrows_the_spare_connection_long_work_does_not_postgres() {
    short_slow_work_borrows_the_spare_connection_long_work_does_not(Backend::Postgres).await
}
