//! The one SQLite writer for hot-path writes: a thread that owns a write connection and commits
//! the work of many concurrent requests in one transaction (group commit).
//!
//! Each job runs in its own savepoint, so a job that fails is rolled back alone and the others
//! of its batch still commit; every job's answer is sent only after the batch's `COMMIT`
//! returned, so nobody is told "done" before the work is durable. The thread calls SQLite
//! directly (rusqlite, prepared statements cached on the connection) instead of handing each
//! statement to a connection worker, which is what made a request cost ~25 thread hand-offs.

use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// Most jobs committed in one transaction; the rest wait for the next batch.
const MAX_BATCH: usize = 512;

/// Why a write job did not commit.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The ticket was written by someone else since it was read (optimistic revision check).
    #[error("the ticket was changed concurrently")]
    Conflict,
    /// An id handed out in memory was taken meanwhile (another process wrote the database).
    #[error("an id was taken concurrently")]
    IdTaken,
    /// A ticket or message with this channel id (`external_id`) exists already.
    #[error("already imported as ticket {ticket_id}")]
    Duplicate {
        /// The existing ticket.
        ticket_id: i64,
        /// The existing message, for a message.
        message_id: Option<i64>,
    },
    /// SQLite failed.
    #[error("database: {0}")]
    Database(String),
    /// The writer thread is gone (the server is stopping).
    #[error("the database writer has stopped")]
    Stopped,
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> WriteError {
        WriteError::Database(e.to_string())
    }
}

/// A job as the writer thread sees it.
trait Work: Send {
    /// Run inside the job's savepoint; false when the job failed (and is rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Send the answer once the batch's fate (`commit`) is known.
    fn finish(self: Box<Self>, commit: Result<(), WriteError>);
}

struct Task<T, F> {
    work: Option<F>,
    out: Option<Result<T, WriteError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, WriteError>>,
}

impl<T, F> Work for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, WriteError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let out = work(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), WriteError>) {
        let out = match (commit, self.out) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(ok)) => ok,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(WriteError::Stopped),
        };
        // The caller may have gone away (its request was cut off); the work is committed anyway.
        let _ = self.reply.send(out);
    }
}

/// A handle on the writer thread; cheap to clone. The thread stops when the last handle is
/// dropped and its queue is empty.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Work>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

/// Open the write connection the way every connection of the store is configured.
pub(super) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL with NORMAL is durable against process crashes; FULL adds power-loss safety.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Each job's savepoint keeps a statement journal of the pages it changes: in memory, not
    // in a temporary file per batch.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 16 MiB of page cache (the default is 2 MiB): the hot index pages stay cached.
    conn.pragma_update(None, "cache_size", -16384)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Writer {
    /// Start the writer thread on the database file at `path`.
    pub fn start(path: &Path) -> Result<Writer, WriteError> {
        let conn = open(path)?;
        let (queue, jobs) = mpsc::channel::<Box<dyn Work>>();
        std::thread::Builder::new()
            .name("ferrule-writer".into())
            .spawn(move || run(conn, jobs))
            .map_err(|e| WriteError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { queue })
    }

    /// Run `work` in the next group commit; its result once the batch is committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, WriteError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, WriteError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let task = Task {
            work: Some(work),
            out: None,
            reply,
        };
        self.queue
            .send(Box::new(task))
            .map_err(|_| WriteError::Stopped)?;
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }
}

fn step(conn: &Connection, sql: &str) -> Result<(), WriteError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The writer thread: take what is queued, commit it as one transaction, answer, repeat.
fn run(conn: Connection, jobs: mpsc::Receiver<Box<dyn Work>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = commit_batch(&conn, &mut batch);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Work>]) -> Result<(), WriteError> {
    step(conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        step(conn, "SAVEPOINT job")?;
        if !job.run(conn) {
            step(conn, "ROLLBACK TO job")?;
        }
        step(conn, "RELEASE job")?;
    }
    step(conn, "COMMIT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        (dir, Writer::start(&path).unwrap())
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        open(&dir.path().join("w.db"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_is_rolled_back_alone_and_the_rest_of_its_batch_commits() {
        let (dir, w) = writer();
        let mut jobs = Vec::new();
        for v in 0..200 {
            let w = w.clone();
            jobs.push(tokio::spawn(async move {
                w.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [v % 150])?;
                    // Every job inserts a second row; the duplicates of `v % 150` fail.
                    c.execute("INSERT INTO t (v) VALUES (?1)", [1000 + v])?;
                    Ok(v)
                })
                .await
            }));
        }
        let mut ok = 0;
        for j in jobs {
            if j.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 150, "each of the 150 distinct values commits once");
        // A failed job leaves nothing behind: not even its first row.
        assert_eq!(count(&dir), 300);
    }

    #[tokio::test]
    async fn a_job_error_reaches_its_caller() {
        let (_dir, w) = writer();
        let r: Result<(), _> = w.write(|_| Err(WriteError::Conflict)).await;
        assert!(matches!(r, Err(WriteError::Conflict)));
    }
}
