//! Pausing collection while the pool's parent has suspended it. Stripe is
//! told to end each subscription at the end of its paid period
//! (`cancel_at_period_end`), and told otherwise again on reinstatement, so
//! a suspension shorter than a period resumes without a gap. A longer one
//! lets the subscription end at Stripe: the contribution is then
//! `CANCELED`, and the member starts a new one once the pool is back.
//!
//! Stripe's own `pause_collection` would keep subscriptions through any
//! suspension, but localstripe, which the tests run against, has no such
//! parameter; `cancel_at_period_end` behaves the same on both.
//!
//! A pool that winds up (dissolving, or spun out) stops collecting for
//! good: [`cancel_in_pool`] cancels manual pledges at once and queues a
//! `cancel_collection` job per Stripe subscription, which cancels it at
//! Stripe (retried while Stripe cannot answer) and only then marks the
//! contribution `CANCELED`.
//!
//! `contributions.cancel_at_period_end` stays the member's own choice; the
//! pause is `collection_paused_at`. What Stripe is asked for is the two
//! together, worked out again by each run of the job, so runs in any order
//! leave Stripe as the pool now stands.

use chrono::Utc;
use entities::{
    contribution::{self, ContributionStatus, Provider},
    job::{self, JobStatus},
    pool::PoolStatus,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    payments::PaymentError,
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::find_pool,
    },
    state::AppState,
};

/// The `sync_collection` job: make Stripe collect, or not, as the
/// contribution's pool stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCollection {
    pub contribution_id: Uuid,
}

impl Job for SyncCollection {
    const KIND: Kind = Kind::SyncCollection;
}

/// Marks the pool's live Stripe contributions paused (or no longer) and
/// queues a sync for each, in the transaction that suspends or reinstates
/// the pool. Answers how many.
pub async fn pause_in_pool(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    paused: bool,
) -> AppResult<usize> {
    let live: Vec<contribution::Model> = contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool_id))
        .filter(contribution::Column::Provider.eq(Provider::Stripe))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .all(db)
        .await?;
    let now = Utc::now();
    let ids: Vec<Uuid> = live.iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(0);
    }
    contribution::Entity::update_many()
        .col_expr(
            contribution::Column::CollectionPausedAt,
            Expr::value(paused.then_some(now)),
        )
        .col_expr(contribution::Column::UpdatedAt, Expr::value(now))
        .filter(contribution::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await?;
    let syncs: Vec<SyncCollection> = ids
        .iter()
        .map(|&contribution_id| SyncCollection { contribution_id })
        .collect();
    jobs::enqueue_many(db, syncs, now).await?;
    Ok(ids.len())
}

/// Whether the pause, not the member, is behind Stripe's
/// `cancel_at_period_end` for this contribution: while it is paused, and
/// until the sync after a reinstatement has run.
pub async fn pause_decides(db: &impl ConnectionTrait, c: &contribution::Model) -> AppResult<bool> {
    if c.collection_paused_at.is_some() {
        return Ok(true);
    }
    let payload = jobs::encode(&SyncCollection {
        contribution_id: c.id,
    });
    Ok(job::Entity::find()
        .filter(job::Column::Kind.eq(Kind::SyncCollection.as_str()))
        .filter(job::Column::Payload.eq(payload))
        .filter(job::Column::Status.is_in([JobStatus::Pending, JobStatus::Running]))
        .one(db)
        .await?
        .is_some())
}

/// Runs a sync: asks Stripe to end the subscription at its period's end
/// while the pool is suspended or the member chose to, and not otherwise.
pub async fn run_sync(state: &AppState, job: SyncCollection) -> JobResult {
    let Some(c) = contribution::Entity::find_by_id(job.contribution_id)
        .one(&state.db)
        .await?
    else {
        return Err(JobError::Permanent("the contribution is gone".into()));
    };
    if c.status == ContributionStatus::Canceled {
        return Ok(());
    }
    let Some(sub) = c.stripe_subscription_id.as_deref() else {
        // Still being set up: the settling job finishes first; come back.
        return Err(JobError::from(AppError::Conflict(
            "the subscription is not set up yet".into(),
        )));
    };
    let gateway = state
        .stripe
        .as_deref()
        .ok_or_else(|| JobError::Permanent("Stripe is not configured on this server".into()))?;
    let pool = find_pool(&state.db, c.pool_id).await?;
    let end_at_period_end = c.cancel_at_period_end || pool.status == PoolStatus::Suspended;
    gateway
        .set_cancel_at_period_end(sub, end_at_period_end)
        .await
        .map_err(AppError::from)?;
    Ok(())
}

/// The `cancel_collection` job: cancel one contribution's subscription at
/// Stripe, for good, as its pool winds up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelCollection {
    pub contribution_id: Uuid,
}

impl Job for CancelCollection {
    const KIND: Kind = Kind::CancelCollection;
}

/// Stops every contribution of a pool that winds up, in the transaction
/// that winds it up: manual pledges are canceled now; each Stripe one gets
/// a job that cancels it at Stripe, after the commit. Answers how many.
pub async fn cancel_in_pool(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<usize> {
    let live: Vec<contribution::Model> = contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool_id))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .all(db)
        .await?;
    let now = Utc::now();
    let (stripe, manual): (Vec<_>, Vec<_>) =
        live.iter().partition(|c| c.provider == Provider::Stripe);
    if !manual.is_empty() {
        contribution::Entity::update_many()
            .col_expr(
                contribution::Column::Status,
                Expr::value(ContributionStatus::Canceled),
            )
            .col_expr(contribution::Column::CanceledAt, Expr::value(now))
            .col_expr(contribution::Column::UpdatedAt, Expr::value(now))
            .filter(contribution::Column::Id.is_in(manual.iter().map(|c| c.id)))
            .exec(db)
            .await?;
    }
    jobs::enqueue_many(
        db,
        stripe.iter().map(|c| CancelCollection {
            contribution_id: c.id,
        }),
        now,
    )
    .await?;
    Ok(live.len())
}

/// How many of a pool's contributions are not canceled yet (those whose
/// subscription Stripe has not yet confirmed canceled).
pub async fn still_collecting(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool_id))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .count(db)
        .await?)
}

/// Runs a `cancel_collection` job: cancels the subscription at Stripe now
/// (one Stripe no longer knows is as good as canceled), then records the
/// contribution `CANCELED`.
pub async fn run_cancel(state: &AppState, job: CancelCollection) -> JobResult {
    let Some(c) = contribution::Entity::find_by_id(job.contribution_id)
        .one(&state.db)
        .await?
    else {
        return Err(JobError::Permanent("the contribution is gone".into()));
    };
    if c.status == ContributionStatus::Canceled {
        return Ok(());
    }
    if let Some(sub) = c.stripe_subscription_id.as_deref() {
        let gateway = state
            .stripe
            .as_deref()
            .ok_or_else(|| JobError::Permanent("Stripe is not configured on this server".into()))?;
        match gateway.cancel(sub, false).await {
            Ok(_) | Err(PaymentError::Missing { .. }) => {}
            Err(e) => return Err(AppError::from(e).into()),
        }
    } else if super::is_unsettled(&c) {
        // Still being set up: the settling job finishes first; come back.
        return Err(JobError::from(AppError::Conflict(
            "the subscription is not set up yet".into(),
        )));
    }
    let txn = begin_write(&state.db).await?;
    let Some(before) = lock::<contribution::Entity>(&txn, c.id).await? else {
        return Err(JobError::Permanent("the contribution is gone".into()));
    };
    if before.status == ContributionStatus::Canceled {
        return Ok(());
    }
    let now = Utc::now();
    let mut active: contribution::ActiveModel = before.clone().into();
    active.status = sea_orm::Set(ContributionStatus::Canceled);
    active.canceled_at = sea_orm::Set(Some(now));
    active.updated_at = sea_orm::Set(now);
    let after = sea_orm::ActiveModelTrait::update(active, &txn).await?;
    let pool = find_pool(&txn, after.pool_id).await?;
    audit::record(
        &txn,
        Author::system(),
        Change::new(Action::ContributionCanceled, "Contribution", after.id)
            .in_pool(&pool)
            .diff(&before, &after)
            .with("because", "the pool winds up"),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
