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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::{DbConnection, DbPool};
use crate::error::ApiError;

/// How often the watcher compares the replica with the primary: a caller's
/// reads return to the replica about this long after their last write.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

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
    pub(super) fn new(pool: DbPool, settings: ReplicaSettings) -> Self {
        Self { pool, settings, started: Instant::now(), freshness: Mutex::default(), reads: Default::default() }
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
    pub(super) fn poll(&self, primary: &DbPool) {
        let asked = self.now();
        // Without the primary's position nothing new can be learnt.
        let Ok(position) = primary.checkout().and_then(|mut conn| primary_position(&mut conn)) else { return };
        self.freshness().sampled(asked, position);
        let replayed = self.pool.checkout().and_then(|mut conn| replayed_position(&mut conn));
        let mut freshness = self.freshness();
        match replayed {
            Ok(replayed) => {
                if !freshness.up {
                    tracing::info!("the read replica answers; lists and statistics may read from it");
                }
                freshness.replica_answered(replayed);
            }
            Err(err) => {
                if freshness.up {
                    tracing::warn!(error = %err, "the read replica does not answer; reading from the primary");
                }
                freshness.replica_failed();
            }
        }
    }
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<BigInt>)]
    position: Option<i64>,
}

fn primary_position(conn: &mut DbConnection) -> Result<i64, ApiError> {
    let row: Position = diesel::sql_query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS position").get_result(conn)?;
    row.position.ok_or_else(|| ApiError::internal("the primary has no WAL position"))
}

/// How far a standby has replayed. A server that is not in recovery (the
/// primary itself, as the tests point at) holds everything it has written.
fn replayed_position(conn: &mut DbConnection) -> Result<Option<i64>, ApiError> {
    let row: Position = diesel::sql_query(
        "SELECT pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, '0/0')::bigint AS position",
    )
    .get_result(conn)?;
    Ok(row.position)
}

/// Compares the replica with the primary (every [`POLL_EVERY`] by default)
/// for as long as the server runs; does nothing without a replica.
pub async fn watch(pool: DbPool) {
    let Some(poll_every) = pool.replica.as_ref().map(|r| r.settings.poll_every) else { return };
    let mut every = actix_web::rt::time::interval(poll_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let pool = pool.clone();
        let polled = actix_web::web::block(move || {
            if let Some(replica) = &pool.replica {
                replica.poll(&pool);
            }
        })
        .await;
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
