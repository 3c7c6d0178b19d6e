//! How the service allocates, set once at start-up.
//!
//! - The binary's Rust allocations go to mimalloc (`main.rs`): it cut a
//!   page's instructions by 11 % and a read by id's by 7 % (glibc's malloc,
//!   free and realloc were 16 % of a page), for ~17 MiB more resident at
//!   idle, 64 against 47, and up to 35 more right after logins
//!   (`bench/memory.sh`, bench/RESULTS.md). Built with `no_thp`, so it never
//!   asks for transparent huge pages: asking, the idle service held 101 MiB.
//!   (A kernel whose mode is `always` gives them unasked;
//!   `MIMALLOC_ALLOW_THP=0` stops that.)
//! - glibc's malloc still serves the C libraries (libpq's results, SQLite's
//!   pages) and the in-process tests. Arenas: glibc gives a thread that
//!   meets contention an arena of its own (up to eight a core) and keeps
//!   what is freed there; threads that mostly wait for the database need no
//!   more arenas than there are cores.
//! - Large blocks: glibc maps blocks above a threshold and unmaps them when
//!   freed, but raises the threshold to the largest block freed so far, so
//!   a large result ended up kept in the heap. A fixed threshold stops that.

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
        let cores = libc::c_int::try_from(crate::machine::cores()).unwrap_or(libc::c_int::MAX);
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
