//! The parent entity's commons: what it owns and holds for its pools, as
//! the association of co-operatives it is. Its fund has a ledger of its own
//! (`ledger`); its assets are registered (`assets`) and leased to its pools
//! (`leases`), whose rent falls due period by period (`rent`); its pools
//! apply to the fund for grants and loans, which their assembly decides
//! (`fund`). Money moving between the fund and a pool is booked on both
//! sides in one transaction.

pub mod assets;
pub mod fund;
pub mod leases;
pub mod ledger;
pub mod periods;
pub mod rent;

use entities::{
    membership::{self, MembershipStatus},
    pool::{self, PoolStatus},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Query,
};
use uuid::Uuid;

use crate::{
    auth::permissions,
    error::{AppError, AppResult},
};

/// What the objects are called in refusals and `NOT_FOUND`s.
const KIND_ASSET: &str = "asset";
const KIND_LEASE: &str = "lease";

/// Who reads the commons: the parent's stewards and auditors, and the
/// active members of its active pools, who share what it holds.
pub async fn require_commons_reader(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    if permissions::parent_role(db, parent_entity_id, user_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let pools = Query::select()
        .column(pool::Column::Id)
        .from(pool::Entity)
        .and_where(pool::Column::ParentEntityId.eq(parent_entity_id))
        .and_where(pool::Column::Status.eq(PoolStatus::Active))
        .to_owned();
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::PoolId.in_subquery(pools))
        .count(db)
        .await?;
    if memberships > 0 {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the parent entity's stewards and auditors, and the members of its pools, may see its commons".into(),
    ))
}
