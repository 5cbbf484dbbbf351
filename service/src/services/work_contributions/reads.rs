//! Reading contributions: the pool's readers (its members, and the
//! parent's stewards and auditors) see every contribution of the pool.

use entities::{
    pool,
    work_contribution::{self, WorkContributionStatus},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    auth::{Actor, access},
    error::AppResult,
    services::{
        membership::{find_pool, require_reader_as},
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// Which contributions a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter {
    pub membership_id: Option<Uuid>,
    pub status: Option<WorkContributionStatus>,
}

/// The pool's contributions, oldest recorded first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    filter: Filter,
    page: PageArgs,
) -> AppResult<Page<work_contribution::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let mut select =
        work_contribution::Entity::find().filter(work_contribution::Column::PoolId.eq(pool.id));
    if let Some(m) = filter.membership_id {
        select = select.filter(work_contribution::Column::MembershipId.eq(m));
    }
    if let Some(s) = filter.status {
        select = select.filter(work_contribution::Column::Status.eq(s));
    }
    paginate(&state.db, select, work_contribution::Column::Id, page).await
}

/// One contribution, for those who read its pool; `NOT_FOUND` for others.
pub async fn find(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<work_contribution::Model> {
    let row = work_contribution::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found(super::KIND, id))?;
    let pool = find_pool(&state.db, row.pool_id).await?;
    require_reader_as(&state.db, &pool, actor)
        .await
        .map_err(|_| access::not_found(super::KIND, id))?;
    Ok(row)
}
