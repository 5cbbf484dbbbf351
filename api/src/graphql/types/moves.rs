use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{parent_entity, pool_move};
use uuid::Uuid;

use crate::{
    error::AppError,
    graphql::{
        context::Ctx,
        types::{ParentEntity, Pool, Proposal, load_pool, load_proposal, loader_error},
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_move::MoveStatus")]
pub enum PoolMoveStatus {
    /// Waiting for the receiving parent to accept and the releasing one to
    /// release.
    Pending,
    /// Both agreed; the pool moved.
    Completed,
    /// A steward of either parent declined it.
    Declined,
}

// A pool's move from one parent entity to another.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PoolMove {
    pub(crate) id: ID,
    status: PoolMoveStatus,
    accepted_at: Option<DateTime<Utc>>,
    released_at: Option<DateTime<Utc>>,
    decline_reason: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: pool_move::Model,
}

impl From<pool_move::Model> for PoolMove {
    fn from(m: pool_move::Model) -> Self {
        Self {
            id: m.id.into(),
            status: m.status.into(),
            accepted_at: m.accepted_at,
            released_at: m.released_at,
            decline_reason: m.decline_reason.clone(),
            created_at: m.created_at,
            completed_at: m.completed_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl PoolMove {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The parent entity it leaves.
    async fn releasing_parent(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(
            load_parent(ctx, self.model.from_parent_id).await?,
        ))
    }
    /// The parent entity it joins.
    async fn receiving_parent(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(
            load_parent(ctx, self.model.to_parent_id).await?,
        ))
    }
    /// The members' proposal that decided it.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        Ok(Proposal::from(
            load_proposal(ctx, self.model.proposal_id).await?,
        ))
    }
}

/// A parent entity through the request's loader.
pub(crate) async fn load_parent(ctx: &Context<'_>, id: Uuid) -> Result<parent_entity::Model> {
    let c = Ctx::of(ctx)?;
    Ok(c.loaders
        .parent_entities()
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("parent entity {id} is gone")))?)
}
