//! How glibc's allocator keeps freed memory, set once at start-up.
//!
//! - Arenas: glibc gives a thread that meets contention an arena of its own
//!   (up to eight a core) and keeps what is freed there: the HTTP workers,
//!   each building its routes at start-up, kept ~6 MB apiece
//!   (bench/RESULTS.md). Threads that mostly wait for the database need no
//!   more arenas than there are cores.
//! - Large blocks: glibc maps blocks above a threshold and unmaps them when
//!   freed, but raises the threshold to the largest block freed so far, so
//!   argon2's 19 MiB per login and an export's buffers ended up kept in the
//!   heap. A fixed threshold stops that.

/// Blocks of this size or more are mapped on their own and returned when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const LARGE_BLOCK: libc::c_int = 1 << 20;

/// Caps glibc's arenas at one a core and fixes its mmap threshold, each
/// unless the operator set it (glibc's `MALLOC_ARENA_MAX`,
/// `MALLOC_MMAP_THRESHOLD_`); elsewhere nothing to do. Call first thing in
/// `main`, before other threads exist.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        let unset = |variable: &str| std::env::var_os(variable).is_none();
        // SAFETY: mallopt only sets tuning parameters of glibc's malloc; it
        // takes no pointers and is called before any other thread allocates.
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, cores);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK);
            }
        }
    }
}
