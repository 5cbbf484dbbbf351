//! Wake-ups between servers. On PostgreSQL every server LISTENs: a committed
//! job wakes the workers at once, and a committed audit event wakes the
//! live subscriptions, on whichever server they are. Nothing is carried in
//! the signal itself; listeners read the database. SQLite (one process)
//! relies on short polls instead.

use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::{Notify, broadcast};

use crate::error::AppResult;

/// The channel that wakes workers when a job is committed.
pub const JOBS_CHANNEL: &str = "pools_jobs";

/// The channel committed audit events are announced on (payload: chain key).
pub const EVENTS_CHANNEL: &str = "pools_events";

#[derive(Clone)]
pub struct Signals {
    pub jobs: Arc<Notify>,
    pub events: broadcast::Sender<String>,
}

impl Default for Signals {
    fn default() -> Self {
        Self {
            jobs: Arc::new(Notify::new()),
            events: broadcast::channel(1024).0,
        }
    }
}

/// Listens on PostgreSQL (at `database_url`) until the process ends,
/// reconnecting after errors.
pub fn spawn_listener(
    backend: DbBackend,
    database_url: String,
    signals: Signals,
) -> Option<tokio::task::JoinHandle<()>> {
    if backend != DbBackend::Postgres {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&database_url, &signals).await {
                tracing::warn!(error = %e, "lost the database notifications; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

async fn listen(database_url: &str, signals: &Signals) -> Result<(), sqlx::Error> {
    // A connection of its own, outside the pool: a listener holds its
    // connection for good, and the pool's are for requests and jobs.
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen_all([JOBS_CHANNEL, EVENTS_CHANNEL]).await?;
    // Anything committed while we were away is picked up by a poll now.
    signals.jobs.notify_one();
    loop {
        let note = listener.recv().await?;
        if note.channel() == JOBS_CHANNEL {
            signals.jobs.notify_one();
        } else {
            let _ = signals.events.send(note.payload().to_owned());
        }
    }
}

/// `NOTIFY channel` on PostgreSQL (delivered at commit, dropped on
/// rollback); nothing on SQLite, whose single process polls.
pub async fn notify(db: &impl ConnectionTrait, channel: &str, payload: &str) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}
