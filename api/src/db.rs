//! The connection pool, tuned per backend.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::{config::Config, metrics::Metrics};

/// How much longer than the request timeout a statement may run.
const STATEMENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

/// How long a connection may sit idle before it is checked on the way out.
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

/// Statements slower than this are logged (without their parameters).
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

/// `statements` counts the statements run, `metrics` times each.
pub async fn connect(
    config: &Config,
    statements: Arc<AtomicU64>,
    metrics: Metrics,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(&config.database_url);
    options
        .max_connections(config.database_max_connections)
        // Waiting for a connection is bounded on its own and short: a
        // database that is down or a pool that is exhausted answers
        // UNAVAILABLE within this time instead of eating the request timeout.
        .acquire_timeout(config.database_acquire_timeout)
        // Connections idle for a while are checked before use, so those
        // that broke while the database was away are replaced, not handed
        // out. Not every one: that would add a round trip to every
        // statement. One that broke within the last second fails its
        // statement with UNAVAILABLE, and is dropped.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_CHECK)
        // PostgreSQL stops a statement a second after the request's own
        // deadline: the request answers TIMEOUT first, and the statement it
        // abandoned (running, or waiting for a lock) does not run on. Never
        // at the same moment: a request dropped just as the server sends the
        // statement's timeout error can leave its connection stuck in the
        // pool for good.
        .statement_timeout(config.request_timeout + STATEMENT_TIMEOUT_MARGIN)
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
        metrics.db_statement(info.elapsed);
        if info.elapsed > SLOW_STATEMENT {
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
        }
    });
    Ok(db)
}
