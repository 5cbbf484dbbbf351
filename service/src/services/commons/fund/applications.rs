//! Applying to the commons fund: a pool's admins ask for a grant or a loan
//! (a loan with its repayment terms); the assembly of the parent's other
//! pools votes on it until it closes. The applicant may withdraw it while
//! it is open.

use chrono::{Duration, NaiveDate, SubsecRound, Utc};
use entities::{
    billing_period::BillingPeriod,
    fund_application::{self, FundApplicationStatus, FundingKind},
    parent_entity,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::{KIND_APPLICATION, assembly, status_word};
use crate::{
    auth::{Actor, access},
    domain::{Check, MinorAmount, MultiLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        begin_write, lock,
        membership::{find_pool, require_active_pool, require_admin, sees_inside},
        rules::governance_of,
    },
    state::AppState,
};

/// Applications one pool may have open at once: a bound on what one pool
/// can ask the others to vote on.
pub const MAX_OPEN_PER_POOL: u64 = 5;

/// How long the assembly votes when the applicant does not say, and the
/// bounds it may say.
pub const DEFAULT_VOTING_DAYS: i64 = 14;
pub const MAX_VOTING_DAYS: i64 = 60;

/// The most instalments a loan is repaid in, and how far ahead its first
/// may fall due.
pub const MAX_INSTALMENTS: i32 = 120;
pub const MAX_DAYS_TO_FIRST_INSTALMENT: i64 = 732;

pub struct Repayment {
    pub period: BillingPeriod,
    pub instalments: i32,
    pub starts_on: NaiveDate,
}

pub struct ApplyInput {
    pub pool_id: Uuid,
    pub kind: FundingKind,
    pub amount: i64,
    /// Must be the pool's currency when given.
    pub currency: Option<String>,
    pub purpose: String,
    /// Loans only, and required for them.
    pub repayment: Option<Repayment>,
    pub voting_days: Option<i32>,
}

/// A pool's admins apply to the fund of the pool's parent.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    input: ApplyInput,
) -> AppResult<fund_application::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    // Pools are public: an outsider is refused, not told it is missing.
    require_admin(&txn, &pool, actor.user_id).await?;
    let currency = governance_of(&pool)?.currency;
    let today = Utc::now().date_naive();
    let mut check = Check::default();
    let amount = check.field(MinorAmount::parse_positive(input.amount, "input.amount"));
    if let Some(given) = input.currency.as_deref()
        && given.trim().to_uppercase() != currency
    {
        check.field::<()>(Err(FieldError::new(
            "input.currency",
            format!("the fund pays out in the pool's currency, {currency}"),
        )));
    }
    let purpose = check.field(MultiLineText::<1, 4000>::parse(
        &input.purpose,
        "input.purpose",
    ));
    let voting_days = i64::from(input.voting_days.unwrap_or(DEFAULT_VOTING_DAYS as i32));
    if !(1..=MAX_VOTING_DAYS).contains(&voting_days) {
        check.field::<()>(Err(FieldError::new(
            "input.votingDays",
            format!("must be between 1 and {MAX_VOTING_DAYS} days"),
        )));
    }
    match (input.kind, &input.repayment) {
        (FundingKind::Grant, Some(_)) => {
            check.field::<()>(Err(FieldError::new(
                "input.repayment",
                "a grant is not repaid; leave out the repayment terms",
            )));
        }
        (FundingKind::Loan, None) => {
            check.field::<()>(Err(FieldError::new(
                "input.repayment",
                "a loan needs its repayment terms: period, instalments and startsOn",
            )));
        }
        (FundingKind::Loan, Some(r)) => {
            if !(1..=MAX_INSTALMENTS).contains(&r.instalments) {
                check.field::<()>(Err(FieldError::new(
                    "input.repayment.instalments",
                    format!("must be between 1 and {MAX_INSTALMENTS}"),
                )));
            }
            if r.starts_on < today
                || r.starts_on > today + Duration::days(MAX_DAYS_TO_FIRST_INSTALMENT)
            {
                check.field::<()>(Err(FieldError::new(
                    "input.repayment.startsOn",
                    format!("must be from today to {MAX_DAYS_TO_FIRST_INSTALMENT} days ahead"),
                )));
            }
        }
        (FundingKind::Grant, None) => {}
    }
    let (Some(amount), Some(purpose)) = (amount, purpose) else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    require_active_pool(&pool)?;
    let open = fund_application::Entity::find()
        .filter(fund_application::Column::PoolId.eq(pool.id))
        .filter(fund_application::Column::Status.eq(FundApplicationStatus::Open))
        .count(&txn)
        .await?;
    if open >= MAX_OPEN_PER_POOL {
        return Err(AppError::Conflict(format!(
            "a pool has at most {MAX_OPEN_PER_POOL} applications to the fund open at once"
        )));
    }
    let weighting = parent_entity::Entity::find_by_id(pool.parent_entity_id)
        .one(&txn)
        .await?
        .map(|p| p.assembly_weighting)
        .unwrap_or(parent_entity::AssemblyWeighting::OnePoolOneVote);
    let now = Utc::now().trunc_subsecs(6);
    let closes_at = now + Duration::days(voting_days);
    let row = fund_application::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(pool.parent_entity_id),
        pool_id: Set(pool.id),
        kind: Set(input.kind),
        amount_minor: Set(amount.get()),
        currency: Set(currency),
        purpose: Set(purpose.into_inner()),
        repayment_period: Set(input.repayment.as_ref().map(|r| r.period)),
        instalments: Set(input.repayment.as_ref().map(|r| r.instalments)),
        repayment_starts_on: Set(input.repayment.as_ref().map(|r| r.starts_on)),
        status: Set(FundApplicationStatus::Open),
        weighting: Set(weighting),
        closes_at: Set(closes_at),
        eligible_pools: Set(None),
        pools_voted: Set(None),
        weight_for: Set(None),
        weight_against: Set(None),
        decided_at: Set(None),
        parent_ledger_entry_id: Set(None),
        instalments_paid: Set(0),
        applied_by: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::FundApplicationSubmitted, "FundApplication", row.id)
            .in_pool(&pool)
            .created(&row),
    )
    .await?;
    assembly::schedule_close(&txn, row.id, closes_at).await?;
    txn.commit().await?;
    Ok(row)
}

/// The applicant's admins withdraw an open application.
pub async fn withdraw(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<fund_application::Model> {
    let txn = begin_write(&state.db).await?;
    let row = lock::<fund_application::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, id))?;
    let pool = find_pool(&txn, row.pool_id).await?;
    let checked = require_admin(&txn, &pool, actor.user_id).await;
    access::unless_seen(checked, KIND_APPLICATION, id, async || {
        Ok(sees_inside(&txn, &pool, actor.user_id).await?
            || super::super::require_commons_reader(&txn, row.parent_entity_id, actor.user_id)
                .await
                .is_ok())
    })
    .await?;
    if row.status != FundApplicationStatus::Open {
        return Err(AppError::Conflict(format!(
            "this application is {} and can no longer be withdrawn",
            status_word(row.status)
        )));
    }
    let before = row.clone();
    let mut active: fund_application::ActiveModel = row.into();
    active.status = Set(FundApplicationStatus::Withdrawn);
    let after = save(&txn, active, before.version).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::FundApplicationWithdrawn,
            "FundApplication",
            after.id,
        )
        .in_pool(&pool)
        .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Writes the change over the version read under the lock.
pub(super) async fn save(
    db: &impl ConnectionTrait,
    mut active: fund_application::ActiveModel,
    seen: i32,
) -> AppResult<fund_application::Model> {
    let id = active.id.clone().unwrap();
    active.version = Set(seen.saturating_add(1));
    active.updated_at = Set(Utc::now().trunc_subsecs(6));
    let done = fund_application::Entity::update_many()
        .set(active)
        .filter(fund_application::Column::Id.eq(id))
        .filter(fund_application::Column::Version.eq(seen))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this application changed meanwhile; read it again".into(),
        ));
    }
    fund_application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, id))
}
