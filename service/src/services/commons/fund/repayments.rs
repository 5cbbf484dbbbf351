//! A loan's repayments: equal instalments, the last taking what division
//! leaves, falling due one per period from the agreed start. The
//! `collect_loan_repayment` job collects each once it is due, from the
//! pool's ledger into the fund's together, under the application's row
//! lock, and each instalment's row is unique, so two workers never collect
//! one twice. A pool that dissolved stops owing: what it still held went
//! the way its dissolution decided.

use chrono::{NaiveDate, NaiveTime, SubsecRound, Utc};
use entities::{
    fund_application::{self, FundApplicationStatus, FundingKind},
    ledger_entry::LedgerKind,
    loan_repayment,
    pool::PoolStatus,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::applications::save;
use crate::{
    error::AppResult,
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        commons::{
            ledger::{Movement, book},
            periods::start_of,
        },
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::find_pool,
    },
    state::AppState,
};

/// The `collect_loan_repayment` job: collect what has fallen due on a loan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectLoanRepayment {
    pub application_id: Uuid,
}

impl Job for CollectLoanRepayment {
    const KIND: Kind = Kind::CollectLoanRepayment;
}

/// Instalment `n` (from 0) of `amount` in `count` instalments: the amount
/// divided evenly, rounded down, the last taking the remainder, so the
/// instalments add up to the amount exactly.
pub fn instalment(amount: i64, count: i32, n: i32) -> i64 {
    let count = i64::from(count.max(1));
    let base = amount / count;
    if i64::from(n) == count - 1 {
        amount - base * (count - 1)
    } else {
        base
    }
}

/// When instalment `n` (from 0) falls due.
pub fn due_on(row: &fund_application::Model, n: i32) -> Option<NaiveDate> {
    let start = row.repayment_starts_on?;
    let period = row.repayment_period?;
    start_of(start, period, u32::try_from(n).ok()?)
}

/// The next instalment's due date, while one is still owed.
pub fn next_due_on(row: &fund_application::Model) -> Option<NaiveDate> {
    if row.kind != FundingKind::Loan
        || row.status != FundApplicationStatus::Approved
        || row.parent_ledger_entry_id.is_none()
    {
        return None;
    }
    if row.instalments_paid >= row.instalments? {
        return None;
    }
    due_on(row, row.instalments_paid)
}

/// Queues the first collection, in the transaction that pays the loan out.
pub(super) async fn schedule_first(
    db: &impl ConnectionTrait,
    row: &fund_application::Model,
) -> AppResult<()> {
    if let Some(due) = next_due_on(row) {
        let job = CollectLoanRepayment {
            application_id: row.id,
        };
        jobs::enqueue(db, &job, due.and_time(NaiveTime::MIN).and_utc()).await?;
    }
    Ok(())
}

/// At start: loans still owed without a waiting collection job (one that
/// gave up, say) get one. Queuing one twice collects nothing twice.
pub async fn schedule_unscheduled(state: &AppState) -> AppResult<usize> {
    let owed: Vec<fund_application::Model> = fund_application::Entity::find()
        .filter(fund_application::Column::Kind.eq(FundingKind::Loan))
        .filter(fund_application::Column::Status.eq(FundApplicationStatus::Approved))
        .filter(fund_application::Column::ParentLedgerEntryId.is_not_null())
        .all(&state.db)
        .await?;
    let due: Vec<_> = owed
        .iter()
        .filter(|row| next_due_on(row).is_some())
        .map(|row| {
            let job = CollectLoanRepayment {
                application_id: row.id,
            };
            (job, Utc::now())
        })
        .collect();
    jobs::enqueue_missing(&state.db, due).await
}

/// Runs a `collect_loan_repayment` job.
pub async fn run(state: &AppState, job: CollectLoanRepayment) -> JobResult {
    let txn = begin_write(&state.db).await?;
    let Some(mut row) = lock::<fund_application::Entity>(&txn, job.application_id).await? else {
        return Err(JobError::Permanent("the application is gone".into()));
    };
    let Some(pool_id) = row.pool_id else {
        return Ok(()); // not paid out: nothing is owed
    };
    let pool = find_pool(&txn, pool_id).await?;
    if pool.status == PoolStatus::Dissolved {
        txn.commit().await?;
        return Ok(());
    }
    let today = Utc::now().date_naive();
    let mut next_run = None;
    while let Some(due) = next_due_on(&row) {
        if due > today {
            next_run = Some(due.and_time(NaiveTime::MIN).and_utc());
            break;
        }
        let n = row.instalments_paid;
        let count = row.instalments.unwrap_or(1);
        let amount = instalment(row.amount_minor, count, n);
        let booked = book(
            &txn,
            Movement {
                parent_entity_id: row.parent_entity_id,
                pool: Some(&pool),
                kind: LedgerKind::Repayment,
                amount_minor: amount,
                currency: row.currency.clone(),
                category: "repayments".into(),
                reference: format!("fund application {} instalment {}", row.id, n + 1),
                description: format!("Loan repayment {} of {count} to the commons fund", n + 1),
                recorded_by: None,
                occurred_at: due.and_time(NaiveTime::MIN).and_utc(),
            },
        )
        .await?;
        let Some(pool_entry) = booked.pool else {
            break;
        };
        let repayment = loan_repayment::ActiveModel {
            id: Set(Uuid::now_v7()),
            application_id: Set(row.id),
            pool_id: Set(pool.id),
            parent_entity_id: Set(row.parent_entity_id),
            instalment_number: Set(n),
            due_on: Set(due),
            amount_minor: Set(amount),
            currency: Set(row.currency.clone()),
            pool_ledger_entry_id: Set(pool_entry.id),
            parent_ledger_entry_id: Set(booked.parent.id),
            created_at: Set(Utc::now().trunc_subsecs(6)),
        }
        .insert(&txn)
        .await?;
        let version = row.version;
        let mut active: fund_application::ActiveModel = row.into();
        active.instalments_paid = Set(n.saturating_add(1));
        row = save(&txn, active, version).await?;
        audit::record(
            &txn,
            Author::system(),
            Change::new(
                Action::LoanRepaymentCollected,
                "LoanRepayment",
                repayment.id,
            )
            .in_pool(&pool)
            .created(&repayment)
            .books(&pool_entry),
        )
        .await?;
    }
    // One waiting job per loan is enough.
    if let Some(at) = next_run {
        let job = CollectLoanRepayment {
            application_id: row.id,
        };
        jobs::enqueue_unless_waiting(&txn, &job, at).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instalments_add_up_to_the_loan() {
        for (amount, count) in [
            (100_000, 3),
            (1, 7),
            (99_999, 12),
            (10_000_000_000_000, 120),
        ] {
            let sum: i64 = (0..count).map(|n| instalment(amount, count, n)).sum();
            assert_eq!(sum, amount, "{amount} in {count}");
        }
        assert_eq!(instalment(100_000, 3, 0), 33_333);
        assert_eq!(instalment(100_000, 3, 2), 33_334);
    }
}
