//! Bounding password hashing.
//!
//! An argon2id check costs about 19 MiB and tens of milliseconds of one core
//! (the crate's defaults, OWASP's parameters). Unbounded, a storm of 200
//! logins ran 200 hashes at once: 3.8 GB of memory, 213 threads, and every
//! read waiting behind them. The gate lets as many hashes run as there are
//! cores (memory: 19 MiB × permits), queues a bounded number more for a
//! bounded time, and turns the rest away at once with 503 and `Retry-After`,
//! so the storm costs the logins, not the reads.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

pub use crate::admission::GateCounts;
use crate::admission::{Gate, Pass};
use crate::error::ApiError;

pub struct HashGate {
    /// Threads of the gate's own, one per permit, run the hashes, so logins
    /// use m_cost × permits of memory at most however many arrive.
    hashers: Mutex<mpsc::Sender<Job>>,
    gate: Gate,
}

type Job = Box<dyn FnOnce() + Send>;

impl HashGate {
    /// `permits` hashes at once (at least one); `queue` more may wait, each
    /// at most `max_wait`.
    pub fn new(permits: usize, queue: usize, max_wait: Duration) -> Self {
        let gate = Gate::new("logins and password changes", permits, queue, max_wait);
        let (jobs, queue_rx) = mpsc::channel::<Job>();
        let queue_rx = Arc::new(Mutex::new(queue_rx));
        for n in 0..gate.size() {
            let queue_rx = queue_rx.clone();
            let spawned = std::thread::Builder::new().name(format!("password-hash-{n}")).spawn(move || loop {
                // The lock is held only to take the next job.
                let job = match queue_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(),
                    // The gate is gone (the server stopped).
                    Err(_) => return,
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Self { hashers: Mutex::new(jobs), gate }
    }

    /// One permit per core but one, eight waiting per permit, two seconds at
    /// most: a queue that drains well within a client's patience.
    pub fn for_this_machine() -> Self {
        let permits = Self::default_permits();
        Self::new(permits, 8 * permits, Duration::from_secs(2))
    }

    /// A core is left to everything else: with every core hashing, reads
    /// during a storm slowed beyond twice their idle p99 on two cores (with
    /// one left they stayed within it, within this machine's noise).
    pub fn default_permits() -> usize {
        crate::machine::cores().saturating_sub(1).max(1)
    }

    pub fn counts(&self) -> GateCounts {
        self.gate.counts()
    }

    /// Waits for a permit; 503 at once when the queue is full, or when no
    /// permit came within the wait.
    pub async fn enter(&self) -> Result<Entered, ApiError> {
        let pass = self.gate.enter().await?;
        let hashers = self.hashers.lock().map_err(|_| ApiError::internal("hashing threads poisoned"))?.clone();
        Ok(Entered { hashers, _pass: pass })
    }
}

/// A held permit: hashing may run until this is dropped.
pub struct Entered {
    hashers: mpsc::Sender<Job>,
    _pass: Pass,
}

impl Entered {
    /// Runs slow work on a hashing thread while the permit is held.
    pub async fn hash<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The requester may have hung up; its result is then not needed.
            let _ = done.send(work());
        });
        self.hashers.send(job).map_err(|_| ApiError::internal("no password-hashing thread is running"))?;
        result.await.map_err(|_| ApiError::internal("a password-hashing thread failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn work_runs_on_the_gates_own_threads() {
        let gate = HashGate::new(2, 0, Duration::from_secs(5));
        let Ok(entered) = gate.enter().await else { panic!("a permit") };
        let name = entered.hash(|| std::thread::current().name().map(str::to_owned)).await;
        assert!(matches!(name, Ok(Some(n)) if n.starts_with("password-hash-")));
    }
}
