//! Group commit on SQLite: the API's record writes of one database go to
//! one writer thread, which runs the writes that are waiting in one
//! transaction, each in a savepoint of its own, and commits them together.
//!
//! With a transaction for each write, 64 concurrent creates queued behind
//! each other's COMMIT, more than half of a create's turn: SQLite writes
//! every page the transaction changed to the WAL, and a project's row alone
//! changes a leaf of each of its twelve indexes (bench/RESULTS.md). New rows
//! of one group land on the same leaves, so a group writes far fewer pages
//! than its writes would one by one.
//!
//! Each write still succeeds or fails alone, its audit event with it: its
//! savepoint is released or rolled back (`write_tx` nested). And each waits
//! for the COMMIT before it is answered, so a client never hears of a write
//! that is not stored; when the COMMIT fails, every write of the group is
//! answered with that failure.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use tokio::sync::oneshot;

use super::{write_tx, DbConnection, DbPool};
use crate::error::ApiError;

/// The most writes one transaction carries: enough to drain 64 concurrent
/// writers in a few groups, few enough that one slow write delays little.
const MOST_IN_A_GROUP: usize = 32;

/// A write waiting for its group.
trait Job: Send {
    /// Runs the write in a savepoint on the group's connection; its failure
    /// teaches `pool` as any request's does (a full disk turns readiness off).
    fn run(&mut self, pool: &DbPool, conn: &mut DbConnection);
    /// Answers the caller once the group's fate is known.
    fn answer(self: Box<Self>, group: Result<(), &ApiError>);
}

struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, ApiError>>,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send,
{
    fn run(&mut self, pool: &DbPool, conn: &mut DbConnection) {
        if let Some(work) = self.work.take() {
            let outcome = write_tx(conn, work);
            if let Err(err) = &outcome {
                pool.note(err);
            }
            self.outcome = Some(outcome);
        }
    }

    fn answer(self: Box<Self>, group: Result<(), &ApiError>) {
        let answer = match (self.outcome, group) {
            // Its own failure says most, whatever became of the others.
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(group)) => Err(shared(group)),
            (None, Ok(())) => Err(ApiError::internal("a write of the group did not run")),
        };
        // The caller may have gone (a client that hung up): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

/// The group's failure, as each of its writes answers it.
fn shared(err: &ApiError) -> ApiError {
    match err {
        ApiError::Storage(detail) => ApiError::Storage(detail.clone()),
        ApiError::DatabaseDown(detail) => ApiError::DatabaseDown(detail.clone()),
        other => ApiError::internal(format!("the write's transaction failed: {other}")),
    }
}

/// The queue of one database's writer thread. The thread ends when the
/// last pool holding the queue is dropped.
pub(super) struct Group {
    jobs: Sender<Box<dyn Job>>,
}

impl Group {
    /// Starts the writer thread; it takes a connection of `pool` for each group.
    pub(super) fn start(pool: DbPool) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || serve(&pool, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next group and waits for its answer.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending { work: Some(work), outcome: None, reply });
        self.jobs.send(job).map_err(|_| ApiError::internal("the SQLite writer thread has stopped"))?;
        answer.await.map_err(|_| ApiError::internal("the SQLite writer thread dropped a write"))?
    }
}

fn serve(pool: &DbPool, queue: &Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MOST_IN_A_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let outcome = pool.checkout().and_then(|mut conn| {
            let outcome = run_group(pool, &mut conn, &mut group);
            pool.noting(&mut conn, outcome)
        });
        for job in group {
            job.answer(outcome.as_ref().map(|_| ()));
        }
    }
}

/// Runs every write of `group` in one transaction, each in its savepoint.
fn run_group(pool: &DbPool, conn: &mut DbConnection, group: &mut [Box<dyn Job>]) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        for job in group.iter_mut() {
            job.run(pool, conn);
        }
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    fn insert(conn: &mut DbConnection, name: &str) -> Result<(), ApiError> {
        diesel::sql_query("INSERT INTO t (name) VALUES (?)").bind::<Text, _>(name).execute(conn)?;
        Ok(())
    }

    fn names(conn: &mut DbConnection) -> Vec<String> {
        diesel::sql_query("SELECT name FROM t ORDER BY name").load::<Name>(conn).unwrap().into_iter().map(|n| n.name).collect()
    }

    fn job<T: Send + 'static>(
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<T, ApiError>>) {
        let (reply, answer) = oneshot::channel();
        (Box::new(Pending { work: Some(work), outcome: None, reply }), answer)
    }

    fn table(dir: &tempfile::TempDir) -> DbPool {
        let pool = super::super::connect(dir.path().join("group.db").to_str().unwrap(), 2).unwrap();
        pool.get().unwrap().batch_execute("CREATE TABLE t (name TEXT NOT NULL UNIQUE)").unwrap();
        pool
    }

    /// A write that fails after writing rolls back its own rows only; the
    /// writes before and after it in the group commit, and each hears its own outcome.
    #[test]
    fn a_failing_write_rolls_back_alone_and_the_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let pool = table(&dir);
        let (a, a_answer) = job(|conn| insert(conn, "a"));
        let (b, b_answer) = job(|conn| {
            insert(conn, "b")?;
            insert(conn, "a") // UNIQUE: fails, and takes "b" with it
        });
        let (c, c_answer) = job(|conn| insert(conn, "c").map(|()| "c stored"));
        let mut group = vec![a, b, c];
        let mut conn = pool.get().unwrap();
        let outcome = run_group(&pool, &mut conn, &mut group);
        assert!(outcome.is_ok());
        for job in group {
            job.answer(outcome.as_ref().map(|_| ()));
        }
        assert!(a_answer.blocking_recv().unwrap().is_ok());
        assert!(b_answer.blocking_recv().unwrap().is_err());
        assert_eq!(c_answer.blocking_recv().unwrap().unwrap(), "c stored");
        assert_eq!(names(&mut conn), ["a", "c"]);
    }

    /// When the COMMIT fails, no write of the group is answered as stored.
    #[test]
    fn a_failed_group_fails_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let pool = table(&dir);
        let (a, a_answer) = job(|_| Ok(1));
        let (b, b_answer) = job(|_| Err::<i32, _>(ApiError::NotFound("project")));
        let mut group = vec![a, b];
        let mut conn = pool.get().unwrap();
        for job in group.iter_mut() {
            job.run(&pool, &mut conn);
        }
        let failure = ApiError::Storage("disk full".into());
        for job in group {
            job.answer(Err(&failure));
        }
        assert!(matches!(a_answer.blocking_recv().unwrap(), Err(ApiError::Storage(_))));
        assert!(matches!(b_answer.blocking_recv().unwrap(), Err(ApiError::NotFound(_))), "its own failure is kept");
    }

    /// Writes sent at once from many tasks are all stored and answered.
    #[actix_web::test]
    async fn concurrent_writes_are_all_stored() {
        let dir = tempfile::tempdir().unwrap();
        let pool = table(&dir);
        let group = Group::start(pool.clone()).unwrap();
        let writes = (0..100).map(|i| group.write(move |conn| insert(conn, &format!("n{i:03}")).map(|()| i)));
        let answers = futures_util::future::join_all(writes).await;
        assert!(answers.iter().enumerate().all(|(i, a)| a.as_ref().ok() == Some(&i)));
        let count: i64 = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT COUNT(*) FROM t)")).get_result(&mut **pool.get().unwrap()).unwrap();
        assert_eq!(count, 100);
    }
}
