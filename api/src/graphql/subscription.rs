//! Live subscriptions over WebSocket (graphql-transport-ws), authorized like
//! queries with the token from the connection's init payload.

use std::sync::Arc;

use async_graphql::{Context, ID, Result, Subscription};
use futures::{FutureExt, Stream, StreamExt};

use crate::{
    auth::require_live_token,
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{FormationUpdate, PoolEvent},
    },
    services::{
        audit::{
            chain::chain_key,
            feed::{AccessCheck, Feed, FeedFilter},
        },
        formations,
        membership::{find_pool, require_reader},
    },
};

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// What happens in a pool from now on: members joining and leaving,
    /// proposals, votes, money. For its members and the parent's stewards
    /// and auditors. After a dropped connection, pass the id of the last
    /// event received as `after` to resume right after it (up to an hour
    /// back).
    async fn pool_events(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<PoolEvent>> + use<>> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?.clone();
        let pool = find_pool(&c.state.db, uuid!(pool_id)?).await?;
        let after = uuid!(after)?;
        require_reader(&c.state.db, &pool, actor.user_id).await?;
        let (parent, id) = (pool.parent_entity_id, pool.id);
        let access: AccessCheck = Arc::new(move |state| {
            let (actor, pool) = (actor.clone(), pool.clone());
            async move {
                require_live_token(&state, &actor).await?;
                require_reader(&state.db, &pool, actor.user_id)
                    .await
                    .map(|_| ())
            }
            .boxed()
        });
        let feed = Feed::start(
            c.state.clone(),
            chain_key(Some(parent)),
            FeedFilter::Pool(id),
            access,
            after,
        )
        .await?;
        Ok(feed
            .into_stream()
            .map(|item| item.map(PoolEvent::from).map_err(Into::into)))
    }

    /// Each change to a formation from now on (for those who may read it).
    /// `after` resumes after an update already received, as for
    /// `poolEvents`.
    async fn formation_updated(
        &self,
        ctx: &Context<'_>,
        formation_id: ID,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<FormationUpdate>> + use<>> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?.clone();
        let id = uuid!(formation_id)?;
        let after = uuid!(after)?;
        let draft = formations::get(c.state, &actor, id).await?;
        let access: AccessCheck = Arc::new(move |state| {
            let actor = actor.clone();
            async move {
                require_live_token(&state, &actor).await?;
                formations::get(&state, &actor, id).await.map(|_| ())
            }
            .boxed()
        });
        let feed = Feed::start(
            c.state.clone(),
            chain_key(Some(draft.formation.parent_entity_id)),
            FeedFilter::Entity(id),
            access,
            after,
        )
        .await?;
        Ok(feed
            .into_stream()
            .map(|item| item.map(FormationUpdate::from).map_err(Into::into)))
    }
}
