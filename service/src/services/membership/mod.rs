//! Membership of a pool: who is inside, who may read and who may act.
//! `invitations`, `applications` and `changes` hold the ways in and out.

pub mod applications;
pub mod changes;
pub mod invitations;
pub mod of_person;
pub mod sanctions;

use chrono::{DateTime, Utc};
use entities::{
    membership::{self, MemberRole, MembershipStatus},
    pool::{self, PoolStatus},
    stakeholder_group,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    error::{AppError, AppResult},
    services::pagination::{Page, PageRequest, paginate},
    state::AppState,
};

/// A new membership row as every way in starts it: not left, no shares
/// held, not ended. The caller sets who, where and how it began.
pub(crate) fn starting(now: DateTime<Utc>) -> membership::ActiveModel {
    membership::ActiveModel {
        left_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        shares_held: Set(0),
        end_reason: Set(None),
        ended_by: Set(None),
        conduct_version: Set(None),
        conduct_accepted_at: Set(None),
        ..Default::default()
    }
}

pub use crate::auth::access::Viewer;

/// The caller's active membership of the pool, if any.
pub async fn active_membership(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .one(db)
        .await?)
}

/// Members read their pool's private data; so do the parent's stewards and auditors.
pub async fn require_reader(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<Viewer> {
    let membership = active_membership(db, pool.id, user_id).await?;
    reader_from(db, pool, user_id, membership).await
}

/// [`require_reader`], given the caller's active membership (if any).
async fn reader_from(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
    membership: Option<membership::Model>,
) -> AppResult<Viewer> {
    if let Some(m) = membership {
        return Ok(Viewer::Member(Box::new(m)));
    }
    if let Some(role) = permissions::parent_role(db, pool.parent_entity_id, user_id).await? {
        return Ok(Viewer::Overseer(role));
    }
    Err(AppError::Forbidden(
        "only the pool's members and its parent's stewards and auditors may see this".into(),
    ))
}

/// [`require_reader`] for the caller of a request, remembered for the rest
/// of a query (see [`access::ReadMemo`]).
pub async fn require_reader_as(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    actor: &Actor,
) -> AppResult<Viewer> {
    let Some(memo) = &actor.reads else {
        return require_reader(db, pool, actor.user_id).await;
    };
    memo.viewer(pool.id, |known| async move {
        let membership = match known {
            Some(membership) => membership,
            None => active_membership(db, pool.id, actor.user_id).await?,
        };
        reader_from(db, pool, actor.user_id, membership).await
    })
    .await
}

/// Whether the caller sees inside the pool: its active members and the
/// parent's stewards and auditors (see `auth::access`).
pub async fn sees_inside(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<bool> {
    match require_reader(db, pool, user_id).await {
        Ok(_) => Ok(true),
        Err(AppError::Forbidden(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// `checked` (a permission check on the `kind` of object with `id`, inside
/// `pool`), refused as `auth::access` says: those who cannot see inside the
/// pool are told the object does not exist.
pub async fn unless_inside<T>(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
    kind: &str,
    id: Uuid,
    checked: AppResult<T>,
) -> AppResult<T> {
    access::unless_seen(checked, kind, id, async || {
        sees_inside(db, pool, user_id).await
    })
    .await
}

/// What only admins manage, admins read; so do the parent's stewards and
/// auditors. `refusal` tells other members where to look instead.
pub async fn require_admin_reader(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
    refusal: &str,
) -> AppResult<()> {
    match require_reader(db, pool, user_id).await? {
        Viewer::Member(m) if m.role != MemberRole::Admin => {
            Err(AppError::Forbidden(refusal.into()))
        }
        _ => Ok(()),
    }
}

/// Active members act in their pool (propose, vote, submit expenses).
pub async fn require_member(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    require_active_pool(pool)?;
    active_membership(db, pool.id, user_id).await?.ok_or_else(|| {
        AppError::Forbidden("only active members of this pool may do this (auditors and stewards read, they do not act in pools)".into())
    })
}

/// Admins run the pool's membership and pay its expenses.
pub async fn require_admin(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    let member = require_member(db, pool, user_id).await?;
    if member.role != MemberRole::Admin {
        return Err(AppError::Forbidden(
            "only admins of this pool may do this".into(),
        ));
    }
    Ok(member)
}

/// Four eyes on money: an admin never confirms a payment that concerns
/// their own membership (an expense they submitted, their own
/// contribution); another admin must.
pub fn require_another_admin(
    admin: &membership::Model,
    concerned_membership_id: Uuid,
    refusal: &str,
) -> AppResult<()> {
    if admin.id == concerned_membership_id {
        return Err(AppError::Forbidden(refusal.into()));
    }
    Ok(())
}

/// Only an active pool changes; a suspended or dissolved one is read-only.
pub fn require_active_pool(pool: &pool::Model) -> AppResult<()> {
    if pool.status != PoolStatus::Active {
        return Err(AppError::Conflict(format!(
            "the pool is {} and cannot change",
            format!("{:?}", pool.status).to_uppercase()
        )));
    }
    Ok(())
}

pub async fn find_pool(db: &impl ConnectionTrait, id: Uuid) -> AppResult<pool::Model> {
    pool::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("pool", id))
}

pub async fn find_membership(db: &impl ConnectionTrait, id: Uuid) -> AppResult<membership::Model> {
    membership::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("member", id))
}

/// A stakeholder group of this pool, or a validation error at `path`.
pub async fn group_of_pool(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    group_id: Uuid,
    path: &str,
) -> AppResult<stakeholder_group::Model> {
    stakeholder_group::Entity::find_by_id(group_id)
        .one(db)
        .await?
        .filter(|g| g.pool_id == pool_id)
        .ok_or_else(|| AppError::invalid(path, "is not a stakeholder group of this pool"))
        .and_then(|g| match g.retired_at {
            Some(_) => Err(AppError::invalid(
                path,
                format!(
                    "{} was retired by a change of the pool's rules and takes no new members",
                    g.name
                ),
            )),
            None => Ok(g),
        })
}

/// Serialises membership changes of one pool (a no-op update takes the row
/// lock on PostgreSQL and the write lock on SQLite), so two concurrent
/// demotions cannot both pass the last-admin check.
pub async fn lock_pool(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<()> {
    pool::Entity::update_many()
        .col_expr(pool::Column::UpdatedAt, Expr::col(pool::Column::UpdatedAt))
        .filter(pool::Column::Id.eq(pool_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Refuses a change that would leave the pool without an active admin.
pub async fn keep_an_admin(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    losing: &membership::Model,
    what: &str,
) -> AppResult<()> {
    if losing.role != MemberRole::Admin || losing.status != MembershipStatus::Active {
        return Ok(());
    }
    let admins = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool_id))
        .filter(membership::Column::Role.eq(MemberRole::Admin))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .count(db)
        .await?;
    if admins <= 1 {
        return Err(AppError::Conflict(format!(
            "the last admin cannot {what}; make another member an admin first"
        )));
    }
    Ok(())
}

pub struct RegisterFilter {
    pub status: Option<MembershipStatus>,
    pub stakeholder_group_id: Option<Uuid>,
}

/// The member register: every membership ever held, oldest first.
pub async fn register(
    state: &AppState,
    actor_user: Uuid,
    pool: &pool::Model,
    filter: RegisterFilter,
    page: PageRequest,
) -> AppResult<Page<membership::Model>> {
    require_reader(&state.db, pool, actor_user).await?;
    let mut select = membership::Entity::find().filter(membership::Column::PoolId.eq(pool.id));
    if let Some(status) = filter.status {
        select = select.filter(membership::Column::Status.eq(status));
    }
    if let Some(group) = filter.stakeholder_group_id {
        select = select.filter(membership::Column::StakeholderGroupId.eq(group));
    }
    paginate(&state.db, select, membership::Column::Id, page).await
}
