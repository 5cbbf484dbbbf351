//! Reading delegations back: a person's across their pools, and the list
//! on a member or a proposal. Only live ones: a revoked delegation is in
//! the audit trail.

use entities::{delegation, membership, pool};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::AppResult,
    services::{
        accounts::require_self,
        membership::require_reader_as,
        pagination::{Page, PageArgs, page_in_memory, paginate},
    },
    state::AppState,
};

/// Which end of a delegation a person is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// They handed their vote on.
    Given,
    /// They hold someone else's vote.
    Received,
}

/// The live delegations `person` gave or received, in every pool, oldest
/// first; for that person only.
pub async fn of_person(
    state: &AppState,
    actor: &Actor,
    person: Uuid,
    side: Side,
    page: PageArgs,
) -> AppResult<Page<delegation::Model>> {
    require_self(actor, person, "delegations")?;
    let page = page.parse()?;
    let theirs = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::UserId.eq(person))
        .into_query();
    let column = match side {
        Side::Given => delegation::Column::DelegatorMembershipId,
        Side::Received => delegation::Column::DelegateMembershipId,
    };
    let select = delegation::Entity::find()
        .filter(column.in_subquery(theirs))
        .filter(delegation::Column::RevokedAt.is_null());
    paginate(&state.db, select, delegation::Column::Id, page).await
}

/// A page of the live delegations of one member or proposal of `pool`,
/// which `load` reads (a loader, for many owners at once): for the pool's
/// members and the parent's stewards and auditors, like its votes.
pub async fn in_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageArgs,
    load: impl AsyncFnOnce() -> AppResult<Vec<delegation::Model>>,
) -> AppResult<Page<delegation::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let live: Vec<_> = load()
        .await?
        .into_iter()
        .filter(|d| d.revoked_at.is_none())
        .collect();
    Ok(page_in_memory(live, |d| d.id, &page))
}
