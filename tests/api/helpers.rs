//! `TestApp`: the real service on a fresh database, bound to a free port on
//! loopback, with a small HTTP client. Each test gets its own database, so
//! tests run in parallel on both backends.

use std::net::TcpListener;

use actix_web::http::{header::HeaderMap, Method};
use diesel::{Connection, PgConnection, RunQueryDsl};
use invest_registry::{db, Application};
use serde_json::Value;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on. The tests never
/// skip PostgreSQL: when it is unreachable they fail and say so.
fn postgres_admin_url() -> String {
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

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub database_url: String,
    client: awc::Client,
    server: actix_web::dev::ServerHandle,
    _db: TestDb,
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
        let pool = db::connect(&database_url, 4).expect("connect and migrate");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let app = Application::with_pool(pool, listener, Some(1)).expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = app.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            base,
            backend,
            database_url,
            client: awc::Client::builder().disable_redirects().finish(),
            server: handle,
            _db: test_db,
        }
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

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        self.request(Method::POST, path, &[("content-type", "application/json")], Some(bytes)).await
    }

    pub async fn patch(&self, path: &str, if_match: Option<&str>, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        let mut headers = vec![("content-type", "application/json")];
        if let Some(tag) = if_match {
            headers.push(("if-match", tag));
        }
        self.request(Method::PATCH, path, &headers, Some(bytes)).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = if_match.map(|t| vec![("if-match", t)]).unwrap_or_default();
        self.request(Method::DELETE, path, &headers, None).await
    }

    /// Creates a project from `overrides` merged over a valid minimal body.
    pub async fn create_project(&self, overrides: Value) -> Value {
        let res = self.post("/api/v1/projects", &project_body(overrides)).await;
        assert_eq!(res.status, 201, "create: {}", res.text);
        res.body
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
    let mut body = serde_json::json!({
        "park_code": "yueyang",
        "name": "华芯先进封装项目",
        "industry": "electronic_information",
        "attraction_mode": "industrial_chain",
        "planned_investment_usd": 50_000_000,
    });
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
