//! Pools: public facts for anyone, the membership for those inside.

use entities::{
    membership::{self, MembershipStatus},
    parent_entity, pool, user,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

mod member_rows;

use crate::{
    auth::Actor,
    error::{AppError, AppResult},
    services::{
        accounts::require_self,
        membership::require_reader_as,
        pagination::{Page, PageArgs, PageRequest, page_of, paginate, window},
    },
    state::AppState,
};

pub async fn get(state: &AppState, id: Uuid) -> AppResult<pool::Model> {
    pool::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pool has id {id}")))
}

/// A pool by its address: its parent's slug and its own (unique within the
/// parent), in one statement. Public, as `get`.
pub async fn by_slug(state: &AppState, parent_slug: &str, slug: &str) -> AppResult<pool::Model> {
    let parent = parent_entity::Entity::find()
        .select_only()
        .column(parent_entity::Column::Id)
        .filter(parent_entity::Column::Slug.eq(parent_slug))
        .into_query();
    pool::Entity::find()
        .filter(pool::Column::Slug.eq(slug))
        .filter(pool::Column::ParentEntityId.in_subquery(parent))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pool has the address {parent_slug}/{slug}")))
}

/// The pools `person` is an active member of, oldest first; for that
/// person only.
pub async fn of_member(
    state: &AppState,
    actor: &Actor,
    person: Uuid,
    page: PageArgs,
) -> AppResult<Page<pool::Model>> {
    require_self(actor, person, "pools")?;
    let page = page.parse()?;
    let member_of = membership::Entity::find()
        .select_only()
        .column(membership::Column::PoolId)
        .filter(membership::Column::UserId.eq(person))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .into_query();
    let select = pool::Entity::find().filter(pool::Column::Id.in_subquery(member_of));
    paginate(&state.db, select, pool::Column::Id, page).await
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
/// parent's stewards and auditors; each with its account when
/// `with_accounts` (read in the same statement, since a page of members is
/// mostly shown with names).
pub async fn members(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageRequest,
    with_accounts: bool,
) -> AppResult<Page<(membership::Model, Option<user::Model>)>> {
    require_reader_as(&state.db, pool, actor).await?;
    let select = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool.id))
        .filter(membership::Column::LeftAt.is_null());
    if !with_accounts {
        let page = paginate(&state.db, select, membership::Column::Id, page).await?;
        return Ok(page.map(|m| (m, None)));
    }
    let rows = window(member_rows::joined(select), membership::Column::Id, &page)
        .into_model::<member_rows::MemberRow>()
        .all(&state.db)
        .await?;
    Ok(page_of(rows, &page).map(|member_rows::MemberRow(m, account)| (m, account)))
}
