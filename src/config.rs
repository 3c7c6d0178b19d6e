//! Settings, read from the environment (or the matching command-line flag).

use clap::Args;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DbSettings {
    /// `postgres://user@host:port/db` for PostgreSQL; a file path, `sqlite://PATH`
    /// or `sqlite:PATH` for the embedded SQLite database.
    #[arg(long, env = "DATABASE_URL", default_value = "data/invest-registry.db")]
    pub database_url: String,

    /// Connections kept in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub db: DbSettings,

    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
}
