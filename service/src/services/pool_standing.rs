//! A pool's standing with its parent: the parent's stewards suspend a pool
//! (for a breach of the parent's policy, say) and reinstate it. A suspended
//! pool stays readable by its members and overseers, and its members may
//! still leave and stop paying, but it takes no new members, proposals,
//! votes, expenses or payments until it is reinstated.

use chrono::Utc;
use entities::{
    membership::{self, MembershipStatus},
    pool::{self, PoolStatus},
    pool_life_pack::LifeStep,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        begin_write, contributions, life_packs, lock,
        membership::find_pool,
        notifications,
    },
    state::AppState,
};

/// Which way the standing changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Suspend,
    Reinstate,
}

impl Standing {
    fn statuses(self) -> (PoolStatus, PoolStatus) {
        match self {
            Self::Suspend => (PoolStatus::Active, PoolStatus::Suspended),
            Self::Reinstate => (PoolStatus::Suspended, PoolStatus::Active),
        }
    }

    fn life_step(self) -> LifeStep {
        match self {
            Self::Suspend => LifeStep::Suspended,
            Self::Reinstate => LifeStep::Reinstated,
        }
    }

    fn action(self) -> Action {
        match self {
            Self::Suspend => Action::PoolSuspended,
            Self::Reinstate => Action::PoolReinstated,
        }
    }
}

/// A steward of the pool's parent suspends or reinstates it, with a reason
/// its members are told.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    pool_id: Uuid,
    standing: Standing,
    reason: &str,
) -> AppResult<pool::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, pool_id).await?;
    permissions::require_steward(&txn, pool.parent_entity_id, actor.user_id).await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    // Locked: a suspension and a reinstatement at once happen one after
    // the other, each seeing the status the other left.
    let pool = lock::<pool::Entity>(&txn, pool.id)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("pool", pool_id))?;
    let (from, to) = standing.statuses();
    if pool.status != from {
        return Err(AppError::Conflict(match standing {
            Standing::Suspend => format!(
                "only an active pool can be suspended; this one is {}",
                status_name(pool.status)
            ),
            Standing::Reinstate => format!(
                "only a suspended pool can be reinstated; this one is {}",
                status_name(pool.status)
            ),
        }));
    }
    let now = Utc::now();
    let before = pool.clone();
    let mut active: pool::ActiveModel = pool.into();
    active.status = Set(to);
    active.status_reason = Set(Some(reason.into_inner()));
    active.status_changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    let event = audit::record(
        &txn,
        actor,
        Change::new(standing.action(), "Pool", after.id)
            .in_pool(&after)
            .diff(&before, &after),
    )
    .await?;
    life_packs::seal(
        &txn,
        state,
        &after,
        after.parent_entity_id,
        standing.life_step(),
        &event,
    )
    .await?;
    // Collection stops with the pool and starts again with it, through
    // jobs: Stripe is called after this transaction commits.
    contributions::collection::pause_in_pool(&txn, after.id, standing == Standing::Suspend).await?;
    let members: Vec<Uuid> = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(after.id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    notifications::pool_standing(&txn, after.id, &members).await?;
    txn.commit().await?;
    Ok(after)
}

pub fn status_name(status: PoolStatus) -> &'static str {
    match status {
        PoolStatus::Active => "ACTIVE",
        PoolStatus::Suspended => "SUSPENDED",
        PoolStatus::Dissolving => "DISSOLVING",
        PoolStatus::Dissolved => "DISSOLVED",
        PoolStatus::SpunOut => "SPUN_OUT",
    }
}
