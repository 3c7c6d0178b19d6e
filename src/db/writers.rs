//! One queue of writers per SQLite file.
//!
//! SQLite lets one transaction write at a time. Left to its busy handler,
//! waiting writers poll the lock with growing sleeps, so a writer that
//! arrived early can keep losing to later ones: with 64 concurrent creates
//! the slowest waited over a second and some sockets timed out
//! (bench/RESULTS.md). Taking turns on a fair lock in the process first
//! serves them in arrival order; the busy timeout still covers writers in
//! other processes (the CLI, a checkpoint).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use parking_lot::{FairMutex, FairMutexGuard};

/// As long as SQLite's own busy timeout (`manager::configure_sqlite`): a
/// writer that waited this long goes on to the file lock rather than fail.
const LONGEST_TURN_WAIT: Duration = Duration::from_secs(10);

/// A writer's turn on its file; the file lock is free for it (from this
/// process) until the turn is dropped.
pub struct Turn(#[allow(dead_code)] Option<FairMutexGuard<'static, ()>>);

/// Waits for this connection's turn to write. In-memory databases have no
/// file and no queue.
pub fn take_turn(conn: &mut SqliteConnection) -> Turn {
    if !queue_enabled() {
        return Turn(None);
    }
    let Some(queue) = database_file(conn).map(queue_of) else {
        return Turn(None);
    };
    match queue.try_lock_for(LONGEST_TURN_WAIT) {
        Some(guard) => Turn(Some(guard)),
        None => {
            tracing::warn!("a SQLite writer waited {LONGEST_TURN_WAIT:?} for its turn; going on to the file lock");
            Turn(None)
        }
    }
}

/// `SQLITE_WRITER_QUEUE=off` leaves writers to the busy timeout alone, so
/// the benchmark can show both side by side (bench/run.sh).
fn queue_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("SQLITE_WRITER_QUEUE").map_or(true, |v| v != "off"))
}

/// One queue for each file, for the life of the process: a process opens
/// few files, and a queue must outlive every connection to its file.
fn queue_of(file: String) -> &'static FairMutex<()> {
    static QUEUES: OnceLock<Mutex<HashMap<String, &'static FairMutex<()>>>> = OnceLock::new();
    let mut queues = QUEUES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    queues.entry(file).or_insert_with(|| Box::leak(Box::new(FairMutex::new(()))))
}

#[derive(QueryableByName)]
struct Attached {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    file: String,
}

/// The main database's file as SQLite resolved it, so that every connection
/// to one file finds the same queue however its URL was spelled.
fn database_file(conn: &mut SqliteConnection) -> Option<String> {
    let attached: Vec<Attached> = diesel::sql_query("PRAGMA database_list").load(conn).ok()?;
    attached.into_iter().find(|a| a.name == "main").map(|a| a.file).filter(|f| !f.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn open(path: &std::path::Path) -> SqliteConnection {
        SqliteConnection::establish(path.to_str().unwrap()).unwrap()
    }

    #[test]
    fn connections_to_one_file_share_a_queue_and_other_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut a, mut b) = (open(&dir.path().join("one.db")), open(&dir.path().join("one.db")));
        let mut other = open(&dir.path().join("two.db"));
        let turn = take_turn(&mut a);
        assert!(turn.0.is_some());
        let same = queue_of(database_file(&mut b).unwrap());
        assert!(same.is_locked(), "a second connection to the file waits for the first");
        assert!(take_turn(&mut other).0.is_some(), "another file has its own queue");
        drop(turn);
        assert!(!same.is_locked());
    }

    #[test]
    fn writers_take_turns_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turns.db");
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, inside, most) = (path.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let mut conn = open(&path);
                    for _ in 0..20 {
                        let _turn = take_turn(&mut conn);
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_in_memory_database_has_no_queue() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        assert!(take_turn(&mut conn).0.is_none());
    }
}
