//! What an outside test broke (issue 11): races on tokens and throttling,
//! hostile input that reached the database, the framework's own answers,
//! and an outage of the database. Storms and long outages are in
//! tests/faults/.

use std::time::Duration;

use actix_web::http::Method;
use futures_util::future::join_all;
use invest_registry::auth::HashGate;
use serde_json::json;

use crate::helpers::{enc, Backend, Response, TestApp, Who, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    logout_ends_every_access_token_of_the_session,
    login_refuses_names_no_account_can_have_before_the_database,
    query_dates_outside_the_range_are_400_naming_the_parameter,
    search_words_are_capped_and_must_be_text,
    a_method_the_path_lacks_is_405_with_allow,
    request_ids_come_back_on_every_answer_and_in_problems,
    a_refused_cors_preflight_is_a_problem_document,
);

async fn login(app: &TestApp, username: &str, password: &str) -> Response {
    app.as_(Who::Anonymous).post("/api/v1/auth/login", &json!({"username": username, "password": password})).await
}

fn count(responses: &[Response], status: u16) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

/// Races need several workers: with one, the requests' statements run one
/// after the other whatever the code does.
const RACING_WORKERS: usize = 4;

async fn parallel_refreshes_of_one_token_let_exactly_one_win(backend: Backend) {
    let app = TestApp::spawn_with(backend, RACING_WORKERS, None).await;
    let pair = login(&app, "yy.staff", PASSWORD).await;
    assert_eq!(pair.status, 200, "{}", pair.text);
    let body = json!({"refresh_token": pair.body["refresh_token"]});
    let anonymous: Vec<_> = (0..8).map(|_| app.as_(Who::Anonymous)).collect();
    let tries = anonymous.iter().map(|a| a.post("/api/v1/auth/refresh", &body));
    let answers = join_all(tries).await;
    assert_eq!(count(&answers, 200), 1, "exactly one refresh wins: {:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(count(&answers, 401), 7, "the others are reuse");
}

/// Parallel wrong passwords for one user: at most the limit are checked, the
/// rest are 429. A gate wide enough that none is turned away for load.
async fn parallel_wrong_passwords_are_checked_at_most_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, RACING_WORKERS, Some(HashGate::new(4, 64, Duration::from_secs(60)))).await;
    let tries = (0..30).map(|_| login(&app, "yy.viewer", "wrong password!"));
    let answers = join_all(tries).await;
    let (checked, throttled) = (count(&answers, 401), count(&answers, 429));
    assert_eq!(checked + throttled, 30, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(checked, 10, "exactly the limit of 10 failures are checked");
    assert_eq!(login(&app, "yy.viewer", PASSWORD).await.status, 429);
}

#[actix_web::test]
async fn parallel_refreshes_of_one_token_let_exactly_one_win_sqlite() {
    parallel_refreshes_of_one_token_let_exactly_one_win(Backend::Sqlite).await
}

#[actix_web::test]
async fn parallel_refreshes_of_one_token_let_exactly_one_win_postgres() {
    parallel_refreshes_of_one_token_let_exactly_one_win(Backend::Postgres).await
}

#[actix_web::test]
async fn parallel_wrong_passwords_are_checked_at_most_the_limit_sqlite() {
    parallel_wrong_passwords_are_checked_at_most_the_limit(Backend::Sqlite).await
}

#[actix_web::test]
async fn parallel_wrong_passwords_are_checked_at_most_the_limit_postgres() {
    parallel_wrong_passwords_are_checked_at_most_the_limit(Backend::Postgres).await
}

/// With one hashing permit and no queue, logins beyond the one hashing are
/// answered 503 with Retry-After instead of waiting; the one hashing succeeds.
#[actix_web::test]
async fn logins_beyond_the_hashing_gate_are_503_with_retry_after() {
    let app = TestApp::spawn_with(Backend::Sqlite, 1, Some(HashGate::new(1, 0, Duration::from_secs(60)))).await;
    let answers = join_all((0..12).map(|_| login(&app, "yy.staff", PASSWORD))).await;
    assert!(count(&answers, 200) >= 1, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    let busy: Vec<&Response> = answers.iter().filter(|r| r.status == 503).collect();
    assert!(!busy.is_empty(), "12 logins at once through one permit: some must be turned away");
    for r in busy {
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
        assert_eq!(r.body["type"], "/problems/overloaded", "{}", r.text);
    }
    assert_eq!(count(&answers, 200) + count(&answers, 503), 12);
}

async fn logout_ends_every_access_token_of_the_session(app: TestApp) {
    let first = login(&app, "yy.admin", PASSWORD).await.body;
    let second = app.as_(Who::Anonymous).post("/api/v1/auth/refresh", &json!({"refresh_token": first["refresh_token"]})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let (old, new) = (first["access_token"].as_str().unwrap(), second.body["access_token"].as_str().unwrap());
    assert_eq!(app.with_token(old).get("/api/v1/me").await.status, 200);
    assert_eq!(app.with_token(new).post("/api/v1/auth/logout", &json!({})).await.status, 204);
    assert_eq!(app.with_token(old).get("/api/v1/me").await.status, 401, "the session's older token ends too");
    // Another login of the same user is another session.
    let other = login(&app, "yy.admin", PASSWORD).await.body;
    assert_eq!(app.with_token(other["access_token"].as_str().unwrap()).get("/api/v1/me").await.status, 200);
}

async fn login_refuses_names_no_account_can_have_before_the_database(app: TestApp) {
    login(&app, "yy.staff\u{0}", PASSWORD).await.assert_problem(422, "username", "characters");
    login(&app, &"x".repeat(3000), PASSWORD).await.assert_problem(422, "username", "length");
    login(&app, "yy.staff", &"p".repeat(10_000)).await.assert_problem(422, "password", "length");
    // None of them counted as a failure: the right password still works.
    assert_eq!(login(&app, "yy.staff", PASSWORD).await.status, 200);
}

async fn query_dates_outside_the_range_are_400_naming_the_parameter(app: TestApp) {
    for (parameter, value) in [
        ("created_from", "-5000-01-01"),
        ("updated_to", "0001-01-01T00:00:00Z"),
        ("created_to", "+99999-01-01"),
    ] {
        let res = app.get(&format!("/api/v1/projects?{parameter}={}", enc(value))).await;
        res.assert_problem(400, parameter, "date_range");
    }
    let res = app.get("/api/v1/investors?settled_from=-5000-01-01").await;
    res.assert_problem(400, "settled_from", "date_range");
    // A forged cursor at year -5000.
    let cursor = base64_url(r#"{"k":"created_at","o":"desc","t":"-5000-01-01T00:00:00","i":"01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b"}"#);
    app.get(&format!("/api/v1/projects?cursor={cursor}")).await.assert_problem(400, "cursor", "cursor");
    // The ends of the range are dates like any other.
    assert_eq!(app.get("/api/v1/projects?created_from=1900-01-01&created_to=2100-12-31").await.status, 200);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn search_words_are_capped_and_must_be_text(app: TestApp) {
    let words = vec!["芯片"; 1000].join(" ");
    app.get(&format!("/api/v1/projects?q={}", enc(&words))).await.assert_problem(400, "q", "terms");
    app.get(&format!("/api/v1/talents?q={}", enc(&words))).await.assert_problem(400, "q", "terms");
    app.get("/api/v1/projects?q=%ff%fe").await.assert_problem(400, "q", "encoding");
    assert_eq!(app.get(&format!("/api/v1/projects?q={}", enc("台積電 芯片"))).await.status, 200);
}

async fn a_method_the_path_lacks_is_405_with_allow(app: TestApp) {
    let put = app.as_(Who::ProvincialAdmin).send(Method::PUT, "/api/v1/projects", &[], None).await;
    assert_eq!(put.status, 405, "{}", put.text);
    assert_eq!(put.header("allow").as_deref(), Some("GET, POST"));
    assert_eq!(put.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(put.body["type"], "/problems/method-not-allowed");
    let id = uuid::Uuid::now_v7();
    let trace = app.as_(Who::Anonymous).send(Method::TRACE, &format!("/api/v1/projects/{id}"), &[], None).await;
    assert_eq!(trace.status, 405);
    assert_eq!(trace.header("allow").as_deref(), Some("GET, PATCH, DELETE"));
    // A path that does not exist at all stays 404.
    assert_eq!(app.get("/api/v1/no-such-thing").await.status, 404);
}

async fn request_ids_come_back_on_every_answer_and_in_problems(app: TestApp) {
    let mine = app.as_(Who::ParkStaff).send(Method::GET, "/api/v1/me", &[("x-request-id", "trace-42.abc")], None).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.header("x-request-id").as_deref(), Some("trace-42.abc"));
    let id = uuid::Uuid::now_v7();
    let missing = app.as_(Who::ParkStaff).send(Method::GET, &format!("/api/v1/projects/{id}"), &[("x-request-id", "r-1")], None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["request_id"], "r-1", "{}", missing.text);
    // Without one (or with one unfit to echo) the service makes one.
    let made = app.as_(Who::Anonymous).send(Method::GET, "/api/v1/me", &[("x-request-id", "bad id\twith tab")], None).await;
    assert_eq!(made.status, 401);
    let made_id = made.header("x-request-id").unwrap_or_default();
    assert!(uuid::Uuid::parse_str(&made_id).is_ok(), "{made_id}");
    assert_eq!(made.body["request_id"], made_id.as_str());
}

async fn a_refused_cors_preflight_is_a_problem_document(app: TestApp) {
    let headers = [("origin", "https://evil.example"), ("access-control-request-method", "GET")];
    let res = app.as_(Who::Anonymous).send(Method::OPTIONS, "/api/v1/projects", &headers, None).await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(res.body["status"], 400);
    assert!(res.body["request_id"].is_string());
}

/// The database goes away under a running service: PostgreSQL refuses new
/// connections to the test's database and ends the open ones (the shared
/// server itself keeps running). Liveness answers, readiness and requests
/// answer 503 with Retry-After, and service resumes by itself when the
/// database is back.
#[actix_web::test]
async fn a_postgres_outage_is_503_and_recovers_by_itself() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.get("/api/v1/health/ready").await.status, 200);
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    let set_allowed = |admin: &mut PgConnection, allowed: bool| {
        diesel::sql_query(format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS {allowed}")).execute(admin).unwrap();
    };
    set_allowed(&mut admin, false);
    diesel::sql_query(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .execute(&mut admin)
        .unwrap();

    assert_eq!(app.get("/api/v1/health/live").await.status, 200);
    let ready = app.get("/api/v1/health/ready").await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.header("content-type").as_deref(), Some("application/problem+json"));
    let list = app.get("/api/v1/projects").await;
    assert_eq!(list.status, 503, "{}", list.text);
    assert_eq!(list.header("retry-after").as_deref(), Some("1"));
    assert_eq!(list.body["type"], "/problems/database-unavailable");
    assert_eq!(login(&app, "yy.staff", PASSWORD).await.status, 503);
    assert_eq!(app.get("/api/v1/health/live").await.status, 200);

    set_allowed(&mut admin, true);
    let mut ready = 0;
    for _ in 0..100 {
        ready = app.get("/api/v1/health/ready").await.status;
        if ready == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "readiness comes back without a restart");
    assert_eq!(app.get("/api/v1/projects").await.status, 200);
    assert_eq!(login(&app, "yy.staff", PASSWORD).await.status, 200);
}

/// SQLite keeps its WAL file bounded (it grew to 345 MB in 40 s of writes).
#[actix_web::test]
async fn sqlite_connections_bound_the_wal() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Limit {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        journal_size_limit: i64,
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pool = invest_registry::db::connect(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let invest_registry::db::DbConnection::Sqlite(sqlite) = &mut **conn else { panic!("a SQLite connection") };
    let limit: Limit = diesel::sql_query("PRAGMA journal_size_limit").get_result(sqlite).unwrap();
    drop(conn);
    assert_eq!(limit.journal_size_limit, invest_registry::db::WAL_SIZE_LIMIT_BYTES);
    assert_eq!(invest_registry::db::checkpoint(&pool).unwrap().busy, 0);
}

/// `/metrics` answers on its own listener only, in the Prometheus text
/// format, with requests by route pattern and the pool and gate gauges.
#[actix_web::test]
async fn metrics_are_served_on_their_own_listener_only() {
    use invest_registry::config::AuthSettings;
    use invest_registry::{auth::TokenKeys, db, Application, ServeOptions};
    use std::net::TcpListener;
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect(&dir.path().join("m.db").display().to_string(), 2).unwrap();
    let keys = TokenKeys::from_settings(&AuthSettings::with_secret(crate::helpers::SECRET)).unwrap();
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").unwrap();
    let (api_port, metrics_port) = (api.local_addr().unwrap().port(), metrics.local_addr().unwrap().port());
    let options = ServeOptions { workers: Some(1), metrics: Some(metrics), ..ServeOptions::default() };
    let server = Application::with_pool(pool, keys, api, options).unwrap().into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let client = awc::Client::default();
    let get = |port: u16, path: &str| {
        let request = client.get(format!("http://127.0.0.1:{port}{path}"));
        async move {
            let mut res = request.send().await.unwrap();
            let body = res.body().await.unwrap();
            (res.status().as_u16(), String::from_utf8_lossy(&body).into_owned())
        }
    };
    let id = uuid::Uuid::now_v7();
    assert_eq!(get(api_port, "/api/v1/health/live").await.0, 200);
    assert_eq!(get(api_port, &format!("/api/v1/projects/{id}")).await.0, 401);
    assert_eq!(get(api_port, "/metrics").await.0, 404, "never on the API port");
    let (status, text) = get(metrics_port, "/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/health/live",status="200"} 1"#), "{text}");
    // Route patterns, never ids.
    assert!(text.contains(r#"route="/api/v1/projects/{id}",status="401""#), "{text}");
    assert!(!text.contains(&id.to_string()));
    for gauge in ["db_pool_connections", "db_pool_waiting_requests", "login_hash_permits", "login_hash_queue", "db_slow_lane_borrowed", "http_request_duration_seconds_bucket"] {
        assert!(text.contains(gauge), "{gauge} in {text}");
    }
    handle.stop(false).await;
}

/// A full disk, simulated with SQLite's page limit on the app's only
/// connection: writes and failed logins answer 503 storage-unavailable
/// (they were 500), readiness turns 503, reads still work.
#[actix_web::test]
async fn a_full_disk_is_503_and_turns_readiness_off() {
    use diesel::RunQueryDsl;
    use invest_registry::auth::{Caller, Role, TokenKeys};
    use invest_registry::config::AuthSettings;
    use invest_registry::db::DbConnection;
    use invest_registry::users::{self, NewUser};
    use invest_registry::{db, Application, ServeOptions};
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect(&dir.path().join("full.db").display().to_string(), 1).unwrap();
    let user = {
        let mut conn = pool.get().unwrap();
        let new = NewUser {
            username: "full.admin".into(),
            display_name: None,
            password: PASSWORD.into(),
            role: Role::ProvincialAdmin,
            park_code: None,
        };
        let user = users::create(&mut conn, &Caller::system("test"), new, invest_registry::auth::passwords::hash(PASSWORD).ok()).unwrap();
        // The file may not grow past the pages it has (the limit is clamped
        // to the current size); the pool keeps this one connection.
        let DbConnection::Sqlite(sqlite) = &mut **conn else { panic!("SQLite") };
        diesel::sql_query("PRAGMA max_page_count = 1").execute(sqlite).unwrap();
        user
    };
    let keys = TokenKeys::from_settings(&AuthSettings::with_secret(crate::helpers::SECRET)).unwrap();
    let (token, _) = keys.issue(&user.id, "full.admin", Role::ProvincialAdmin, None, 1, "s").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = ServeOptions { workers: Some(1), ..ServeOptions::default() };
    let server = Application::with_pool(pool, keys, listener, options).unwrap().into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let client = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let send = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = client.request(method, format!("{base}{path}")).insert_header(("authorization", format!("Bearer {token}")));
        if body.is_some() {
            request = request.insert_header(("content-type", "application/json"));
        }
        async move {
            let mut res = match body {
                Some(body) => request.send_body(serde_json::to_vec(&body).unwrap()).await,
                None => request.send().await,
            }
            .unwrap();
            let bytes = res.body().await.unwrap();
            let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
            (res.status().as_u16(), serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(), retry)
        }
    };
    // Writes fill the last free space, then fail: 503, never 500.
    let mut full = None;
    for n in 0..200 {
        let body = crate::helpers::project_body(json!({"name": format!("填满磁盘 {n} {}", "长".repeat(150))}));
        let (status, problem, retry) = send(Method::POST, "/projects", Some(body)).await;
        assert!(status == 201 || status == 503, "{status} {problem}");
        if status == 503 {
            full = Some((problem, retry));
            break;
        }
    }
    let (problem, retry) = full.expect("the page limit is reached within 200 writes");
    assert_eq!(problem["type"], "/problems/storage-unavailable", "{problem}");
    assert_eq!(retry.as_deref(), Some("30"));
    assert_eq!(send(Method::GET, "/health/ready", None).await.0, 503);
    assert_eq!(send(Method::GET, "/projects", None).await.0, 200, "reads still work");
    // A failed login that cannot be counted is 503, not 500 (while pages
    // with room remain it is counted and 401).
    for n in 0..40 {
        let body = json!({"username": format!("nobody{n}"), "password": "wrong password!"});
        let (status, problem, _) = send(Method::POST, "/auth/login", Some(body)).await;
        assert!(status == 401 || status == 503, "{status} {problem}");
        if status == 503 {
            assert_eq!(problem["type"], "/problems/storage-unavailable", "{problem}");
            break;
        }
    }
    handle.stop(false).await;
}
