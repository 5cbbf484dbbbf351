//! Pools: public facts for anyone, the membership for those inside.

use entities::{membership, pool};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::{AppError, AppResult},
    services::pagination::{Page, PageRequest, paginate},
    state::AppState,
};

pub async fn get(state: &AppState, id: Uuid) -> AppResult<pool::Model> {
    pool::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pool has id {id}")))
}

/// The pools under a parent entity: their public facts.
pub async fn of_parent(
    state: &AppState,
    parent_entity_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<pool::Model>> {
    let select = pool::Entity::find().filter(pool::Column::ParentEntityId.eq(parent_entity_id));
    paginate(&state.db, select, pool::Column::Id, page).await
}

/// The pool's memberships, current and invited, for its members and the
/// parent's stewards and auditors.
pub async fn members(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageRequest,
) -> AppResult<Page<membership::Model>> {
    crate::services::membership::require_reader(&state.db, pool, actor.user_id).await?;
    let select = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool.id))
        .filter(membership::Column::LeftAt.is_null());
    paginate(&state.db, select, membership::Column::Id, page).await
}
