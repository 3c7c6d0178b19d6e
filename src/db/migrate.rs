//! Migrations are embedded in the binary, one tree per backend, and run on the
//! concrete connection before the pool hands out any.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConnection, StartupError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, StartupError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| v.len()),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(|v| v.len()),
    }
    .map_err(|e| StartupError::Migrate(e.to_string()))?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    Ok(applied)
}
