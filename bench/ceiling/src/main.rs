//! The HTTP ceiling of the benchmark (bench/README.md): the two reads of
//! scenarios 1 and 2 with nothing around them. No auth, no logging, no
//! middleware; each worker keeps its own PostgreSQL connections with the
//! service's statements prepared once, and writes JSON into one string.
//!
//! DRIVER=libpq runs the same SQL through diesel's synchronous PgConnection
//! on the worker thread instead, one connection a worker, as the service runs
//! its fast reads (`db::run`): each request holds its worker until
//! PostgreSQL answers.
//!
//! Env: DATABASE_URL (required), BIND (127.0.0.1:18089), PARK (yueyang: the
//! scope the service takes from the park staff's token), CONNECTIONS_PER_WORKER
//! (4; tokio-postgres only), DRIVER (tokio-postgres or libpq), WORKERS
//! (actix's default: one a core).

use std::cell::{Cell, RefCell};
use std::fmt::{Display, Write};

use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamp, Untyped};
use tokio_postgres::{Client, NoTls, Row, Statement};

/// The columns `ProjectRow` selects, in its order (src/projects/model.rs):
/// the row (`search_text` read as empty, as the service reads it), its money
/// columns, the follow-up copy and the stamp of the monitoring rules.
const COLUMNS: &str = "projects.id, projects.park_code, projects.name, projects.summary, projects.industry, \
    projects.chain_role, projects.attraction_mode, projects.stage, projects.planned_investment_usd, \
    projects.actual_investment_usd, projects.hq_type, projects.high_tech, projects.land_area_mu, \
    projects.first_contact_on, projects.signed_on, projects.started_on, projects.operating_on, \
    projects.owner_id, projects.tags, projects.notes, '', projects.created_at, \
    projects.updated_at, projects.created_by, projects.updated_by, projects.version, projects.deleted_at, \
    projects.investor_ids_json, projects.stage_history_json, \
    projects.contracted_investment_usd, projects.registered_on, projects.planned_start_on, \
    projects.planned_operating_on, projects.last_follow_up_on, \
    (SELECT version FROM monitoring_rules WHERE id = 1), (SELECT updated_at FROM monitoring_rules WHERE id = 1)";

/// The statements as the service sends them for a park's staff (the park of
/// the token, then the list's `park` filter), in both drivers.
fn by_id_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM projects WHERE projects.deleted_at IS NULL AND projects.park_code = $1 \
         AND projects.id = $2 LIMIT $3"
    )
}

fn first_page_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM projects WHERE projects.deleted_at IS NULL AND projects.park_code = $1 \
         AND projects.park_code = ANY($2) ORDER BY projects.created_at DESC, projects.id DESC LIMIT $3"
    )
}

/// The page as the service sends it for one `park` (`records::one_of`:
/// `=`, not `= ANY`), for `DRIVER=libpq`.
fn first_page_of_one_park_sql() -> String {
    first_page_sql().replace("= ANY($2)", "= $2")
}

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
            let by_id = client.prepare(&by_id_sql()).await?;
            let first_page = client.prepare(&first_page_sql()).await?;
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

/// One worker's connection in `DRIVER=libpq`: diesel's synchronous
/// PgConnection, on the worker's thread as the service's pooled ones are.
/// Nothing awaits while it is borrowed, so the borrow never clashes.
struct Libpq {
    conn: RefCell<PgConnection>,
    park: String,
    by_id: String,
    first_page: String,
}

/// One of the two statements with its binds, sent as the service sends
/// them. Not `sql_query`: the read by id is kept prepared in the
/// connection's statement cache by its type (written once, as
/// `Stored::find`'s typed query); the page is sent unprepared, planned for
/// its values on every read, as the service's lists are on PostgreSQL
/// (`planned_for_values` in `db::search`).
struct Read<'a, K> {
    sql: &'a str,
    park: &'a str,
    key: K,
    limit: i64,
}

/// The second bind: the id, or the `park` filter.
trait Key {
    /// Whether the statement may stay prepared.
    const PREPARED: bool;
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

impl Key for &str {
    const PREPARED: bool = true;
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<Text, str>(self)
    }
}

/// The one park of a page's `park` filter.
struct Park<'a>(&'a str);

impl Key for Park<'_> {
    const PREPARED: bool = false;
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<Text, str>(self.0)
    }
}

impl<K: Key> QueryFragment<Pg> for Read<'_, K> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !K::PREPARED {
            out.unsafe_to_cache_prepared();
        }
        // The SQL between its placeholders `$1`..`$3`: diesel writes each
        // bind's `$n` back in the same order, so the text sent is the same.
        let mut parts = self.sql.split('$');
        out.push_sql(parts.next().unwrap_or_default());
        for (n, part) in parts.enumerate() {
            match n {
                0 => out.push_bind_param::<Text, str>(self.park)?,
                1 => self.key.bind(&mut out)?,
                _ => out.push_bind_param::<BigInt, i64>(&self.limit)?,
            }
            out.push_sql(&part[1..]);
        }
        Ok(())
    }
}

impl QueryId for Read<'_, &str> {
    type QueryId = Read<'static, &'static str>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for Read<'_, Park<'_>> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<K> Query for Read<'_, K> {
    type SqlType = Untyped;
}

impl<K> RunQueryDsl<PgConnection> for Read<'_, K> {}

/// The columns the JSON shows, borrowed from a tokio-postgres row (`&str`)
/// or decoded by diesel (`String`) by their names in `COLUMNS`; the first
/// `version` and `updated_at` of the row are the project's.
#[derive(QueryableByName)]
struct Fields<S> {
    #[diesel(sql_type = Text)]
    id: S,
    #[diesel(sql_type = Text)]
    park_code: S,
    #[diesel(sql_type = Text)]
    name: S,
    #[diesel(sql_type = Nullable<Text>)]
    summary: Option<S>,
    #[diesel(sql_type = Text)]
    industry: S,
    #[diesel(sql_type = Nullable<Text>)]
    chain_role: Option<S>,
    #[diesel(sql_type = Text)]
    attraction_mode: S,
    #[diesel(sql_type = Text)]
    stage: S,
    #[diesel(sql_type = BigInt)]
    planned_investment_usd: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    actual_investment_usd: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    hq_type: Option<S>,
    #[diesel(sql_type = Bool)]
    high_tech: bool,
    #[diesel(sql_type = Nullable<Double>)]
    land_area_mu: Option<f64>,
    #[diesel(sql_type = Nullable<Date>)]
    first_contact_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    signed_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    started_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    operating_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    owner_id: Option<S>,
    #[diesel(sql_type = Text)]
    tags: S,
    #[diesel(sql_type = Nullable<Text>)]
    notes: Option<S>,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    created_by: S,
    #[diesel(sql_type = Text)]
    updated_by: S,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Text)]
    investor_ids_json: S,
    #[diesel(sql_type = Text)]
    stage_history_json: S,
    #[diesel(sql_type = Nullable<BigInt>)]
    contracted_investment_usd: Option<i64>,
    #[diesel(sql_type = Nullable<Date>)]
    registered_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    planned_start_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    planned_operating_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    last_follow_up_on: Option<NaiveDate>,
}

impl<'r> Fields<&'r str> {
    fn of(r: &'r Row) -> Self {
        Fields {
            id: r.get(0),
            park_code: r.get(1),
            name: r.get(2),
            summary: r.get(3),
            industry: r.get(4),
            chain_role: r.get(5),
            attraction_mode: r.get(6),
            stage: r.get(7),
            planned_investment_usd: r.get(8),
            actual_investment_usd: r.get(9),
            hq_type: r.get(10),
            high_tech: r.get(11),
            land_area_mu: r.get(12),
            first_contact_on: r.get(13),
            signed_on: r.get(14),
            started_on: r.get(15),
            operating_on: r.get(16),
            owner_id: r.get(17),
            tags: r.get(18),
            notes: r.get(19),
            created_at: r.get(21),
            updated_at: r.get(22),
            created_by: r.get(23),
            updated_by: r.get(24),
            version: r.get(25),
            investor_ids_json: r.get(27),
            stage_history_json: r.get(28),
            contracted_investment_usd: r.get(29),
            registered_on: r.get(30),
            planned_start_on: r.get(31),
            planned_operating_on: r.get(32),
            last_follow_up_on: r.get(33),
        }
    }
}

#[get("/api/v1/projects/{id}")]
async fn one_project(db: web::Data<Db>, id: web::Path<String>) -> HttpResponse {
    let c = db.pick();
    match c.client.query_opt(&c.by_id, &[&db.park, &id.as_str(), &1i64]).await {
        Ok(Some(row)) => one(&Fields::of(&row)),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => failed(e),
    }
}

#[get("/api/v1/projects")]
async fn page_of_projects(db: web::Data<Db>, req: HttpRequest) -> HttpResponse {
    let (parks, limit) = page_query(&req);
    let c = db.pick();
    match c.client.query(&c.first_page, &[&db.park, &parks, &(limit + 1)]).await {
        Ok(rows) => page(rows.len(), rows.iter().map(Fields::of), limit),
        Err(e) => failed(e),
    }
}

/// `DRIVER=libpq`: the statement runs here, on the worker's thread, which
/// waits in libpq for PostgreSQL's answer as the service's workers do.
#[get("/api/v1/projects/{id}")]
async fn one_project_libpq(db: web::Data<Libpq>, id: web::Path<String>) -> HttpResponse {
    let read = Read { sql: &db.by_id, park: &db.park, key: id.as_str(), limit: 1 };
    match read.get_result::<Fields<String>>(&mut *db.conn.borrow_mut()).optional() {
        Ok(Some(row)) => one(&row),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => failed(e),
    }
}

#[get("/api/v1/projects")]
async fn page_of_projects_libpq(db: web::Data<Libpq>, req: HttpRequest) -> HttpResponse {
    let (parks, limit) = page_query(&req);
    // The benchmark's page filters on one park, the case this mode mirrors.
    let [park] = parks.as_slice() else {
        return HttpResponse::BadRequest().body("DRIVER=libpq serves pages of one park");
    };
    let read = Read { sql: &db.first_page, park: &db.park, key: Park(park), limit: limit + 1 };
    match read.load::<Fields<String>>(&mut *db.conn.borrow_mut()) {
        Ok(rows) => page(rows.len(), rows.into_iter(), limit),
        Err(e) => failed(e),
    }
}

fn page_query(req: &HttpRequest) -> (Vec<String>, i64) {
    let mut parks = Vec::new();
    let mut limit = 50i64;
    for pair in req.query_string().split('&') {
        match pair.split_once('=') {
            Some(("park", v)) => parks.push(v.to_owned()),
            Some(("limit", v)) => limit = v.parse().unwrap_or(50),
            _ => {}
        }
    }
    (parks, limit)
}

fn one<S: AsRef<str>>(row: &Fields<S>) -> HttpResponse {
    let mut out = String::with_capacity(1024);
    project(&mut out, row);
    json(out)
}

/// The page of `count` rows, read with one more than `limit` to tell
/// whether another page follows.
fn page<S: AsRef<str>>(count: usize, rows: impl Iterator<Item = Fields<S>>, limit: i64) -> HttpResponse {
    let shown = count.min(limit as usize);
    let mut out = String::with_capacity(1024 * (shown + 1));
    out.push_str("{\"items\":[");
    let mut last = None;
    for (i, row) in rows.take(shown).enumerate() {
        if i > 0 {
            out.push(',');
        }
        project(&mut out, &row);
        last = Some((row.created_at, row.id));
    }
    out.push_str("],\"next_cursor\":");
    // The service's cursor is base64 of the last row's key; the key in
    // plain text costs about the same.
    match last {
        Some((at, id)) if count > shown => {
            let _ = write!(out, "\"{}|{}\"", at.and_utc().timestamp_micros(), id.as_ref());
        }
        _ => out.push_str("null"),
    }
    out.push('}');
    json(out)
}

fn json(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

fn failed(e: impl Display) -> HttpResponse {
    eprintln!("query: {e}");
    HttpResponse::InternalServerError().finish()
}

/// Writes the row as the service's `Project` (without the light, which
/// the service judges by rules it keeps in memory); the stored JSON columns
/// are copied as they are.
fn project<S: AsRef<str>>(out: &mut String, r: &Fields<S>) {
    out.push('{');
    text(out, "id", r.id.as_ref());
    text(out, ",\"park_code", r.park_code.as_ref());
    text(out, ",\"name", r.name.as_ref());
    opt_text(out, ",\"summary", r.summary.as_ref());
    text(out, ",\"industry", r.industry.as_ref());
    opt_text(out, ",\"chain_role", r.chain_role.as_ref());
    text(out, ",\"attraction_mode", r.attraction_mode.as_ref());
    text(out, ",\"stage", r.stage.as_ref());
    let _ = write!(out, ",\"planned_investment_usd\":{}", r.planned_investment_usd);
    match r.actual_investment_usd {
        Some(v) => write!(out, ",\"actual_investment_usd\":{v}").unwrap_or(()),
        None => out.push_str(",\"actual_investment_usd\":null"),
    }
    match r.contracted_investment_usd {
        Some(v) => write!(out, ",\"contracted_investment_usd\":{v}").unwrap_or(()),
        None => out.push_str(",\"contracted_investment_usd\":null"),
    }
    opt_text(out, ",\"hq_type", r.hq_type.as_ref());
    let _ = write!(out, ",\"high_tech\":{}", r.high_tech);
    match r.land_area_mu {
        Some(v) => write!(out, ",\"land_area_mu\":{v}").unwrap_or(()),
        None => out.push_str(",\"land_area_mu\":null"),
    }
    date(out, ",\"first_contact_on", r.first_contact_on);
    date(out, ",\"signed_on", r.signed_on);
    date(out, ",\"registered_on", r.registered_on);
    date(out, ",\"started_on", r.started_on);
    date(out, ",\"operating_on", r.operating_on);
    date(out, ",\"planned_start_on", r.planned_start_on);
    date(out, ",\"planned_operating_on", r.planned_operating_on);
    opt_text(out, ",\"owner_id", r.owner_id.as_ref());
    raw(out, ",\"investor_ids", r.investor_ids_json.as_ref());
    raw(out, ",\"tags", r.tags.as_ref());
    opt_text(out, ",\"notes", r.notes.as_ref());
    raw(out, ",\"stage_history", r.stage_history_json.as_ref());
    date(out, ",\"last_follow_up_on", r.last_follow_up_on);
    time(out, ",\"created_at", r.created_at);
    time(out, ",\"updated_at", r.updated_at);
    text(out, ",\"created_by", r.created_by.as_ref());
    text(out, ",\"updated_by", r.updated_by.as_ref());
    let _ = write!(out, ",\"version\":{}}}", r.version);
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

fn opt_text(out: &mut String, k: &str, v: Option<&impl AsRef<str>>) {
    key(out, k);
    match v {
        Some(v) => escaped(out, v.as_ref()),
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
    let libpq = match std::env::var("DRIVER").as_deref() {
        Err(_) | Ok("tokio-postgres") => false,
        Ok("libpq") => true,
        Ok(other) => return Err(std::io::Error::other(format!("DRIVER: tokio-postgres or libpq, not {other}"))),
    };
    let workers: Option<usize> = std::env::var("WORKERS").ok().and_then(|v| v.parse().ok());
    let server = HttpServer::new(move || {
        let (url, park) = (url.clone(), park.clone());
        match libpq {
            false => App::new()
                .data_factory(move || {
                    let (url, park) = (url.clone(), park.clone());
                    async move { Db::open(&url, per_worker, park).await }
                })
                .service(one_project)
                .service(page_of_projects),
            // One connection a worker: a worker runs one statement at a time.
            true => App::new()
                .data_factory(move || {
                    let (url, park) = (url.clone(), park.clone());
                    async move {
                        let conn = RefCell::new(PgConnection::establish(&url)?);
                        Ok::<_, ConnectionError>(Libpq { conn, park, by_id: by_id_sql(), first_page: first_page_of_one_park_sql() })
                    }
                })
                .service(one_project_libpq)
                .service(page_of_projects_libpq),
        }
    });
    // Unset, actix's default, as before: compare the service at its WORKERS.
    let server = match workers {
        Some(n) => server.workers(n),
        None => server,
    };
    server.bind(bind)?.run().await
}
