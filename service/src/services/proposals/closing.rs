//! Closing proposals: at their closing time (a job in the queue every
//! server works on) or early by an admin. Whoever moves the proposal out of OPEN
//! counts it, so several servers never count twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{
    delegation,
    expense::{self, ExpenseStatus},
    membership::{self, MembershipStatus},
    parent_entity,
    proposal::{self, Outcome, ProposalKind, ProposalStatus},
    stakeholder_group::{self, StakeholderKind},
    vote,
};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::Actor,
    catalogue::Catalogue,
    error::{AppError, AppResult},
    services::audit::{self, Action, Author, Change},
    services::{
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::{find_pool, require_admin, sanctions, unless_inside},
        pool_moves, rules, work_contributions,
    },
    state::AppState,
};

use super::{
    eligible_groups_of, find, find_locked, options_of, parse_rule,
    tally::{TallyInput, tally},
};

/// Closes a proposal now (admins only) and returns it with its outcome.
pub async fn close_early(
    state: &AppState,
    actor: &Actor,
    id: uuid::Uuid,
) -> AppResult<proposal::Model> {
    let txn = begin_write(&state.db).await?;
    // Locked: of two closings at once, the second sees the first's result.
    let proposal = find_locked(&txn, id).await?;
    let pool = find_pool(&txn, proposal.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    unless_inside(&txn, &pool, actor.user_id, "proposal", id, admin).await?;
    if proposal.status != ProposalStatus::Open {
        return Err(AppError::Conflict("this proposal is already closed".into()));
    }
    close_in(&txn, &state.catalogue, &actor.into(), &proposal).await?;
    let closed = find(&txn, id).await?;
    record_closed(&txn, actor.into(), &pool, &proposal, &closed).await?;
    after_closed(&txn, state, &actor.into(), &closed).await?;
    txn.commit().await?;
    Ok(closed)
}

/// Queues the closing of a proposal at its time (in its creation's
/// transaction), through the job queue every server works on.
pub async fn schedule(db: &impl ConnectionTrait, p: &proposal::Model) -> AppResult<()> {
    jobs::enqueue(db, &CloseProposal { proposal_id: p.id }, p.closes_at).await?;
    Ok(())
}

/// The `close_proposal` job: count the proposal once it is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseProposal {
    pub proposal_id: Uuid,
}

impl Job for CloseProposal {
    const KIND: Kind = Kind::CloseProposal;
}

/// At start: open proposals without a pending closing job (made before the
/// job queue existed) get one. Running it on several servers at once only
/// queues a job twice, and closing twice is a no-op.
pub async fn schedule_unscheduled(state: &AppState) -> AppResult<usize> {
    let open: Vec<proposal::Model> = proposal::Entity::find()
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .all(&state.db)
        .await?;
    let due: Vec<_> = open
        .iter()
        .map(|p| (CloseProposal { proposal_id: p.id }, p.closes_at))
        .collect();
    jobs::enqueue_missing(&state.db, due).await
}

/// Runs a `close_proposal` job: counts the proposal if it is due and open.
pub async fn run_close_job(state: &AppState, job: CloseProposal) -> JobResult {
    let id = job.proposal_id;
    let txn = begin_write(&state.db).await?;
    let Some(p) = lock::<proposal::Entity>(&txn, id).await? else {
        return Err(JobError::Permanent("the proposal is gone".into()));
    };
    if p.status != ProposalStatus::Open {
        return Ok(()); // closed early meanwhile
    }
    if p.closes_at > Utc::now() {
        // Woken early (clocks between servers differ): come back on time.
        schedule(&txn, &p).await?;
    } else if close_in(&txn, &state.catalogue, &Author::system(), &p).await? {
        let pool = find_pool(&txn, p.pool_id).await?;
        let after = find(&txn, p.id).await?;
        record_closed(&txn, Author::system(), &pool, &p, &after).await?;
        after_closed(&txn, state, &Author::system(), &after).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What a closed proposal sets going once its closing is recorded: a
/// dissolution, whose events follow the proposal's in the trail.
async fn after_closed(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    by: &Author,
    closed: &proposal::Model,
) -> AppResult<()> {
    if let Some(outcome) = closed.outcome {
        super::dissolution::on_closed(txn, state, by, closed, outcome).await?;
    }
    Ok(())
}

async fn record_closed(
    db: &impl ConnectionTrait,
    by: Author,
    pool: &entities::pool::Model,
    before: &proposal::Model,
    after: &proposal::Model,
) -> AppResult<()> {
    audit::record(
        db,
        by,
        Change::new(Action::ProposalClosed, "Proposal", after.id)
            .in_pool(pool)
            .diff(before, after),
    )
    .await?;
    Ok(())
}

/// Claims the proposal and stores its count, then does what the outcome
/// decides (an expense approved, rules adopted). `false` if another closed
/// it first.
async fn close_in(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    by: &Author,
    p: &proposal::Model,
) -> AppResult<bool> {
    let now = Utc::now();
    if !claim(db, p, now).await? {
        return Ok(false);
    }
    let weights = group_weights(db, p).await?;
    let electorate = electorate(db, p, &weights).await?;
    let votes = votes_cast(db, p).await?;
    let delegations = delegations(db, p).await?;
    let (expense, min_agree) = expense_rule(db, p).await?;
    let labour_shares = labour_shares(db, p, &electorate).await?;
    let options = options_of(p);
    let result = tally(&TallyInput {
        kind: p.kind,
        options: &options,
        rule: parse_rule(&p.voting_rule),
        quorum_percent: p.quorum_percent,
        pass_threshold_percent: p.pass_threshold_percent,
        electorate: &electorate,
        weights: &weights,
        votes: &votes,
        delegations: &delegations,
        min_agree,
        every_group: p.kind.amends(),
        labour_shares: &labour_shares,
    });
    proposal::Entity::update_many()
        .col_expr(proposal::Column::Outcome, Expr::value(result.outcome))
        .col_expr(
            proposal::Column::Result,
            Expr::value(serde_json::to_value(&result).map_err(AppError::internal)?),
        )
        .filter(proposal::Column::Id.eq(p.id))
        .exec(db)
        .await?;
    if let Some(expense) = expense {
        decide_expense(db, &expense, result.outcome, now).await?;
    }
    rules::on_closed(db, catalogue, by, p, result.outcome).await?;
    sanctions::on_appeal_closed(db, by, p.id, p.kind, result.outcome).await?;
    pool_moves::on_closed(db, p, result.outcome).await?;
    super::spin_out::on_closed(db, catalogue, by, p, result.outcome).await?;
    crate::services::commons::fund::assembly::on_proposal_closed(db, p, result.outcome).await?;
    Ok(true)
}

/// Moves the proposal from open to closed; only one closer can, so the
/// count is stored once.
async fn claim(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let claimed = proposal::Entity::update_many()
        .col_expr(
            proposal::Column::Status,
            Expr::value(ProposalStatus::Closed),
        )
        .col_expr(proposal::Column::ClosedAt, Expr::value(now))
        .col_expr(proposal::Column::UpdatedAt, Expr::value(now))
        .filter(proposal::Column::Id.eq(p.id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected > 0)
}

/// The labour shares of the voters in a workers' group, where the pool's
/// rules make contributions count so (none otherwise).
async fn labour_shares(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    electorate: &HashMap<Uuid, Uuid>,
) -> AppResult<HashMap<Uuid, i64>> {
    let pool = find_pool(db, p.pool_id).await?;
    let rules = rules::governance_of(&pool)?.work_contribution_rules();
    let shares = work_contributions::accounts::labour_shares(db, pool.id, &rules).await?;
    if shares.is_empty() {
        return Ok(shares);
    }
    let workers: Vec<Uuid> = stakeholder_group::Entity::find()
        .filter(stakeholder_group::Column::PoolId.eq(p.pool_id))
        .filter(stakeholder_group::Column::Kind.eq(StakeholderKind::Workers))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    Ok(shares
        .into_iter()
        .filter(|(m, _)| electorate.get(m).is_some_and(|g| workers.contains(g)))
        .collect())
}

/// Group id → voting weight, for every group of the pool.
async fn group_weights(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
) -> AppResult<HashMap<Uuid, i32>> {
    Ok(stakeholder_group::Entity::find()
        .filter(stakeholder_group::Column::PoolId.eq(p.pool_id))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.voting_weight))
        .collect())
}

/// Who may vote on `p` now (its electorate, as at closing): membership ids.
pub(crate) async fn voters(db: &impl ConnectionTrait, p: &proposal::Model) -> AppResult<Vec<Uuid>> {
    let weights = group_weights(db, p).await?;
    let mut ids: Vec<Uuid> = electorate(db, p, &weights).await?.into_keys().collect();
    ids.sort();
    Ok(ids)
}

/// The electorate at closing: active members of eligible, voting groups
/// who are not suspended, membership id → group id.
async fn electorate(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
    weights: &HashMap<Uuid, i32>,
) -> AppResult<HashMap<Uuid, Uuid>> {
    let suspended = sanctions::suspended_in(db, p.pool_id, Utc::now()).await?;
    Ok(membership::Entity::find()
        .filter(membership::Column::PoolId.eq(p.pool_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::StakeholderGroupId.is_in(eligible_groups_of(p)))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| weights.get(&m.stakeholder_group_id).copied().unwrap_or(0) > 0)
        .filter(|m| !suspended.contains(&m.id))
        .map(|m| (m.id, m.stakeholder_group_id))
        .collect())
}

/// Membership id → choice.
async fn votes_cast(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
) -> AppResult<HashMap<Uuid, String>> {
    Ok(vote::Entity::find()
        .filter(vote::Column::ProposalId.eq(p.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.membership_id, v.choice))
        .collect())
}

/// Delegator → delegate. A delegation for this proposal overrides a
/// standing one, so standing ones go in first.
async fn delegations(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
) -> AppResult<HashMap<Uuid, Uuid>> {
    let mut delegations: HashMap<Uuid, Uuid> = HashMap::new();
    let active = delegation::Entity::find()
        .filter(delegation::Column::PoolId.eq(p.pool_id))
        .filter(delegation::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(delegation::Column::ProposalId.eq(p.id))
                .add(delegation::Column::ProposalId.is_null()),
        )
        .all(db)
        .await?;
    for d in active.iter().filter(|d| d.proposal_id.is_none()) {
        delegations.insert(d.delegator_membership_id, d.delegate_membership_id);
    }
    for d in active.iter().filter(|d| d.proposal_id.is_some()) {
        delegations.insert(d.delegator_membership_id, d.delegate_membership_id);
    }
    Ok(delegations)
}

/// An expense is approved exactly when its proposal passed.
async fn decide_expense(
    db: &impl ConnectionTrait,
    expense: &expense::Model,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let status = if outcome == Outcome::Passed {
        ExpenseStatus::Approved
    } else {
        ExpenseStatus::Rejected
    };
    expense::Entity::update_many()
        .col_expr(expense::Column::Status, Expr::value(status))
        .col_expr(expense::Column::UpdatedAt, Expr::value(now))
        .filter(expense::Column::Id.eq(expense.id))
        .exec(db)
        .await?;
    Ok(())
}

/// For an expense proposal: the expense, and the fewest agreeing votes the
/// parent's policy asks for at its amount.
async fn expense_rule(
    db: &impl ConnectionTrait,
    p: &proposal::Model,
) -> AppResult<(Option<expense::Model>, Option<i64>)> {
    if p.kind != ProposalKind::Expense {
        return Ok((None, None));
    }
    let Some(expense) = expense::Entity::find()
        .filter(expense::Column::ProposalId.eq(p.id))
        .one(db)
        .await?
    else {
        return Ok((None, None));
    };
    let pool = find_pool(db, p.pool_id).await?;
    let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
        .one(db)
        .await?;
    let min = parent.and_then(|parent| {
        match (
            parent.expense_approval_above_minor,
            parent.expense_min_approvals,
        ) {
            (Some(above), Some(min)) if expense.amount_minor > above => Some(i64::from(min)),
            _ => None,
        }
    });
    Ok((Some(expense), min))
}

/// Closes every open proposal of the pool without a count (`WITHDRAWN`),
/// as the pool ends: an expense among them is rejected, a rules change is
/// not passed. Each closing is recorded. Answers how many were open.
pub async fn withdraw_open(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    by: &Author,
    pool: &entities::pool::Model,
) -> AppResult<usize> {
    let open = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(pool.id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .all(db)
        .await?;
    let now = Utc::now();
    let mut withdrawn = 0;
    for p in &open {
        if !claim(db, p, now).await? {
            continue;
        }
        proposal::Entity::update_many()
            .col_expr(proposal::Column::Outcome, Expr::value(Outcome::Withdrawn))
            .filter(proposal::Column::Id.eq(p.id))
            .exec(db)
            .await?;
        if let (Some(expense), _) = expense_rule(db, p).await? {
            decide_expense(db, &expense, Outcome::Withdrawn, now).await?;
        }
        rules::on_closed(db, catalogue, by, p, Outcome::Withdrawn).await?;
        let after = find(db, p.id).await?;
        record_closed(db, by.clone(), pool, p, &after).await?;
        withdrawn += 1;
    }
    Ok(withdrawn)
}
