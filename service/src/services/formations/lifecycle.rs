//! Submission, withdrawal and the parent's decision. Approval creates the
//! pool and everything in it in one transaction.

use chrono::Utc;
use entities::{
    formation::{self, FormationStatus},
    parent_entity::{self, ApprovalPolicy},
    pool,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use crate::services::commons::fund;
use crate::{
    auth::{Actor, permissions},
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        notifications::{self, Notice},
    },
    state::AppState,
};

use super::{
    draft::Draft,
    evaluate::refusal,
    evaluate_draft,
    founding::Founding,
    load_draft_from,
    steps::{find, find_locked},
};

/// Submits a complete formation to its parent; an `AUTOMATIC` parent
/// approves it at once. Returns the formation as it then stands.
pub async fn submit(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let draft = locked_draft(&txn, id).await?;
    super::unless_seen(
        &txn,
        actor,
        &draft.formation,
        founder_only(actor, &draft.formation, "submit"),
    )
    .await?;
    let founder = entities::user::Entity::find_by_id(actor.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    crate::services::accounts::require_confirmed(&founder, "submit a formation")?;
    if !matches!(
        draft.formation.status,
        FormationStatus::Draft | FormationStatus::Rejected | FormationStatus::Withdrawn
    ) {
        return Err(AppError::Conflict(format!(
            "the formation is already {}",
            status_name(draft.formation.status)
        )));
    }
    let (parent, evaluation) = evaluate_draft(state, &txn, &draft).await?;
    if !evaluation.problems.is_empty() {
        return Err(refusal(&evaluation.problems));
    }
    let now = Utc::now();
    move_on(
        &txn,
        &draft.formation,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Submitted),
            ),
            (formation::Column::SubmittedAt, Expr::value(now)),
        ],
    )
    .await?;
    let before = draft.formation.clone();
    let pool = if parent.approval_policy == ApprovalPolicy::Automatic {
        let mut submitted = draft;
        submitted.formation.status = FormationStatus::Submitted;
        Some(create_pool(state, &txn, &submitted, &parent, None).await?)
    } else {
        None
    };
    let result = record_step(
        &txn,
        actor,
        &before,
        Action::FormationSubmitted,
        pool.as_ref(),
    )
    .await?;
    match &pool {
        Some(pool) => fund::applications::on_formation_approved(&txn, result.id, pool).await?,
        None => {
            notifications::formation_submitted(&txn, result.id, result.parent_entity_id).await?;
        }
    }
    txn.commit().await?;
    Ok(result)
}

/// Only the founder submits and withdraws.
fn founder_only(actor: &Actor, formation: &formation::Model, what: &str) -> AppResult<()> {
    if formation.founder_id == actor.user_id {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "only the founder may {what} this formation"
        )))
    }
}

pub async fn withdraw(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let formation = find_locked(&txn, id).await?;
    super::unless_seen(
        &txn,
        actor,
        &formation,
        founder_only(actor, &formation, "withdraw"),
    )
    .await?;
    if !matches!(
        formation.status,
        FormationStatus::Draft | FormationStatus::Submitted
    ) {
        return Err(AppError::Conflict(format!(
            "a formation that is {} cannot be withdrawn",
            status_name(formation.status)
        )));
    }
    move_on(
        &txn,
        &formation,
        [(
            formation::Column::Status,
            Expr::value(FormationStatus::Withdrawn),
        )],
    )
    .await?;
    let result = record_step(&txn, actor, &formation, Action::FormationWithdrawn, None).await?;
    fund::applications::on_formation_ended(&txn, formation.id).await?;
    txn.commit().await?;
    Ok(result)
}

/// Withdraws the open formations (drafts and submitted ones) of a founder
/// whose account is being deleted; returns the ids of all their formations.
pub async fn withdraw_for_deleted_account(
    txn: &DatabaseTransaction,
    actor: &Actor,
) -> AppResult<Vec<Uuid>> {
    let theirs = formation::Entity::find()
        .filter(formation::Column::FounderId.eq(actor.user_id))
        .all(txn)
        .await?;
    for seen in &theirs {
        let formation = find_locked(txn, seen.id).await?;
        if !matches!(
            formation.status,
            FormationStatus::Draft | FormationStatus::Submitted
        ) {
            continue;
        }
        move_on(
            txn,
            &formation,
            [(
                formation::Column::Status,
                Expr::value(FormationStatus::Withdrawn),
            )],
        )
        .await?;
        record_step(txn, actor, &formation, Action::FormationWithdrawn, None).await?;
        fund::applications::on_formation_ended(txn, formation.id).await?;
    }
    Ok(theirs.into_iter().map(|f| f.id).collect())
}

/// Approves a submitted formation (stewards of its parent only) and returns
/// the pool. The formation is locked first, so of concurrent approvals one
/// creates the pool and the others, waiting on the lock, answer with it.
pub async fn approve(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<pool::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let draft = locked_draft(&txn, id).await?;
    // A steward does not see a draft either: it does not exist for them.
    super::require_seen(&txn, actor, &draft.formation).await?;
    permissions::require_steward(&txn, draft.formation.parent_entity_id, actor.user_id).await?;
    if let Some(pool) = existing_pool(&txn, &draft.formation).await? {
        return Ok(pool);
    }
    if draft.formation.status != FormationStatus::Submitted {
        return Err(AppError::Conflict(format!(
            "only a submitted formation can be approved; this one is {}",
            status_name(draft.formation.status)
        )));
    }
    // Names are checked under the lock: no approval of this formation can
    // have taken its name meanwhile.
    let (parent, evaluation) = evaluate_draft(state, &txn, &draft).await?;
    if !evaluation.problems.is_empty() {
        return Err(refusal(&evaluation.problems));
    }
    let pool = create_pool(state, &txn, &draft, &parent, Some(actor.user_id)).await?;
    record_step(
        &txn,
        actor,
        &draft.formation,
        Action::FormationApproved,
        Some(&pool),
    )
    .await?;
    fund::applications::on_formation_approved(&txn, id, &pool).await?;
    notifications::queue(&txn, Notice::FormationDecided { formation_id: id }).await?;
    txn.commit().await?;
    Ok(pool)
}

pub async fn reject(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let formation = find_locked(&txn, id).await?;
    super::require_seen(&txn, actor, &formation).await?;
    permissions::require_steward(&txn, formation.parent_entity_id, actor.user_id).await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "input.reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    if formation.status != FormationStatus::Submitted {
        return Err(AppError::Conflict(format!(
            "only a submitted formation can be rejected; this one is {}",
            status_name(formation.status)
        )));
    }
    let now = Utc::now();
    move_on(
        &txn,
        &formation,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Rejected),
            ),
            (
                formation::Column::RejectionReason,
                Expr::value(reason.into_inner()),
            ),
            (formation::Column::DecidedAt, Expr::value(now)),
            (formation::Column::DecidedBy, Expr::value(actor.user_id)),
        ],
    )
    .await?;
    let result = record_step(&txn, actor, &formation, Action::FormationRejected, None).await?;
    fund::applications::on_formation_ended(&txn, formation.id).await?;
    notifications::queue(&txn, Notice::FormationDecided { formation_id: id }).await?;
    txn.commit().await?;
    Ok(result)
}

/// The formation with its founding members, its row locked for this transaction.
async fn locked_draft(txn: &DatabaseTransaction, id: Uuid) -> AppResult<Draft> {
    let formation = find_locked(txn, id).await?;
    load_draft_from(txn, formation).await
}

/// Writes a lifecycle step onto the locked formation: `columns`, the time
/// and the next version.
async fn move_on<const N: usize>(
    txn: &DatabaseTransaction,
    locked: &formation::Model,
    columns: [(formation::Column, sea_orm::sea_query::SimpleExpr); N],
) -> AppResult<()> {
    let mut update = formation::Entity::update_many()
        .col_expr(formation::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(formation::Column::Version, Expr::value(locked.version + 1));
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    update
        .filter(formation::Column::Id.eq(locked.id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn existing_pool(
    db: &impl ConnectionTrait,
    formation: &formation::Model,
) -> AppResult<Option<pool::Model>> {
    match (formation.status, formation.pool_id) {
        (FormationStatus::Approved, Some(pool_id)) => {
            Ok(pool::Entity::find_by_id(pool_id).one(db).await?)
        }
        _ => Ok(None),
    }
}

/// Records a formation's move to its next state, and the pool it created.
async fn record_step(
    txn: &DatabaseTransaction,
    actor: &Actor,
    before: &formation::Model,
    action: Action,
    pool: Option<&pool::Model>,
) -> AppResult<formation::Model> {
    let after = find(txn, before.id).await?;
    audit::record(
        txn,
        actor,
        Change::new(action, "Formation", after.id)
            .in_parent(after.parent_entity_id)
            .diff(before, &after),
    )
    .await?;
    if let Some(pool) = pool {
        audit::record(
            txn,
            actor,
            Change::new(Action::PoolCreated, "Pool", pool.id)
                .in_pool(pool)
                .created(pool),
        )
        .await?;
    }
    Ok(after)
}

/// Approves the locked formation, then writes the pool, its groups, the founding
/// memberships and the app selections. The caller commits.
async fn create_pool(
    state: &AppState,
    txn: &DatabaseTransaction,
    draft: &Draft,
    parent: &parent_entity::Model,
    decided_by: Option<Uuid>,
) -> AppResult<pool::Model> {
    let founding = Founding::read(state, draft)?;
    let now = Utc::now();
    let pool_id = Uuid::now_v7();

    // The caller holds the formation's lock and saw it SUBMITTED.
    move_on(
        txn,
        &draft.formation,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Approved),
            ),
            (formation::Column::PoolId, Expr::value(pool_id)),
            (formation::Column::DecidedAt, Expr::value(now)),
            (formation::Column::DecidedBy, Expr::value(decided_by)),
        ],
    )
    .await?;
    founding.write(state, txn, parent, pool_id, now).await
}

pub fn status_name(status: FormationStatus) -> &'static str {
    match status {
        FormationStatus::Draft => "a draft",
        FormationStatus::Submitted => "submitted",
        FormationStatus::Approved => "approved",
        FormationStatus::Rejected => "rejected",
        FormationStatus::Withdrawn => "withdrawn",
    }
}
