//! Database connection, migrations and write transactions for SQLite and Postgres alike.

use crate::config::DatabaseConfig;
use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

pub async fn connect(
    config: &DatabaseConfig,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = match config {
        DatabaseConfig::Sqlite { path } => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create `{}`", parent.display()))?;
            }
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            options.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
            options
        }
        DatabaseConfig::Postgres { url } => ConnectOptions::new(url.expose_secret().to_owned()),
    };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the {} database", config.backend_name()))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("database migration failed")
}

/// What commits wake: the audit sealer and the event relay after audit rows were written, and
/// waiting claimers after work was queued.
#[derive(Clone, Default)]
pub struct Wakeups {
    pub sealer: Arc<Notify>,
    pub events: Arc<Notify>,
    pub work: Arc<Notify>,
}

impl Wakeups {
    pub fn audited(&self) {
        self.sealer.notify_one();
        self.events.notify_one();
    }

    pub fn work_queued(&self) {
        self.work.notify_waiters();
    }
}

/// The transaction of one command. It remembers what it wrote that others wait for (audit
/// rows, queued work), and its `commit` wakes them, so no command has to remember to; a unit
/// dropped without committing rolls back and wakes nobody.
pub struct UnitOfWork {
    txn: DatabaseTransaction,
    wakeups: Wakeups,
    wrote_audit: AtomicBool,
    queued_work: AtomicBool,
}

impl UnitOfWork {
    /// Begins a command's transaction: see `begin_write`.
    pub async fn begin(db: &DatabaseConnection, wakeups: &Wakeups) -> Result<Self, DbErr> {
        Ok(Self {
            txn: begin_write(db).await?,
            wakeups: wakeups.clone(),
            wrote_audit: AtomicBool::new(false),
            queued_work: AtomicBool::new(false),
        })
    }

    /// Called by the audit writer for every row.
    pub fn wrote_audit(&self) {
        self.wrote_audit.store(true, Ordering::Relaxed);
    }

    /// Called by the work queue for every item queued or requeued.
    pub fn queued_work(&self) {
        self.queued_work.store(true, Ordering::Relaxed);
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        if self.wrote_audit.load(Ordering::Relaxed) {
            self.wakeups.audited();
        }
        if self.queued_work.load(Ordering::Relaxed) {
            self.wakeups.work_queued();
        }
        Ok(())
    }
}

/// Queries run inside the unit's transaction.
#[sea_orm::prelude::async_trait::async_trait]
impl ConnectionTrait for UnitOfWork {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// Reads a JSON text column. JSON the coordinator stored that no longer parses is corrupt
/// data: an error to look into, never an empty value that hides it.
pub fn json_column<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
) -> crate::error::ApiResult<T> {
    serde_json::from_str(text).map_err(|err| {
        crate::error::ApiError::internal(anyhow::anyhow!(
            "stored {column} is not valid JSON: {err}"
        ))
    })
}

/// Reads a nullable JSON text column.
pub fn json_column_opt<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    column: &str,
) -> crate::error::ApiResult<Option<T>> {
    text.map(|t| json_column(t, column)).transpose()
}

/// Begins a raw write transaction. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so a command that reads before it writes waits its turn instead of
/// failing with a busy snapshot. Commands use a `UnitOfWork`, which wraps one.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Locks the rows `query` reads until `conn`'s transaction ends, on Postgres. SQLite has no
/// row locks and needs none: a write transaction there already excludes every other writer.
pub fn locked<E: sea_orm::EntityTrait>(
    query: sea_orm::Select<E>,
    conn: &impl sea_orm::ConnectionTrait,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    if conn.get_database_backend() == DbBackend::Postgres {
        query.lock_exclusive()
    } else {
        query
    }
}

/// Like `locked`, but skips rows another transaction holds instead of waiting for them:
/// for queues, where any other row will do.
pub fn locked_or_skipped<E: sea_orm::EntityTrait>(
    query: sea_orm::Select<E>,
    conn: &impl sea_orm::ConnectionTrait,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{LockBehavior, LockType};
    if conn.get_database_backend() == DbBackend::Postgres {
        query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
    } else {
        query
    }
}
