//! The HTTP ceiling of the benchmark (bench/README.md): the two reads of
//! scenarios 1 and 2 with nothing around them. No auth, no logging, no
//! middleware; each worker keeps its own PostgreSQL connections with the
//! service's statements prepared once, and writes JSON into one string.
//!
//! Env: DATABASE_URL (required), BIND (127.0.0.1:18089), PARK (yueyang: the
//! scope the service takes from the park staff's token), CONNECTIONS_PER_WORKER (4).

use std::cell::Cell;
use std::fmt::Write;

use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use tokio_postgres::{Client, NoTls, Row, Statement};

/// The columns `ProjectRow` selects, in its order (src/projects/model.rs):
/// the row, its money columns, the follow-up copy and the stamp of the monitoring rules.
const COLUMNS: &str = "projects.id, projects.park_code, projects.name, projects.summary, projects.industry, \
    projects.chain_role, projects.attraction_mode, projects.stage, projects.planned_investment_usd, \
    projects.actual_investment_usd, projects.hq_type, projects.high_tech, projects.land_area_mu, \
    projects.first_contact_on, projects.signed_on, projects.started_on, projects.operating_on, \
    projects.owner_id, projects.tags, projects.notes, projects.search_text, projects.created_at, \
    projects.updated_at, projects.created_by, projects.updated_by, projects.version, projects.deleted_at, \
    projects.investor_ids_json, projects.stage_history_json, \
    projects.contracted_investment_usd, projects.registered_on, projects.planned_start_on, \
    projects.planned_operating_on, projects.last_follow_up_on, \
    (SELECT version FROM monitoring_rules WHERE id = 1), (SELECT updated_at FROM monitoring_rules WHERE id = 1)";

/// One worker's connections, used in turn; tokio-postgres pipelines the
/// requests that share one.
struct Db {
    connections: Vec<Prepared>,
    next: Cell<usize>,
    park: String,
}

struct Prepared {
    client: Client,
    by_id: Statement,
    first_page: Statement,
}

impl Db {
    async fn open(url: &str, count: usize, park: String) -> Result<Db, tokio_postgres::Error> {
        let mut connections = Vec::with_capacity(count);
        for _ in 0..count {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
            actix_web::rt::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("connection: {e}");
                }
            });
            // The statements as the service sends them for a park's staff
            // (the park of the token, then the list's `park` filter).
            let by_id = client
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM projects WHERE projects.deleted_at IS NULL AND projects.park_code = $1 \
                     AND projects.id = $2 LIMIT $3"
                ))
                .await?;
            let first_page = client
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM projects WHERE projects.deleted_at IS NULL AND projects.park_code = $1 \
                     AND projects.park_code = ANY($2) ORDER BY projects.created_at DESC, projects.id DESC LIMIT $3"
                ))
                .await?;
            connections.push(Prepared { client, by_id, first_page });
        }
        Ok(Db { connections, next: Cell::new(0), park })
    }

    fn pick(&self) -> &Prepared {
        let i = self.next.get();
        self.next.set((i + 1) % self.connections.len());
        &self.connections[i]
    }
}

#[get("/api/v1/projects/{id}")]
async fn one_project(db: web::Data<Db>, id: web::Path<String>) -> HttpResponse {
    let c = db.pick();
    match c.client.query_opt(&c.by_id, &[&db.park, &id.as_str(), &1i64]).await {
        Ok(Some(row)) => {
            let mut out = String::with_capacity(1024);
            project(&mut out, &row);
            json(out)
        }
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => failed(e),
    }
}

#[get("/api/v1/projects")]
async fn page_of_projects(db: web::Data<Db>, req: HttpRequest) -> HttpResponse {
    let mut parks = Vec::new();
    let mut limit = 50i64;
    for pair in req.query_string().split('&') {
        match pair.split_once('=') {
            Some(("park", v)) => parks.push(v.to_owned()),
            Some(("limit", v)) => limit = v.parse().unwrap_or(50),
            _ => {}
        }
    }
    let c = db.pick();
    let rows = match c.client.query(&c.first_page, &[&db.park, &parks, &(limit + 1)]).await {
        Ok(rows) => rows,
        Err(e) => return failed(e),
    };
    let shown = rows.len().min(limit as usize);
    let mut out = String::with_capacity(1024 * (shown + 1));
    out.push_str("{\"items\":[");
    for (i, row) in rows[..shown].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        project(&mut out, row);
    }
    out.push_str("],\"next_cursor\":");
    // The service's cursor is base64 of the last row's key; the key in
    // plain text costs about the same.
    match rows.len() > shown {
        true => {
            let last = &rows[shown - 1];
            let at: NaiveDateTime = last.get(21);
            let id: &str = last.get(0);
            let _ = write!(out, "\"{}|{}\"", at.and_utc().timestamp_micros(), id);
        }
        false => out.push_str("null"),
    }
    out.push('}');
    json(out)
}

fn json(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

fn failed(e: tokio_postgres::Error) -> HttpResponse {
    eprintln!("query: {e}");
    HttpResponse::InternalServerError().finish()
}

/// Writes the row as the service's `Project` (without the light, which
/// the service judges by rules it keeps in memory); the stored JSON columns
/// are copied as they are.
fn project(out: &mut String, r: &Row) {
    out.push('{');
    text(out, "id", r.get(0));
    text(out, ",\"park_code", r.get(1));
    text(out, ",\"name", r.get(2));
    opt_text(out, ",\"summary", r.get(3));
    text(out, ",\"industry", r.get(4));
    opt_text(out, ",\"chain_role", r.get(5));
    text(out, ",\"attraction_mode", r.get(6));
    text(out, ",\"stage", r.get(7));
    let _ = write!(out, ",\"planned_investment_usd\":{}", r.get::<_, i64>(8));
    match r.get::<_, Option<i64>>(9) {
        Some(v) => write!(out, ",\"actual_investment_usd\":{v}").unwrap_or(()),
        None => out.push_str(",\"actual_investment_usd\":null"),
    }
    match r.get::<_, Option<i64>>(29) {
        Some(v) => write!(out, ",\"contracted_investment_usd\":{v}").unwrap_or(()),
        None => out.push_str(",\"contracted_investment_usd\":null"),
    }
    opt_text(out, ",\"hq_type", r.get(10));
    let _ = write!(out, ",\"high_tech\":{}", r.get::<_, bool>(11));
    match r.get::<_, Option<f64>>(12) {
        Some(v) => write!(out, ",\"land_area_mu\":{v}").unwrap_or(()),
        None => out.push_str(",\"land_area_mu\":null"),
    }
    date(out, ",\"first_contact_on", r.get(13));
    date(out, ",\"signed_on", r.get(14));
    date(out, ",\"registered_on", r.get(30));
    date(out, ",\"started_on", r.get(15));
    date(out, ",\"operating_on", r.get(16));
    date(out, ",\"planned_start_on", r.get(31));
    date(out, ",\"planned_operating_on", r.get(32));
    opt_text(out, ",\"owner_id", r.get(17));
    raw(out, ",\"investor_ids", r.get(27));
    raw(out, ",\"tags", r.get(18));
    opt_text(out, ",\"notes", r.get(19));
    raw(out, ",\"stage_history", r.get(28));
    date(out, ",\"last_follow_up_on", r.get(33));
    time(out, ",\"created_at", r.get(21));
    time(out, ",\"updated_at", r.get(22));
    text(out, ",\"created_by", r.get(23));
    text(out, ",\"updated_by", r.get(24));
    let _ = write!(out, ",\"version\":{}}}", r.get::<_, i32>(25));
}

/// `"key":` then the value; `key` comes with its leading `,"` or `"`.
fn key(out: &mut String, key: &str) {
    if !key.starts_with(',') {
        out.push('"');
    }
    out.push_str(key);
    out.push_str("\":");
}

fn text(out: &mut String, k: &str, v: &str) {
    key(out, k);
    escaped(out, v);
}

fn opt_text(out: &mut String, k: &str, v: Option<&str>) {
    key(out, k);
    match v {
        Some(v) => escaped(out, v),
        None => out.push_str("null"),
    }
}

fn raw(out: &mut String, k: &str, v: &str) {
    key(out, k);
    out.push_str(v);
}

fn date(out: &mut String, k: &str, v: Option<NaiveDate>) {
    key(out, k);
    match v {
        Some(d) => write!(out, "\"{d}\"").unwrap_or(()),
        None => out.push_str("null"),
    }
}

fn time(out: &mut String, k: &str, v: NaiveDateTime) {
    key(out, k);
    out.push('"');
    out.push_str(&v.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true));
    out.push('"');
}

fn escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap_or(()),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(|_| std::io::Error::other("DATABASE_URL is required"))?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:18089".into());
    let park = std::env::var("PARK").unwrap_or_else(|_| "yueyang".into());
    let per_worker: usize = std::env::var("CONNECTIONS_PER_WORKER").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    HttpServer::new(move || {
        let (url, park) = (url.clone(), park.clone());
        App::new()
            .data_factory(move || {
                let (url, park) = (url.clone(), park.clone());
                async move { Db::open(&url, per_worker, park).await }
            })
            .service(one_project)
            .service(page_of_projects)
    })
    .bind(bind)?
    .run()
    .await
}
