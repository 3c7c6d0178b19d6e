//! The read replica (`db::replica`, `DATABASE_REPLICA_URL`): where reads go
//! and that a replica away never fails one. PostgreSQL only (SQLite has no
//! replicas); no real standby is needed: bench/replica.sh runs one.
//!
//! A "replica" here is the app's own database (every read current, wherever
//! it goes; the side that served shows in `db_reads_total`), the same
//! through a relay the test closes (a replica that goes away), another
//! database (no replica of the primary: refused), or a closed port.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use invest_registry::db::{self, ReplicaSettings, SlowLaneSettings};
use serde_json::{json, Value};

use crate::helpers::{enc, postgres_admin_url, TestApp, TestReplica, Who};

/// A port nothing listens on (TCP "discard").
const CLOSED: &str = "postgres://postgres@127.0.0.1:9/nothing";

/// The watcher looks once (at start) and the lag bound never runs out: what
/// it learnt then holds for the whole test.
const ONE_LOOK: ReplicaSettings = ReplicaSettings { max_lag: Duration::from_secs(3600), poll_every: Duration::from_secs(3600) };

/// An empty, migrated database on the test server: not a replica of the
/// app's database (another database, not in recovery); dropped with the value.
struct OtherDatabase {
    url: String,
    name: String,
}

impl OtherDatabase {
    fn create() -> Self {
        let admin = postgres_admin_url();
        let name = format!("ir_test_replica_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        drop(db::connect(&url, 1).expect("migrate the other database"));
        Self { url, name }
    }

    /// The replica's watcher has asked this database who it is (its session
    /// is idle after that question). Waits for a state, not for a time.
    async fn asked(&self) {
        let mut conn = PgConnection::establish(&postgres_admin_url()).unwrap();
        let sql = format!(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '{}' AND state = 'idle' AND query LIKE '%pg_is_in_recovery%'",
            self.name
        );
        for _ in 0..400 {
            if diesel::sql_query(&sql).get_result::<Counted>(&mut conn).unwrap().n > 0 {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the watcher never asked the other database");
    }
}

#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    n: i32,
}

impl Drop for OtherDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// A TCP relay to the test server that the test can close: the connections
/// through it are cut and new ones refused, as when a replica goes away.
struct Relay {
    port: u16,
    /// `None` once closed; else the relayed connections' sockets.
    open: Arc<Mutex<Option<Vec<TcpStream>>>>,
}

impl Relay {
    fn to_test_server() -> Self {
        let admin = postgres_admin_url();
        let server = admin.rsplit_once('@').map_or(admin.as_str(), |(_, rest)| rest);
        let server = server.trim_start_matches("postgres://").split('/').next().unwrap().to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(Mutex::new(Some(Vec::new())));
        let relaying = open.clone();
        std::thread::spawn(move || loop {
            match listener.accept() {
                Ok((client, _)) => {
                    client.set_nonblocking(false).unwrap();
                    let Ok(upstream) = TcpStream::connect(&server) else { continue };
                    let mut open = relaying.lock().unwrap();
                    // Closed meanwhile: both are dropped, and so is the listener.
                    let Some(streams) = open.as_mut() else { return };
                    streams.extend([client.try_clone().unwrap(), upstream.try_clone().unwrap()]);
                    pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                    pipe(upstream, client);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if relaying.lock().unwrap().is_none() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("relay: {e}"),
            }
        });
        Self { port, open }
    }

    fn close(&self) {
        for stream in self.open.lock().unwrap().take().into_iter().flatten() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The reads routed so far, by why: `[fresh (the replica), own_write,
/// lagging, replica_unavailable]`, as `db_reads_total` counts them.
fn routed(app: &TestApp) -> [u64; 4] {
    app.pool.replica_reads().expect("a replica").map(|(_, n)| n)
}

/// What `work` routed, as [`routed`] counts.
fn delta(before: [u64; 4], after: [u64; 4]) -> [u64; 4] {
    std::array::from_fn(|i| after[i] - before[i])
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

/// A caller who just wrote reads from the primary, one who did not from the
/// replica: the routing counts show which side served each read.
#[actix_web::test]
async fn a_caller_reads_their_own_writes_and_others_read_the_replica() {
    let app = TestApp::spawn_with_replica(TestReplica::TheDatabaseItself, ONE_LOOK).await;
    replica_state(&app, "up").await;
    let before = routed(&app);
    assert_eq!(reads(&app, Who::ProvincialAdmin).await, [0, 0, 0, 0]);
    assert_eq!(delta(before, routed(&app)), [4, 0, 0, 0], "before any write, the replica serves");

    app.create_project(json!({})).await;
    let before = routed(&app);
    assert_eq!(reads(&app, Who::ProvincialAdmin).await, [1, 1, 1, 1]);
    assert_eq!(delta(before, routed(&app)), [0, 4, 0, 0], "the writer reads from the primary");
    let before = routed(&app);
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [1, 1, 1, 1]);
    assert_eq!(delta(before, routed(&app)), [4, 0, 0, 0], "another caller reads from the replica");

    // A write by a park's staff keeps that caller, and only them, on the primary.
    let staff = app.as_(Who::ParkStaff);
    let talent = staff.post("/api/v1/talents", &crate::helpers::talent_body(json!({}))).await;
    assert_eq!(talent.status, 201, "{}", talent.text);
    let before = routed(&app);
    assert_eq!(items(&staff.get("/api/v1/talents").await), 1);
    assert_eq!(items(&staff.get("/api/v1/projects").await), 1);
    assert_eq!(delta(before, routed(&app)), [0, 2, 0, 0], "the staff's reads all stay on the primary");
    let before = routed(&app);
    items(&app.as_(Who::ParkViewer).get("/api/v1/talents").await);
    assert_eq!(delta(before, routed(&app)), [1, 0, 0, 0], "others of the park read from the replica");
}

/// A write answered with an error may still have committed something (or
/// be retried and commit): its caller stays on the primary all the same.
#[actix_web::test]
async fn a_write_answered_with_an_error_keeps_its_caller_on_the_primary() {
    let app = TestApp::spawn_with_replica(TestReplica::TheDatabaseItself, ONE_LOOK).await;
    replica_state(&app, "up").await;
    let admin = app.as_(Who::ProvincialAdmin);
    let refused = admin.post("/api/v1/projects", &json!({"name": ""})).await;
    assert!(refused.status >= 400, "{}", refused.text);
    let before = routed(&app);
    assert_eq!(items(&admin.get("/api/v1/projects").await), 0);
    assert_eq!(delta(before, routed(&app)), [0, 1, 0, 0]);
}

/// A URL that names a database that is no replica of the primary (here:
/// another database on the same server, not in recovery) is refused: its
/// own WAL position says nothing of the primary's commits. Every read goes
/// to the primary, and readiness says the replica is down.
#[actix_web::test]
async fn a_database_that_is_no_replica_of_the_primary_serves_no_read() {
    let other = OtherDatabase::create();
    let app = TestApp::spawn_with_replica(TestReplica::At(other.url.clone()), ONE_LOOK).await;
    other.asked().await;
    app.create_project(json!({})).await;
    let before = routed(&app);
    for who in [Who::ProvincialAdmin, Who::ProvincialViewer] {
        assert_eq!(reads(&app, who).await, [1, 1, 1, 1], "{who:?}: the primary's rows, not the other database's none");
    }
    assert_eq!(delta(before, routed(&app)), [0, 0, 0, 8], "every read on the primary, as the replica is unavailable");
    let down = replica_state(&app, "down").await;
    assert!(down.get("lag_ms").is_none(), "{down}");
}

/// A replica that does not answer from the start sends every read to the
/// primary: no 5xx, the same answers, readiness up and saying so.
#[actix_web::test]
async fn a_replica_away_from_the_start_fails_no_read() {
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

/// A replica that goes away after serving (its relay closed): the first read
/// sent to it before the watcher could notice fails there and runs again on
/// the primary (`first`: a page's read on the worker, or a count in the slow
/// lane); the reads after it go straight to the primary.
async fn a_replica_lost_after_serving(first: &str) {
    let relay = Relay::to_test_server();
    let app = TestApp::spawn_with_replica(TestReplica::TheDatabaseThrough(relay.port), ONE_LOOK).await;
    replica_state(&app, "up").await;
    app.create_project(json!({})).await;
    let viewer = app.as_(Who::ProvincialViewer);
    let before = routed(&app);
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [1, 1, 1, 1]);
    assert_eq!(delta(before, routed(&app)), [4, 0, 0, 0], "served by the replica");

    relay.close();
    let before = routed(&app);
    let res = viewer.get(first).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(delta(before, routed(&app)), [0, 0, 0, 1], "failed on the replica, answered by the primary");
    let before = routed(&app);
    assert_eq!(reads(&app, Who::ProvincialViewer).await, [1, 1, 1, 1]);
    assert_eq!(delta(before, routed(&app)), [0, 0, 0, 4], "the next reads go to the primary");
    replica_state(&app, "down").await;
}

#[actix_web::test]
async fn a_replica_lost_after_serving_fails_no_page_read() {
    a_replica_lost_after_serving("/api/v1/projects").await;
}

#[actix_web::test]
async fn a_replica_lost_after_serving_fails_no_slow_read() {
    a_replica_lost_after_serving("/api/v1/projects?count=true").await;
}

/// SQLite has no replicas: a replica URL beside it is refused at start,
/// and so is one that is not PostgreSQL's.
#[test]
fn a_replica_needs_postgresql_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::connect(&dir.path().join("t.db").display().to_string(), 1).unwrap();
    let err = sqlite.with_replica(CLOSED, ReplicaSettings::default(), &SlowLaneSettings::default()).err().expect("refused");
    assert!(err.to_string().contains("DATABASE_REPLICA_URL"), "{err}");

    let other = OtherDatabase::create();
    let pg = db::connect(&other.url, 1).unwrap();
    let err = pg.with_replica("data/replica.db", ReplicaSettings::default(), &SlowLaneSettings::default()).err().expect("refused");
    assert!(err.to_string().contains("expected postgres://"), "{err}");
}
