//! The commons fund's decisions. A pool's admins apply for a grant or a
//! loan (`applications`); the parent's assembly of pools votes on it, each
//! other active pool once, through its admins or its delegate, and it is
//! decided when every pool has voted or the vote closes (`assembly`); an
//! approved application is paid from the fund to the pool in the decision's
//! transaction, and a loan's instalments fall due like rent
//! (`repayments`). Stewards record donations into the fund (`donations`).

pub mod applications;
pub mod assembly;
pub mod donations;
pub mod repayments;

use entities::{assembly_vote, fund_application, loan_repayment, pool};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::require_commons_reader;
use crate::{
    auth::{Actor, access},
    error::AppResult,
    services::{
        membership::{find_pool, require_reader_as},
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// What an application is called in refusals and `NOT_FOUND`s.
const KIND_APPLICATION: &str = "fund application";

/// Whether the caller may read this application (its votes, its
/// repayments): the commons' readers, and the applicant pool's readers.
pub async fn require_application_reader(
    state: &AppState,
    actor: &Actor,
    row: &fund_application::Model,
) -> AppResult<()> {
    if require_commons_reader(&state.db, row.parent_entity_id, actor.user_id)
        .await
        .is_ok()
    {
        return Ok(());
    }
    if let Some(pool_id) = row.pool_id {
        let pool = find_pool(&state.db, pool_id).await?;
        return require_reader_as(&state.db, &pool, actor).await.map(|_| ());
    }
    let formation = match row.formation_id {
        Some(id) => {
            entities::formation::Entity::find_by_id(id)
                .one(&state.db)
                .await?
        }
        None => None,
    };
    match formation {
        Some(f) if sees_formation(&state.db, actor.user_id, &f).await? => Ok(()),
        _ => Err(access::not_found(KIND_APPLICATION, row.id)),
    }
}

/// Whether the caller is the formation's founder or one of its founding
/// members (its stewards and auditors read its applications as the
/// commons' readers). The formations module's own check is not called:
/// formations call into the fund when they end, and modules depend one way.
async fn sees_formation(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    formation: &entities::formation::Model,
) -> AppResult<bool> {
    if formation.founder_id == user_id {
        return Ok(true);
    }
    let Some(email) = entities::user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|u| u.email)
    else {
        return Ok(false);
    };
    Ok(entities::formation_founding_member::Entity::find()
        .filter(entities::formation_founding_member::Column::FormationId.eq(formation.id))
        .filter(entities::formation_founding_member::Column::Email.eq(email))
        .count(db)
        .await?
        > 0)
}

/// One application, for its readers; `NOT_FOUND` for everyone else.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<fund_application::Model> {
    let row = fund_application::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, id))?;
    require_application_reader(state, actor, &row)
        .await
        .map_err(|_| access::not_found(KIND_APPLICATION, id))?;
    Ok(row)
}

/// The applications to a parent's fund, oldest first, for the commons'
/// readers: the pools that vote on them see them all.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    status: Option<fund_application::FundApplicationStatus>,
    page: PageArgs,
) -> AppResult<Page<fund_application::Model>> {
    require_commons_reader(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let mut select = fund_application::Entity::find()
        .filter(fund_application::Column::ParentEntityId.eq(parent_entity_id));
    if let Some(status) = status {
        select = select.filter(fund_application::Column::Status.eq(status));
    }
    paginate(&state.db, select, fund_application::Column::Id, page).await
}

/// A pool's applications, oldest first, for its readers.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    status: Option<fund_application::FundApplicationStatus>,
    page: PageArgs,
) -> AppResult<Page<fund_application::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let mut select =
        fund_application::Entity::find().filter(fund_application::Column::PoolId.eq(pool.id));
    if let Some(status) = status {
        select = select.filter(fund_application::Column::Status.eq(status));
    }
    paginate(&state.db, select, fund_application::Column::Id, page).await
}

/// The pools' votes on an application, in the order they were first cast.
pub async fn votes(
    state: &AppState,
    actor: &Actor,
    row: &fund_application::Model,
    page: PageArgs,
) -> AppResult<Page<assembly_vote::Model>> {
    require_application_reader(state, actor, row).await?;
    let page = page.parse()?;
    let select =
        assembly_vote::Entity::find().filter(assembly_vote::Column::ApplicationId.eq(row.id));
    paginate(&state.db, select, assembly_vote::Column::Id, page).await
}

/// A loan's instalments collected so far, oldest first.
pub async fn repayments_of(
    state: &AppState,
    actor: &Actor,
    row: &fund_application::Model,
    page: PageArgs,
) -> AppResult<Page<loan_repayment::Model>> {
    require_application_reader(state, actor, row).await?;
    let page = page.parse()?;
    let select =
        loan_repayment::Entity::find().filter(loan_repayment::Column::ApplicationId.eq(row.id));
    paginate(&state.db, select, loan_repayment::Column::Id, page).await
}

fn status_word(status: fund_application::FundApplicationStatus) -> &'static str {
    use fund_application::FundApplicationStatus as S;
    match status {
        S::Open => "OPEN",
        S::Approved => "APPROVED",
        S::Rejected => "REJECTED",
        S::Unfunded => "UNFUNDED",
        S::Withdrawn => "WITHDRAWN",
    }
}
