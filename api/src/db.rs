//! The connection pool, tuned per backend.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::Config;

/// Statements slower than this are logged (without their parameters).
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

pub async fn connect(
    config: &Config,
    statements: Arc<AtomicU64>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(&config.database_url);
    options
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // A statement never outlives the request that runs it (PostgreSQL).
        .statement_timeout(config.request_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; writers wait for
            // the lock instead of failing at once.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(move |info| {
        statements.fetch_add(1, Ordering::Relaxed);
        if info.elapsed > SLOW_STATEMENT {
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
        }
    });
    Ok(db)
}
