//! Database connection, migrations and write transactions for SQLite and Postgres alike.

use crate::config::DatabaseConfig;
use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;
use std::time::Duration;

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

/// Begins the transaction of one command. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so a command that reads before it writes waits its turn instead of
/// failing with a busy snapshot.
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
