//! Opens connections for the pool, choosing the backend from the URL scheme.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, R2D2Connection};

use super::{DbConnection, StartupError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone)]
pub struct DbManager {
    backend: Backend,
    /// The URL as the driver wants it (for SQLite: a plain file path).
    url: String,
}

impl DbManager {
    /// `postgres://` or `postgresql://` selects PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` or a bare path selects SQLite, creating the file's folder.
    pub fn new(url: &str) -> Result<Self, StartupError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, url: url.to_owned() });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StartupError::InvalidUrl(format!(
                "{url:?}: expected postgres://…, sqlite://PATH or a file path"
            )));
        }
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StartupError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        Ok(Self { backend: Backend::Sqlite, url: path.to_owned() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn establish(&self) -> Result<DbConnection, StartupError> {
        Ok(match self.backend {
            Backend::Postgres => DbConnection::Pg(PgConnection::establish(&self.url)?),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                configure_sqlite(&mut conn)?;
                DbConnection::Sqlite(conn)
            }
        })
    }
}

/// The WAL file is cut back to this size after each checkpoint that empties it.
pub const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// WAL lets readers proceed during a write; the busy timeout queues writers
/// instead of failing them; foreign keys are off by default in SQLite.
///
/// A WAL file never shrinks by itself: 40 s of writes left one of 345 MB.
/// `journal_size_limit` truncates it once a checkpoint has emptied it, and
/// the service runs a truncating checkpoint every 10 s (`db::checkpoint`),
/// since the automatic ones (every 1,000 pages) cannot empty the file while
/// readers keep arriving.
fn configure_sqlite(conn: &mut SqliteConnection) -> QueryResult<()> {
    diesel::sql_query("PRAGMA busy_timeout = 10000").execute(conn)?;
    diesel::sql_query("PRAGMA journal_mode = WAL").execute(conn)?;
    diesel::sql_query("PRAGMA wal_autocheckpoint = 1000").execute(conn)?;
    diesel::sql_query(format!("PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")).execute(conn)?;
    diesel::sql_query("PRAGMA synchronous = NORMAL").execute(conn)?;
    diesel::sql_query("PRAGMA foreign_keys = ON").execute(conn)?;
    Ok(())
}

/// A connection that answered a request's statements this long ago is lent
/// again without the round trip of a ping.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// A pooled connection, with when it last served a request without error.
///
/// The pool pings a connection before lending it, so that one the server
/// ended while it lay idle is replaced rather than failing a request. Under
/// load that ping was one statement in five of every read; a connection that
/// has just worked is lent as it is. One the server ends within that second
/// fails its next request with 503 (as any statement on it would), is not
/// marked again, and is pinged and replaced on the checkout after.
pub struct PoolConnection {
    conn: DbConnection,
    worked_at: Option<Instant>,
}

impl PoolConnection {
    /// Call when a request's work on the connection succeeded.
    pub fn mark_worked(&mut self) {
        self.worked_at = Some(Instant::now());
    }
}

impl Deref for PoolConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl ManageConnection for DbManager {
    type Connection = PoolConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConnection, Self::Error> {
        let conn = self.establish().map_err(|e| match e {
            StartupError::Connect(c) => diesel::r2d2::Error::ConnectionError(c),
            StartupError::Setup(q) => diesel::r2d2::Error::QueryError(q),
            other => diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })?;
        Ok(PoolConnection { conn, worked_at: None })
    }

    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), Self::Error> {
        if conn.worked_at.is_some_and(|at| at.elapsed() < TRUSTED_FOR) {
            return Ok(());
        }
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        std::thread::panicking() || conn.conn.is_broken()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use diesel::dsl::sql;
    use diesel::sql_types::Integer;

    /// A session the server ended: trusted (and so not noticed) for a moment
    /// after it last worked, pinged and refused once that moment is over.
    #[test]
    fn only_a_connection_that_has_just_worked_skips_the_ping() {
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else { return };
        let manager = DbManager::new(&url).unwrap();
        let mut conn = manager.connect().unwrap();
        assert!(manager.is_valid(&mut conn).is_ok(), "a live connection passes its ping");
        let pid: i32 = diesel::select(sql::<Integer>("pg_backend_pid()")).get_result(&mut *conn).unwrap();
        let mut admin = manager.establish().unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid})")).execute(&mut admin).unwrap();

        conn.mark_worked();
        assert!(manager.is_valid(&mut conn).is_ok(), "lent without a ping");
        conn.worked_at = Instant::now().checked_sub(TRUSTED_FOR);
        assert!(manager.is_valid(&mut conn).is_err(), "pinged once the moment is over");
    }
}
