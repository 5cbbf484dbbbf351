//! The payloads of proposals, expenses and contributions, each shaped as
//! its GraphQL type (`Proposal`, `Expense`, `Contribution`).

use entities::{
    contribution::{self, ContributionStatus, Interval, Provider},
    expense::{self, ExpenseStatus},
    proposal::{self, Outcome, ProposalKind, ProposalStatus},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Money, Ref, Time, stored, time};
use crate::{catalogue::VotingRule, error::AppResult};

/// `Proposal`, without its votes (a list with arguments).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalData {
    id: Uuid,
    title: String,
    body: String,
    kind: ProposalKind,
    options: Vec<String>,
    closes_at: Time,
    quorum_percent: i32,
    pass_threshold_percent: i32,
    voting_rule: VotingRule,
    eligible_groups: Vec<Ref>,
    status: ProposalStatus,
    outcome: Option<Outcome>,
    result: Option<ProposalResult>,
    author: Ref,
    expense: Option<Ref>,
    fund_application: Option<Ref>,
    created_at: Time,
    closed_at: Option<Time>,
}

/// `ProposalResult`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProposalResult {
    eligible_voters: i64,
    ballots: i64,
    turnout_percent: i64,
    quorum_reached: bool,
    agree_basis_points: Option<i64>,
    winning_option: Option<String>,
    counts: Vec<OptionCount>,
    groups: Vec<GroupResult>,
}

/// `OptionCount`.
#[derive(Serialize)]
struct OptionCount {
    option: String,
    direct: i64,
    delegated: i64,
    total: i64,
}

/// `GroupResult`.
#[derive(Serialize)]
struct GroupResult {
    group: Ref,
    weight: i32,
    eligible: i64,
    counts: Vec<OptionCount>,
}

/// The count as the proposal stores it (the tally's own shape).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredTally {
    eligible_voters: i64,
    ballots: i64,
    turnout_percent: i64,
    quorum_reached: bool,
    agree_basis_points: Option<i64>,
    winning_option: Option<String>,
    counts: Vec<StoredCount>,
    groups: Vec<StoredGroup>,
}

#[derive(Deserialize)]
struct StoredCount {
    option: String,
    direct: i64,
    delegated: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredGroup {
    group_id: Uuid,
    weight: i32,
    eligible: i64,
    counts: Vec<StoredCount>,
}

fn counts(stored: Vec<StoredCount>) -> Vec<OptionCount> {
    stored
        .into_iter()
        .map(|c| OptionCount {
            total: c.direct + c.delegated,
            option: c.option,
            direct: c.direct,
            delegated: c.delegated,
        })
        .collect()
}

impl From<StoredTally> for ProposalResult {
    fn from(t: StoredTally) -> Self {
        Self {
            eligible_voters: t.eligible_voters,
            ballots: t.ballots,
            turnout_percent: t.turnout_percent,
            quorum_reached: t.quorum_reached,
            agree_basis_points: t.agree_basis_points,
            winning_option: t.winning_option,
            counts: counts(t.counts),
            groups: t
                .groups
                .into_iter()
                .map(|g| GroupResult {
                    group: Ref::to(g.group_id),
                    weight: g.weight,
                    eligible: g.eligible,
                    counts: counts(g.counts),
                })
                .collect(),
        }
    }
}

impl ProposalData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(p) = proposal::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let expense = expense::Entity::find()
            .filter(expense::Column::ProposalId.eq(id))
            .one(db)
            .await?;
        let groups: Vec<Uuid> = stored("eligible groups", p.eligible_group_ids)?;
        Ok(Some(Self {
            id: p.id,
            title: p.title,
            body: p.body,
            kind: p.kind,
            options: stored("options", p.options)?,
            closes_at: Time(p.closes_at),
            quorum_percent: p.quorum_percent,
            pass_threshold_percent: p.pass_threshold_percent,
            voting_rule: stored("voting rule", Value::String(p.voting_rule))?,
            eligible_groups: groups.into_iter().map(Ref::to).collect(),
            status: p.status,
            outcome: p.outcome,
            result: p
                .result
                .map(|r| stored::<StoredTally>("tally", r).map(ProposalResult::from))
                .transpose()?,
            author: Ref::to(p.author_membership_id),
            expense: expense.map(|e| Ref::to(e.id)),
            fund_application: p.fund_application_id.map(Ref::to),
            created_at: Time(p.created_at),
            closed_at: time(p.closed_at),
        }))
    }
}

/// `Expense`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseData {
    id: Uuid,
    title: String,
    description: String,
    amount: Money,
    payee: String,
    category: String,
    status: ExpenseStatus,
    paid_at: Option<Time>,
    reference: Option<String>,
    proposal: Ref,
    submitted_by: Ref,
}

impl ExpenseData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(e) = expense::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: e.id,
            title: e.title,
            description: e.description,
            amount: Money {
                amount: e.amount_minor,
                currency: e.currency,
            },
            payee: e.payee,
            category: e.category,
            status: e.status,
            paid_at: time(e.paid_at),
            reference: e.reference,
            proposal: Ref::to(e.proposal_id),
            submitted_by: Ref::to(e.submitted_by_membership_id),
        }))
    }
}

/// `Contribution`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionData {
    id: Uuid,
    amount: Money,
    interval: Interval,
    provider: Provider,
    status: ContributionStatus,
    member_id: Uuid,
    cancel_at_period_end: bool,
    failure_reason: Option<String>,
    created_at: Time,
    canceled_at: Option<Time>,
}

impl ContributionData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(c) = contribution::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: c.id,
            amount: Money {
                amount: c.amount,
                currency: c.currency,
            },
            interval: c.interval,
            provider: c.provider,
            status: c.status,
            member_id: c.membership_id,
            cancel_at_period_end: c.cancel_at_period_end,
            failure_reason: c.failure_reason,
            created_at: Time(c.created_at),
            canceled_at: time(c.canceled_at),
        }))
    }
}

/// `WorkContribution`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkContributionData {
    id: Uuid,
    kind: entities::work_contribution::WorkContributionKind,
    label: Option<String>,
    /// As the GraphQL `Date` scalar writes it: `YYYY-MM-DD`.
    occurred_on: String,
    quarter_hours: Option<i32>,
    quantity: Option<i64>,
    unit: Option<String>,
    description: String,
    value: Option<Money>,
    status: entities::work_contribution::WorkContributionStatus,
    confirmations: i32,
    confirmations_required: i32,
    refusal_reason: Option<String>,
    decided_at: Option<Time>,
    created_at: Time,
    member: Ref,
}

impl WorkContributionData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        use entities::work_contribution;
        let Some(w) = work_contribution::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: w.id,
            kind: w.kind,
            label: w.label,
            occurred_on: w.occurred_on.format("%Y-%m-%d").to_string(),
            quarter_hours: w.quarter_hours,
            quantity: w.quantity,
            unit: w.unit,
            description: w.description,
            value: w
                .value_minor
                .zip(w.currency)
                .map(|(amount, currency)| Money { amount, currency }),
            status: w.status,
            confirmations: w.confirmations,
            confirmations_required: w.confirmations_required,
            refusal_reason: w.refusal_reason,
            decided_at: time(w.decided_at),
            created_at: Time(w.created_at),
            member: Ref::to(w.membership_id),
        }))
    }
}
