//! Persistence (sqlx, embedded SQLite). All SQL lives in this folder, so a PostgreSQL backend is
//! an addition here and nowhere else.

mod directory;
mod events;
mod installations;
mod plugins;
mod rules;
mod runs;
mod schedule;
mod sealing;
mod tenants;
mod tickets;

pub use directory::{AgentRow, InboxRow, NewAgent, NewInbox};
pub use events::EventRow;
pub use installations::{InstallationRow, SecretChanges};
pub use plugins::{PluginRow, Saved, Vendor, VendorKey};
pub use rules::RuleRow;
pub use runs::{NewRun, RunRow};
pub use schedule::DueTicket;
pub use sealing::Sealer;
pub use tenants::{DEFAULT_STATUSES, StatusRow, Tenant, hash_token, new_token};
pub use tickets::{
    MessageRow, NewMessage, NewTicket, OutboxRow, Outgoing, TicketFilter, TicketRow,
};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A store failure. Constraint violations the API can explain are mapped before they get here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON column could not be read.
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A sealed secret could not be opened (the server's secret key changed?).
    #[error("the secret {0} cannot be opened with this server's secret key")]
    Unseal(String),
}

/// The result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// The database: one writer connection and a pool of readers.
///
/// SQLite admits one writer at a time. With several writing connections, a writer that finds
/// the lock taken sleeps in SQLite's busy handler (1, 2, 5, … 100 ms), which under load turned
/// into second-long tail latencies. One writer connection makes writers queue in the pool
/// instead, first come first served, and WAL lets the readers run beside it.
#[derive(Debug, Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    sealer: Sealer,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Open (creating when missing) the database at `url` (`sqlite://ferrule.db`,
    /// `sqlite::memory:`) and apply migrations. Secrets are sealed with `sealer`.
    pub async fn connect(url: &str, sealer: Sealer) -> Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable against process crashes; FULL adds power-loss safety.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        // A memory database exists once per connection: it must stay on the one connection.
        let reader = if url.contains(":memory:") {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Store {
            writer,
            reader,
            sealer,
        })
    }

    /// Start a write transaction on the writer connection.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Start a read-only transaction (a consistent snapshot, no write lock).
    pub async fn begin_read(&self) -> Result<Tx> {
        Ok(self.reader.begin().await?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    /// The readers.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// The writer, for single-statement writes.
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
