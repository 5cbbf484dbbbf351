//! Wake-ups between servers. On PostgreSQL every server LISTENs: a committed
//! job wakes the workers at once, and a committed audit event wakes the
//! live subscriptions, on whichever server they are. Nothing is carried in
//! the signal itself; listeners read the database. SQLite (one process)
//! relies on short polls instead.

use std::{sync::Arc, time::Duration};

use sea_orm::DbBackend;
use tokio::sync::{Notify, broadcast};

use crate::{services::jobs::JOBS_CHANNEL, state::AppState};

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

/// Listens on PostgreSQL until the process ends, reconnecting after errors.
pub fn spawn_listener(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&state).await {
                tracing::warn!(error = %e, "lost the database notifications; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

async fn listen(state: &AppState) -> Result<(), sqlx::Error> {
    // A connection of its own, outside the pool: a listener holds its
    // connection for good, and the pool's are for requests and jobs.
    let mut listener = sqlx::postgres::PgListener::connect(&state.config.database_url).await?;
    listener.listen_all([JOBS_CHANNEL, EVENTS_CHANNEL]).await?;
    // Anything committed while we were away is picked up by a poll now.
    state.signals.jobs.notify_one();
    loop {
        let note = listener.recv().await?;
        if note.channel() == JOBS_CHANNEL {
            state.signals.jobs.notify_one();
        } else {
            let _ = state.signals.events.send(note.payload().to_owned());
        }
    }
}
