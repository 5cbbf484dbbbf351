use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{expense, ledger_entry};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        types::{Member, Money, Proposal, load_member, load_proposal},
    },
    services::{self, expenses, ledger, pagination::PageRequest},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::expense::ExpenseStatus")]
pub enum ExpenseStatus {
    Proposed,
    Approved,
    Rejected,
    Paid,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::ledger_entry::LedgerKind")]
pub enum LedgerEntryKind {
    Contribution,
    ParentShare,
    Expense,
    Adjustment,
    /// Funds that left the pool for good, such as to the entity it spun
    /// out into.
    TransferOut,
    /// A dissolving pool's remaining funds, paid to the recipient its
    /// members chose as its rules allow.
    Distribution,
    /// Rent for an asset of the parent entity's commons.
    Rent,
    /// A grant from the parent entity's commons fund.
    Grant,
    /// A loan from the parent entity's commons fund.
    Loan,
    /// A loan's instalment paid back to the fund.
    Repayment,
    /// A gift to the parent entity's fund.
    Donation,
}

// An expense: proposed, decided by vote, then paid.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Expense {
    pub(crate) id: ID,
    title: String,
    description: String,
    amount: Money,
    payee: String,
    /// Groups it in the pool's accounts once paid.
    category: String,
    status: ExpenseStatus,
    paid_at: Option<DateTime<Utc>>,
    /// The payment's reference (bank transfer id, receipt number).
    reference: Option<String>,
    #[graphql(skip)]
    proposal_id: Uuid,
    #[graphql(skip)]
    submitted_by_membership_id: Uuid,
}

impl From<expense::Model> for Expense {
    fn from(m: expense::Model) -> Self {
        Self {
            id: m.id.into(),
            title: m.title,
            description: m.description,
            amount: Money::new(m.amount_minor, m.currency),
            payee: m.payee,
            category: m.category,
            status: m.status.into(),
            paid_at: m.paid_at,
            reference: m.reference,
            proposal_id: m.proposal_id,
            submitted_by_membership_id: m.submitted_by_membership_id,
        }
    }
}

// The proposal and the submitter load through the request's loaders.
#[ComplexObject]
impl Expense {
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        Ok(Proposal::from(load_proposal(ctx, self.proposal_id).await?))
    }
    async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.submitted_by_membership_id).await
    }
}

// One movement of the pool's money.
#[derive(SimpleObject)]
pub struct LedgerEntry {
    pub(crate) id: ID,
    kind: LedgerEntryKind,
    /// Groups it in the pool's accounts.
    category: String,
    /// Income positive, spending negative.
    amount: Money,
    reference: String,
    description: String,
    occurred_at: DateTime<Utc>,
}

impl From<ledger_entry::Model> for LedgerEntry {
    fn from(m: ledger_entry::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            category: m.category,
            amount: Money::new(m.amount_minor, m.currency),
            reference: m.reference,
            description: m.description,
            occurred_at: m.occurred_at,
        }
    }
}

/// The pool's money: every member can read it.
pub struct Ledger(pub entities::pool::Model);

#[Object]
impl Ledger {
    /// Balance per currency (`saturated` if beyond an `Int`'s range).
    async fn balances(&self, ctx: &Context<'_>) -> Result<Vec<Money>> {
        let c = Ctx::of(ctx)?;
        let rows = services::ledger::balances(c.state, c.actor_in(&self.0).await?, &self.0).await?;
        Ok(rows
            .into_iter()
            .map(|(currency, total)| Money::total(total, currency))
            .collect())
    }
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<LedgerEntry>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::ledger::entries(c.state, c.actor().await?, &self.0, page).await?;
        Ok(connection(page, |e| e.id, LedgerEntry::from))
    }
}

#[derive(InputObject)]
pub struct SubmitExpenseInput {
    pub pool_id: ID,
    /// 1 to 200 characters on one line.
    pub title: String,
    /// At most 10000 characters.
    #[graphql(default)]
    pub description: String,
    /// Minor units (cents), above 0 and at most 10^13.
    pub amount: i64,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
    /// 1 to 200 characters on one line.
    pub payee: String,
    /// When the vote on it closes: no sooner than the pool's rules' minimum
    /// voting period (more than a minute for pools whose rules set none) and
    /// at most 366 days from now; the rules' default period if not given.
    pub closes_at: Option<DateTime<Utc>>,
    /// Groups it in the pool's accounts (`rent`, `equipment`…): 1 to 64
    /// characters on one line, stored in lower case; `general` if not given.
    pub category: Option<String>,
}

#[derive(InputObject)]
pub struct MarkExpensePaidInput {
    pub expense_id: ID,
    /// The payment's reference (bank transfer id, receipt number): 1 to 200
    /// characters on one line.
    pub reference: String,
}

#[derive(InputObject)]
pub struct RecordLedgerAdjustmentInput {
    pub pool_id: ID,
    /// Minor units; positive adds, negative subtracts; not 0 and at most 10^13
    /// either way.
    pub amount: i64,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
    /// 1 to 200 characters on one line.
    pub reference: String,
    /// 3 to 2000 characters on one line.
    pub description: String,
    /// Groups it in the pool's accounts: 1 to 64 characters on one line,
    /// stored in lower case; `adjustment` if not given.
    pub category: Option<String>,
}

impl TryFrom<SubmitExpenseInput> for expenses::SubmitInput {
    type Error = AppError;
    fn try_from(input: SubmitExpenseInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            title: input.title,
            description: input.description,
            amount: input.amount,
            currency: input.currency,
            payee: input.payee,
            closes_at: input.closes_at,
            category: input.category,
        })
    }
}

impl TryFrom<RecordLedgerAdjustmentInput> for ledger::AdjustmentInput {
    type Error = AppError;
    fn try_from(input: RecordLedgerAdjustmentInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            amount: input.amount,
            currency: input.currency,
            reference: input.reference,
            description: input.description,
            category: input.category,
        })
    }
}
