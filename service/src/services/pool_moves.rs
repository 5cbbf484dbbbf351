//! Moving a pool to another parent entity. The members decide by a `MOVE`
//! proposal with the rules' amendment threshold; then the receiving
//! parent's stewards accept (its policy must allow the pool's template and
//! apps) and the releasing parent's stewards release, in either order. The
//! second of the two moves the pool, in one transaction: it keeps its id,
//! register, ledger and trail, and both parents' chains record the hand-over
//! (`pool.released` in the one it leaves, `pool.moved` in the one it joins).

use chrono::Utc;
use entities::{
    parent_entity, pool,
    pool::PoolStatus,
    pool_app,
    pool_life_pack::LifeStep,
    pool_move::{self, Model as PoolMove, MoveStatus},
    pool_spin_out::{self, SpinOutStatus},
    proposal::{self, Outcome, ProposalKind},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    catalogue::Catalogue,
    domain::MultiLineText,
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        begin_write, life_packs, lock,
        membership::{find_pool, require_reader_as},
        notifications::{self, StewardTask},
        pagination::{Page, PageArgs, paginate},
        policy::ParentPolicy,
    },
    state::AppState,
};

/// What stops `pool` from moving under `to`: the parent must exist, be
/// another one, be in a jurisdiction the pool's template fits, and allow
/// its template and every app it runs. Errors name `path`.
pub async fn refusals(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    pool: &pool::Model,
    to: Uuid,
    path: &str,
) -> AppResult<Vec<FieldError>> {
    let Some(parent) = parent_entity::Entity::find_by_id(to).one(db).await? else {
        return Ok(vec![FieldError::new(
            path,
            "there is no parent entity with this id",
        )]);
    };
    if parent.id == pool.parent_entity_id {
        return Ok(vec![FieldError::new(
            path,
            "the pool is already under this parent entity",
        )]);
    }
    let mut refused = Vec::new();
    let policy = ParentPolicy::of(&parent);
    if !policy.allows_template(&pool.legal_template_id) {
        refused.push(FieldError::new(
            path,
            format!(
                "{} does not allow the pool's legal template `{}`",
                parent.name, pool.legal_template_id
            ),
        ));
    }
    if let Some(t) = catalogue.template(&pool.legal_template_id)
        && !t.fits_jurisdiction(&parent.jurisdiction)
    {
        refused.push(FieldError::new(
            path,
            format!(
                "the pool's legal template is not for {}",
                parent.jurisdiction
            ),
        ));
    }
    let apps = pool_app::Entity::find()
        .filter(pool_app::Column::PoolId.eq(pool.id))
        .all(db)
        .await?;
    for app in apps.iter().filter(|a| !policy.allows_app(&a.app_id)) {
        refused.push(FieldError::new(
            path,
            format!("{} does not allow the app `{}`", parent.name, app.app_id),
        ));
    }
    Ok(refused)
}

/// When a `MOVE` proposal passes, the move waits for both parents (in the
/// transaction that counts it).
pub async fn on_closed(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    outcome: Outcome,
) -> AppResult<()> {
    let (ProposalKind::Move, Outcome::Passed, Some(to)) = (p.kind, outcome, p.move_to_parent_id)
    else {
        return Ok(());
    };
    let pool = find_pool(db, p.pool_id).await?;
    let m = pool_move::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        from_parent_id: Set(pool.parent_entity_id),
        to_parent_id: Set(to),
        proposal_id: Set(p.id),
        status: Set(MoveStatus::Pending),
        accepted_by: Set(None),
        accepted_at: Set(None),
        released_by: Set(None),
        released_at: Set(None),
        decline_reason: Set(None),
        created_at: Set(Utc::now()),
        completed_at: Set(None),
    }
    .insert(db)
    .await?;
    for parent in [m.to_parent_id, m.from_parent_id] {
        notifications::stewards_asked(db, parent, StewardTask::PoolMove { move_id: m.id }).await?;
    }
    Ok(())
}

/// Which side a steward decides for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The receiving parent accepts.
    Accept,
    /// The releasing parent releases.
    Release,
}

/// A steward of the receiving parent accepts, or of the releasing one
/// releases; the second of the two moves the pool.
pub async fn agree(
    state: &AppState,
    actor: &Actor,
    move_id: Uuid,
    side: Side,
) -> AppResult<PoolMove> {
    let txn = begin_write(&state.db).await?;
    let m = find_locked(&txn, move_id).await?;
    let parent = match side {
        Side::Accept => m.to_parent_id,
        Side::Release => m.from_parent_id,
    };
    visible(&txn, actor, &m).await?;
    permissions::require_steward(&txn, parent, actor.user_id).await?;
    pending(&m)?;
    let now = Utc::now();
    let mut active: pool_move::ActiveModel = m.clone().into();
    match side {
        Side::Accept if m.accepted_at.is_none() => {
            active.accepted_by = Set(Some(actor.user_id));
            active.accepted_at = Set(Some(now));
        }
        Side::Release if m.released_at.is_none() => {
            active.released_by = Set(Some(actor.user_id));
            active.released_at = Set(Some(now));
        }
        _ => {
            return Err(AppError::Conflict(
                "this parent entity has already agreed to the move".into(),
            ));
        }
    }
    let mut m = active.update(&txn).await?;
    if m.accepted_at.is_some() && m.released_at.is_some() {
        m = complete(&txn, state, actor, m).await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// Moves the pool, once both parents agreed: checked again, as things may
/// have changed since the members decided.
async fn complete(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    m: PoolMove,
) -> AppResult<PoolMove> {
    let pool = lock::<pool::Entity>(txn, m.pool_id)
        .await?
        .ok_or_else(|| access::not_found("pool", m.pool_id))?;
    if pool.status != PoolStatus::Active {
        return Err(AppError::Conflict(
            "the pool is not active, so it cannot move now".into(),
        ));
    }
    let spinning_out = pool_spin_out::Entity::find()
        .filter(pool_spin_out::Column::PoolId.eq(pool.id))
        .filter(pool_spin_out::Column::Status.eq(SpinOutStatus::AwaitingRegistration))
        .one(txn)
        .await?;
    if spinning_out.is_some() {
        return Err(AppError::Conflict(
            "the pool is spinning out into an entity of its own, so it cannot move".into(),
        ));
    }
    if pool.parent_entity_id != m.from_parent_id {
        return Err(AppError::Conflict(
            "the pool is no longer under the parent entity it was to leave".into(),
        ));
    }
    let refused = refusals(txn, &state.catalogue, &pool, m.to_parent_id, "moveId").await?;
    if !refused.is_empty() {
        return Err(AppError::Conflict(format!(
            "the receiving parent no longer takes this pool: {}",
            refused
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let now = Utc::now();
    let before = pool.clone();
    let mut active: pool::ActiveModel = pool.into();
    active.parent_entity_id = Set(m.to_parent_id);
    active.updated_at = Set(now);
    let after = active.update(txn).await?;
    let mut done: pool_move::ActiveModel = m.clone().into();
    done.status = Set(MoveStatus::Completed);
    done.completed_at = Set(Some(now));
    let m = done.update(txn).await?;
    // The hand-over, in both parents' chains.
    audit::record(
        txn,
        actor,
        Change::new(Action::PoolReleased, "Pool", after.id)
            .in_parent(m.from_parent_id)
            .with("moveId", m.id.to_string())
            .with("toParentEntityId", m.to_parent_id.to_string()),
    )
    .await?;
    let event = audit::record(
        txn,
        actor,
        Change::new(Action::PoolMoved, "Pool", after.id)
            .in_pool(&after)
            .arriving_from(m.from_parent_id)
            .diff(&before, &after)
            .with("moveId", m.id.to_string()),
    )
    .await?;
    life_packs::seal(
        txn,
        state,
        &after,
        m.from_parent_id,
        LifeStep::Moved,
        &event,
    )
    .await?;
    Ok(m)
}

/// A steward of either parent declines the move, saying why.
pub async fn decline(
    state: &AppState,
    actor: &Actor,
    move_id: Uuid,
    reason: &str,
) -> AppResult<PoolMove> {
    let txn = begin_write(&state.db).await?;
    let m = find_locked(&txn, move_id).await?;
    visible(&txn, actor, &m).await?;
    let from = permissions::require_steward(&txn, m.from_parent_id, actor.user_id).await;
    if from.is_err() {
        permissions::require_steward(&txn, m.to_parent_id, actor.user_id).await?;
    }
    let reason = MultiLineText::<1, 2000>::parse(reason, "reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    pending(&m)?;
    let pool = find_pool(&txn, m.pool_id).await?;
    let mut active: pool_move::ActiveModel = m.into();
    active.status = Set(MoveStatus::Declined);
    active.decline_reason = Set(Some(reason.into_inner()));
    let m = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::PoolMoveDeclined, "PoolMove", m.id)
            .in_pool(&pool)
            .with("reason", m.decline_reason.clone().unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

fn pending(m: &PoolMove) -> AppResult<()> {
    if m.status == MoveStatus::Pending {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "this move has already been decided".into(),
        ))
    }
}

async fn find_locked(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> AppResult<PoolMove> {
    lock::<pool_move::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found("pool move", id))
}

/// Who may know a move exists: those who read its pool, and both parents'
/// stewards and auditors. Others get `NOT_FOUND`.
async fn visible(db: &impl ConnectionTrait, actor: &Actor, m: &PoolMove) -> AppResult<()> {
    for parent in [m.from_parent_id, m.to_parent_id] {
        if permissions::parent_role(db, parent, actor.user_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    let pool = find_pool(db, m.pool_id).await?;
    require_reader_as(db, &pool, actor)
        .await
        .map(|_| ())
        .map_err(|_| access::not_found("pool move", m.id))
}

/// A pool's moves, oldest first, for those who read the pool.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageArgs,
) -> AppResult<Page<PoolMove>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let select = pool_move::Entity::find().filter(pool_move::Column::PoolId.eq(pool.id));
    paginate(&state.db, select, pool_move::Column::Id, page).await
}

/// The moves into or out of a parent entity, for its stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<PoolMove>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let select = pool_move::Entity::find().filter(
        sea_orm::Condition::any()
            .add(pool_move::Column::FromParentId.eq(parent_entity_id))
            .add(pool_move::Column::ToParentId.eq(parent_entity_id)),
    );
    paginate(&state.db, select, pool_move::Column::Id, page).await
}
