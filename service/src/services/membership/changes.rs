//! Leaving, removal and role changes. Memberships end; they are never deleted.

use chrono::Utc;
use entities::{
    membership::{self, MemberRole, MembershipStatus},
    pool::{self, PoolStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        begin_write, lock,
    },
    state::AppState,
};

use super::{
    find_membership, find_pool, keep_an_admin, lock_pool, require_active_pool, require_admin,
    unless_inside,
};

/// Leaves a pool (an invitation not yet accepted may be declined the same way).
pub async fn leave(state: &AppState, actor: &Actor, pool_id: Uuid) -> AppResult<membership::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, pool_id).await?;
    // Membership is voluntary: a suspended pool's members may still leave.
    if pool.status != PoolStatus::Suspended {
        require_active_pool(&pool)?;
    }
    crate::auth::permissions::refuse_auditor(&txn, pool.parent_entity_id, actor.user_id).await?;
    lock_pool(&txn, pool.id).await?;
    let mine = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool.id))
        .filter(membership::Column::UserId.eq(actor.user_id))
        .filter(membership::Column::LeftAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::Forbidden("only members leave a pool, and you are not one".into())
        })?;
    keep_an_admin(&txn, pool.id, &mine, "leave").await?;
    let before = mine.clone();
    let ended = end(
        mine,
        MembershipStatus::Left,
        "left the pool".into(),
        actor.user_id,
    )
    .update(&txn)
    .await?;
    record(&txn, actor, &pool, Action::MemberLeft, &before, &ended).await?;
    txn.commit().await?;
    Ok(ended)
}

/// Removes a member (admins only): a recorded sanction with its reason.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    member_id: Uuid,
    reason: &str,
) -> AppResult<membership::Model> {
    let txn = begin_write(&state.db).await?;
    let seen = find_membership(&txn, member_id).await?;
    let pool = find_pool(&txn, seen.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    unless_inside(&txn, &pool, actor.user_id, "member", member_id, admin).await?;
    let reason = MultiLineText::<3, 2000>::parse(reason, "input.reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    lock_pool(&txn, pool.id).await?;
    // Read again under the lock: a concurrent change may have ended it.
    let target = locked_membership(&txn, member_id).await?;
    if target.left_at.is_some() {
        return Err(AppError::Conflict(
            "this membership has already ended".into(),
        ));
    }
    keep_an_admin(&txn, pool.id, &target, "be removed").await?;
    let before = target.clone();
    let ended = end(
        target,
        MembershipStatus::Removed,
        reason.into_inner(),
        actor.user_id,
    )
    .update(&txn)
    .await?;
    record(&txn, actor, &pool, Action::MemberRemoved, &before, &ended).await?;
    txn.commit().await?;
    Ok(ended)
}

/// Makes a member an admin or a plain member (admins only).
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    member_id: Uuid,
    role: MemberRole,
) -> AppResult<membership::Model> {
    let txn = begin_write(&state.db).await?;
    let seen = find_membership(&txn, member_id).await?;
    let pool = find_pool(&txn, seen.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    unless_inside(&txn, &pool, actor.user_id, "member", member_id, admin).await?;
    lock_pool(&txn, pool.id).await?;
    // Read again under the lock: a concurrent change may have ended it.
    let target = locked_membership(&txn, member_id).await?;
    if target.left_at.is_some() {
        return Err(AppError::Conflict("this membership has ended".into()));
    }
    if role == MemberRole::Member {
        keep_an_admin(&txn, pool.id, &target, "be demoted").await?;
    }
    let before = target.clone();
    let mut active: membership::ActiveModel = target.into();
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    let changed = active.update(&txn).await?;
    record(
        &txn,
        actor,
        &pool,
        Action::MemberRoleChanged,
        &before,
        &changed,
    )
    .await?;
    txn.commit().await?;
    Ok(changed)
}

async fn locked_membership(txn: &DatabaseTransaction, id: Uuid) -> AppResult<membership::Model> {
    lock::<membership::Entity>(txn, id)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("member", id))
}

async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    pool: &pool::Model,
    action: Action,
    before: &membership::Model,
    after: &membership::Model,
) -> AppResult<()> {
    audit::record(
        db,
        actor,
        Change::new(action, "Member", after.id)
            .in_pool(pool)
            .diff(before, after),
    )
    .await?;
    Ok(())
}

fn end(
    m: membership::Model,
    status: MembershipStatus,
    reason: String,
    by: Uuid,
) -> membership::ActiveModel {
    let now = Utc::now();
    let mut active: membership::ActiveModel = m.into();
    active.status = Set(status);
    active.left_at = Set(Some(now));
    active.end_reason = Set(Some(reason));
    active.ended_by = Set(Some(by));
    active.updated_at = Set(now);
    active
}

/// Ends every membership a person holds or was offered under their account,
/// because the account is being deleted: each pool is locked and its
/// last-admin rule holds, naming the pool. Returns the ended memberships.
pub async fn end_for_deleted_account(
    txn: &DatabaseTransaction,
    actor: &Actor,
) -> AppResult<Vec<membership::Model>> {
    let open = membership::Entity::find()
        .filter(membership::Column::UserId.eq(actor.user_id))
        .filter(membership::Column::LeftAt.is_null())
        .all(txn)
        .await?;
    let mut ended = Vec::with_capacity(open.len());
    for seen in open {
        let pool = find_pool(txn, seen.pool_id).await?;
        lock_pool(txn, pool.id).await?;
        let mine = locked_membership(txn, seen.id).await?;
        if mine.left_at.is_some() {
            continue;
        }
        keep_an_admin(txn, pool.id, &mine, "delete their account")
            .await
            .map_err(|_| {
                AppError::Conflict(format!(
                    "you are the last admin of the pool \"{}\": make another member an admin \
                     first, then delete your account",
                    pool.name
                ))
            })?;
        let before = mine.clone();
        let after = end(
            mine,
            MembershipStatus::Left,
            "the member deleted their account".into(),
            actor.user_id,
        )
        .update(txn)
        .await?;
        record(txn, actor, &pool, Action::MemberLeft, &before, &after).await?;
        ended.push(after);
    }
    Ok(ended)
}
