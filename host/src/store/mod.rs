//! Persistence (sqlx, embedded SQLite). All SQL lives in this folder, so a PostgreSQL backend is
//! an addition here and nowhere else.

mod directory;
mod rules;
mod runs;
mod tenants;
mod tickets;

pub use directory::{AgentRow, InboxRow, NewAgent, NewInbox};
pub use rules::RuleRow;
pub use runs::RunRow;
pub use tenants::{DEFAULT_STATUSES, StatusRow, Tenant, hash_token, new_token};
pub use tickets::{MessageRow, NewMessage, NewTicket, Outgoing, TicketFilter, TicketRow};

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
}

/// The result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Open (creating when missing) the database at `url` (`sqlite://ferrule.db`,
    /// `sqlite::memory:`) and apply migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable against process crashes; FULL adds power-loss safety.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // One writer at a time is SQLite's model; a memory database must stay one connection.
            .max_connections(if in_memory { 1 } else { 8 })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool })
    }

    /// Start a write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so
    /// concurrent writers queue on the busy timeout instead of failing when a read lock cannot
    /// be upgraded.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Start a read-only transaction (a consistent snapshot, no write lock).
    pub async fn begin_read(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
