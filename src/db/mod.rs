//! Storage: one diesel connection type over SQLite and PostgreSQL, a pool,
//! embedded migrations, and the transaction helpers every write goes through.

mod manager;
mod migrate;
pub mod schema;
pub mod search;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{Pool, PooledConnection};

pub use manager::{Backend, DbManager};
pub use migrate::run_migrations;

use crate::error::ApiError;

/// One connection type for both backends; the variant is chosen from the URL
/// scheme by [`DbManager`], never by trial (SQLite would accept any string).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<DbManager>;
pub type PooledConn = PooledConnection<DbManager>;

/// Builds the pool after migrating the database on a dedicated connection.
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, StartupError> {
    let manager = DbManager::new(url)?;
    let mut conn = manager.establish()?;
    run_migrations(&mut conn)?;
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .map_err(|e| StartupError::Pool(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
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
/// Work that is slow by design goes through [`run_heavy`].
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    work(&mut conn)
}

/// Runs slow work (password hashing) on the blocking pool, off the workers.
pub async fn run_heavy<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
        work(&mut conn)
    })
    .await
    .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
}

/// Runs `work` in one write transaction: everything it does, audit rows
/// included, commits together or not at all.
///
/// SQLite transactions start `IMMEDIATE` so that a read-then-write never
/// fails with SQLITE_BUSY when another writer committed in between; the
/// busy timeout then queues writers instead.
pub fn write_tx<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    type Manager = <DbConnection as Connection>::TransactionManager;
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

/// Which backend a connection talks to, for the few statements that differ.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}
