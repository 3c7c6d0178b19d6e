//! Admission to scarce work: so many at once, a bounded number more waiting
//! for a bounded time, and the rest turned away at once with 503 and
//! `Retry-After`, so that a burst costs the requests that make it and not
//! everyone else. Password hashing (`auth::HashGate`) and the slow lane of
//! the database (`db::lane`) are both behind one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

pub struct Gate {
    /// Names the work in the 503's detail ("too many {what} are in progress").
    what: &'static str,
    permits: Arc<Semaphore>,
    size: usize,
    /// Requests running plus those waiting for a permit.
    admitted: Arc<AtomicUsize>,
    max_admitted: usize,
    max_wait: Duration,
}

/// The gate's state at one moment, for /metrics.
#[derive(Debug, Clone, Copy)]
pub struct GateCounts {
    pub permits: usize,
    pub running: usize,
    pub waiting: usize,
}

/// Counts an admitted request until it is done, however it ends (a client
/// that hangs up drops the request's future, and this with it).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A held permit: the work may run until this is dropped.
pub struct Pass {
    _permit: OwnedSemaphorePermit,
    _admission: Admission,
}

impl Gate {
    /// `permits` at once (at least one); `queue` more may wait, each at most `max_wait`.
    pub fn new(what: &'static str, permits: usize, queue: usize, max_wait: Duration) -> Self {
        let permits = permits.max(1);
        Self {
            what,
            permits: Arc::new(Semaphore::new(permits)),
            size: permits,
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: permits + queue,
            max_wait,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn counts(&self) -> GateCounts {
        let admitted = self.admitted.load(Ordering::SeqCst);
        let running = self.size - self.permits.available_permits().min(self.size);
        GateCounts { permits: self.size, running, waiting: admitted.saturating_sub(running) }
    }

    /// Waits for a permit without holding a thread; 503 at once when the
    /// queue is full, or when no permit came within the wait.
    pub async fn enter(&self) -> Result<Pass, ApiError> {
        let admitted = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        let admission = Admission(self.admitted.clone());
        if admitted > self.max_admitted {
            return Err(ApiError::Overloaded(self.what));
        }
        match actix_web::rt::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Pass { _permit: permit, _admission: admission }),
            // Timed out, or the semaphore was closed (never: it is not).
            _ => Err(ApiError::Overloaded(self.what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn permits_bound_the_running_and_the_queue_bounds_the_waiting() {
        let gate = Gate::new("tests", 1, 1, Duration::from_secs(5));
        let first = gate.enter().await;
        assert!(first.is_ok());
        assert_eq!(gate.counts().running, 1);
        // The second waits (queue of one); the third is turned away at once.
        let second = gate.enter();
        let third = gate.enter();
        futures_util::pin_mut!(second);
        let waited = actix_web::rt::time::timeout(Duration::from_millis(20), second.as_mut()).await;
        assert!(waited.is_err(), "the second must wait while the permit is held");
        assert!(matches!(third.await, Err(ApiError::Overloaded("tests"))));
        drop(first);
        assert!(second.await.is_ok());
        assert_eq!(gate.counts().waiting, 0);
    }

    #[actix_web::test]
    async fn a_wait_past_the_limit_is_turned_away() {
        let gate = Gate::new("tests", 1, 4, Duration::from_millis(20));
        let _held = gate.enter().await;
        assert!(matches!(gate.enter().await, Err(ApiError::Overloaded(_))));
        // The timed-out request no longer counts.
        assert_eq!(gate.counts().waiting, 0);
    }
}
