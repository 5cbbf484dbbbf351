//! The parent's assembly of pools deciding an application to the fund.
//! Every active pool of the parent but the applicant votes once, through
//! its admins or the delegate they named, and may change its vote while
//! the vote is open. It is decided as soon as every such pool has voted,
//! or when it closes (the `close_fund_application` job): approved when
//! more than half of the pools voted (abstaining counts) and the weight
//! for is more than the weight against; an approved application is paid
//! out of the fund in the same transaction, or marked `UNFUNDED` if the
//! fund does not hold the amount. The parent's row lock orders decisions,
//! so two of them never spend the same balance.

use chrono::{DateTime, SubsecRound, Utc};
use entities::{
    assembly_delegate,
    assembly_vote::{self, AssemblyChoice},
    fund_application::{self, FundApplicationStatus, FundingKind},
    ledger_entry::LedgerKind,
    membership::{self, MemberRole, MembershipStatus},
    parent_entity::AssemblyWeighting,
    pool::{self, PoolStatus},
    proposal::{self, Outcome, ProposalKind},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set, sea_query::Query,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

use super::{KIND_APPLICATION, applications::save, repayments, status_word};
use crate::{
    auth::{Actor, access},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        commons::{
            ledger::{Movement, balances_of, book},
            require_commons_reader,
        },
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::{active_membership, find_pool},
        parent_entities::lock_parent,
    },
    state::AppState,
};

/// The `close_fund_application` job: decide an application whose vote
/// has closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseFundApplication {
    pub application_id: Uuid,
}

impl Job for CloseFundApplication {
    const KIND: Kind = Kind::CloseFundApplication;
}

pub(super) async fn schedule_close(
    db: &impl ConnectionTrait,
    application_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<()> {
    jobs::enqueue(db, &CloseFundApplication { application_id }, at).await?;
    Ok(())
}

/// How the assembly stands on an application: live while it is open, as
/// it was decided once it is not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// The parent's active pools other than the applicant.
    pub eligible_pools: i64,
    pub pools_voted: i64,
    pub weight_for: i64,
    pub weight_against: i64,
}

impl Tally {
    /// More than half of the eligible pools voted.
    pub fn quorate(&self) -> bool {
        self.eligible_pools > 0 && self.pools_voted * 2 > self.eligible_pools
    }

    pub fn approves(&self) -> bool {
        self.quorate() && self.weight_for > self.weight_against
    }

    /// Pools that must vote for a quorum.
    pub fn quorum(&self) -> i64 {
        self.eligible_pools / 2 + 1
    }
}

/// Counts the votes of the pools still eligible; a pool's weight is 1, or
/// its active members under `BY_MEMBERS`.
pub async fn count(db: &impl ConnectionTrait, row: &fund_application::Model) -> AppResult<Tally> {
    if row.status != FundApplicationStatus::Open {
        return Ok(Tally {
            eligible_pools: row.eligible_pools.map_or(0, i64::from),
            pools_voted: row.pools_voted.map_or(0, i64::from),
            weight_for: row.weight_for.unwrap_or(0),
            weight_against: row.weight_against.unwrap_or(0),
        });
    }
    // The parent's active pools but the applicant, as a subquery: a parent
    // may have more pools than a statement takes parameters.
    let eligible = || {
        Query::select()
            .column(pool::Column::Id)
            .from(pool::Entity)
            .and_where(pool::Column::ParentEntityId.eq(row.parent_entity_id))
            .and_where(pool::Column::Status.eq(PoolStatus::Active))
            .and_where(pool::Column::Id.ne(row.pool_id.unwrap_or(Uuid::nil())))
            .to_owned()
    };
    let eligible_pools = pool::Entity::find()
        .filter(pool::Column::Id.in_subquery(eligible()))
        .count(db)
        .await?;
    let votes = assembly_vote::Entity::find()
        .filter(assembly_vote::Column::ApplicationId.eq(row.id))
        .filter(assembly_vote::Column::PoolId.in_subquery(eligible()))
        .all(db)
        .await?;
    let weights: HashMap<Uuid, i64> = match row.weighting {
        AssemblyWeighting::OnePoolOneVote => votes.iter().map(|v| (v.pool_id, 1)).collect(),
        AssemblyWeighting::ByMembers => {
            let voted = Query::select()
                .column(assembly_vote::Column::PoolId)
                .from(assembly_vote::Entity)
                .and_where(assembly_vote::Column::ApplicationId.eq(row.id))
                .to_owned();
            let counted: Vec<(Uuid, i64)> = membership::Entity::find()
                .select_only()
                .column(membership::Column::PoolId)
                .column_as(membership::Column::Id.count(), "members")
                .filter(membership::Column::PoolId.in_subquery(voted))
                .filter(membership::Column::Status.eq(MembershipStatus::Active))
                .group_by(membership::Column::PoolId)
                .into_tuple()
                .all(db)
                .await?;
            counted.into_iter().collect()
        }
    };
    let mut tally = Tally {
        eligible_pools: i64::try_from(eligible_pools).unwrap_or(i64::MAX),
        ..Tally::default()
    };
    for v in &votes {
        let weight = weights.get(&v.pool_id).copied().unwrap_or(0);
        tally.pools_voted += 1;
        match v.choice {
            AssemblyChoice::For => tally.weight_for = tally.weight_for.saturating_add(weight),
            AssemblyChoice::Against => {
                tally.weight_against = tally.weight_against.saturating_add(weight);
            }
            AssemblyChoice::Abstain => {}
        }
    }
    Ok(tally)
}

pub struct VoteInput {
    pub application_id: Uuid,
    /// The pool whose vote this is.
    pub pool_id: Uuid,
    pub choice: AssemblyChoice,
}

/// A pool's admin or delegate casts (or changes) its vote on an open
/// application; the last pool's vote decides it at once.
pub async fn cast(
    state: &AppState,
    actor: &Actor,
    input: VoteInput,
) -> AppResult<fund_application::Model> {
    let txn = begin_write(&state.db).await?;
    let row = lock::<fund_application::Entity>(&txn, input.application_id)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, input.application_id))?;
    // Only those who share the commons learn the application exists.
    if require_commons_reader(&txn, row.parent_entity_id, actor.user_id)
        .await
        .is_err()
    {
        return Err(access::not_found(KIND_APPLICATION, row.id));
    }
    let voter = find_pool(&txn, input.pool_id).await?;
    require_voice(&txn, &voter, actor.user_id).await?;
    if voter.parent_entity_id != row.parent_entity_id {
        return Err(AppError::Validation(vec![FieldError::new(
            "input.poolId",
            "the pool is not under the parent entity whose fund this application is to",
        )]));
    }
    refuse_unless_open(&row, &voter)?;
    let decided = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(voter.id))
        .filter(proposal::Column::Kind.eq(ProposalKind::AssemblyVote))
        .filter(proposal::Column::FundApplicationId.eq(row.id))
        .filter(proposal::Column::Outcome.is_in([
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Blocked,
        ]))
        .count(&txn)
        .await?;
    if decided > 0 {
        return Err(AppError::Conflict(
            "the pool's members decided its vote on this application by a proposal".into(),
        ));
    }
    let row = record_vote(&txn, actor, row, &voter, input.choice, actor.user_id).await?;
    txn.commit().await?;
    Ok(row)
}

/// Why `voter` may not vote on `row` now, if it may not.
fn refuse_unless_open(row: &fund_application::Model, voter: &pool::Model) -> AppResult<()> {
    if Some(voter.id) == row.pool_id {
        return Err(AppError::Conflict(
            "a pool does not vote on its own application".into(),
        ));
    }
    if voter.status != PoolStatus::Active {
        return Err(AppError::Conflict(
            "only the parent's active pools vote in its assembly".into(),
        ));
    }
    if row.status != FundApplicationStatus::Open || row.closes_at <= Utc::now() {
        return Err(AppError::Conflict(format!(
            "the assembly's vote on this application is closed (it is {})",
            status_word(row.status)
        )));
    }
    Ok(())
}

/// Casts or changes `voter`'s vote on `row`, held under its row lock in
/// `db`, and decides it if every pool has now voted.
async fn record_vote(
    db: &impl ConnectionTrait,
    by: impl Into<Author>,
    row: fund_application::Model,
    voter: &pool::Model,
    choice: AssemblyChoice,
    cast_by: Uuid,
) -> AppResult<fund_application::Model> {
    let now = Utc::now().trunc_subsecs(6);
    let existing = assembly_vote::Entity::find()
        .filter(assembly_vote::Column::ApplicationId.eq(row.id))
        .filter(assembly_vote::Column::PoolId.eq(voter.id))
        .one(db)
        .await?;
    let change = match existing {
        Some(before) => {
            let mut active: assembly_vote::ActiveModel = before.clone().into();
            active.choice = Set(choice);
            active.cast_by = Set(cast_by);
            active.updated_at = Set(now);
            let after = active.update(db).await?;
            Change::new(Action::AssemblyVoteCast, "AssemblyVote", after.id)
                .in_pool(voter)
                .diff(&before, &after)
        }
        None => {
            let vote = assembly_vote::ActiveModel {
                id: Set(Uuid::now_v7()),
                application_id: Set(row.id),
                pool_id: Set(voter.id),
                choice: Set(choice),
                cast_by: Set(cast_by),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            Change::new(Action::AssemblyVoteCast, "AssemblyVote", vote.id)
                .in_pool(voter)
                .created(&vote)
        }
    };
    audit::record(db, by, change.with("applicationId", row.id.to_string())).await?;
    let tally = count(db, &row).await?;
    if tally.pools_voted >= tally.eligible_pools {
        decide(db, row).await
    } else {
        Ok(row)
    }
}

/// Checks the fund application an `ASSEMBLY_VOTE` proposal of `pool`
/// names, closing at `closes_at`: open, to the pool's parent, by another
/// pool, and still open when the proposal closes.
pub async fn check_proposal(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    application_id: Uuid,
    closes_at: DateTime<Utc>,
) -> AppResult<Uuid> {
    let field = "input.fundApplicationId";
    let row = fund_application::Entity::find_by_id(application_id)
        .one(db)
        .await?
        .filter(|a| a.parent_entity_id == pool.parent_entity_id)
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "no application to this pool's parent's fund has this id",
            )
        })?;
    if let Err(AppError::Conflict(why)) = refuse_unless_open(&row, pool) {
        return Err(AppError::invalid(field, why));
    }
    if closes_at >= row.closes_at {
        return Err(AppError::invalid(
            "input.closesAt",
            format!(
                "the assembly's vote closes at {}; the pool's proposal must close before it",
                row.closes_at.to_rfc3339()
            ),
        ));
    }
    Ok(row.id)
}

/// When an `ASSEMBLY_VOTE` proposal closes, in its closing transaction:
/// the pool's decision is its vote (passed: FOR; failed or blocked:
/// AGAINST; no quorum: none), replacing one its admins or delegate cast.
pub async fn on_proposal_closed(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    outcome: Outcome,
) -> AppResult<()> {
    let (ProposalKind::AssemblyVote, Some(application_id)) = (p.kind, p.fund_application_id) else {
        return Ok(());
    };
    let choice = match outcome {
        Outcome::Passed => AssemblyChoice::For,
        Outcome::Failed | Outcome::Blocked => AssemblyChoice::Against,
        Outcome::NoQuorum | Outcome::Withdrawn => return Ok(()),
    };
    let Some(row) = fund_application::Entity::find_by_id(application_id)
        .lock_exclusive()
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let voter = find_pool(db, p.pool_id).await?;
    if refuse_unless_open(&row, &voter).is_err() {
        return Ok(()); // decided or closed meanwhile: too late to count
    }
    let author = membership::Entity::find_by_id(p.author_membership_id)
        .one(db)
        .await?
        .and_then(|m| m.user_id)
        .unwrap_or(Uuid::nil());
    record_vote(db, Author::system(), row, &voter, choice, author).await?;
    Ok(())
}

/// Who speaks for a pool in the assembly: its admins, and its delegate.
async fn require_voice(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<()> {
    let Some(member) = active_membership(db, pool.id, user_id).await? else {
        return Err(AppError::Forbidden(
            "only the pool's admins or its assembly delegate cast its vote".into(),
        ));
    };
    if member.role == MemberRole::Admin {
        return Ok(());
    }
    let delegate = assembly_delegate::Entity::find()
        .filter(assembly_delegate::Column::PoolId.eq(pool.id))
        .filter(assembly_delegate::Column::UserId.eq(user_id))
        .count(db)
        .await?;
    if delegate > 0 {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the pool's admins or its assembly delegate cast its vote".into(),
    ))
}

/// The pool's admins name the member who casts its votes in the assembly,
/// or clear it (`user_id` `None`).
pub async fn set_delegate(
    state: &AppState,
    actor: &Actor,
    pool_id: Uuid,
    user_id: Option<Uuid>,
) -> AppResult<pool::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = lock::<pool::Entity>(&txn, pool_id)
        .await?
        .ok_or_else(|| access::not_found("pool", pool_id))?;
    // Pools are public: an outsider is refused, not told it is missing.
    crate::services::membership::require_admin(&txn, &pool, actor.user_id).await?;
    if let Some(user_id) = user_id
        && active_membership(&txn, pool.id, user_id).await?.is_none()
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "input.userId",
            "the delegate must be an active member of the pool",
        )]));
    }
    let current = assembly_delegate::Entity::find()
        .filter(assembly_delegate::Column::PoolId.eq(pool.id))
        .one(&txn)
        .await?;
    if current.as_ref().map(|d| d.user_id) == user_id {
        txn.commit().await?;
        return Ok(pool);
    }
    let now = Utc::now().trunc_subsecs(6);
    if let Some(current) = &current {
        assembly_delegate::Entity::delete_by_id(current.id)
            .exec(&txn)
            .await?;
    }
    let mut change = Change::new(Action::AssemblyDelegateSet, "Pool", pool.id)
        .in_pool(&pool)
        .with("previousDelegate", current.map(|d| d.user_id.to_string()));
    if let Some(user_id) = user_id {
        let row = assembly_delegate::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool.id),
            user_id: Set(user_id),
            set_by: Set(actor.user_id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        change = change.created(&row);
    }
    change = change.with("delegate", user_id.map(|u| u.to_string()));
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(pool)
}

/// The pool's assembly delegate's membership, for the pool's readers.
pub async fn delegate_of(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Option<membership::Model>> {
    crate::services::membership::require_reader_as(&state.db, pool, actor).await?;
    let Some(delegate) = assembly_delegate::Entity::find()
        .filter(assembly_delegate::Column::PoolId.eq(pool.id))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    active_membership(&state.db, pool.id, delegate.user_id).await
}

/// At start: open applications without a waiting closing job get one.
pub async fn schedule_unscheduled(state: &AppState) -> AppResult<usize> {
    let open: Vec<fund_application::Model> = fund_application::Entity::find()
        .filter(fund_application::Column::Status.eq(FundApplicationStatus::Open))
        .all(&state.db)
        .await?;
    let due: Vec<_> = open
        .iter()
        .map(|row| {
            let job = CloseFundApplication {
                application_id: row.id,
            };
            (job, row.closes_at)
        })
        .collect();
    jobs::enqueue_missing(&state.db, due).await
}

/// Runs a `close_fund_application` job: decides the application if it is
/// still open once its vote has closed.
pub async fn run_close(state: &AppState, job: CloseFundApplication) -> JobResult {
    let txn = begin_write(&state.db).await?;
    let Some(row) = lock::<fund_application::Entity>(&txn, job.application_id).await? else {
        return Err(JobError::Permanent("the application is gone".into()));
    };
    if row.status == FundApplicationStatus::Open {
        if row.closes_at > Utc::now() {
            // Queued early (its closing moved): run again then.
            let at = row.closes_at;
            schedule_close(&txn, row.id, at).await?;
        } else {
            decide(&txn, row).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// What the fund holds in the application's currency.
async fn held(db: &impl ConnectionTrait, row: &fund_application::Model) -> AppResult<i128> {
    Ok(balances_of(db, row.parent_entity_id)
        .await?
        .into_iter()
        .find(|(c, _)| *c == row.currency)
        .map_or(0, |(_, total)| total.0))
}

/// Decides an open application held under its row lock, in `txn`: writes
/// the tally, and pays an approval out of the fund to the pool (a
/// formation's, once it is one).
async fn decide(
    txn: &impl ConnectionTrait,
    row: fund_application::Model,
) -> AppResult<fund_application::Model> {
    // Decisions under one parent are taken one at a time, so the balance
    // read below is still the balance when the payment is booked.
    lock_parent(txn, row.parent_entity_id).await?;
    let tally = count(txn, &row).await?;
    let pool = match row.pool_id {
        Some(id) => Some(find_pool(txn, id).await?),
        None => None,
    };
    let still_here = pool.as_ref().is_none_or(|pool| {
        pool.status == PoolStatus::Active && pool.parent_entity_id == row.parent_entity_id
    });
    let held = held(txn, &row).await?;
    let (status, reason) = if !tally.quorate() {
        (
            FundApplicationStatus::Rejected,
            format!(
                "{} of {} pools voted; a quorum is more than half",
                tally.pools_voted, tally.eligible_pools
            ),
        )
    } else if !tally.approves() {
        (
            FundApplicationStatus::Rejected,
            "the assembly did not vote for it".to_owned(),
        )
    } else if !still_here {
        (
            FundApplicationStatus::Rejected,
            "the pool no longer belongs to the parent entity as an active pool".to_owned(),
        )
    } else if held < i128::from(row.amount_minor) {
        (
            FundApplicationStatus::Unfunded,
            format!("the fund holds less than the amount in {}", row.currency),
        )
    } else if pool.is_none() {
        (
            FundApplicationStatus::Approved,
            "approved; paid out when the formation becomes a pool".to_owned(),
        )
    } else {
        (FundApplicationStatus::Approved, "approved".to_owned())
    };
    let now = Utc::now().trunc_subsecs(6);
    let before = row.clone();
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let mut active: fund_application::ActiveModel = row.into();
    active.status = Set(status);
    active.eligible_pools = Set(Some(clamp(tally.eligible_pools)));
    active.pools_voted = Set(Some(clamp(tally.pools_voted)));
    active.weight_for = Set(Some(tally.weight_for));
    active.weight_against = Set(Some(tally.weight_against));
    active.decided_at = Set(Some(now));
    let after = save(txn, active, before.version).await?;
    let change = Change::new(Action::FundApplicationDecided, "FundApplication", after.id);
    let change = match &pool {
        Some(pool) => change.in_pool(pool),
        None => change.in_parent(after.parent_entity_id),
    };
    audit::record(
        txn,
        Author::system(),
        change.diff(&before, &after).with("reason", reason),
    )
    .await?;
    match pool {
        Some(pool) if status == FundApplicationStatus::Approved => pay_out(txn, after, &pool).await,
        _ => Ok(after),
    }
}

/// Pays an approved application held under its row lock out of the fund
/// into `pool`'s ledger, in `db`, and queues a loan's first repayment; if
/// the fund no longer holds the amount (a formation's, approved a while
/// before its pool existed), it is `UNFUNDED` instead.
pub(super) async fn pay_out(
    db: &impl ConnectionTrait,
    row: fund_application::Model,
    pool: &pool::Model,
) -> AppResult<fund_application::Model> {
    lock_parent(db, row.parent_entity_id).await?;
    let before = row.clone();
    if held(db, &row).await? < i128::from(row.amount_minor) {
        let mut active: fund_application::ActiveModel = row.into();
        active.status = Set(FundApplicationStatus::Unfunded);
        let after = save(db, active, before.version).await?;
        audit::record(
            db,
            Author::system(),
            Change::new(Action::FundApplicationDecided, "FundApplication", after.id)
                .in_pool(pool)
                .diff(&before, &after)
                .with(
                    "reason",
                    format!("the fund holds less than the amount in {}", after.currency),
                ),
        )
        .await?;
        return Ok(after);
    }
    let (kind, word) = match row.kind {
        FundingKind::Grant => (LedgerKind::Grant, "Grant"),
        FundingKind::Loan => (LedgerKind::Loan, "Loan"),
    };
    let booked = book(
        db,
        Movement {
            parent_entity_id: row.parent_entity_id,
            pool: Some(pool),
            kind,
            amount_minor: -row.amount_minor,
            currency: row.currency.clone(),
            category: "funding".into(),
            reference: format!("fund application {}", row.id),
            description: format!("{word} from the commons fund: {}", first_line(&row.purpose)),
            recorded_by: None,
            occurred_at: Utc::now(),
        },
    )
    .await?;
    let mut active: fund_application::ActiveModel = row.into();
    active.parent_ledger_entry_id = Set(Some(booked.parent.id));
    let after = save(db, active, before.version).await?;
    let mut change = Change::new(Action::FundApplicationPaid, "FundApplication", after.id)
        .in_pool(pool)
        .diff(&before, &after);
    if let Some(entry) = &booked.pool {
        change = change.books(entry);
    }
    audit::record(db, Author::system(), change).await?;
    if after.kind == FundingKind::Loan {
        repayments::schedule_first(db, &after).await?;
    }
    Ok(after)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(eligible: i64, voted: i64, f: i64, a: i64) -> Tally {
        Tally {
            eligible_pools: eligible,
            pools_voted: voted,
            weight_for: f,
            weight_against: a,
        }
    }

    #[test]
    fn a_quorum_is_more_than_half_of_the_pools() {
        assert!(!tally(4, 2, 2, 0).quorate());
        assert!(tally(4, 3, 2, 1).quorate());
        assert!(tally(1, 1, 1, 0).approves());
        assert_eq!(tally(4, 0, 0, 0).quorum(), 3);
    }

    #[test]
    fn without_other_pools_nothing_is_approved() {
        assert!(!tally(0, 0, 0, 0).approves());
    }

    #[test]
    fn a_tie_or_abstentions_alone_do_not_approve() {
        assert!(!tally(2, 2, 1, 1).approves());
        assert!(!tally(3, 3, 0, 0).approves());
    }
}
