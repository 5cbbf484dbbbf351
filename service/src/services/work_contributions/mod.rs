//! Contributions of work, care and kind: members record what they give the
//! pool beside money; other members or the admins confirm it as the pool's
//! rules say (`formations::contribution_rules`). Confirmed contributions
//! form each member's contribution account (`accounts`), and where the
//! rules say so, labour shares that count in the votes of a workers' group
//! (`proposals::closing`).

pub mod accounts;
mod input;
pub mod reads;

use chrono::{SubsecRound, Utc};
use entities::{
    membership::{self, MemberRole},
    pool,
    work_contribution::{self, WorkContributionStatus},
    work_contribution_confirmation,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, access},
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Change},
        begin_write,
        formations::governance::{Confirmers, WorkContributionRules},
        lock,
        membership::{find_pool, require_member, sanctions::require_not_suspended, unless_inside},
        rules::governance_of,
    },
    state::AppState,
};

pub use input::{MAX_AGE_DAYS, MAX_QUANTITY, MAX_QUARTER_HOURS, RecordInput};

/// What the object is called in refusals and `NOT_FOUND`s.
const KIND: &str = "work contribution";

/// The rules in force for the pool's contributions.
pub fn rules_of(pool: &pool::Model) -> AppResult<WorkContributionRules> {
    Ok(governance_of(pool)?.work_contribution_rules())
}

/// A member records a contribution they gave; it waits for confirmation.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    input: RecordInput,
) -> AppResult<work_contribution::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let member = require_member(&txn, &pool, actor.user_id).await?;
    require_not_suspended(&txn, &member, "record contributions").await?;
    let governance = governance_of(&pool)?;
    let rules = governance.work_contribution_rules();
    let parsed = input::parse(
        &input,
        &rules,
        &governance.currency,
        Utc::now().date_naive(),
    )?;
    let now = Utc::now().trunc_subsecs(6);
    let row = work_contribution::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        membership_id: Set(member.id),
        kind: Set(parsed.kind),
        label: Set(parsed.label),
        occurred_on: Set(parsed.occurred_on),
        quarter_hours: Set(parsed.quarter_hours),
        quantity: Set(parsed.quantity),
        unit: Set(parsed.unit),
        description: Set(parsed.description),
        value_minor: Set(parsed.value_minor),
        currency: Set(parsed.currency),
        status: Set(WorkContributionStatus::Pending),
        confirmations: Set(0),
        confirmations_required: Set(rules.confirmations_required.max(1)),
        refused_by_membership_id: Set(None),
        refusal_reason: Set(None),
        decided_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::WorkContributionRecorded, "WorkContribution", row.id)
            .in_pool(&pool)
            .created(&row),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The contribution, held for this transaction, its pool, and the caller's
/// standing to decide on it under the pool's rules. Those who cannot see
/// inside the pool are told it does not exist.
async fn for_decision(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> AppResult<(work_contribution::Model, pool::Model, membership::Model)> {
    let row = lock::<work_contribution::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND, id))?;
    let pool = find_pool(txn, row.pool_id).await?;
    let checked = async {
        let member = require_member(txn, &pool, actor.user_id).await?;
        require_not_suspended(txn, &member, "confirm or refuse contributions").await?;
        let rules = rules_of(&pool)?;
        if rules.confirmers == Confirmers::Admins && member.role != MemberRole::Admin {
            return Err(AppError::Forbidden(
                "the pool's rules let only its admins confirm or refuse contributions".into(),
            ));
        }
        if member.id == row.membership_id && !rules.self_confirmation {
            return Err(AppError::Forbidden(
                "the pool's rules do not let members confirm or refuse their own contributions; another member must".into(),
            ));
        }
        Ok(member)
    }
    .await;
    let member = unless_inside(txn, &pool, actor.user_id, KIND, id, checked).await?;
    Ok((row, pool, member))
}

fn require_pending(row: &work_contribution::Model) -> AppResult<()> {
    match row.status {
        WorkContributionStatus::Pending => Ok(()),
        WorkContributionStatus::Confirmed => Err(AppError::Conflict(
            "this contribution is already confirmed".into(),
        )),
        WorkContributionStatus::Refused => {
            Err(AppError::Conflict("this contribution was refused".into()))
        }
        WorkContributionStatus::Withdrawn => {
            Err(AppError::Conflict("this contribution was withdrawn".into()))
        }
    }
}

/// A member (or an admin, as the rules say) confirms a contribution; once
/// it has the confirmations it was recorded to need, it is `CONFIRMED`.
pub async fn confirm(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<work_contribution::Model> {
    let txn = begin_write(&state.db).await?;
    let (row, pool, member) = for_decision(&txn, actor, id).await?;
    require_pending(&row)?;
    let now = Utc::now().trunc_subsecs(6);
    work_contribution_confirmation::ActiveModel {
        id: Set(Uuid::now_v7()),
        work_contribution_id: Set(row.id),
        membership_id: Set(member.id),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .on_conflict(|| "you have already confirmed this contribution".into())?;
    let confirmations = row.confirmations.saturating_add(1);
    let done = confirmations >= row.confirmations_required;
    let before = row.clone();
    let mut active: work_contribution::ActiveModel = row.into();
    active.confirmations = Set(confirmations);
    if done {
        active.status = Set(WorkContributionStatus::Confirmed);
        active.decided_at = Set(Some(now));
    }
    let after = update(&txn, active, before.version, now).await?;
    let action = if done {
        Action::WorkContributionConfirmed
    } else {
        Action::WorkContributionSeconded
    };
    audit::record(
        &txn,
        actor,
        Change::new(action, "WorkContribution", after.id)
            .in_pool(&pool)
            .diff(&before, &after)
            .with("confirmedBy", member.id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// A member who may confirm refuses a contribution instead, saying why.
pub async fn refuse(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> AppResult<work_contribution::Model> {
    let txn = begin_write(&state.db).await?;
    let (row, pool, member) = for_decision(&txn, actor, id).await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "input.reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    require_pending(&row)?;
    let now = Utc::now().trunc_subsecs(6);
    let before = row.clone();
    let mut active: work_contribution::ActiveModel = row.into();
    active.status = Set(WorkContributionStatus::Refused);
    active.refused_by_membership_id = Set(Some(member.id));
    active.refusal_reason = Set(Some(reason.into_inner()));
    active.decided_at = Set(Some(now));
    let after = update(&txn, active, before.version, now).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::WorkContributionRefused,
            "WorkContribution",
            after.id,
        )
        .in_pool(&pool)
        .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The member who recorded a contribution withdraws it while it waits.
pub async fn withdraw(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<work_contribution::Model> {
    let txn = begin_write(&state.db).await?;
    let row = lock::<work_contribution::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND, id))?;
    let pool = find_pool(&txn, row.pool_id).await?;
    let checked = async {
        let member = require_member(&txn, &pool, actor.user_id).await?;
        if member.id != row.membership_id {
            return Err(AppError::Forbidden(
                "only the member who recorded a contribution may withdraw it".into(),
            ));
        }
        Ok(member)
    }
    .await;
    unless_inside(&txn, &pool, actor.user_id, KIND, id, checked).await?;
    require_pending(&row)?;
    let now = Utc::now().trunc_subsecs(6);
    let before = row.clone();
    let mut active: work_contribution::ActiveModel = row.into();
    active.status = Set(WorkContributionStatus::Withdrawn);
    active.decided_at = Set(Some(now));
    let after = update(&txn, active, before.version, now).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::WorkContributionWithdrawn,
            "WorkContribution",
            after.id,
        )
        .in_pool(&pool)
        .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Writes the change over the version read under the lock; a version that
/// moved meanwhile (a writer that took no lock) is a `CONFLICT`.
async fn update(
    db: &impl ConnectionTrait,
    mut active: work_contribution::ActiveModel,
    seen: i32,
    now: chrono::DateTime<Utc>,
) -> AppResult<work_contribution::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let id = match &active.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
        sea_orm::ActiveValue::NotSet => {
            return Err(AppError::internal(anyhow::anyhow!(
                "contribution without id"
            )));
        }
    };
    active.version = Set(seen.saturating_add(1));
    active.updated_at = Set(now);
    let done = work_contribution::Entity::update_many()
        .set(active)
        .filter(work_contribution::Column::Id.eq(id))
        .filter(work_contribution::Column::Version.eq(seen))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this contribution changed meanwhile; read it again".into(),
        ));
    }
    work_contribution::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found(KIND, id))
}
