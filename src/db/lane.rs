//! The slow lane: work that is slow by design (exports, imports, targets,
//! statistics, counts, searches, a change of the monitoring rules) runs on
//! connections of its own, a few at a time.
//!
//! Before, slow work took connections from the pool of the fast reads and
//! nothing bounded how much of it ran: a burst of exports and statistics
//! held every connection and both cores, and the first page's p99 rose to
//! about a second. Now the fast reads keep their pool, slow work waits for
//! one of the lane's connections (asynchronously, holding no thread), a
//! bounded number waits at most a bounded time, and the rest is answered
//! 503 with `Retry-After` at once.
//!
//! On a machine of few cores the lane leaves one to the fast reads while
//! they are busy (`free_cores`): on two cores its second connection ran a
//! second slow statement that took the fast reads' core (their p99 was
//! 88.5 ms against 26.8 with one connection in one run, bench/RESULTS.md,
//! mixed). That connection is spare: short slow work (statistics, targets,
//! counts, the monitoring page, searches on SQLite) borrows it only while
//! the fast reads are quiet, so an analyst's statistics need not wait
//! behind an export on an idle service. Exports, imports and changes of the
//! rules never borrow it: they run for minutes, long after the fast reads
//! come back. The price, on two cores: long work runs one at a time, and
//! while the fast reads are busy, short work waits behind it (at most
//! `wait`, then 503).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool};

use super::niced::NicedThreads;
use super::{DbConnection, DbManager, PoolConnection, StartupError};
use crate::admission::{Gate, GateCounts, Pass, Spare};
use crate::error::ApiError;

/// How long a turn in the lane waits for one of its connections (the
/// gate lets in no more work than there are connections, so rarely at all).
pub(super) const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// How far slow work's threads step back by default: far enough that the
/// scheduler gives a core to the fast reads first (nice 10 weighs a tenth
/// of nice 0), not so far that slow work starves on a busy machine.
pub const DEFAULT_NICE: i32 = 10;

/// Fast requests a second from which the spare connections are not lent:
/// a hundred reads take a few hundredths of a core, service and database
/// together (bench/RESULTS.md, ab and mixed), far from needing the core a
/// slow statement takes, while a busy service serves thousands.
pub const DEFAULT_BUSY_FROM: u64 = 100;

/// Cores the lane leaves to the fast reads while they are busy: one, so
/// that on two cores a single slow statement runs beside them.
pub const DEFAULT_FREE_CORES: u32 = 1;

/// How much slow work runs at once and how long more of it may wait.
#[derive(Debug, Clone, Copy)]
pub struct SlowLaneSettings {
    /// Connections (and so slow requests running) at once; 0 turns the lane
    /// off: slow work then shares the fast pool, unbounded, as it once did.
    pub connections: u32,
    /// Slow requests that may wait for a connection; more are 503 at once.
    pub queue: usize,
    /// The longest a slow request waits for a connection before 503.
    pub wait: Duration,
    /// PostgreSQL's `statement_timeout` on the lane's connections, so that
    /// a runaway statement ends; none when `None`.
    pub statement_timeout: Option<Duration>,
    /// How far the nice value of the threads running slow work is raised
    /// (`niced`); 0: they run at the process's priority.
    pub nice: i32,
    /// PostgreSQL's `max_parallel_workers_per_gather` on the lane's
    /// connections; `None` leaves the server's own.
    pub parallel_workers: Option<u32>,
    /// Cores the lane leaves to the fast reads while they are busy: of its
    /// `connections`, those past the machine's cores less these are spare
    /// (at least one is not); 0: none is spare.
    pub free_cores: u32,
    /// Fast requests a second from which the fast reads are busy and the
    /// spare connections are not lent.
    pub busy_from: u64,
}

impl SlowLaneSettings {
    /// The lane's own connections and its spare ones on a machine of `cores`.
    pub fn split(&self, cores: u32) -> (u32, u32) {
        let own = match self.free_cores {
            0 => self.connections,
            free => self.connections.min(cores.saturating_sub(free).max(1)),
        };
        (own, self.connections - own)
    }
}

impl Default for SlowLaneSettings {
    /// Two connections: on more than two cores one long export does not
    /// shut the lane for the rest; on two the second is spare, lent to
    /// short work while the fast reads are under a hundred requests a
    /// second. Eight may wait per connection.
    fn default() -> Self {
        Self {
            connections: 2,
            queue: 16,
            wait: Duration::from_secs(10),
            statement_timeout: None,
            nice: DEFAULT_NICE,
            parallel_workers: Some(0),
            free_cores: DEFAULT_FREE_CORES,
            busy_from: DEFAULT_BUSY_FROM,
        }
    }
}

pub(super) struct SlowLane {
    pub(super) pool: Pool<DbManager>,
    gate: Gate,
    /// Where the work runs: threads of a lower priority.
    pub(super) threads: NicedThreads,
}

impl SlowLane {
    /// Connections open when first needed: commands that never run slow
    /// work never open them. `fast_work` counts the fast reads ([`super::run`]).
    pub(super) fn build(manager: DbManager, settings: &SlowLaneSettings, fast_work: Arc<AtomicU64>) -> Result<Self, StartupError> {
        let (own, spare) = settings.split(u32::try_from(crate::machine::cores()).unwrap_or(u32::MAX));
        let gate = Gate::new("slow requests (exports, imports, statistics, targets, searches)", own as usize, settings.queue, settings.wait)
            .with_spare(Spare::new(spare as usize, fast_work, settings.busy_from));
        let pool = Pool::builder()
            .max_size(gate.size() as u32)
            .min_idle(Some(0))
            // A permit comes with a free connection; the wait covers opening one.
            .connection_timeout(CONNECTION_WAIT)
            .connection_customizer(Box::new(LaneSession { statement_timeout: settings.statement_timeout, parallel_workers: settings.parallel_workers }))
            .build(manager)
            .map_err(|e| StartupError::Pool(e.to_string()))?;
        // One thread for each piece of work the gate lets run, and one spare
        // for work whose turn ends while its thread is still winding down.
        let threads = NicedThreads::new(settings.nice, gate.size() + 1).map_err(|e| StartupError::Pool(e.to_string()))?;
        Ok(Self { pool, gate, threads })
    }

    /// A turn for `work`: short work may borrow a spare connection, long may not.
    pub(super) async fn enter(&self, work: SlowWork) -> Result<Pass, ApiError> {
        match work {
            SlowWork::Short => self.gate.enter_or_borrow().await,
            SlowWork::Long => self.gate.enter().await,
        }
    }

    pub(super) fn counts(&self) -> GateCounts {
        self.gate.counts()
    }
}

/// How long a piece of slow work holds its connection, which decides
/// whether it may borrow a spare one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowWork {
    /// Statistics, targets, counts, the monitoring page, searches on
    /// SQLite: seconds at most, so a borrowed connection comes back soon.
    Short,
    /// Exports, imports and changes of the monitoring rules (which light
    /// every project again): as long as the data is large.
    Long,
}

/// Marks the lane's PostgreSQL sessions (visible in `pg_stat_activity`), sets
/// their statement timeout and how many parallel workers a statement of
/// theirs may start. A statistics query planned in parallel took three
/// processes (a leader and two workers), every core of a two-core machine,
/// however few connections the lane had; without workers a slow statement
/// takes one core at most.
#[derive(Debug)]
struct LaneSession {
    statement_timeout: Option<Duration>,
    parallel_workers: Option<u32>,
}

impl CustomizeConnection<PoolConnection, diesel::r2d2::Error> for LaneSession {
    fn on_acquire(&self, conn: &mut PoolConnection) -> Result<(), diesel::r2d2::Error> {
        let DbConnection::Pg(pg) = &mut **conn else { return Ok(()) };
        let timeout_ms = self.statement_timeout.map_or(0, |t| t.as_millis().max(1));
        let mut setup = format!("SET application_name = 'invest-registry slow lane'; SET statement_timeout = {timeout_ms}");
        if let Some(workers) = self.parallel_workers {
            setup.push_str(&format!("; SET max_parallel_workers_per_gather = {workers}"));
        }
        pg.batch_execute(&setup).map_err(diesel::r2d2::Error::QueryError)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::niced::current_nice;
    use super::*;

    async fn nice_of_slow_work(settings: &SlowLaneSettings) -> i32 {
        let dir = tempfile::tempdir().unwrap();
        let pool = super::super::connect(dir.path().join("lane.db").to_str().unwrap(), 2).unwrap().with_slow_lane(settings).unwrap();
        super::super::run_heavy(&pool, |_| Ok(current_nice().unwrap())).await.unwrap()
    }

    #[actix_web::test]
    async fn slow_work_runs_at_the_lane_s_nice_value() {
        let here = current_nice().unwrap();
        let lane = SlowLaneSettings { nice: 4, ..Default::default() };
        assert_eq!(nice_of_slow_work(&lane).await, (here + 4).min(19));
        let unchanged = SlowLaneSettings { nice: 0, ..Default::default() };
        assert_eq!(nice_of_slow_work(&unchanged).await, here);
    }

    /// The lane's PostgreSQL sessions start no parallel workers unless told.
    #[actix_web::test]
    async fn lane_sessions_on_postgresql_take_the_parallel_workers_setting() {
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = Text)]
            max_parallel_workers_per_gather: String,
        }
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else { return };
        for (workers, expected) in [(Some(0), "0"), (Some(3), "3")] {
            let lane = SlowLaneSettings { parallel_workers: workers, ..Default::default() };
            let pool = super::super::connect(&url, 1).unwrap().with_slow_lane(&lane).unwrap();
            let seen = super::super::run_heavy(&pool, |conn| {
                Ok(diesel::sql_query("SHOW max_parallel_workers_per_gather").get_result::<Setting>(conn)?.max_parallel_workers_per_gather)
            })
            .await
            .unwrap();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn on_few_cores_the_connections_past_the_free_core_are_spare() {
        let lane = |connections, free_cores| SlowLaneSettings { connections, free_cores, ..Default::default() };
        assert_eq!(lane(2, 1).split(2), (1, 1));
        assert_eq!(lane(2, 1).split(1), (1, 1), "one connection is always the lane's own");
        assert_eq!(lane(2, 1).split(4), (2, 0));
        assert_eq!(lane(4, 2).split(4), (2, 2));
        assert_eq!(lane(2, 0).split(2), (2, 0), "0 free cores: none is spare");
        assert_eq!(lane(1, 1).split(2), (1, 0));
    }

    /// The spare is lent by the fast reads' pace: only requests' work on the
    /// workers counts, not background work nor slow work itself.
    #[actix_web::test]
    async fn only_requests_work_on_the_workers_counts_as_fast_reads() {
        use super::super::{run, run_blocking, run_heavy, run_long};
        let dir = tempfile::tempdir().unwrap();
        let pool = super::super::connect(dir.path().join("lane.db").to_str().unwrap(), 2).unwrap().with_slow_lane(&SlowLaneSettings::default()).unwrap();
        for _ in 0..3 {
            run(&pool, |_| Ok(())).await.unwrap();
        }
        run_blocking(&pool, |_| Ok(())).await.unwrap();
        run_heavy(&pool, |_| Ok(())).await.unwrap();
        run_long(&pool, |_| Ok(())).await.unwrap();
        assert_eq!(pool.fast_work.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    #[actix_web::test]
    async fn without_a_lane_slow_work_keeps_the_process_s_priority() {
        let here = current_nice().unwrap();
        let off = SlowLaneSettings { connections: 0, nice: 4, ..Default::default() };
        assert_eq!(nice_of_slow_work(&off).await, here);
    }
}
