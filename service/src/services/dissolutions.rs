//! A pool's dissolution after its members decided it (see
//! `proposals::dissolution`): the parent's stewards consent or refuse
//! where its policy asks them to; while the pool winds up, a steward
//! confirms each distribution of its remaining funds paid (booked in the
//! ledger as a `DISTRIBUTION` entry bound into its event); and once nothing
//! is outstanding (contributions canceled at Stripe, apps taken down,
//! distributions paid, nothing left in the books) a steward completes it:
//! the pool is `DISSOLVED`, read-only for good, its register and books
//! kept.

use chrono::{SubsecRound, Utc};
use entities::{
    ledger_entry::{self, LedgerKind},
    pool,
    pool::PoolStatus,
    pool_dissolution::{self, DissolutionStatus, Model as Dissolution},
    pool_distribution::{self, DistributionStatus, Model as Distribution},
    pool_life_pack::LifeStep,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    domain::{MultiLineText, SingleLineText},
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Author, Change},
        begin_write, contributions, ledger, life_packs, lock,
        membership::{find_pool, require_reader_as},
        pagination::{Page, PageArgs, paginate},
        proposals::dissolution::{self as decided, recipient_name},
        provisioning,
    },
    state::AppState,
};

/// The ledger category of the distributions.
pub const CATEGORY: &str = "dissolution";

/// Who may know a dissolution exists: those who read its pool (its members
/// and its parent's stewards and auditors). Others get `NOT_FOUND`.
pub async fn visible(db: &impl ConnectionTrait, actor: &Actor, d: &Dissolution) -> AppResult<()> {
    let pool = find_pool(db, d.pool_id).await?;
    require_reader_as(db, &pool, actor)
        .await
        .map(|_| ())
        .map_err(|_| access::not_found("dissolution", d.id))
}

/// The pool's current or last dissolution, for those who read the pool.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Option<Dissolution>> {
    require_reader_as(&state.db, pool, actor).await?;
    Ok(pool_dissolution::Entity::find()
        .filter(pool_dissolution::Column::PoolId.eq(pool.id))
        .order_by_desc(pool_dissolution::Column::Id)
        .one(&state.db)
        .await?)
}

/// The dissolutions of a parent entity's pools, oldest first, for its
/// stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<Dissolution>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let select = pool_dissolution::Entity::find()
        .filter(pool_dissolution::Column::ParentEntityId.eq(parent_entity_id));
    paginate(&state.db, select, pool_dissolution::Column::Id, page).await
}

/// A dissolution's distributions, oldest first, for those who may know it.
pub async fn distributions(
    state: &AppState,
    actor: &Actor,
    d: &Dissolution,
    page: PageArgs,
) -> AppResult<Page<Distribution>> {
    visible(&state.db, actor, d).await?;
    let page = page.parse()?;
    let select =
        pool_distribution::Entity::find().filter(pool_distribution::Column::DissolutionId.eq(d.id));
    paginate(&state.db, select, pool_distribution::Column::Id, page).await
}

async fn find_locked(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> AppResult<Dissolution> {
    lock::<pool_dissolution::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found("dissolution", id))
}

/// Only stewards of the parent the pool is under decide for it; readers
/// who are not get `FORBIDDEN`, others `NOT_FOUND`.
async fn require_steward_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    d: &Dissolution,
) -> AppResult<pool::Model> {
    visible(db, actor, d).await?;
    let pool = find_pool(db, d.pool_id).await?;
    permissions::require_steward(db, pool.parent_entity_id, actor.user_id).await?;
    Ok(pool)
}

/// A steward of the parent consents to a dissolution that waits for it:
/// the pool winds up now, in this transaction.
pub async fn consent(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Dissolution> {
    let txn = begin_write(&state.db).await?;
    let d = find_locked(&txn, id).await?;
    let pool = require_steward_of(&txn, actor, &d).await?;
    awaiting_consent(&d)?;
    let now = Utc::now();
    let mut active: pool_dissolution::ActiveModel = d.into();
    active.decided_by = Set(Some(actor.user_id));
    active.decided_at = Set(Some(now));
    let d = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::PoolDissolutionConsented, "Pool", pool.id)
            .in_pool(&pool)
            .with("dissolutionId", d.id.to_string()),
    )
    .await?;
    let d = decided::wind_up(&txn, state, &Author::from(actor), d).await?;
    txn.commit().await?;
    Ok(d)
}

/// A steward of the parent refuses a dissolution that waits for it, saying
/// why; the pool goes on.
pub async fn refuse(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> AppResult<Dissolution> {
    let txn = begin_write(&state.db).await?;
    let d = find_locked(&txn, id).await?;
    let pool = require_steward_of(&txn, actor, &d).await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    awaiting_consent(&d)?;
    let mut active: pool_dissolution::ActiveModel = d.into();
    active.status = Set(DissolutionStatus::Refused);
    active.decided_by = Set(Some(actor.user_id));
    active.decided_at = Set(Some(Utc::now()));
    active.refusal_reason = Set(Some(reason.into_inner()));
    let d = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::PoolDissolutionRefused, "Pool", pool.id)
            .in_pool(&pool)
            .with("dissolutionId", d.id.to_string())
            .with("reason", d.refusal_reason.clone().unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(d)
}

fn awaiting_consent(d: &Dissolution) -> AppResult<()> {
    if d.status == DissolutionStatus::AwaitingConsent {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "this dissolution does not wait for consent: it is {}",
        status_name(d.status)
    )))
}

pub fn status_name(status: DissolutionStatus) -> &'static str {
    match status {
        DissolutionStatus::AwaitingConsent => "AWAITING_CONSENT",
        DissolutionStatus::Refused => "REFUSED",
        DissolutionStatus::WindingUp => "WINDING_UP",
        DissolutionStatus::Completed => "COMPLETED",
    }
}

fn winding_up(d: &Dissolution) -> AppResult<()> {
    if d.status == DissolutionStatus::WindingUp {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "this dissolution is not winding up: it is {}",
        status_name(d.status)
    )))
}

/// A steward of the parent confirms a distribution paid, with the
/// payment's reference: in one transaction, a `DISTRIBUTION` entry of the
/// opposite amount is booked, bound into the event that records it.
pub async fn confirm_paid(
    state: &AppState,
    actor: &Actor,
    distribution_id: Uuid,
    reference: &str,
) -> AppResult<Distribution> {
    let txn = begin_write(&state.db).await?;
    let found = pool_distribution::Entity::find_by_id(distribution_id)
        .one(&txn)
        .await?
        .ok_or_else(|| access::not_found("distribution", distribution_id))?;
    // The dissolution first, then the distribution: the order every writer
    // locks in.
    let d = find_locked(&txn, found.dissolution_id).await?;
    let pool = require_steward_of(&txn, actor, &d)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => access::not_found("distribution", distribution_id),
            other => other,
        })?;
    let reference = SingleLineText::<1, 200>::parse(reference, "input.reference")
        .map_err(|e| AppError::Validation(vec![e]))?
        .into_inner();
    winding_up(&d)?;
    let dist = lock::<pool_distribution::Entity>(&txn, distribution_id)
        .await?
        .ok_or_else(|| access::not_found("distribution", distribution_id))?;
    if dist.status != DistributionStatus::Pending {
        return Err(AppError::Conflict(
            "this distribution is already confirmed paid".into(),
        ));
    }
    let now = Utc::now().trunc_subsecs(6);
    let entry = ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        kind: Set(LedgerKind::Distribution),
        amount_minor: Set(-dist.amount_minor),
        currency: Set(dist.currency.clone()),
        reference: Set(reference.clone()),
        description: Set(format!(
            "remaining funds paid to {} as the pool dissolves",
            dist.recipient_name
        )),
        expense_id: Set(None),
        recorded_by: Set(Some(actor.user_id)),
        occurred_at: Set(now),
        created_at: Set(now),
        category: Set(CATEGORY.to_owned()),
    }
    .insert(&txn)
    .await?;
    let before = dist.clone();
    let mut active: pool_distribution::ActiveModel = dist.into();
    active.status = Set(DistributionStatus::Paid);
    active.reference = Set(Some(reference));
    active.ledger_entry_id = Set(Some(entry.id));
    active.paid_by = Set(Some(actor.user_id));
    active.paid_at = Set(Some(now));
    let dist = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::PoolDistributionPaid, "PoolDistribution", dist.id)
            .in_pool(&pool)
            .diff(&before, &dist)
            .with("dissolutionId", d.id.to_string())
            .books(&entry),
    )
    .await?;
    txn.commit().await?;
    Ok(dist)
}

/// What still stands between a winding-up pool and its dissolution, each
/// said so that a person can act on it; empty when it can complete.
pub async fn outstanding(db: &impl ConnectionTrait, d: &Dissolution) -> AppResult<Vec<String>> {
    let mut left = Vec::new();
    if d.status != DissolutionStatus::WindingUp {
        return Ok(left);
    }
    let collecting = contributions::collection::still_collecting(db, d.pool_id).await?;
    if collecting > 0 {
        left.push(format!(
            "{collecting} contribution(s) are still being canceled at Stripe"
        ));
    }
    let apps = provisioning::still_provisioned(db, d.pool_id).await?;
    if apps > 0 {
        left.push(format!(
            "{apps} app(s) are still being taken down by their operators"
        ));
    }
    let unpaid = pool_distribution::Entity::find()
        .filter(pool_distribution::Column::DissolutionId.eq(d.id))
        .filter(pool_distribution::Column::Status.eq(DistributionStatus::Pending))
        .count(db)
        .await?;
    if unpaid > 0 {
        left.push(format!(
            "{unpaid} distribution(s) wait to be confirmed paid"
        ));
    }
    for (currency, total) in ledger::balances_of(db, d.pool_id).await? {
        // With every distribution paid, what is left came in afterwards
        // (a payment Stripe collected before it canceled), or is a deficit.
        if total.0 != 0 && unpaid == 0 {
            left.push(format!(
                "the books still hold {} {currency} (minor units): record an adjustment for it",
                total.0
            ));
        }
    }
    Ok(left)
}

/// A steward of the parent completes the dissolution once nothing is
/// outstanding (`CONFLICT` naming what is): the pool is `DISSOLVED`, with
/// its last signed pack.
pub async fn complete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Dissolution> {
    let txn = begin_write(&state.db).await?;
    let d = find_locked(&txn, id).await?;
    require_steward_of(&txn, actor, &d).await?;
    winding_up(&d)?;
    let pool = lock::<pool::Entity>(&txn, d.pool_id)
        .await?
        .ok_or_else(|| access::not_found("pool", d.pool_id))?;
    let left = outstanding(&txn, &d).await?;
    if !left.is_empty() {
        return Err(AppError::Conflict(format!(
            "the dissolution cannot complete yet: {}",
            left.join("; ")
        )));
    }
    if pool.status != PoolStatus::Dissolving {
        return Err(AppError::internal(anyhow::anyhow!(
            "a winding-up dissolution's pool is not dissolving"
        )));
    }
    let now = Utc::now();
    let before = pool.clone();
    let mut active: pool::ActiveModel = pool.into();
    active.status = Set(PoolStatus::Dissolved);
    active.status_reason = Set(Some("dissolved by its members' decision".into()));
    active.status_changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    let mut done: pool_dissolution::ActiveModel = d.into();
    done.status = Set(DissolutionStatus::Completed);
    done.completed_by = Set(Some(actor.user_id));
    done.completed_at = Set(Some(now));
    let d = done.update(&txn).await?;
    let event = audit::record(
        &txn,
        actor,
        Change::new(Action::PoolDissolved, "Pool", after.id)
            .in_pool(&after)
            .diff(&before, &after)
            .with("dissolutionId", d.id.to_string())
            .with("recipient", recipient_name(d.recipient)),
    )
    .await?;
    life_packs::seal(
        &txn,
        state,
        &after,
        after.parent_entity_id,
        LifeStep::Dissolved,
        &event,
    )
    .await?;
    txn.commit().await?;
    Ok(d)
}

/// One dissolution, for those who may know it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Dissolution> {
    let d = pool_dissolution::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found("dissolution", id))?;
    visible(&state.db, actor, &d).await?;
    Ok(d)
}
