//! The connection pool, tuned per backend, and how it works behind a
//! transaction pooler.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr,
    sqlx::{self, AssertSqlSafe, postgres::PgConnection},
};

use crate::{
    config::{Config, DatabasePooler},
    metrics::Metrics,
};

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
    let max_connections = config.database_max_connections;
    connect_to(
        &config.database_url,
        max_connections,
        config,
        statements,
        metrics,
    )
    .await
}

/// The pool of the replica at `DATABASE_READ_URL`, tuned as the primary's
/// (and behind the same kind of pooler), when one is set.
pub async fn connect_reads(
    config: &Config,
    statements: Arc<AtomicU64>,
    metrics: Metrics,
) -> Result<Option<DatabaseConnection>, DbErr> {
    let Some(url) = &config.database_read_url else {
        return Ok(None);
    };
    let max_connections = config.database_read_max_connections;
    connect_to(url, max_connections, config, statements, metrics)
        .await
        .map(Some)
}

async fn connect_to(
    url: &str,
    max_connections: u32,
    config: &Config,
    statements: Arc<AtomicU64>,
    metrics: Metrics,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
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
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; writers wait for
            // the lock instead of failing at once.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    // PostgreSQL stops a statement a second after the request's own
    // deadline: the request answers TIMEOUT first, and the statement it
    // abandoned (running, or waiting for a lock) does not run on. Never at
    // the same moment: a request dropped just as the server sends the
    // statement's timeout error can leave its connection stuck in the pool
    // for good.
    let statement_timeout = config.request_timeout + STATEMENT_TIMEOUT_MARGIN;
    match config.database_pooler {
        DatabasePooler::None => {
            options.statement_timeout(statement_timeout);
        }
        DatabasePooler::Transaction => behind_transaction_pooler(&mut options, statement_timeout),
    }
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

/// A direct connection to PostgreSQL for the migrations, bypassing the
/// pooler: their DDL and advisory lock want a session of their own.
pub async fn connect_direct(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options).await
}

/// Behind PgBouncer in transaction mode (1.18, Debian's, tracks no
/// prepared statements), a server connection is ours only inside a
/// transaction: after each `Sync` outside one, the next message may reach
/// another server. The driver sends a statement as Parse/Describe/Sync then
/// Bind/Execute/Sync, so every checkout from the pool runs inside one
/// server transaction, opened when it is handed out and committed when it
/// comes back; and no statement is kept prepared, since the next checkout
/// may be on another server.
///
/// A transaction the code opens itself sends its `BEGIN` inside ours (a
/// no-op, with a warning) and its `COMMIT` or `ROLLBACK` ends ours: it
/// commits as it would without the pooler. A statement outside one commits
/// when its connection is returned, a moment after the statement returned,
/// so the services' writes outside a transaction run in one of their own
/// (`connection::Db`).
fn behind_transaction_pooler(options: &mut ConnectOptions, statement_timeout: Duration) {
    // The timeout is set per transaction: PgBouncer refuses (or drops) the
    // startup `options` that would set it per session.
    let begin = Arc::new(format!(
        "DEALLOCATE ALL; BEGIN; SET LOCAL statement_timeout = {}",
        statement_timeout.as_millis()
    ));
    let on_connect = begin.clone();
    options
        // A cached statement would be looked for on the server of the next
        // checkout, which may be another.
        .map_sqlx_postgres_opts(|opts| opts.statement_cache_capacity(0))
        // A fresh connection is handed out without `before_acquire`.
        .map_sqlx_postgres_pool_opts(move |pool| {
            let on_connect = on_connect.clone();
            pool.after_connect(move |conn, _| {
                let begin = on_connect.clone();
                Box::pin(async move { begin_checkout(conn, &begin).await })
            })
            .after_release(|conn, _| Box::pin(end_checkout(conn)))
            // A connection closed for its age is closed before
            // `after_release`, which would roll back what it ran (a read,
            // or a NOTIFY sent outside a transaction); PgBouncer ages the
            // server connections.
            .max_lifetime(None)
        })
        .map_sqlx_postgres_before_acquire(move |conn, _| {
            let begin = begin.clone();
            Box::pin(async move { begin_checkout(conn, &begin).await.map(|()| true) })
        });
}

/// Opens the checkout's transaction, in one simple-protocol message, which
/// PgBouncer cannot split between servers. It first drops the prepared
/// statements a client left on this server: the driver names each one
/// (even with its cache off) and never closes it, and another client's
/// driver counts the same names from 1.
async fn begin_checkout(conn: &mut PgConnection, begin: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(begin.to_owned()))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Commits the checkout's transaction (an aborted one rolls back; one the
/// code committed itself makes this a no-op, with a warning). `false`
/// closes the connection.
async fn end_checkout(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    match sqlx::raw_sql(AssertSqlSafe("COMMIT")).execute(conn).await {
        Ok(_) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "ending a checkout behind the pooler failed; closing it");
            Ok(false)
        }
    }
}
