//! Persistence (sqlx, embedded SQLite). All SQL lives in this folder, so a PostgreSQL backend is
//! an addition here and nowhere else.

mod accounts;
mod chain_write;
mod channels;
mod deliveries;
mod directory;
mod events;
mod ids;
mod installations;
mod plugins;
mod rule_secrets;
mod rules;
mod runs;
mod schedule;
mod sealing;
mod tenants;
mod tickets;
mod webhooks;
mod writer;

pub use accounts::{AccountRow, NewAccount, SyncCounts, Tokens};
pub use chain_write::{ChainWrite, EventText, RunText, TicketWrite, Written};
pub use channels::{InboxEmail, MailboxState, Secret, Settings};
pub use deliveries::{DeliveryFilter, DeliveryRow, HookCall, Outcome};
pub use directory::{AgentRow, InboxChanges, InboxRow, NewAgent, NewInbox};
pub use events::EventRow;
pub use installations::{InstallationRow, SecretChanges};
pub use plugins::{PluginRow, Saved, Vendor, VendorKey};
pub use rule_secrets::ActionSecrets;
pub use rules::RuleRow;
pub use runs::RunRow;
pub use schedule::DueTicket;
pub use sealing::Sealer;
pub use tenants::{DEFAULT_STATUSES, StatusRow, Tenant, hash_token, new_token};
pub use tickets::{
    AttachmentRow, MailParts, MessageRow, NewAttachment, NewMessage, NewTicket, Outgoing,
    TicketFilter, TicketRow,
};
pub use webhooks::{Subscription, WebhookRow};
pub use writer::{WriteError, Writer};

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
    /// A group-committed write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A sealed secret could not be opened (the server's secret key changed?).
    #[error("the secret {0} cannot be opened with this server's secret key")]
    Unseal(String),
}

/// The result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// The database: the group-commit writer thread for the hot path (tickets, messages, the
/// engine's chains), one more writer connection for the rest (rules, directory, plugins), and a
/// pool of readers.
///
/// SQLite admits one writer at a time. With several writing connections, a writer that finds
/// the lock taken sleeps in SQLite's busy handler (1, 2, 5, … 100 ms), which under load turned
/// into second-long tail latencies; so everything written per request goes through the one
/// [`Writer`], which commits the work of concurrent requests together, and the second writer
/// only carries the rare administrative writes. WAL lets the readers run beside both.
#[derive(Debug, Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    sealer: Sealer,
    group: Writer,
    ids: std::sync::Arc<ids::Ids>,
    /// Tenants by API key hash, as looked up.
    keys: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Tenant>>>,
    /// Webhook subscriptions by tenant, as looked up.
    hooks: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<[Subscription]>>>,
    >,
    /// A `sqlite::memory:` store lives in a temporary folder (the writer thread and the pools
    /// need one database between them); removed when the last clone is dropped.
    _scratch: Option<std::sync::Arc<tempfile::TempDir>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Open (creating when missing) the database at `url` (`sqlite://ferrule.db`,
    /// `sqlite::memory:`) and apply migrations. Secrets are sealed with `sealer`.
    pub async fn connect(url: &str, sealer: Sealer) -> Result<Store> {
        let mut options = SqliteConnectOptions::from_str(url)?;
        let mut scratch = None;
        if url.contains(":memory:") {
            let dir = tempfile::tempdir().map_err(sqlx::Error::Io)?;
            options = options.filename(dir.path().join("ferrule.db"));
            scratch = Some(std::sync::Arc::new(dir));
        }
        let options = options
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
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone().read_only(true))
            .await?;
        let group = Writer::start(options.get_filename())?;
        Ok(Store {
            writer,
            reader,
            sealer,
            group,
            ids: Default::default(),
            keys: Default::default(),
            hooks: Default::default(),
            _scratch: scratch,
        })
    }

    /// Write a chain in the next group commit.
    pub async fn write_chain(&self, write: ChainWrite) -> Result<Written, WriteError> {
        self.group
            .write(move |conn| chain_write::apply(conn, &write))
            .await
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
