//! Threads of a lower CPU priority for the slow lane's work.
//!
//! The lane bounds how much slow work runs at once, but what runs still
//! competes for the cores with the fast reads: on two cores, the service
//! decoding an export's rows and writing its CSV took CPU the workers of
//! the fast reads were waiting for (bench/RESULTS.md, mixed scenario). The
//! lane's work runs on threads whose nice value is raised, so that when both
//! want a core the scheduler serves the fast reads first; a core nobody else
//! wants still goes to slow work. Raising one's own nice value needs no
//! privilege; per thread it is Linux's (elsewhere the threads keep the
//! process's priority).

use tokio::runtime::{Builder, Runtime};

use crate::error::ApiError;

/// A small pool of threads at a raised nice value.
pub(super) struct NicedThreads {
    /// Only its blocking threads are used: nothing drives the runtime itself.
    /// `None` once dropped.
    runtime: Option<Runtime>,
}

impl NicedThreads {
    /// Up to `threads` threads, each `nice` steps below the process's
    /// priority (0: the same priority).
    pub(super) fn new(nice: i32, threads: usize) -> std::io::Result<Self> {
        let runtime = Builder::new_current_thread()
            .thread_name("slow-lane")
            .max_blocking_threads(threads.max(1))
            .on_thread_start(move || lower_this_thread(nice))
            .build()?;
        Ok(Self { runtime: Some(runtime) })
    }

    /// Runs `work` on one of the threads and waits for it without holding the caller's.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or_else(|| ApiError::internal("the slow lane's threads are gone"))?;
        runtime.spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("slow work failed: {e}")))
    }
}

impl Drop for NicedThreads {
    /// Pools are dropped inside the async runtime (a test's app ending),
    /// where a blocking shutdown would panic; running work ends on its own.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Raises the calling thread's nice value by `nice` (Linux: the nice value
/// is a thread's, and `setpriority` on its thread id changes it alone).
fn lower_this_thread(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let tid = unsafe { libc::gettid() } as libc::id_t;
        let now = current_nice().unwrap_or(0);
        // Safety: plain system calls on this thread's own id.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, (now + nice).min(19)) } != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower the priority of a slow-lane thread");
        }
    }
}

/// The calling thread's nice value (`None` off Linux or when it cannot be read).
pub(super) fn current_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // getpriority may answer -1 as a value: errno tells it from a failure.
        // Safety: errno is this thread's; the calls only read.
        unsafe {
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t);
            (*libc::__errno_location() == 0).then_some(nice)
        }
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn work_runs_at_the_raised_nice_value_and_the_caller_keeps_its_own() {
        let before = current_nice().unwrap();
        let threads = NicedThreads::new(5, 2).unwrap();
        let inside = threads.run(current_nice).await.unwrap().unwrap();
        assert_eq!(inside, (before + 5).min(19));
        assert_eq!(current_nice().unwrap(), before, "the caller's thread is left alone");
        assert_ne!(std::thread::current().name(), Some("slow-lane"));
        let name = threads.run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert_eq!(name.as_deref(), Some("slow-lane"));
    }

    #[actix_web::test]
    async fn nice_zero_keeps_the_priority() {
        let before = current_nice().unwrap();
        let threads = NicedThreads::new(0, 1).unwrap();
        assert_eq!(threads.run(current_nice).await.unwrap(), Some(before));
    }

    #[actix_web::test]
    async fn a_panic_in_the_work_is_an_error_and_the_threads_go_on() {
        let threads = NicedThreads::new(3, 1).unwrap();
        assert!(threads.run(|| panic!("boom")).await.is_err());
        assert_eq!(threads.run(|| 7).await.unwrap(), 7);
    }
}
