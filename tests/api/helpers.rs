//! `TestApp`: the real service on a fresh database, bound to a free port on
//! loopback, with a small HTTP client. Each test gets its own database, so
//! tests run in parallel on both backends.

use std::net::TcpListener;

use actix_web::http::{header::HeaderMap, Method};
use diesel::{Connection, PgConnection, RunQueryDsl};
use invest_registry::auth::{Caller, Role, TokenKeys};
use invest_registry::config::AuthSettings;
use invest_registry::users::{self, NewUser};
use invest_registry::{db, Application, ServeOptions};
use serde_json::Value;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on. The tests never
/// skip PostgreSQL: when it is unreachable they fail and say so.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn);
            }
        }
    }
}

/// The secret the test service signs its tokens with.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// Every test user's password.
pub const PASSWORD: &str = "test password 123";

/// The callers every test app has: one user per role, two parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    ProvincialAdmin,
    ProvincialViewer,
    /// yueyang's administrator, staff and viewer
    ParkAdmin,
    ParkStaff,
    ParkViewer,
    /// a xiangtan staff member: the "other park"
    OtherParkStaff,
    Anonymous,
}

impl Who {
    pub const USERS: [Who; 6] =
        [Who::ProvincialAdmin, Who::ProvincialViewer, Who::ParkAdmin, Who::ParkStaff, Who::ParkViewer, Who::OtherParkStaff];

    pub fn username(self) -> &'static str {
        match self {
            Who::ProvincialAdmin => "admin",
            Who::ProvincialViewer => "analyst",
            Who::ParkAdmin => "yy.admin",
            Who::ParkStaff => "yy.staff",
            Who::ParkViewer => "yy.viewer",
            Who::OtherParkStaff => "xt.staff",
            Who::Anonymous => "",
        }
    }

    pub fn role(self) -> Role {
        match self {
            Who::ProvincialAdmin | Who::Anonymous => Role::ProvincialAdmin,
            Who::ProvincialViewer => Role::ProvincialViewer,
            Who::ParkAdmin => Role::ParkAdmin,
            Who::ParkStaff | Who::OtherParkStaff => Role::ParkStaff,
            Who::ParkViewer => Role::ParkViewer,
        }
    }

    pub fn park(self) -> Option<&'static str> {
        match self {
            Who::ParkAdmin | Who::ParkStaff | Who::ParkViewer => Some("yueyang"),
            Who::OtherParkStaff => Some("xiangtan"),
            _ => None,
        }
    }
}

/// Where a test app's read replica is.
pub enum TestReplica {
    /// The app's own database: every read is current, wherever it goes.
    TheDatabaseItself,
    /// The app's own database through a relay on this port of 127.0.0.1.
    TheDatabaseThrough(u16),
    At(String),
}

/// The default slow lane as on a two-core machine, whatever this one has:
/// one connection of its own and one spare (`db::lane`), so that tests take
/// the same paths everywhere.
fn two_core_lane() -> db::SlowLaneSettings {
    db::SlowLaneSettings { free_cores: u32::MAX, ..Default::default() }
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub database_url: String,
    pub keys: TokenKeys,
    /// Each test user's id.
    pub user_ids: std::collections::HashMap<Who, String>,
    /// The service's clock for rules that age (claims, lights): move it with `set_today`.
    pub clock: invest_registry::clock::Clock,
    /// The app's pool, for what only it knows (the reads the replica served).
    pub pool: db::DbPool,
    client: awc::Client,
    server: actix_web::dev::ServerHandle,
    _db: TestDb,
}

/// Requests as one caller (a bearer token, or none).
pub struct As<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

/// A response read whole: status, headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The `field`s named in a problem document's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Asserts a problem+json answer with `status` naming `field` with `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: &str, code: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.header("content-type").as_deref(), Some("application/problem+json"), "{}", self.text);
        assert_eq!(self.body["status"], status, "{}", self.text);
        let named = self.body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field && e["code"] == code));
        assert!(named, "expected error {field}/{code} in {}", self.text);
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, 1, None).await
    }

    /// [`TestApp::spawn`] with more workers (races need requests that run
    /// at once: one worker runs their statements one after the other) and a
    /// password-hashing gate of the test's own.
    pub async fn spawn_with(backend: Backend, workers: usize, hashing: Option<invest_registry::auth::HashGate>) -> TestApp {
        Self::spawn_with_lane(backend, workers, hashing, two_core_lane()).await
    }

    /// [`TestApp::spawn_with`] with a slow lane of the test's own (`db::lane`).
    pub async fn spawn_with_lane(
        backend: Backend,
        workers: usize,
        hashing: Option<invest_registry::auth::HashGate>,
        lane: db::SlowLaneSettings,
    ) -> TestApp {
        Self::spawn_full(backend, workers, hashing, lane, None).await
    }

    /// A PostgreSQL app whose lists and statistics may read from `replica`
    /// (`db::replica`), as `settings` say.
    pub async fn spawn_with_replica(replica: TestReplica, settings: db::ReplicaSettings) -> TestApp {
        Self::spawn_full(Backend::Postgres, 1, None, two_core_lane(), Some((replica, settings))).await
    }

    async fn spawn_full(
        backend: Backend,
        workers: usize,
        hashing: Option<invest_registry::auth::HashGate>,
        lane: db::SlowLaneSettings,
        replica: Option<(TestReplica, db::ReplicaSettings)>,
    ) -> TestApp {
        let (database_url, test_db) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("test.db").display().to_string();
                (url, TestDb::Sqlite(dir))
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("PostgreSQL tests need a server at {admin_url} (set TEST_POSTGRES_URL): {e}")
                });
                let name = format!("ir_test_{}", uuid::Uuid::now_v7().simple());
                diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).expect("create database");
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("TEST_POSTGRES_URL must end in /DATABASE"),
                };
                (url, TestDb::Postgres { admin_url, name })
            }
        };
        let mut pool = db::connect(&database_url, 4).expect("connect and migrate").with_slow_lane(&lane).expect("slow lane");
        if let Some((replica, settings)) = replica {
            let url = match replica {
                TestReplica::TheDatabaseItself => database_url.clone(),
                TestReplica::TheDatabaseThrough(port) => {
                    let (server, name) = database_url.rsplit_once('/').expect("a database name");
                    let user = server.rsplit_once('@').map_or("postgres://", |(user, _)| user);
                    format!("{user}@127.0.0.1:{port}/{name}")
                }
                TestReplica::At(url) => url,
            };
            pool = pool.with_replica(&url, settings, &lane).expect("replica");
        }
        let mut user_ids = std::collections::HashMap::new();
        {
            let mut conn = pool.get().expect("connection");
            for who in Who::USERS {
                let new = NewUser {
                    username: who.username().into(),
                    display_name: None,
                    password: PASSWORD.into(),
                    role: who.role(),
                    park_code: who.park().map(str::to_owned),
                };
                let hash = invest_registry::auth::passwords::hash(PASSWORD).ok();
                let user = users::create(&mut conn, &Caller::system("test-setup"), new, hash).expect("create test user");
                user_ids.insert(who, user.id);
            }
        }
        let settings = AuthSettings::with_secret(SECRET);
        let keys = TokenKeys::from_settings(&settings).expect("keys");
        let app_keys = TokenKeys::from_settings(&Self::auth_settings()).expect("keys");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let clock = invest_registry::clock::Clock::default();
        let options = ServeOptions {
            workers: Some(workers),
            cors_origins: vec!["https://frontend.example".into()],
            // As deployed: revocations must beat the recheck cache.
            recheck_after: std::time::Duration::from_secs(60),
            hashing,
            clock: clock.clone(),
            // Webhook receivers of the tests listen on loopback; retries come fast.
            webhooks: invest_registry::webhooks::WebhookOptions {
                allowed: std::sync::Arc::new(invest_registry::webhooks::AllowedHosts::new(&["127.0.0.1"])),
                retry_base: std::time::Duration::from_millis(50),
                poll: std::time::Duration::from_millis(50),
                // A silent receiver costs a test two seconds, not ten.
                timeout: std::time::Duration::from_secs(2),
                // Small enough that a test sees the log pruned.
                deliveries_kept: 5,
                ..Default::default()
            },
            ..ServeOptions::default()
        };
        let app = Application::with_pool(pool.clone(), app_keys, listener, options).expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = app.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            base,
            backend,
            database_url,
            keys,
            user_ids,
            clock,
            pool,
            client: awc::Client::builder().disable_redirects().finish(),
            server: handle,
            _db: test_db,
        }
    }

    /// The settings the test service runs with: a fixed secret, and an
    /// external identity provider whose RS256 key is in tests/fixtures.
    pub fn auth_settings() -> AuthSettings {
        let mut settings = AuthSettings::with_secret(SECRET);
        settings.jwt_public_key_file = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/idp-public.pem").into());
        settings.jwt_public_key_alg = "RS256".into();
        settings.jwt_external_issuer = Some("https://idp.example".into());
        settings.jwt_external_audience = Some("invest-registry".into());
        settings
    }

    /// A fresh access token for a test user, as a login would issue it.
    pub fn token(&self, who: Who) -> Option<String> {
        let id = self.user_ids.get(&who)?;
        // Each token its own session, as each login is: a logout ends its session's tokens.
        let session = uuid::Uuid::now_v7().to_string();
        let (token, _) = self.keys.issue(id, who.username(), who.role(), who.park(), 1, &session).ok()?;
        Some(token)
    }

    /// Requests as `who`.
    pub fn as_(&self, who: Who) -> As<'_> {
        As { app: self, token: self.token(who) }
    }

    /// Requests with this bearer token.
    pub fn with_token(&self, token: &str) -> As<'_> {
        As { app: self, token: Some(token.to_owned()) }
    }

    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Response {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut res = match body {
            Some(bytes) => req.send_body(bytes).await,
            None => req.send().await,
        }
        .expect("request sent");
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body read");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Response {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    // Without `as_`, requests are the provincial administrator's.
    pub async fn get(&self, path: &str) -> Response {
        self.as_(Who::ProvincialAdmin).get(path).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.as_(Who::ProvincialAdmin).post(path, body).await
    }

    pub async fn patch(&self, path: &str, if_match: Option<&str>, body: &Value) -> Response {
        self.as_(Who::ProvincialAdmin).patch(path, if_match, body).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Response {
        self.as_(Who::ProvincialAdmin).delete(path, if_match).await
    }

    /// Creates a project from `overrides` merged over a valid minimal body.
    pub async fn create_project(&self, overrides: Value) -> Value {
        let res = self.post("/api/v1/projects", &project_body(overrides)).await;
        assert_eq!(res.status, 201, "create: {}", res.text);
        res.body
    }

    /// Creates an investor from `overrides` merged over a valid minimal body.
    pub async fn create_investor(&self, overrides: Value) -> Value {
        let res = self.post("/api/v1/investors", &investor_body(overrides)).await;
        assert_eq!(res.status, 201, "create: {}", res.text);
        res.body
    }

    /// Creates a talent from `overrides` merged over a valid minimal body.
    pub async fn create_talent(&self, overrides: Value) -> Value {
        let res = self.post("/api/v1/talents", &talent_body(overrides)).await;
        assert_eq!(res.status, 201, "create: {}", res.text);
        res.body
    }
}

impl As<'_> {
    /// Sends with this caller's token, plus `headers`.
    pub async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Response {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("authorization", auth));
        }
        self.app.request(method, path, &all, body).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        self.send(Method::POST, path, &[("content-type", "application/json")], Some(bytes)).await
    }

    pub async fn patch(&self, path: &str, if_match: Option<&str>, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        let mut headers = vec![("content-type", "application/json")];
        if let Some(tag) = if_match {
            headers.push(("if-match", tag));
        }
        self.send(Method::PATCH, path, &headers, Some(bytes)).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = if_match.map(|t| vec![("if-match", t)]).unwrap_or_default();
        self.send(Method::DELETE, path, &headers, None).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped after (fields drop in order).
        drop(self.server.stop(false));
    }
}

/// A valid project body with `overrides` applied on top.
pub fn project_body(overrides: Value) -> Value {
    merged(
        serde_json::json!({
            "park_code": "yueyang",
            "name": "华芯先进封装项目",
            "industry": "electronic_information",
            "attraction_mode": "industrial_chain",
            "planned_investment_usd": 50_000_000,
        }),
        overrides,
    )
}

/// A valid investor body with `overrides` applied on top.
pub fn investor_body(overrides: Value) -> Value {
    merged(
        serde_json::json!({
            "park_code": "yueyang",
            "kind": "company",
            "name": "台積電股份有限公司",
            "origin": "taiwan",
            "region": "新竹",
            // Most tests add the same company many times; duplicates have tests of their own.
            "allow_same_name": true,
        }),
        overrides,
    )
}

/// A valid talent body with `overrides` applied on top.
pub fn talent_body(overrides: Value) -> Value {
    merged(
        serde_json::json!({
            "park_code": "yueyang",
            "full_name": "林怡君",
            "birth_year": 1994,
            "origin_region": "台中",
            "education": "master",
            "specialty": "electronic_information",
        }),
        overrides,
    )
}

/// `base` with each key of `overrides` set; a key `-k` with `null` removes `k`.
fn merged(mut body: Value, overrides: Value) -> Value {
    if let (Some(body), Some(overrides)) = (body.as_object_mut(), overrides.as_object()) {
        for (k, v) in overrides {
            if v.is_null() && k.starts_with('-') {
                body.remove(&k[1..]);
            } else {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    body
}

/// Percent-encodes a query value (Chinese text, `+`, `%`).
pub fn enc(value: &str) -> String {
    value.bytes().map(|b| match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
        _ => format!("%{b:02X}"),
    }).collect()
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL,
/// as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await
                }
                #[actix_web::test]
                async fn postgres() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await
                }
            }
        )*
    };
}
