//! Admission to scarce work: so many at once, a bounded number more waiting
//! for a bounded time, and the rest turned away at once with 503 and
//! `Retry-After`, so that a burst costs the requests that make it and not
//! everyone else. Password hashing (`auth::HashGate`) and the slow lane of
//! the database (`db::lane`) are both behind one.
//!
//! A gate may also have spare permits ([`Spare`]) that short work borrows
//! only while the work the gate protects is quiet: the slow lane's second
//! connection on a two-core machine, which takes the core the fast reads
//! need when they are busy and is idle capacity when they are not.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
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
    spare: Option<Spare>,
}

/// Permits past a gate's own, lent to short work while the protected work
/// is quiet: while its `activity` count grew by fewer than `busy_from` a
/// second over the last [`Spare::PROBE`].
pub struct Spare {
    permits: Arc<Semaphore>,
    size: usize,
    /// Grows by one for each piece of protected work (a fast read).
    activity: Arc<AtomicU64>,
    busy_from: u64,
}

impl Spare {
    /// How long a waiting request watches the protected work before it
    /// judges it quiet: long enough to see a busy service's reads (hundreds
    /// in that time), short beside the slow work it lets start.
    pub const PROBE: Duration = Duration::from_millis(100);

    pub fn new(permits: usize, activity: Arc<AtomicU64>, busy_from: u64) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits)), size: permits, activity, busy_from }
    }

    /// Whether the activity since `before`, `elapsed` ago, stayed under the busy rate.
    fn quiet_since(&self, before: u64, elapsed: Duration) -> bool {
        let grown = self.activity.load(Ordering::Relaxed).saturating_sub(before) as u128;
        grown * 1000 < self.busy_from as u128 * elapsed.as_millis().max(1)
    }
}

/// The gate's state at one moment, for /metrics.
#[derive(Debug, Clone, Copy)]
pub struct GateCounts {
    pub permits: usize,
    /// Running on any permit, spare ones included.
    pub running: usize,
    /// Running on a spare permit.
    pub borrowed: usize,
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
            spare: None,
        }
    }

    /// The same gate with `spare` permits to lend ([`Gate::enter_or_borrow`]).
    pub fn with_spare(mut self, spare: Spare) -> Self {
        self.max_admitted += spare.size;
        self.spare = Some(spare).filter(|spare| spare.size > 0);
        self
    }

    /// Permits in all, spare ones included.
    pub fn size(&self) -> usize {
        self.size + self.spare.as_ref().map_or(0, |spare| spare.size)
    }

    pub fn counts(&self) -> GateCounts {
        let admitted = self.admitted.load(Ordering::SeqCst);
        let in_use = |permits: &Semaphore, size: usize| size - permits.available_permits().min(size);
        let borrowed = self.spare.as_ref().map_or(0, |spare| in_use(&spare.permits, spare.size));
        let running = in_use(&self.permits, self.size) + borrowed;
        GateCounts { permits: self.size(), running, borrowed, waiting: admitted.saturating_sub(running) }
    }

    /// Waits for one of the gate's own permits without holding a thread;
    /// 503 at once when the queue is full, or when no permit came within
    /// the wait. Never borrows: for work that may run long after the
    /// protected work has come back (an export).
    pub async fn enter(&self) -> Result<Pass, ApiError> {
        self.admit(false).await
    }

    /// [`Gate::enter`], or a spare permit when one is free while the gate's
    /// own are taken and the protected work has been quiet for a probe.
    pub async fn enter_or_borrow(&self) -> Result<Pass, ApiError> {
        self.admit(true).await
    }

    async fn admit(&self, may_borrow: bool) -> Result<Pass, ApiError> {
        let admitted = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        let admission = Admission(self.admitted.clone());
        if admitted > self.max_admitted {
            return Err(ApiError::Overloaded(self.what));
        }
        let spare = self.spare.as_ref().filter(|_| may_borrow);
        match actix_web::rt::time::timeout(self.max_wait, self.permit(spare)).await {
            Ok(Ok(permit)) => Ok(Pass { _permit: permit, _admission: admission }),
            // Timed out, or the semaphore was closed (never: it is not).
            _ => Err(ApiError::Overloaded(self.what)),
        }
    }

    /// One of the gate's own permits, in arrival order; with `spare`, a
    /// spare one as soon as a probe finds the protected work quiet.
    async fn permit(&self, spare: Option<&Spare>) -> Result<OwnedSemaphorePermit, tokio::sync::AcquireError> {
        let own = self.permits.clone().acquire_owned();
        let Some(spare) = spare else { return own.await };
        // Kept across probes: the request keeps its place in the queue.
        tokio::pin!(own);
        loop {
            let (before, started) = (spare.activity.load(Ordering::Relaxed), Instant::now());
            tokio::select! {
                biased;
                permit = &mut own => return permit,
                () = actix_web::rt::time::sleep(Spare::PROBE) => {}
            }
            if spare.quiet_since(before, started.elapsed()) {
                // The own permit may have come meanwhile: it goes first.
                if let Some(permit) = (&mut own).now_or_never() {
                    return permit;
                }
                if let Ok(permit) = spare.permits.clone().try_acquire_owned() {
                    return Ok(permit);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    /// A gate of one permit and one spare, lent below 50 pieces of activity a second.
    fn gate_with_spare(max_wait: Duration) -> (Gate, Arc<AtomicU64>) {
        let activity = Arc::new(AtomicU64::new(0));
        let gate = Gate::new("tests", 1, 2, max_wait).with_spare(Spare::new(1, activity.clone(), 50));
        (gate, activity)
    }

    #[actix_web::test]
    async fn short_work_borrows_the_spare_while_the_protected_work_is_quiet() {
        let (gate, _quiet) = gate_with_spare(Duration::from_secs(5));
        assert_eq!(gate.size(), 2);
        let _own = gate.enter_or_borrow().await.unwrap();
        let borrowed = actix_web::rt::time::timeout(Duration::from_secs(2), gate.enter_or_borrow()).await;
        assert!(matches!(borrowed, Ok(Ok(_))), "the spare is lent while nothing else runs");
        assert_eq!((gate.counts().running, gate.counts().borrowed), (2, 1));
        // Long work never borrows, even with the spare free.
        drop(borrowed);
        assert_eq!(gate.counts().borrowed, 0);
        let long = actix_web::rt::time::timeout(Duration::from_millis(3 * Spare::PROBE.as_millis() as u64), gate.enter()).await;
        assert!(long.is_err(), "long work waits for the gate's own permit while a spare is free");
    }

    #[actix_web::test]
    async fn the_spare_stays_shut_while_the_protected_work_is_busy() {
        let (gate, activity) = gate_with_spare(Duration::from_millis(5 * Spare::PROBE.as_millis() as u64));
        // Work between any two polls of the waiter, however late the timer
        // fires on a loaded machine: a hundred pieces a turn.
        let busy = actix_web::rt::spawn(async move {
            loop {
                activity.fetch_add(100, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        let own = gate.enter_or_borrow().await.unwrap();
        assert!(matches!(gate.enter_or_borrow().await, Err(ApiError::Overloaded("tests"))), "no spare while busy");
        // The gate's own permit still goes to the next in line.
        let waiting = gate.enter_or_borrow();
        futures_util::pin_mut!(waiting);
        assert!(actix_web::rt::time::timeout(Duration::from_millis(20), waiting.as_mut()).await.is_err());
        drop(own);
        assert!(waiting.await.is_ok());
        busy.abort();
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
