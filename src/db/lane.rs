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

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool};

use super::niced::NicedThreads;
use super::{DbConnection, DbManager, PoolConnection, StartupError};
use crate::admission::{Gate, GateCounts, Pass};
use crate::error::ApiError;

/// How long a turn in the lane waits for one of its connections (the
/// gate lets in no more work than there are connections, so rarely at all).
pub(super) const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// How far slow work's threads step back by default: far enough that the
/// scheduler gives a core to the fast reads first (nice 10 weighs a tenth
/// of nice 0), not so far that slow work starves on a busy machine.
pub const DEFAULT_NICE: i32 = 10;

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
}

impl Default for SlowLaneSettings {
    /// Two connections: one long export does not shut the lane, and on two
    /// cores the fast reads still find a core. Eight may wait per connection.
    fn default() -> Self {
        Self { connections: 2, queue: 16, wait: Duration::from_secs(10), statement_timeout: None, nice: DEFAULT_NICE, parallel_workers: Some(0) }
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
    /// work never open them.
    pub(super) fn build(manager: DbManager, settings: &SlowLaneSettings) -> Result<Self, StartupError> {
        let gate = Gate::new("slow requests (exports, imports, statistics, targets, searches)", settings.connections as usize, settings.queue, settings.wait);
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

    pub(super) async fn enter(&self) -> Result<Pass, ApiError> {
        self.gate.enter().await
    }

    pub(super) fn counts(&self) -> GateCounts {
        self.gate.counts()
    }
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

    #[actix_web::test]
    async fn without_a_lane_slow_work_keeps_the_process_s_priority() {
        let here = current_nice().unwrap();
        let off = SlowLaneSettings { connections: 0, nice: 4, ..Default::default() };
        assert_eq!(nice_of_slow_work(&off).await, here);
    }
}
