//! Rent falling due: the `charge_rent` job charges each period of a lease
//! once it has begun, to the pool's ledger and to the fund's together, and
//! queues itself again for the next period. A lease accepted after its
//! start catches up on the periods since then. Charging holds the lease's
//! row lock and counts periods on it, and each period's charge is unique,
//! so two workers (or two queued jobs) never charge a period twice.

use chrono::{DateTime, NaiveDate, NaiveTime, SubsecRound, Utc};
use entities::{
    asset,
    lease::{self, LeaseStatus},
    ledger_entry::LedgerKind,
    pool::PoolStatus,
    rent_charge,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    leases::save,
    ledger::{Movement, book},
    periods::start_of,
};
use crate::{
    error::AppResult,
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::find_pool,
    },
    state::AppState,
};

/// Periods one run charges at most; a longer backlog is finished by the
/// next run, queued at once.
const PERIODS_PER_RUN: usize = 24;

/// The `charge_rent` job: charge what has fallen due on a lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRent {
    pub lease_id: Uuid,
}

impl Job for ChargeRent {
    const KIND: Kind = Kind::ChargeRent;
}

/// Queues the lease's next charging at `at`, in the transaction that makes
/// it due.
pub async fn schedule(
    db: &impl ConnectionTrait,
    lease_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<()> {
    jobs::enqueue(db, &ChargeRent { lease_id }, at).await?;
    Ok(())
}

/// At start: running leases without a pending charging job (one that
/// gave up, say) get one; charging twice charges nothing more.
pub async fn schedule_unscheduled(state: &AppState) -> AppResult<usize> {
    let running: Vec<lease::Model> = lease::Entity::find()
        .filter(lease::Column::Status.is_in([LeaseStatus::Active, LeaseStatus::Ended]))
        .filter(lease::Column::AnsweredAt.is_not_null())
        .all(&state.db)
        .await?;
    let due: Vec<_> = running
        .iter()
        .filter(|l| super::leases::next_charge_on(l).is_some())
        .map(|l| (ChargeRent { lease_id: l.id }, Utc::now()))
        .collect();
    jobs::enqueue_missing(&state.db, due).await
}

/// The amount of a period cut short by the lease's end: the rent in
/// proportion to the days it ran, rounded down.
pub fn prorated(rent: i64, start: NaiveDate, full_end: NaiveDate, end: NaiveDate) -> i64 {
    let full = (full_end - start).num_days();
    let ran = (end - start).num_days();
    if full <= 0 || ran >= full {
        return rent;
    }
    // Rent is bounded (10^13) and days are few: i128 cannot overflow.
    i64::try_from(i128::from(rent) * i128::from(ran.max(0)) / i128::from(full)).unwrap_or(rent)
}

/// Runs a `charge_rent` job.
pub async fn run(state: &AppState, job: ChargeRent) -> JobResult {
    let txn = begin_write(&state.db).await?;
    let Some(mut row) = lock::<lease::Entity>(&txn, job.lease_id).await? else {
        return Err(JobError::Permanent("the lease is gone".into()));
    };
    if !matches!(row.status, LeaseStatus::Active | LeaseStatus::Ended) || row.answered_at.is_none()
    {
        return Ok(()); // never accepted: nothing falls due
    }
    let pool = find_pool(&txn, row.pool_id).await?;
    let asset_name = asset::Entity::find_by_id(row.asset_id)
        .one(&txn)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let today = Utc::now().date_naive();
    // A pool that dissolved, spun out or moved to another parent no longer
    // uses the parent's assets: its lease ends today, and no period that
    // begins from today on is charged.
    let gone = matches!(pool.status, PoolStatus::Dissolved | PoolStatus::SpunOut)
        || pool.parent_entity_id != row.parent_entity_id;
    if gone && row.ends_on.is_none_or(|end| end > today) {
        let before = row.clone();
        let mut active: lease::ActiveModel = row.into();
        active.status = Set(LeaseStatus::Ended);
        active.ends_on = Set(Some(today.max(before.starts_on)));
        active.ended_at = Set(Some(Utc::now().trunc_subsecs(6)));
        row = save(&txn, active, before.version).await?;
        audit::record(
            &txn,
            Author::system(),
            Change::new(Action::LeaseEnded, "Lease", row.id)
                .in_pool(&pool)
                .diff(&before, &row)
                .with("reason", "the pool no longer belongs to the parent entity"),
        )
        .await?;
    }
    let mut next_run = None;
    for charged in 0..=PERIODS_PER_RUN {
        let Ok(n) = u32::try_from(row.periods_charged) else {
            break;
        };
        let Some(start) = start_of(row.starts_on, row.period, n) else {
            break;
        };
        if row.ends_on.is_some_and(|end| start >= end) {
            break; // the lease has run its course
        }
        if start > today {
            next_run = Some(start.and_time(NaiveTime::MIN).and_utc());
            break;
        }
        if charged == PERIODS_PER_RUN {
            next_run = Some(Utc::now());
            break;
        }
        let full_end = start_of(row.starts_on, row.period, n + 1).unwrap_or(NaiveDate::MAX);
        let end = row.ends_on.map_or(full_end, |e| e.min(full_end));
        let amount = prorated(row.rent_minor, start, full_end, end);
        let booked = book(
            &txn,
            Movement {
                parent_entity_id: row.parent_entity_id,
                pool: Some(&pool),
                kind: LedgerKind::Rent,
                amount_minor: amount,
                currency: row.currency.clone(),
                category: "rent".into(),
                reference: format!("lease {} period {}", row.id, n + 1),
                description: format!("Rent for {asset_name}, {start} to {end}"),
                recorded_by: None,
                occurred_at: start.and_time(NaiveTime::MIN).and_utc(),
            },
        )
        .await?;
        let Some(pool_entry) = booked.pool else {
            break;
        };
        let charge = rent_charge::ActiveModel {
            id: Set(Uuid::now_v7()),
            lease_id: Set(row.id),
            pool_id: Set(pool.id),
            parent_entity_id: Set(row.parent_entity_id),
            period_number: Set(row.periods_charged),
            period_start: Set(start),
            period_end: Set(end),
            amount_minor: Set(amount),
            currency: Set(row.currency.clone()),
            pool_ledger_entry_id: Set(pool_entry.id),
            parent_ledger_entry_id: Set(booked.parent.id),
            created_at: Set(Utc::now().trunc_subsecs(6)),
        }
        .insert(&txn)
        .await?;
        let version = row.version;
        let mut active: lease::ActiveModel = row.into();
        active.periods_charged = Set(charge.period_number.saturating_add(1));
        row = save(&txn, active, version).await?;
        audit::record(
            &txn,
            Author::system(),
            Change::new(Action::RentCharged, "RentCharge", charge.id)
                .in_pool(&pool)
                .created(&charge)
                .books(&pool_entry),
        )
        .await?;
    }
    // One waiting job per lease is enough: another queued meanwhile (a
    // duplicate, or the next period's) charges what this one would.
    if let Some(at) = next_run {
        jobs::enqueue_unless_waiting(&txn, &ChargeRent { lease_id: row.id }, at).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_whole_period_costs_the_rent() {
        assert_eq!(
            prorated(3000, day(2027, 1, 1), day(2027, 2, 1), day(2027, 2, 1)),
            3000
        );
    }

    #[test]
    fn a_period_cut_short_costs_its_days() {
        // 10 of 31 days.
        assert_eq!(
            prorated(3100, day(2027, 1, 1), day(2027, 2, 1), day(2027, 1, 11)),
            1000
        );
        assert_eq!(
            prorated(10, day(2027, 1, 1), day(2027, 2, 1), day(2027, 1, 1)),
            0
        );
    }
}
