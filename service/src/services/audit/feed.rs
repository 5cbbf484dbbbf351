//! Live feeds of the audit trail for GraphQL subscriptions. The database is
//! the source: a feed reads events after the last one it saw, woken by
//! PostgreSQL's NOTIFY from whichever server committed them, or by a short
//! poll on SQLite. A chain's sequence numbers are assigned under its head's
//! lock, so they commit in order and a feed never skips one.
//!
//! Access is checked again before each batch goes out: a member who left,
//! or a token revoked, ends the feed with the reason instead of hearing on.
//!
//! A client that reconnects passes the id of the last event it received
//! and resumes right after it, so nothing is lost across a dropped
//! connection; replay reaches back [`REPLAY_WINDOW`] at most.

use std::{collections::VecDeque, sync::Arc};

use entities::{audit_chain_head, audit_event};
use futures::{Stream, future::BoxFuture};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    state::AppState,
};

/// How far back a resumed feed may start: enough to ride out a dropped
/// connection, not a way to read a pool's history (that is `auditEvents`).
pub const REPLAY_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Which events of a chain a feed follows.
#[derive(Clone, Copy, Debug)]
pub enum FeedFilter {
    /// Everything that happens in one pool.
    Pool(Uuid),
    /// Changes to one object, such as a formation.
    Entity(Uuid),
}

/// Whether the subscriber may still read the feed.
pub type AccessCheck = Arc<dyn Fn(AppState) -> BoxFuture<'static, AppResult<()>> + Send + Sync>;

pub struct Feed {
    state: AppState,
    access: AccessCheck,
    /// Set once access was refused: the stream then ends.
    closed: bool,
    chain_key: String,
    filter: FeedFilter,
    last_seq: i64,
    buffer: VecDeque<audit_event::Model>,
    wake: broadcast::Receiver<String>,
}

/// Events read per query.
const FEED_BATCH: u64 = 100;

impl Feed {
    /// A feed of what happens from now on, or, given `after` (the id of an
    /// event of this chain), of what happened since that event.
    pub async fn start(
        state: AppState,
        chain_key: String,
        filter: FeedFilter,
        access: AccessCheck,
        after: Option<Uuid>,
    ) -> AppResult<Self> {
        let wake = state.signals.events.subscribe();
        let last_seq = match after {
            Some(id) => resume_point(&state, &chain_key, id).await?,
            None => audit_chain_head::Entity::find_by_id(chain_key.clone())
                .one(&state.db)
                .await?
                .map_or(0, |h| h.seq),
        };
        Ok(Self {
            state,
            access,
            closed: false,
            chain_key,
            filter,
            last_seq,
            buffer: VecDeque::new(),
            wake,
        })
    }

    /// The events, then, if access is withdrawn, the refusal as the last item.
    pub fn into_stream(self) -> impl Stream<Item = AppResult<audit_event::Model>> {
        futures::stream::unfold(self, |mut feed| async move {
            loop {
                if feed.closed {
                    return None;
                }
                if let Some(event) = feed.buffer.pop_front() {
                    return Some((Ok(event), feed));
                }
                if let Err(e) = feed.fetch().await {
                    tracing::error!(error = ?e, "reading a live feed failed");
                }
                if !feed.buffer.is_empty()
                    && let Err(refused) = (feed.access)(feed.state.clone()).await
                {
                    feed.closed = true;
                    feed.buffer.clear();
                    return Some((Err(refused), feed));
                }
                if feed.buffer.is_empty() {
                    feed.wait().await;
                }
            }
        })
    }

    async fn fetch(&mut self) -> AppResult<()> {
        use audit_event::Column as C;
        let mut select = audit_event::Entity::find()
            .filter(C::ChainKey.eq(self.chain_key.as_str()))
            .filter(C::Seq.gt(self.last_seq))
            .filter(C::Outcome.eq("SUCCEEDED"));
        select = match self.filter {
            FeedFilter::Pool(id) => select.filter(C::PoolId.eq(id)),
            FeedFilter::Entity(id) => select.filter(C::EntityId.eq(id)),
        };
        let events = select
            .order_by_asc(C::Seq)
            .limit(FEED_BATCH)
            .all(&self.state.db)
            .await?;
        if let Some(last) = events.last() {
            self.last_seq = last.seq;
        }
        self.buffer.extend(events);
        Ok(())
    }

    /// Until this chain announces a commit, or the poll interval passes.
    async fn wait(&mut self) {
        let poll = tokio::time::sleep(self.state.config.job_poll_interval);
        tokio::pin!(poll);
        loop {
            tokio::select! {
                () = &mut poll => return,
                note = self.wake.recv() => match note {
                    Ok(key) if key != self.chain_key => continue,
                    // A matching commit, or notes missed while busy.
                    _ => return,
                },
            }
        }
    }
}

/// The position of event `id` in the chain, if a feed may resume there.
async fn resume_point(state: &AppState, chain_key: &str, id: Uuid) -> AppResult<i64> {
    let event = audit_event::Entity::find_by_id(id)
        .filter(audit_event::Column::ChainKey.eq(chain_key))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "after",
                format!("no event {id} in this feed; subscribe without `after`"),
            )
        })?;
    if event.occurred_at < chrono::Utc::now() - REPLAY_WINDOW {
        return Err(AppError::invalid(
            "after",
            "that event is more than an hour old; read the current state, then subscribe without `after`",
        ));
    }
    Ok(event.seq)
}
