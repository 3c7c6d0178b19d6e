//! Bounding password hashing.
//!
//! An argon2id check costs about 19 MiB and tens of milliseconds of one core
//! (the crate's defaults, OWASP's parameters). Unbounded, a storm of 200
//! logins ran 200 hashes at once: 3.8 GB of memory, 213 threads, and every
//! read waiting behind them. The gate lets as many hashes run as there are
//! cores (memory: 19 MiB × permits), queues a bounded number more for a
//! bounded time, and turns the rest away at once with 503 and `Retry-After`,
//! so the storm costs the logins, not the reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use crate::error::ApiError;

pub struct HashGate {
    /// Threads of the gate's own, one per permit, run the hashes. Each keeps
    /// its argon2 memory between checks (`passwords`), so logins cost
    /// m_cost × permits however many there are; on the shared blocking pool
    /// any of hundreds of threads could have run (and kept) one.
    hashers: Mutex<mpsc::Sender<Job>>,
    permits: Arc<Semaphore>,
    size: usize,
    /// Hashes running plus those waiting for a permit.
    admitted: Arc<AtomicUsize>,
    max_admitted: usize,
    max_wait: Duration,
}

type Job = Box<dyn FnOnce() + Send>;

/// Counts an admitted request until it is done, however it ends (a client
/// that hangs up drops the request's future, and this with it).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The gate's state at one moment, for /metrics.
#[derive(Debug, Clone, Copy)]
pub struct GateCounts {
    pub permits: usize,
    pub running: usize,
    pub waiting: usize,
}

impl HashGate {
    /// `permits` hashes at once (at least one); `queue` more may wait, each
    /// at most `max_wait`.
    pub fn new(permits: usize, queue: usize, max_wait: Duration) -> Self {
        let permits = permits.max(1);
        let (jobs, queue_rx) = mpsc::channel::<Job>();
        let queue_rx = Arc::new(Mutex::new(queue_rx));
        for n in 0..permits {
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
        Self {
            hashers: Mutex::new(jobs),
            permits: Arc::new(Semaphore::new(permits)),
            size: permits,
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: permits + queue,
            max_wait,
        }
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_sub(1).max(1)
    }

    pub fn counts(&self) -> GateCounts {
        let admitted = self.admitted.load(Ordering::SeqCst);
        let running = self.size - self.permits.available_permits().min(self.size);
        GateCounts { permits: self.size, running, waiting: admitted.saturating_sub(running) }
    }

    /// Waits for a permit; 503 at once when the queue is full, or when no
    /// permit came within the wait.
    pub async fn enter(&self) -> Result<Entered, ApiError> {
        let admitted = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        let admission = Admission(self.admitted.clone());
        if admitted > self.max_admitted {
            return Err(ApiError::Overloaded("logins"));
        }
        let permit = actix_web::rt::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await;
        match permit {
            Ok(Ok(permit)) => {
                let hashers = self.hashers.lock().map_err(|_| ApiError::internal("hashing threads poisoned"))?.clone();
                Ok(Entered { hashers, _permit: permit, _admission: admission })
            }
            // Timed out, or the semaphore was closed (never: it is not).
            _ => Err(ApiError::Overloaded("logins")),
        }
    }
}

/// A held permit: hashing may run until this is dropped.
pub struct Entered {
    hashers: mpsc::Sender<Job>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    _admission: Admission,
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
    async fn permits_bound_the_running_and_the_queue_bounds_the_waiting() {
        let gate = HashGate::new(1, 1, Duration::from_secs(5));
        let first = gate.enter().await;
        assert!(first.is_ok());
        assert_eq!(gate.counts().running, 1);
        // The second waits (queue of one); the third is turned away at once.
        let second = gate.enter();
        let third = gate.enter();
        futures_util::pin_mut!(second);
        let waited = actix_web::rt::time::timeout(Duration::from_millis(20), second.as_mut()).await;
        assert!(waited.is_err(), "the second must wait while the permit is held");
        assert!(matches!(third.await, Err(ApiError::Overloaded(_))));
        drop(first);
        assert!(second.await.is_ok());
        assert_eq!(gate.counts().waiting, 0);
    }

    #[actix_web::test]
    async fn work_runs_on_the_gates_own_threads() {
        let gate = HashGate::new(2, 0, Duration::from_secs(5));
        let Ok(entered) = gate.enter().await else { panic!("a permit") };
        let name = entered.hash(|| std::thread::current().name().map(str::to_owned)).await;
        assert!(matches!(name, Ok(Some(n)) if n.starts_with("password-hash-")));
    }

    #[actix_web::test]
    async fn a_wait_past_the_limit_is_turned_away() {
        let gate = HashGate::new(1, 4, Duration::from_millis(20));
        let _held = gate.enter().await;
        assert!(matches!(gate.enter().await, Err(ApiError::Overloaded(_))));
        // The timed-out request no longer counts.
        assert_eq!(gate.counts().waiting, 0);
    }
}
