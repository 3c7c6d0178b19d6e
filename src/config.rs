//! Settings, read from the environment (or the matching command-line flag).

use clap::Args;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DbSettings {
    /// `postgres://user@host:port/db` for PostgreSQL; a file path, `sqlite://PATH`
    /// or `sqlite:PATH` for the embedded SQLite database.
    #[arg(long, env = "DATABASE_URL", default_value = "data/invest-registry.db")]
    pub database_url: String,

    /// Connections kept in the pool (default: two per HTTP worker).
    #[arg(long, env = "DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,

    /// Milliseconds a request waits for a pooled connection before 503.
    /// Short on purpose: requests wait on the HTTP workers, and connections
    /// only run out when the database is away.
    #[arg(long, env = "DB_POOL_WAIT_MS", default_value_t = 250)]
    pub db_pool_wait_ms: u64,

    /// `postgres://…` of a streaming replica of `DATABASE_URL` that lists,
    /// searches, counts, statistics and targets may read from (see
    /// `db::replica` for when they do). PostgreSQL only; unset: none.
    #[arg(long, env = "DATABASE_REPLICA_URL")]
    pub database_replica_url: Option<String>,

    /// Milliseconds the replica may be behind the primary and still serve reads.
    #[arg(long, env = "REPLICA_MAX_LAG_MS", default_value_t = 2000)]
    pub replica_max_lag_ms: u64,
}

impl DbSettings {
    /// The replica's URL, when one is set (an empty value is none).
    pub fn replica_url(&self) -> Option<&str> {
        self.database_replica_url.as_deref().map(str::trim).filter(|url| !url.is_empty())
    }
}

impl Settings {
    /// Four workers a core: each waits for its statements (see `db::run`).
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| 4 * crate::machine::cores())
    }

    /// The password-hashing gate of these settings.
    pub fn hash_gate(&self) -> crate::auth::HashGate {
        let permits = self.login_hash_permits.unwrap_or_else(crate::auth::HashGate::default_permits).max(1);
        let queue = self.login_queue.unwrap_or(8 * permits);
        crate::auth::HashGate::new(permits, queue, std::time::Duration::from_secs(2))
    }

    /// A connection for each worker's statement, and as many again for work
    /// that holds one longer (logins hash passwords on the blocking pool).
    pub fn pool_size(&self) -> u32 {
        self.db.db_pool_size.unwrap_or(2 * self.workers() as u32)
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub db: DbSettings,

    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// HTTP worker threads (default: four per core). Workers wait for their
    /// own database statements, so more workers than cores keep the cores busy.
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,

    /// Origins allowed to call the API from a browser, comma-separated
    /// (`https://zhaoshang.example.cn`); none by default.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// Address for a second listener serving `/metrics` (Prometheus text
    /// format) and nothing else, e.g. `127.0.0.1:9464`; no metrics when unset.
    /// The API port never serves them.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Password hashes computed at once (default: one per core but one, at
    /// least one: a core stays free for reads during a login storm). Each
    /// argon2id check takes about 19 MiB, so this bounds logins' memory too.
    #[arg(long, env = "LOGIN_HASH_PERMITS")]
    pub login_hash_permits: Option<usize>,

    /// Logins that may wait for a hashing permit (default: eight per
    /// permit); more are answered 503 with Retry-After at once.
    #[arg(long, env = "LOGIN_QUEUE")]
    pub login_queue: Option<usize>,

    #[command(flatten)]
    pub auth: AuthSettings,

    #[command(flatten)]
    pub webhooks: WebhookSettings,

    #[command(flatten)]
    pub slow_work: SlowWorkSettings,
}

/// How callers prove who they are.
#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// Secret for the HS256 tokens this service issues. When unset, a strong
    /// secret is generated once and kept in DATA_DIR/jwt-secret (mode 0600).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Folder for files the service keeps (the generated secret).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: String,

    /// `iss` of the tokens this service issues and accepts.
    #[arg(long, env = "JWT_ISSUER", default_value = "invest-registry")]
    pub jwt_issuer: String,

    /// `aud` of the tokens this service issues and accepts.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "invest-registry")]
    pub jwt_audience: String,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: i64,

    /// Refresh-token lifetime in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value_t = 14 * 24 * 3600)]
    pub refresh_token_ttl: i64,

    /// Public key (PEM file) of an external identity provider whose tokens are accepted too.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<String>,

    /// The one algorithm of that key: RS256 or ES256.
    #[arg(long, env = "JWT_PUBLIC_KEY_ALG", default_value = "RS256")]
    pub jwt_public_key_alg: String,

    /// `iss` the external provider's tokens must carry.
    #[arg(long, env = "JWT_EXTERNAL_ISSUER")]
    pub jwt_external_issuer: Option<String>,

    /// `aud` the external provider's tokens must carry.
    #[arg(long, env = "JWT_EXTERNAL_AUDIENCE")]
    pub jwt_external_audience: Option<String>,

    /// Claim of an external token holding the role.
    #[arg(long, env = "JWT_ROLE_CLAIM", default_value = "role")]
    pub jwt_role_claim: String,

    /// Claim of an external token holding the park code.
    #[arg(long, env = "JWT_PARK_CLAIM", default_value = "park")]
    pub jwt_park_claim: String,

    /// Claim of an external token holding the username (falls back to `sub`).
    #[arg(long, env = "JWT_USERNAME_CLAIM", default_value = "preferred_username")]
    pub jwt_username_claim: String,

    /// Seconds a token's live check (not revoked, user unchanged) is trusted
    /// before it is repeated; 0 checks every request. Logouts and user changes
    /// made through this instance take effect at once regardless; other
    /// instances on the same database see them within this time.
    #[arg(long, env = "AUTH_RECHECK_SECONDS", default_value_t = 5)]
    pub auth_recheck_seconds: u64,

    /// Take the client address for login throttling from X-Forwarded-For
    /// (only behind a proxy that sets it).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
}

impl AuthSettings {
    /// Settings with a fixed secret and the defaults otherwise (tests, tools).
    pub fn with_secret(secret: &str) -> Self {
        Self {
            jwt_secret: Some(secret.to_owned()),
            data_dir: "data".into(),
            jwt_issuer: "invest-registry".into(),
            jwt_audience: "invest-registry".into(),
            access_token_ttl: 900,
            refresh_token_ttl: 14 * 24 * 3600,
            jwt_public_key_file: None,
            jwt_public_key_alg: "RS256".into(),
            jwt_external_issuer: None,
            jwt_external_audience: None,
            jwt_role_claim: "role".into(),
            jwt_park_claim: "park".into(),
            jwt_username_claim: "preferred_username".into(),
            auth_recheck_seconds: 5,
            trust_forwarded_for: false,
        }
    }
}

/// Where webhooks may point and how deliveries are retried.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Hosts or addresses webhooks may reach although they are private,
    /// loopback or otherwise not public, comma-separated (`127.0.0.1,hooks.internal`).
    #[arg(long, env = "WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,

    /// Seconds before the first retry of a failed delivery; the wait doubles
    /// with each failure, up to an hour, and a hook failing for 24 hours is paused.
    #[arg(long, env = "WEBHOOK_RETRY_BASE_SECONDS", default_value_t = 10)]
    pub webhook_retry_base_seconds: u64,

    /// Seconds a receiver may take to answer.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u64,

    /// Hooks served at once: one delivery in flight per hook, and one park's
    /// hooks take at most half of the places.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 8)]
    pub webhook_concurrency: usize,

    /// Attempts kept in each hook's delivery log; older ones are pruned.
    #[arg(long, env = "WEBHOOK_DELIVERIES_KEPT", default_value_t = 1000)]
    pub webhook_deliveries_kept: i64,
}

impl WebhookSettings {
    pub fn options(&self) -> crate::webhooks::WebhookOptions {
        let defaults = crate::webhooks::WebhookOptions::default();
        crate::webhooks::WebhookOptions {
            allowed: std::sync::Arc::new(crate::webhooks::AllowedHosts::new(&self.webhook_allowed_hosts)),
            retry_base: std::time::Duration::from_secs(self.webhook_retry_base_seconds.max(1)),
            timeout: std::time::Duration::from_secs(self.webhook_timeout_seconds.clamp(1, 60)),
            concurrency: self.webhook_concurrency.clamp(1, 64),
            deliveries_kept: self.webhook_deliveries_kept.max(1),
            ..defaults
        }
    }
}

/// The slow lane: connections of their own for work that is slow by design
/// (exports, imports, statistics, targets, counts, searches; see `db::lane`).
#[derive(Debug, Clone, Args)]
pub struct SlowWorkSettings {
    /// Connections for slow work, and so at most as many slow requests
    /// running at once (see `slow_work_free_cores`); 0 turns the lane off
    /// (slow work then shares the pool, unbounded).
    #[arg(long, env = "SLOW_WORK_CONNECTIONS", default_value_t = 2)]
    pub slow_work_connections: u32,

    /// Slow requests that may wait for one of those connections (default:
    /// eight per connection); more are answered 503 with Retry-After at once.
    #[arg(long, env = "SLOW_WORK_QUEUE")]
    pub slow_work_queue: Option<usize>,

    /// Milliseconds a slow request waits for a connection before 503.
    #[arg(long, env = "SLOW_WORK_WAIT_MS", default_value_t = 10_000)]
    pub slow_work_wait_ms: u64,

    /// PostgreSQL `statement_timeout` of the slow lane's connections in
    /// milliseconds, so that a runaway statement ends; 0: none. A change of
    /// the monitoring rules recomputes every project in a few statements
    /// (minutes at 1M projects): keep the limit above that.
    #[arg(long, env = "SLOW_STATEMENT_TIMEOUT_MS", default_value_t = 0)]
    pub slow_statement_timeout_ms: u64,

    /// How far the nice value of the threads running slow work is raised
    /// above the process's (0 to 19; 0: the same priority), so that the
    /// fast reads get a busy core first. Linux only.
    #[arg(long, env = "SLOW_WORK_NICE", default_value_t = crate::db::DEFAULT_SLOW_WORK_NICE, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub slow_work_nice: i32,

    /// PostgreSQL only: `max_parallel_workers_per_gather` of the slow lane's
    /// sessions, so that one slow statement takes one core (0) rather than
    /// a leader and workers on every core; -1 leaves the server's setting.
    #[arg(long, env = "SLOW_WORK_PARALLEL_WORKERS", default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-1..=64))]
    pub slow_work_parallel_workers: i32,

    /// Cores the slow lane leaves to the fast reads while they are busy:
    /// its connections past the machine's cores less these (one always
    /// stays) are spare, lent to short slow work only while the fast reads
    /// are quiet; 0: no connection is spare.
    #[arg(long, env = "SLOW_WORK_FREE_CORES", default_value_t = crate::db::DEFAULT_SLOW_WORK_FREE_CORES)]
    pub slow_work_free_cores: u32,

    /// Fast requests a second from which the fast reads are busy and the
    /// slow lane's spare connections are not lent. A waiting slow request
    /// watches them for 100 ms before it borrows, so with
    /// `SLOW_WORK_WAIT_MS` under that nothing is ever lent.
    #[arg(long, env = "SLOW_WORK_BUSY_FROM", default_value_t = crate::db::DEFAULT_SLOW_WORK_BUSY_FROM, value_parser = clap::value_parser!(u64).range(1..))]
    pub slow_work_busy_from: u64,
}

impl SlowWorkSettings {
    pub fn lane(&self) -> crate::db::SlowLaneSettings {
        use std::time::Duration;
        crate::db::SlowLaneSettings {
            connections: self.slow_work_connections,
            queue: self.slow_work_queue.unwrap_or(8 * self.slow_work_connections as usize),
            wait: Duration::from_millis(self.slow_work_wait_ms),
            statement_timeout: (self.slow_statement_timeout_ms > 0).then(|| Duration::from_millis(self.slow_statement_timeout_ms)),
            nice: self.slow_work_nice,
            parallel_workers: u32::try_from(self.slow_work_parallel_workers).ok(),
            free_cores: self.slow_work_free_cores,
            busy_from: self.slow_work_busy_from,
        }
    }
}
