//! Storage: one diesel connection type over SQLite and PostgreSQL, a pool,
//! embedded migrations, and the transaction helpers every write goes through.

mod lane;
mod manager;
mod migrate;
mod niced;
mod replica;
pub mod schema;
pub mod search;
pub(crate) mod select_text;
pub mod park_literal;
pub mod unread;
mod writers;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{Pool, PoolError, PooledConnection};

pub use lane::{SlowLaneSettings, SlowWork, DEFAULT_BUSY_FROM as DEFAULT_SLOW_WORK_BUSY_FROM, DEFAULT_FREE_CORES as DEFAULT_SLOW_WORK_FREE_CORES, DEFAULT_NICE as DEFAULT_SLOW_WORK_NICE};
pub use manager::{Backend, DbManager, PoolConnection, WAL_SIZE_LIMIT_BYTES};
pub use migrate::run_migrations;
pub use replica::{watch as watch_replica, ReplicaHealth, ReplicaSettings, Verdict as ReadVerdict};

use crate::error::ApiError;

/// One connection type for both backends; the variant is chosen from the URL
/// scheme by [`DbManager`], never by trial (SQLite would accept any string).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type PooledConn = PooledConnection<DbManager>;

/// Multi-row inserts do not go through diesel's multi-backend connection;
/// they run on the concrete one.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}
pub(crate) use insert_all;

/// Runs a typed statement on the concrete connection (`$c`), the body
/// written once per backend. Diesel's multi-backend connection writes a
/// statement's whole SQL every time it walks it, four times a statement,
/// even when the statement is kept prepared: on a read by id that cost more
/// than the rest of the read (bench/RESULTS.md, CPU per request). Reads by
/// id and the libraries' lists (`records::list`) run this way.
macro_rules! on_native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_native;

/// How long a request waits for a pooled connection by default. Requests
/// run their statements on the HTTP workers, so a long wait blocks a worker,
/// and with the database away every worker blocked: liveness hung for
/// seconds. Connections are only scarce when the database is unreachable.
pub const DEFAULT_POOL_WAIT: Duration = Duration::from_millis(250);

/// How long opening the pool's connections may take, and tools outside
/// requests (the command line) wait for one ([`DbPool::get`]).
const OPENING_WAIT: Duration = Duration::from_secs(10);

/// After the database failed to give a connection, requests answer 503 at
/// once for this long; after it they take a connection only if the pool has
/// one ready (see [`DbPool::checkout`]), so recovery needs no restart and no
/// request waits on a database that is away.
const OUTAGE_COOL_DOWN: Duration = Duration::from_millis(1000);

/// A storage failure (disk full, I/O error, a damaged page) keeps readiness
/// at 503 for this long after the last one.
const STORAGE_FAILURE_MEMORY: Duration = Duration::from_secs(30);

/// The connection pool and what the service has learnt about its database
/// (an outage, a storage failure), shared by every worker.
#[derive(Clone)]
pub struct DbPool {
    inner: Pool<DbManager>,
    backend: Backend,
    status: Arc<DbStatus>,
    manager: DbManager,
    /// How long a request waits for a connection ([`DbPool::checkout`]).
    wait: Duration,
    /// Connections of their own for slow work ([`run_heavy`]); `None`: it
    /// shares `inner`.
    slow: Option<Arc<lane::SlowLane>>,
    /// A read replica for lists and statistics (`replica`); `None`: the
    /// primary serves every read.
    replica: Option<Arc<replica::Replica>>,
    /// Requests' work run on the HTTP workers so far ([`run`]), on the
    /// primary and its replica alike: how busy the fast reads are, which
    /// decides whether the slow lane lends its spare connections (`lane`).
    /// Background work (webhooks, checkpoints) is not counted.
    fast_work: Arc<AtomicU64>,
}

/// Times are milliseconds since `started`; 0 means never.
struct DbStatus {
    started: Instant,
    /// Until when requests fail fast because the database is unreachable.
    down_until: AtomicU64,
    /// The last storage failure.
    storage_failed_at: AtomicU64,
    /// Requests waiting for a connection now (a gauge for /metrics).
    waiting: AtomicI64,
    /// A read replica's pool: its outages only send reads to the primary,
    /// and `replica` logs them in those words.
    of_replica: bool,
}

impl DbStatus {
    fn now_ms(&self) -> u64 {
        // +1 so that a moment in the first millisecond is not "never".
        self.started.elapsed().as_millis() as u64 + 1
    }
}

/// The pool's connections at one moment, for /metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolCounts {
    pub size: u32,
    pub idle: u32,
    pub waiting: i64,
}

/// The answer while the database is known to be away (the cool-down after a failure).
fn known_away() -> ApiError {
    ApiError::DatabaseDown("the database was unreachable moments ago".into())
}

impl DbPool {
    /// A connection for work outside requests (the command line, tests),
    /// which may wait longer than a request.
    pub fn get(&self) -> Result<PooledConn, PoolError> {
        self.inner.get_timeout(OPENING_WAIT)
    }

    /// A connection of the slow lane, or of the pool when there is no lane.
    /// Only the pool decides that the database is away: a lane short of
    /// connections (PostgreSQL's `max_connections`, a slow reconnect) must
    /// not turn the fast reads away too.
    fn checkout_slow(&self) -> Result<PooledConn, ApiError> {
        let Some(lane) = &self.slow else { return self.checkout() };
        if self.status.now_ms() < self.status.down_until.load(Ordering::Relaxed) {
            return Err(known_away());
        }
        lane.pool.get_timeout(lane::CONNECTION_WAIT).map_err(|e| ApiError::DatabaseDown(e.to_string()))
    }

    /// A connection for a request: 503 at once while the database is known
    /// to be away, and 503 after a short wait when no connection comes.
    pub fn checkout(&self) -> Result<PooledConn, ApiError> {
        let (pool, wait, status) = (&self.inner, self.wait, &self.status);
        let down_until = status.down_until.load(Ordering::Relaxed);
        if status.now_ms() < down_until {
            return Err(known_away());
        }
        if down_until != 0 {
            // During an outage requests only take a connection the pool
            // already has (it keeps reconnecting in the background), and
            // never wait for one: a wait blocks a worker, and liveness
            // waited behind the blocked workers.
            return match pool.try_get() {
                Some(conn) => {
                    if status.down_until.swap(0, Ordering::Relaxed) != 0 && !status.of_replica {
                        tracing::info!("the database is reachable again");
                    }
                    Ok(conn)
                }
                None => {
                    self.note_outage();
                    Err(known_away())
                }
            };
        }
        status.waiting.fetch_add(1, Ordering::Relaxed);
        let conn = pool.get_timeout(wait);
        status.waiting.fetch_sub(1, Ordering::Relaxed);
        conn.map_err(|e| {
            self.note_outage();
            ApiError::DatabaseDown(e.to_string())
        })
    }

    fn note_outage(&self) {
        let status = &self.status;
        let until = status.now_ms() + OUTAGE_COOL_DOWN.as_millis() as u64;
        // Log the start of an outage, not every request that meets it.
        let previous = status.down_until.swap(until, Ordering::Relaxed);
        if !status.of_replica && (previous == 0 || previous < status.now_ms().saturating_sub(OUTAGE_COOL_DOWN.as_millis() as u64)) {
            tracing::error!("the database is unreachable; answering 503 until it is back");
        }
    }

    fn note_storage_failure(&self, detail: &str) {
        let status = &self.status;
        let now = status.now_ms();
        let last = status.storage_failed_at.swap(now, Ordering::Relaxed);
        // Logged once per episode: a full disk fails every write.
        if last == 0 || now - last > STORAGE_FAILURE_MEMORY.as_millis() as u64 {
            tracing::error!(detail, "storage failure: the database cannot store or read data");
        }
    }

    /// Learns from a request's failure: a storage error turns readiness off
    /// for a while. A connection lost under a statement fails that request
    /// only (the pool drops the connection); only a pool that cannot connect
    /// opens the fast-503 window, so one killed session does not fail everyone.
    fn note(&self, err: &ApiError) {
        if let ApiError::Storage(detail) = err {
            self.note_storage_failure(detail);
        }
    }

    /// `result`, after learning from it: a connection that served it is
    /// trusted for a moment (no ping on its next checkout); a failure is
    /// noted instead ([`DbPool::note`]).
    fn noting<T>(&self, conn: &mut PooledConn, result: Result<T, ApiError>) -> Result<T, ApiError> {
        match &result {
            Ok(_) => conn.mark_worked(),
            Err(err) => self.note(err),
        }
        result
    }

    /// Readiness: 503 after a recent storage failure, or when a connection
    /// does not come within `wait` or cannot read a table. Blocking: call it
    /// off the workers.
    pub fn probe(&self, wait: Duration) -> Result<Backend, ApiError> {
        let failed_at = self.status.storage_failed_at.load(Ordering::Relaxed);
        if failed_at != 0 && self.status.now_ms() - failed_at < STORAGE_FAILURE_MEMORY.as_millis() as u64 {
            return Err(ApiError::Storage("a storage failure was seen in the last 30 seconds".into()));
        }
        let mut conn = self.inner.get_timeout(wait).map_err(|e| {
            self.note_outage();
            ApiError::DatabaseDown(e.to_string())
        })?;
        // A real table, not `SELECT 1`: a database whose files cannot be
        // read answers `SELECT 1` all the same.
        let result = users_readable(&mut conn);
        match &result {
            Err(err) => self.note(err),
            // The database is back: requests need not wait out the cool-down.
            Ok(()) => {
                if self.status.down_until.swap(0, Ordering::Relaxed) != 0 {
                    tracing::info!("the database is reachable again");
                }
            }
        }
        result.map(|()| backend_of(&conn))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn counts(&self) -> PoolCounts {
        let state = self.inner.state();
        PoolCounts { size: state.connections, idle: state.idle_connections, waiting: self.status.waiting.load(Ordering::Relaxed) }
    }

    /// Gives slow work ([`run_heavy`]) connections of its own, as `settings`
    /// say; with 0 connections it keeps sharing this pool.
    pub fn with_slow_lane(mut self, settings: &SlowLaneSettings) -> Result<Self, StartupError> {
        self.slow = match settings.connections {
            0 => None,
            _ => Some(Arc::new(lane::SlowLane::build(self.manager.clone(), settings, self.fast_work.clone())?)),
        };
        Ok(self)
    }

    /// The slow lane's requests running and waiting, for /metrics; `None` without a lane.
    pub fn slow_lane_counts(&self) -> Option<crate::admission::GateCounts> {
        self.slow.as_ref().map(|lane| lane.counts())
    }
}

fn users_readable(conn: &mut DbConnection) -> Result<(), ApiError> {
    use schema::users;
    users::table.select(users::id).limit(1).load::<String>(conn)?;
    Ok(())
}

/// Builds the pool after migrating the database on a dedicated connection.
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, StartupError> {
    connect_with(url, max_size, DEFAULT_POOL_WAIT)
}

/// [`connect`] with how long a request may wait for a connection.
pub fn connect_with(url: &str, max_size: u32, wait: Duration) -> Result<DbPool, StartupError> {
    let manager = DbManager::new(url)?;
    let mut conn = manager.establish()?;
    run_migrations(&mut conn)?;
    let backend = manager.backend();
    // The pool's timeout stays the requests' short wait: r2d2 also caps its
    // reconnect backoff at half of it, which is how fast the service comes
    // back after an outage. Opening the connections may take longer (a
    // loaded machine, a remote server), so the start waits for the first
    // one on its own terms; the others open in the background.
    let inner = Pool::builder().max_size(max_size).connection_timeout(wait).build_unchecked(manager.clone());
    drop(inner.get_timeout(OPENING_WAIT).map_err(|e| StartupError::Pool(e.to_string()))?);
    let status = DbStatus {
        started: Instant::now(),
        down_until: AtomicU64::new(0),
        storage_failed_at: AtomicU64::new(0),
        waiting: AtomicI64::new(0),
        of_replica: false,
    };
    Ok(DbPool { inner, backend, status: Arc::new(status), manager, wait, slow: None, replica: None, fast_work: Arc::default() })
}

/// A pool on a read replica: no migrations (a standby is read-only and
/// replays the primary's), and no connection needed to start: a replica
/// that is away sends the reads to the primary, it does not stop the service.
fn connect_replica(url: &str, max_size: u32, wait: Duration) -> Result<DbPool, StartupError> {
    let url = url.trim();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StartupError::InvalidReplica(format!("{url:?}: expected postgres://…")));
    }
    // Timeouts on connections (connects, keepalives) and on statements: a
    // replica host gone silent must not hold the workers (`replica`).
    let manager = DbManager::new(&replica::with_connection_parameters(url))?;
    let inner = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(wait)
        .connection_customizer(Box::new(replica::FastSession))
        .build_unchecked(manager.clone());
    let status = DbStatus {
        started: Instant::now(),
        down_until: AtomicU64::new(0),
        storage_failed_at: AtomicU64::new(0),
        waiting: AtomicI64::new(0),
        of_replica: true,
    };
    Ok(DbPool { inner, backend: Backend::Postgres, status: Arc::new(status), manager, wait, slow: None, replica: None, fast_work: Arc::default() })
}

impl DbPool {
    /// Lets lists, searches, counts, statistics and targets read from the
    /// replica at `url` as the rule of `replica` allows, with a pool and a
    /// slow lane of its own (as large as this pool's). PostgreSQL only.
    pub fn with_replica(mut self, url: &str, settings: ReplicaSettings, lane: &SlowLaneSettings) -> Result<Self, StartupError> {
        if self.backend != Backend::Postgres {
            return Err(StartupError::InvalidReplica("a replica needs a PostgreSQL DATABASE_URL; SQLite has none".into()));
        }
        let mut pool = connect_replica(url, self.inner.max_size(), self.wait)?;
        // The replica's lane lends its spare by the fast reads of both sides.
        pool.fast_work = self.fast_work.clone();
        let pool = pool.with_slow_lane(lane)?;
        self.replica = Some(Arc::new(replica::Replica::new(pool, settings, self.manager.clone())));
        Ok(self)
    }

    /// Where `caller`'s next read goes: see [`Reader`].
    pub fn reader(&self, caller: &str) -> Reader<'_> {
        let replica = self.replica.as_deref().filter(|replica| match replica.verdict(caller) {
            ReadVerdict::Replica => true,
            other => {
                replica.count(other);
                false
            }
        });
        Reader { primary: self, replica }
    }

    /// `caller`'s write request was answered: their reads stay on the
    /// primary until the replica has it.
    pub fn note_write(&self, caller: &str) {
        if let Some(replica) = &self.replica {
            replica.wrote(caller);
        }
    }

    /// The replica's state; `None` without one.
    pub fn replica_health(&self) -> Option<ReplicaHealth> {
        self.replica.as_ref().map(|r| r.health())
    }

    /// Reads routed so far, by verdict; `None` without a replica.
    pub fn replica_reads(&self) -> Option<[(ReadVerdict, u64); 4]> {
        self.replica.as_ref().map(|r| r.read_counts())
    }
}

/// Where one caller's read goes: the read replica when the rule of
/// `replica` allows it (the caller's own writes are on it, it lags less
/// than the bound, it answers), else the primary. Ask for one with
/// [`DbPool::reader`] (handlers: `AppState::reader`), then run the read
/// with [`read_list`] or [`read_heavy`]. Only reads that may be a moment
/// stale for others take one; a read that checks before a write never does.
pub struct Reader<'a> {
    primary: &'a DbPool,
    /// The replica, when it was chosen.
    replica: Option<&'a replica::Replica>,
}

/// [`run_list`] on the side `reader` chose. A read the replica fails
/// because it is away (no connection, a session cut off) or because replay
/// cancelled it (a recovery conflict) runs again on the primary, so a
/// replica that is away costs time, never an error; the reads after it go
/// to the primary until the watcher hears from the replica again. Any other
/// failure (a statement timeout, a full lane, a bug) is the answer: running
/// it again on the primary would move the replica's load, or the bug, there.
/// `work` is cloned for that second chance (its captures are a scope and a
/// filter).
pub async fn read_list<T, F>(reader: &Reader<'_>, slow: bool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Clone + Send + 'static,
{
    if let Some(replica) = reader.replica {
        match run_list(&replica.pool, slow, work.clone()).await {
            Err(err) if replica::is_away(&err) => {
                replica.failed(&err);
                replica.count(ReadVerdict::Down);
            }
            answer => {
                replica.count(ReadVerdict::Replica);
                return answer;
            }
        }
    }
    run_list(reader.primary, slow, work).await
}

/// [`run_heavy`] on the side `reader` chose (see [`read_list`]), every
/// statement planned for its values ([`with_custom_plans`]).
pub async fn read_heavy<T, F>(reader: &Reader<'_>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Clone + Send + 'static,
{
    read_list(reader, true, move |conn| with_custom_plans(conn, work)).await
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    #[error("invalid DATABASE_REPLICA_URL: {0}")]
    InvalidReplica(String),
    #[error("cannot open the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot prepare the database: {0}")]
    Setup(#[from] diesel::result::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    #[error("token keys: {0}")]
    Keys(String),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

/// Runs a request's database work with a pooled connection, on the worker
/// thread itself.
///
/// A request's statements are short (index lookups and ranges), and handing
/// them to the blocking pool cost more than waiting for them: two thread
/// switches a call, a fifth of the service's time under load; inline,
/// get-by-id went from about 8,000 to 9,000 req/s and its p99 from 36 to 17 ms
/// (bench/RESULTS.md). Workers outnumber cores four to one, so others serve
/// while one waits, and the pool holds a connection for each of them.
/// Work that is slow by design goes through [`run_heavy`], on connections
/// of its own.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    pool.fast_work.fetch_add(1, Ordering::Relaxed);
    let mut conn = pool.checkout()?;
    let result = work(&mut conn);
    pool.noting(&mut conn, result)
}

/// Runs work that is slow by design on the blocking pool, off the workers,
/// in the slow lane (`lane`): it waits its turn there without holding a
/// thread, or is answered 503 when the lane's queue is full; the fast reads
/// never wait behind it for a connection. For short slow work (statistics,
/// targets, counts), which may borrow the lane's spare connection.
pub async fn run_heavy<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let turn = pool.slow_turn(SlowWork::Short).await?;
    run_in_turn(pool, turn, work).await
}

/// [`run_heavy`] for work that may run for minutes (an import, a change of
/// the monitoring rules), which never borrows the lane's spare connection.
pub async fn run_long<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let turn = pool.slow_turn(SlowWork::Long).await?;
    run_in_turn(pool, turn, work).await
}

/// A turn in the slow lane ([`DbPool::slow_turn`]); the lane's connection
/// is free for it until its last clone is dropped.
#[derive(Clone)]
pub struct SlowTurn(#[allow(dead_code)] Option<Arc<crate::admission::Pass>>);

impl DbPool {
    /// Waits for a turn in the slow lane for `work` (none is needed without a lane).
    pub async fn slow_turn(&self, work: SlowWork) -> Result<SlowTurn, ApiError> {
        Ok(SlowTurn(match &self.slow {
            Some(lane) => Some(Arc::new(lane.enter(work).await?)),
            None => None,
        }))
    }
}

/// [`run_heavy`] in a turn taken already: an export holds one turn from
/// its first page to its last, so that a full lane cannot cut it short
/// once its answer has started. With a lane, the work runs on its threads
/// of lower priority (`niced`); without, on the blocking pool.
pub async fn run_in_turn<T, F>(pool: &DbPool, turn: SlowTurn, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let lane = pool.slow.clone();
    let pool = pool.clone();
    let job = move || {
        // Held until the work ends, even if the client hung up meanwhile.
        let _turn = turn;
        let mut conn = pool.checkout_slow()?;
        let result = work(&mut conn);
        pool.noting(&mut conn, result)
    };
    match lane {
        Some(lane) => lane.threads.run(job).await?,
        None => on_blocking_pool(job).await,
    }
}

/// Runs background work (webhook deliveries) on the blocking pool with the
/// pool's own connections: its statements are short, but it must hold no
/// HTTP worker, and the slow lane must never turn it away.
pub async fn run_blocking<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let pool = pool.clone();
    on_blocking_pool(move || {
        let mut conn = pool.checkout()?;
        let result = work(&mut conn);
        pool.noting(&mut conn, result)
    })
    .await
}

async fn on_blocking_pool<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    actix_web::web::block(work).await.map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
}

/// Runs a list's work: on the workers ([`run`]) as a page's few index reads
/// are, or in the slow lane ([`run_heavy`]) when it is `slow`: it counts
/// every matching row (`count=true`) or searches words (`q`), reading as
/// much as the filters match (a rare word, up to hundreds of milliseconds
/// at 1M rows). The work plans its statements for their values itself
/// (`records::list`, or [`with_custom_plans`]).
pub async fn run_list<T, F>(pool: &DbPool, slow: bool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    if slow {
        run_heavy(pool, work).await
    } else {
        run(pool, work).await
    }
}

/// Runs statements with plans made for their values (statistics, targets,
/// claims; the libraries' lists mark theirs, `records::list`). Diesel keeps
/// statements prepared, and after five runs PostgreSQL may switch one to a
/// generic plan for every value: a filter planned for an average value
/// (walk the order's index, a match comes soon) then serves a value no row
/// holds and reads the whole table (0.1 ms → 430 ms at 200k investors,
/// issue 16). Only lists pay for planning every run: for a read by id it
/// cost more than the read (pgbench, 1M projects: 29,000 → 11,000 a second).
pub fn with_custom_plans<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>) -> Result<T, ApiError> {
    if !matches!(conn, DbConnection::Pg(_)) {
        return work(conn);
    }
    diesel::sql_query("SET plan_cache_mode = force_custom_plan").execute(conn)?;
    let result = work(conn);
    // A connection that cannot take this is broken, and its error is the answer.
    diesel::sql_query("RESET plan_cache_mode").execute(conn)?;
    result
}

/// Runs `work` in one write transaction: everything it does, audit rows
/// included, commits together or not at all.
///
/// SQLite transactions start `IMMEDIATE` so that a read-then-write never
/// fails with SQLITE_BUSY when another writer committed in between; before
/// that, the writers of this process take turns in arrival order
/// (`writers`), and the busy timeout queues them behind other processes.
///
/// Inside another write transaction (an import writes every row in one) it
/// is a savepoint: `work` failing undoes its own part and no more.
pub fn write_tx<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    let nested = Manager::transaction_manager_status_mut(conn).transaction_depth()?.is_some();
    // Held until the transaction ends (the end of this function).
    let _turn;
    match conn {
        _ if nested => Manager::begin_transaction(conn)?,
        DbConnection::Sqlite(c) => {
            _turn = writers::take_turn(c);
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error says more than a failed rollback would.
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// Empties SQLite's WAL into the database and truncates the file (see
/// `manager::configure_sqlite`); nothing to do on PostgreSQL. It waits for
/// the write lock like any writer (the busy timeout), so it never fails a
/// request; a checkpoint that cannot finish now is tried again next time.
pub fn checkpoint(pool: &DbPool) -> Result<Checkpoint, ApiError> {
    let mut conn = pool.checkout()?;
    match &mut **conn {
        DbConnection::Sqlite(c) => Ok(diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(c)?),
        DbConnection::Pg(_) => Ok(Checkpoint { busy: 0, log: 0, checkpointed: 0 }),
    }
}

/// What `PRAGMA wal_checkpoint` answers: whether it was blocked, and the
/// WAL's frames before it and those it copied into the database.
#[derive(Debug, QueryableByName)]
pub struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub checkpointed: i32,
}

/// Which backend a connection talks to, for the few statements that differ.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}
