//! What this machine has, read once for every default that scales with it.

/// The cores this process may run on (1 when that cannot be read): workers,
/// login hashing, the slow lane's spare connections and glibc's arenas all
/// size themselves by it.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
