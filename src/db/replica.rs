//! An optional read replica (`DATABASE_REPLICA_URL`, PostgreSQL only):
//! lists, searches, counts, statistics and targets may read from it, so
//! that a second server takes their load off the primary.
//!
//! The rule, read-your-writes with bounded staleness: a caller's read goes
//! to the replica only when the replica has replayed every commit the
//! primary had made before that caller's last write ended, and is at most
//! `REPLICA_MAX_LAG_MS` behind the primary; otherwise, and whenever the
//! replica is down or fails, it goes to the primary.
//!
//! How it is known, without a round trip per request: a watcher samples the
//! primary's WAL position every [`POLL_EVERY`], noting the moment *before*
//! it asked, then asks the replica how far it has replayed. Once the replay
//! has passed a sample, every commit that ended before that sample's moment
//! is on the replica: that moment is [`Freshness::fresh_as_of`]. Each write
//! request, once answered (so committed), records its caller's moment; a
//! caller whose last write is not older than `fresh_as_of` reads from the
//! primary. Nothing is compared across machines' clocks: both moments are
//! this process's monotonic clock.
//!
//! The rule holds per instance: a write answered by another instance is not
//! known here, and is only bounded by the lag (bench/README.md, "Scaling out").
//! A known gap: a write whose client hung up before the answer (the request
//! dropped while its blocking work still commits) is never recorded, so its
//! caller's next reads may miss it for up to the lag bound.
//!
//! Only a standby of the primary's cluster, connected to the same database,
//! or the primary's very database, counts as a replica: any other server
//! has a WAL of its own, whose position says nothing of the primary's
//! commits, and is refused (down, with a warning in the log).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::{DbConnection, DbManager, DbPool, PoolConnection};
use crate::error::ApiError;

/// How often the watcher compares the replica with the primary: a caller's
/// reads return to the replica about this long after their last write.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// The longest one round of the watcher may take: past it the replica is
/// down until a round ends in time.
const ROUND_LIMIT: Duration = Duration::from_secs(1);

/// How long a statement may run on the replica's fast pool. Its reads are a
/// page's few index reads (milliseconds) and run on the HTTP workers: a
/// replica that takes seconds must not hold the workers.
const FAST_STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// libpq parameters added to `DATABASE_REPLICA_URL` unless it sets them:
/// without them a replica host that vanishes without a reset (a power cut, a
/// dropped route) holds each statement sent to it for the kernel's
/// retransmissions, about 15 minutes, and the fast reads hold workers
/// meanwhile. Now a connect gives up after 2 s, unacknowledged data after
/// 5 s, and an idle wait for an answer is probed after 5 s.
const CONNECTION_PARAMETERS: [(&str, &str); 6] = [
    ("connect_timeout", "2"),
    ("keepalives", "1"),
    ("keepalives_idle", "5"),
    ("keepalives_interval", "2"),
    ("keepalives_count", "2"),
    ("tcp_user_timeout", "5000"),
];

/// `url` with [`CONNECTION_PARAMETERS`] added, keeping those it sets.
pub(super) fn with_connection_parameters(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let set: Vec<&str> = query.split('&').filter_map(|pair| pair.split('=').next()).collect();
    let mut pairs: Vec<String> = query.split('&').filter(|pair| !pair.is_empty()).map(str::to_owned).collect();
    for (key, value) in CONNECTION_PARAMETERS {
        if !set.contains(&key) {
            pairs.push(format!("{key}={value}"));
        }
    }
    format!("{base}?{}", pairs.join("&"))
}

/// Names the replica's fast sessions (visible in `pg_stat_activity`) and
/// bounds their statements ([`FAST_STATEMENT_TIMEOUT`]).
#[derive(Debug)]
pub(super) struct FastSession;

impl CustomizeConnection<PoolConnection, diesel::r2d2::Error> for FastSession {
    fn on_acquire(&self, conn: &mut PoolConnection) -> Result<(), diesel::r2d2::Error> {
        let DbConnection::Pg(pg) = &mut **conn else { return Ok(()) };
        pg.batch_execute(&format!(
            "SET application_name = 'invest-registry replica'; SET statement_timeout = {}",
            FAST_STATEMENT_TIMEOUT.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Samples kept while the replica has not replayed them (a minute of them):
/// a replica further behind is "lagging" anyway.
const SAMPLES_KEPT: usize = 600;

/// How far behind a replica may be and how often it is watched.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaSettings {
    /// `REPLICA_MAX_LAG_MS`: a replica further behind serves no read.
    pub max_lag: Duration,
    /// How often the watcher compares it with the primary ([`POLL_EVERY`]).
    pub poll_every: Duration,
}

impl Default for ReplicaSettings {
    fn default() -> Self {
        Self { max_lag: Duration::from_millis(2000), poll_every: POLL_EVERY }
    }
}

/// What the replica's state allows for a read, and why (the label of the
/// `db_reads_total` metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The replica has everything the caller may expect to see.
    Replica,
    /// The caller wrote since the replica's last known replayed point.
    OwnWrite,
    /// The replica is more than the allowed lag behind.
    Lagging,
    /// The replica did not answer its last poll, or failed a read.
    Down,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Verdict::Replica, Verdict::OwnWrite, Verdict::Lagging, Verdict::Down];

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Replica => "fresh",
            Verdict::OwnWrite => "own_write",
            Verdict::Lagging => "lagging",
            Verdict::Down => "replica_unavailable",
        }
    }
}

/// The bookkeeping behind the rule, apart from any database: times are
/// microseconds on one monotonic clock.
#[derive(Debug, Default)]
pub struct Freshness {
    /// Primary positions (moment asked, WAL bytes) not yet known replayed, oldest first.
    samples: VecDeque<(u64, i64)>,
    /// Every commit that ended before this moment is on the replica; 0: none known.
    fresh_as_of: u64,
    /// Each caller's last write, while it may still be missing on the replica.
    writes: HashMap<String, u64>,
    /// The replica answered its last poll (and has failed no read since).
    up: bool,
    /// How far the replica has replayed (WAL bytes), for /health.
    replayed: Option<i64>,
    /// Why it serves no read was logged once (its first poll, before it was ever up).
    warned: bool,
}

impl Freshness {
    /// The primary was at `position` when asked just after `at`.
    pub fn sampled(&mut self, at: u64, position: i64) {
        if self.samples.len() == SAMPLES_KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back((at, position));
    }

    /// The replica has replayed up to `replayed` (`None`: it has not started replaying).
    pub fn replica_answered(&mut self, replayed: Option<i64>) {
        self.up = true;
        self.replayed = replayed;
        let Some(replayed) = replayed else { return };
        while let Some(&(at, position)) = self.samples.front() {
            if position > replayed {
                break;
            }
            self.fresh_as_of = self.fresh_as_of.max(at);
            self.samples.pop_front();
        }
        let fresh_as_of = self.fresh_as_of;
        self.writes.retain(|_, wrote| *wrote >= fresh_as_of);
    }

    pub fn replica_failed(&mut self) {
        self.up = false;
    }

    /// `caller`'s write ended (was answered) at `at`.
    pub fn wrote(&mut self, caller: &str, at: u64) {
        match self.writes.get_mut(caller) {
            Some(wrote) => *wrote = (*wrote).max(at),
            None => {
                self.writes.insert(caller.to_owned(), at);
            }
        }
    }

    /// Where `caller`'s read may go at `now`.
    pub fn verdict(&self, caller: &str, now: u64, max_lag: Duration) -> Verdict {
        if !self.up || self.fresh_as_of == 0 {
            return Verdict::Down;
        }
        if self.lag(now) > max_lag {
            return Verdict::Lagging;
        }
        match self.writes.get(caller) {
            Some(&wrote) if wrote >= self.fresh_as_of => Verdict::OwnWrite,
            _ => Verdict::Replica,
        }
    }

    /// How long ago the replica was last known to hold everything.
    pub fn lag(&self, now: u64) -> Duration {
        Duration::from_micros(now.saturating_sub(self.fresh_as_of))
    }
}

/// The replica's pool, what the watcher learnt of it, and counts of the
/// reads routed, shared by every worker.
pub(super) struct Replica {
    pub(super) pool: DbPool,
    /// The watcher's own connection to the primary (one, opened when needed).
    primary: Pool<DbManager>,
    settings: ReplicaSettings,
    started: Instant,
    freshness: Mutex<Freshness>,
    /// Reads served by each side, by [`Verdict`] (in [`Verdict::ALL`]'s order).
    reads: [AtomicU64; 4],
}

/// The replica's state for /health.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaHealth {
    /// `up`, `lagging` or `down`.
    pub state: &'static str,
    /// How far behind the primary it is known to be; `None` while down.
    pub lag: Option<Duration>,
}

impl Replica {
    /// `primary`: how to connect to the primary, for the watcher.
    pub(super) fn new(pool: DbPool, settings: ReplicaSettings, primary: DbManager) -> Self {
        let primary = Pool::builder().max_size(1).min_idle(Some(0)).connection_timeout(ROUND_LIMIT).build_unchecked(primary);
        Self { pool, primary, settings, started: Instant::now(), freshness: Mutex::default(), reads: Default::default() }
    }

    fn now(&self) -> u64 {
        // +1 so that no moment is 0, which means "never".
        self.started.elapsed().as_micros() as u64 + 1
    }

    fn freshness(&self) -> MutexGuard<'_, Freshness> {
        // The bookkeeping stays consistent whatever panicked while holding it.
        self.freshness.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn verdict(&self, caller: &str) -> Verdict {
        let now = self.now();
        self.freshness().verdict(caller, now, self.settings.max_lag)
    }

    pub(super) fn wrote(&self, caller: &str) {
        let now = self.now();
        self.freshness().wrote(caller, now);
    }

    /// A read failed on the replica: the next ones go to the primary until
    /// the watcher hears from it again.
    pub(super) fn failed(&self, err: &ApiError) {
        let mut freshness = self.freshness();
        if freshness.up {
            tracing::warn!(error = %err, "the read replica failed a read; reading from the primary");
        }
        freshness.replica_failed();
    }

    pub(super) fn count(&self, verdict: Verdict) {
        self.reads[verdict as usize].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(side = if verdict == Verdict::Replica { "replica" } else { "primary" }, why = verdict.label(), "read routed");
    }

    pub(super) fn read_counts(&self) -> [(Verdict, u64); 4] {
        Verdict::ALL.map(|v| (v, self.reads[v as usize].load(Ordering::Relaxed)))
    }

    pub(super) fn health(&self) -> ReplicaHealth {
        let now = self.now();
        let freshness = self.freshness();
        let lag = freshness.lag(now);
        match freshness.verdict("", now, self.settings.max_lag) {
            Verdict::Down => ReplicaHealth { state: "down", lag: None },
            Verdict::Lagging => ReplicaHealth { state: "lagging", lag: Some(lag) },
            _ => ReplicaHealth { state: "up", lag: Some(lag) },
        }
    }

    /// One round of the watcher: the primary's position, then the replica's.
    /// Blocking: run it off the workers.
    pub(super) fn poll(&self) {
        let asked = self.now();
        // Without the primary's position nothing new can be learnt. Its
        // connection is the watcher's own: a busy pool must not make the
        // watcher declare the primary away (and every request a 503).
        let primary = match self.primary.get() {
            Ok(mut conn) => primary_position(&mut conn),
            Err(e) => Err(ApiError::DatabaseDown(e.to_string())),
        };
        let Ok(primary) = primary else { return };
        self.freshness().sampled(asked, primary.position);
        let answer = self.pool.checkout().and_then(|mut conn| replica_position(&mut conn));
        let took = Duration::from_micros(self.now().saturating_sub(asked));
        let mut freshness = self.freshness();
        let refused = match answer {
            Ok(_) if took > ROUND_LIMIT => Err(format!("it answered after {} ms", took.as_millis())),
            Ok(replica) => replica.replayed(&primary),
            Err(err) => Err(err.to_string()),
        };
        match refused {
            Ok(replayed) => {
                if !freshness.up {
                    tracing::info!("the read replica answers; lists and statistics may read from it");
                }
                freshness.replica_answered(Some(replayed));
            }
            Err(why) => {
                if freshness.up || !freshness.warned {
                    tracing::warn!(error = %why, "the read replica does not serve; reading from the primary");
                }
                freshness.warned = true;
                freshness.replica_failed();
            }
        }
    }

    /// The watcher's round did not end within [`ROUND_LIMIT`] (a replica
    /// host gone without a reset): reads go to the primary meanwhile.
    fn stalled(&self) {
        let mut freshness = self.freshness();
        if freshness.up {
            tracing::warn!(limit_ms = ROUND_LIMIT.as_millis() as u64, "the read replica's watcher got no answer in time; reading from the primary");
        }
        freshness.replica_failed();
    }
}

/// Whether a read failed because the replica is away (no connection, a
/// session ended) or because its replay cancelled the statement (SQLSTATE
/// 40001 "conflict with recovery"): then the primary may serve it.
pub(super) fn is_away(err: &ApiError) -> bool {
    match err {
        ApiError::DatabaseDown(_) => true,
        // 40001 comes as Unavailable; 40P01 (a buffer-pin deadlock with replay) as Internal.
        ApiError::Unavailable(detail) | ApiError::Internal(detail) => detail.contains("conflict with recovery"),
        _ => false,
    }
}

/// Which server and database a connection reached: a replica of the primary
/// has the primary's cluster (`system_identifier`) and database name.
#[derive(QueryableByName)]
struct Identity {
    #[diesel(sql_type = BigInt)]
    system: i64,
    #[diesel(sql_type = Text)]
    database: String,
    #[diesel(sql_type = Text)]
    started: String,
}

/// The select list and source of [`Identity`], ending both statements that sample a server.
const IDENTITY_SQL: &str = "s.system_identifier AS system, current_database()::text AS database, \
     pg_postmaster_start_time()::text AS started FROM pg_control_system() s";

/// The primary as the watcher samples it: its WAL position, and which
/// database it is, for telling a replica of it from any other server.
#[derive(QueryableByName)]
struct PrimaryRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    position: Option<i64>,
    #[diesel(embed)]
    identity: Identity,
}

struct Primary {
    position: i64,
    identity: Identity,
}

/// The insert position, not `pg_current_wal_lsn()` (the written one): with
/// `synchronous_commit=off` a commit returns before its WAL is written, and
/// a sample below it would let the replica pass for having it.
fn primary_position(conn: &mut DbConnection) -> Result<Primary, ApiError> {
    let row: PrimaryRow = diesel::sql_query(format!(
        "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint AS position, {IDENTITY_SQL}"
    ))
    .get_result(conn)?;
    let position = row.position.ok_or_else(|| ApiError::internal("the primary has no WAL position"))?;
    Ok(Primary { position, identity: row.identity })
}

/// The replica as the watcher sees it: how far it has replayed, and which
/// database it is.
#[derive(QueryableByName)]
struct ReplicaRow {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    replayed: Option<i64>,
    #[diesel(embed)]
    identity: Identity,
}

impl ReplicaRow {
    /// How far this server holds the primary's commits, or why it is no
    /// replica of it. A standby counts when it replays the primary's cluster
    /// (the same `system_identifier`) and is connected to the same database;
    /// a server not in recovery only when it is the primary itself (then it
    /// holds every commit). Anything else (a typo naming an old database, a
    /// logical subscriber, a restored copy, a promoted standby) has its own
    /// WAL, whose position says nothing about the primary's commits.
    fn replayed(&self, primary: &Primary) -> Result<i64, String> {
        let (this, theirs) = (&self.identity, &primary.identity);
        if this.system != theirs.system || this.database != theirs.database {
            return Err(format!(
                "DATABASE_REPLICA_URL names database {:?} of cluster {}, not a replica of {:?} of cluster {}",
                this.database, this.system, theirs.database, theirs.system
            ));
        }
        if !self.in_recovery {
            return match this.started == theirs.started {
                true => Ok(primary.position),
                false => Err("DATABASE_REPLICA_URL names a server that is not in recovery and is not the primary (a promoted standby?)".into()),
            };
        }
        self.replayed.ok_or_else(|| "the standby has not replayed anything yet".into())
    }
}

fn replica_position(conn: &mut DbConnection) -> Result<ReplicaRow, ApiError> {
    Ok(diesel::sql_query(format!(
        "SELECT pg_is_in_recovery() AS in_recovery, \
         pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS replayed, {IDENTITY_SQL}"
    ))
    .get_result(conn)?)
}

/// Compares the replica with the primary (every [`POLL_EVERY`] by default)
/// for as long as the server runs; does nothing without a replica.
pub async fn watch(pool: DbPool) {
    let Some(replica) = pool.replica.clone() else { return };
    let mut every = actix_web::rt::time::interval(replica.settings.poll_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let polling = replica.clone();
        let mut round = std::pin::pin!(actix_web::web::block(move || polling.poll()));
        let polled = match actix_web::rt::time::timeout(ROUND_LIMIT, &mut round).await {
            Ok(polled) => polled,
            Err(_) => {
                // The round cannot be cut short (it blocks a thread); the
                // next one starts once it ends, so stalled rounds never pile up.
                replica.stalled();
                round.await
            }
        };
        if let Err(e) = polled {
            tracing::warn!(error = %e, "the read replica's watcher failed a round; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG: Duration = Duration::from_secs(2);
    const MS: u64 = 1000;

    fn answered(at: u64, primary: i64, replayed: i64) -> Freshness {
        let mut f = Freshness::default();
        f.sampled(at, primary);
        f.replica_answered(Some(replayed));
        f
    }

    #[test]
    fn a_replica_never_heard_from_serves_nobody() {
        assert_eq!(Freshness::default().verdict("ana", 5 * MS, LAG), Verdict::Down);
    }

    #[test]
    fn a_write_after_the_last_replayed_sample_keeps_its_caller_on_the_primary() {
        let mut f = answered(10 * MS, 100, 100);
        f.wrote("ana", 20 * MS);
        assert_eq!(f.verdict("ana", 21 * MS, LAG), Verdict::OwnWrite);
        assert_eq!(f.verdict("ben", 21 * MS, LAG), Verdict::Replica, "others read from the replica");
        // Sampled after the write, but not yet replayed: still the primary.
        f.sampled(30 * MS, 250);
        f.replica_answered(Some(200));
        assert_eq!(f.verdict("ana", 31 * MS, LAG), Verdict::OwnWrite);
        // Replayed past a sample taken after the write: the replica has it.
        f.replica_answered(Some(250));
        assert_eq!(f.verdict("ana", 31 * MS, LAG), Verdict::Replica);
        assert!(f.writes.is_empty(), "callers the replica has caught up with are forgotten");
    }

    #[test]
    fn a_sample_taken_in_the_same_moment_as_the_write_does_not_count() {
        let mut f = answered(10 * MS, 100, 100);
        f.wrote("ana", 10 * MS);
        assert_eq!(f.verdict("ana", 11 * MS, LAG), Verdict::OwnWrite);
    }

    #[test]
    fn a_replica_behind_by_more_than_the_bound_serves_nobody() {
        let mut f = answered(10 * MS, 100, 100);
        f.sampled(20 * MS, 300);
        f.replica_answered(Some(200));
        assert_eq!(f.verdict("ben", 10 * MS + 2000 * MS, LAG), Verdict::Replica);
        assert_eq!(f.verdict("ben", 10 * MS + 2001 * MS, LAG), Verdict::Lagging);
    }

    #[test]
    fn a_failure_sends_every_read_to_the_primary_until_the_replica_answers() {
        let mut f = answered(10 * MS, 100, 100);
        f.replica_failed();
        assert_eq!(f.verdict("ben", 11 * MS, LAG), Verdict::Down);
        f.replica_answered(Some(100));
        assert_eq!(f.verdict("ben", 11 * MS, LAG), Verdict::Replica);
    }

    fn primary() -> Primary {
        Primary { position: 500, identity: identity(7, "registry", "2026-11-29 11:05") }
    }

    fn server(in_recovery: bool, system: i64, database: &str, started: &str) -> ReplicaRow {
        ReplicaRow { in_recovery, replayed: in_recovery.then_some(400), identity: identity(system, database, started) }
    }

    fn identity(system: i64, database: &str, started: &str) -> Identity {
        Identity { system, database: database.into(), started: started.into() }
    }

    #[test]
    fn only_a_standby_of_the_primary_or_the_primary_itself_is_a_replica() {
        let p = primary();
        assert_eq!(server(true, 7, "registry", "2026-11-29 12:00").replayed(&p), Ok(400), "a standby: its replay");
        assert_eq!(server(false, 7, "registry", "2026-11-29 11:05").replayed(&p), Ok(500), "the primary itself: everything");
        for (what, other) in [
            ("another database of the same server", server(false, 7, "registry_old", "2026-11-29 11:05")),
            ("another cluster (a restored copy, a logical subscriber)", server(false, 8, "registry", "2026-11-29 11:05")),
            ("a standby of another cluster", server(true, 8, "registry", "2026-11-29 12:00")),
            ("another database on a standby", server(true, 7, "postgres", "2026-11-29 12:00")),
            ("a promoted standby", server(false, 7, "registry", "2026-11-29 12:00")),
        ] {
            assert!(other.replayed(&p).is_err(), "{what}");
        }
    }

    #[test]
    fn the_connection_parameters_keep_what_the_url_sets() {
        assert_eq!(
            with_connection_parameters("postgres://r@h/db"),
            "postgres://r@h/db?connect_timeout=2&keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=2&tcp_user_timeout=5000"
        );
        assert_eq!(
            with_connection_parameters("postgres://r@h/db?sslmode=require&connect_timeout=10"),
            "postgres://r@h/db?sslmode=require&connect_timeout=10&keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=2&tcp_user_timeout=5000"
        );
    }

    #[test]
    fn only_a_replica_away_or_a_recovery_conflict_sends_a_read_to_the_primary() {
        assert!(is_away(&ApiError::DatabaseDown("server closed the connection unexpectedly".into())));
        assert!(is_away(&ApiError::Unavailable("canceling statement due to conflict with recovery".into())));
        assert!(!is_away(&ApiError::Unavailable("canceling statement due to statement timeout".into())));
        assert!(!is_away(&ApiError::Overloaded("slow requests")));
        assert!(!is_away(&ApiError::internal("a bug")));
    }

    #[test]
    fn samples_are_bounded_while_the_replica_is_stuck() {
        let mut f = answered(10 * MS, 100, 100);
        for i in 0..(2 * SAMPLES_KEPT as u64) {
            f.sampled(20 * MS + i, 200 + i as i64);
        }
        f.replica_answered(Some(150));
        assert_eq!(f.samples.len(), SAMPLES_KEPT);
    }
}
