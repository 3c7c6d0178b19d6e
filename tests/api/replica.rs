//! The read replica (`db::replica`, `DATABASE_REPLICA_URL`): where reads go
//! and that a replica away never fails one. PostgreSQL only (SQLite has no
//! replicas); no real standby is needed: bench/replica.sh runs one.
//!
//! A "replica" here is either the app's own database (every read current,
//! wherever it goes), a second, empty database (a read it serves shows no
//! rows, so the side that served is visible in the answer), or a closed port.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use invest_registry::db::{self, ReplicaSettings, SlowLaneSettings};
use serde_json::{json, Value};

use crate::helpers::{enc, postgres_admin_url, TestApp, TestReplica, Who};

/// A port nothing listens on (TCP "discard").
const CLOSED: &str = "postgres://postgres@127.0.0.1:9/nothing";

/// An empty, migrated database standing in for a replica that has none of
/// the app's rows; dropped with the value.
struct EmptyReplica {
    url: String,
    name: String,
}

impl EmptyReplica {
    fn create() -> Self {
        let admin = postgres_admin_url();
        let name = format!("ir_test_replica_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        drop(db::connect(&url, 1).expect("migrate the stand-in replica"));
        Self { url, name }
    }
}

impl Drop for EmptyReplica {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// Readiness's view of the replica, once the watcher has reported (or
/// failed to reach it). Waits for a state, not for a time.
async fn replica_state(app: &TestApp, wanted: &str) -> Value {
    for _ in 0..400 {
        let res = app.get("/api/v1/health/ready").await;
        assert_eq!(res.status, 200, "a replica never makes the service unready: {}", res.text);
        if res.body["replica"]["state"] == wanted {
            return res.body["replica"].clone();
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the replica never became {wanted}");
}

fn items(res: &crate::helpers::Response) -> usize {
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().map_or(0, Vec::len)
}

/// The reads that may go to the replica, with what each found: projects
/// listed, found by a word, counted, and counted by statistics.
async fn reads(app: &TestApp, who: Who) -> [u64; 4] {
    let as_ = app.as_(who);
    let listed = items(&as_.get("/api/v1/projects").await) as u64;
    let found = items(&as_.get(&format!("/api/v1/projects?q={}", enc("封装"))).await) as u64;
    let counted = as_.get("/api/v1/projects?count=true").await;
    assert_eq!(counted.status, 200, "{}", counted.text);
    let stats = as_.get("/api/v1/stats/projects?group_by=stage").await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    [listed, found, counted.body["total"].as_u64().unwrap_or(u64::MAX), stats.body["total"]["count"].as_u64().unwrap_or(u64::MAX)]
}

/// Routing changes where reads go, never what they find, when the replica
/// holds everything: lists, searches, counts, statistics and targets.
#[actix_web::test]
async fn a_replica_that_is_the_database_itself_changes_no_answer() {
    let app = TestApp::spawn_with_replica(TestReplica::TheDatabaseItself, ReplicaSettings::default()).await;
    let up = replica_state(&app, "up").await;
    assert!(up["lag_ms"].as_u64().is_some(), "{up}");
    app.create_project(json!({})).await;
    for who in [Who::ProvincialAdmin, Who::ProvincialViewer, Who::ParkStaff] {
        assert_eq!(reads(&app, who).await, [1, 1, 1, 1], "{who:?}");
    }
    assert_eq!(items(&app.as_(Who::OtherParkStaff).get("/api/v1/projects").await), 0, "still scoped to the caller's park");
    let targets = app.as_(Who::ProvincialViewer).get("/api/v1/targets").await;
    assert_eq!(targets.status, 200, "{}", targets.text);
}

/// With a replica that has none of the rows, the answers show who served:
/// a caller who just wrote reads from the primary, one who did not reads
/// from the replica. The watcher looks once (at start), so the replica's
/// known point stays before the write for the whole test.
#[actix_web::test]
async fn a_caller_reads_their_own_writes_and_others_read_the_replica() {
    let replica = EmptyReplica::create();
    let settings = ReplicaSettings { max_lag: Duration::from_secs(3600), poll_every: Duration::from_secs(3600) };
    let app = TestApp::spawn_with_replica(TestReplica::At(replica.url.clone()), settings).await;
    replica_state(&app, "up").await;
    assert_eq!(reads(&app, Who::ProvincialAdmin).await, [0, 0, 0, 0], "before any write, the replica serves");

    app.create_project(json!({})).await;
    assert_eq!(reads(&app, Who::ProvincialAdmin).await, [1, 1, 1, 1], "the writer reads their write");
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [0, 0, 0, 0], "another caller reads the replica");
    // A write by a park's staff keeps that caller, and only them, on the primary.
    let staff = app.as_(Who::ParkStaff);
    let talent = staff.post("/api/v1/talents", &crate::helpers::talent_body(json!({}))).await;
    assert_eq!(talent.status, 201, "{}", talent.text);
    assert_eq!(items(&staff.get("/api/v1/talents").await), 1);
    assert_eq!(items(&staff.get("/api/v1/projects").await), 1, "the staff's reads all stay on the primary");
    assert_eq!(items(&app.as_(Who::ParkViewer).get("/api/v1/talents").await), 0);
}

/// A replica that does not answer sends every read to the primary: no
/// 5xx, the same answers, readiness up and saying so.
#[actix_web::test]
async fn a_replica_that_is_away_fails_no_read() {
    let app = TestApp::spawn_with_replica(TestReplica::At(CLOSED.into()), ReplicaSettings::default()).await;
    app.create_project(json!({})).await;
    for who in [Who::ProvincialAdmin, Who::ProvincialViewer] {
        assert_eq!(reads(&app, who).await, [1, 1, 1, 1], "{who:?}");
    }
    let targets = app.as_(Who::ProvincialViewer).get("/api/v1/targets").await;
    assert_eq!(targets.status, 200, "{}", targets.text);
    let down = replica_state(&app, "down").await;
    assert!(down.get("lag_ms").is_none(), "{down}");
}

/// A replica that goes away after serving: the reads chosen for it before
/// the watcher notices run again on the primary.
#[actix_web::test]
async fn a_replica_lost_between_two_reads_fails_no_read() {
    let replica = EmptyReplica::create();
    let settings = ReplicaSettings { max_lag: Duration::from_secs(3600), poll_every: Duration::from_secs(3600) };
    let app = TestApp::spawn_with_replica(TestReplica::At(replica.url.clone()), settings).await;
    replica_state(&app, "up").await;
    app.create_project(json!({})).await;
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [0, 0, 0, 0], "served by the replica");
    drop(replica);
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [1, 1, 1, 1], "served by the primary");
    replica_state(&app, "down").await;
}

/// SQLite has no replicas: a replica URL beside it is refused at start,
/// and so is one that is not PostgreSQL's.
#[test]
fn a_replica_needs_postgresql_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::connect(&dir.path().join("t.db").display().to_string(), 1).unwrap();
    let err = sqlite.with_replica(CLOSED, ReplicaSettings::default(), &SlowLaneSettings::default()).err().expect("refused");
    assert!(err.to_string().contains("DATABASE_REPLICA_URL"), "{err}");

    let replica = EmptyReplica::create();
    let pg = db::connect(&replica.url, 1).unwrap();
    let err = pg.with_replica("data/replica.db", ReplicaSettings::default(), &SlowLaneSettings::default()).err().expect("refused");
    assert!(err.to_string().contains("expected postgres://"), "{err}");
}
