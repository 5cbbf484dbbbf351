use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entities::{expense, ledger_entry};

use crate::{
    error::AppError,
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{Member, Money, Proposal, load_member, loader_error},
    },
    services::{self, pagination::PageRequest},
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
}

/// An expense: proposed, decided by vote, then paid.
pub struct Expense(pub expense::Model);

#[Object]
impl Expense {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn amount(&self) -> Money {
        Money::new(self.0.amount_minor, self.0.currency.clone())
    }
    async fn payee(&self) -> &str {
        &self.0.payee
    }
    /// Groups it in the pool's accounts once paid.
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn status(&self) -> ExpenseStatus {
        self.0.status.into()
    }
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let p = c
            .loaders
            .proposals
            .load_one(self.0.proposal_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("expense without proposal")))?;
        Ok(Proposal::from(p))
    }
    async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.submitted_by_membership_id).await
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// The payment's reference (bank transfer id, receipt number).
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
}

/// One movement of the pool's money.
pub struct LedgerEntry(pub ledger_entry::Model);

#[Object]
impl LedgerEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> LedgerEntryKind {
        self.0.kind.into()
    }
    /// Groups it in the pool's accounts.
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// Income positive, spending negative.
    async fn amount(&self) -> Money {
        Money::new(self.0.amount_minor, self.0.currency.clone())
    }
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// The pool's money: every member can read it.
pub struct Ledger(pub entities::pool::Model);

#[Object]
impl Ledger {
    /// Balance per currency (`saturated` if beyond an `Int`'s range).
    async fn balances(&self, ctx: &Context<'_>) -> Result<Vec<Money>> {
        let c = Ctx::of(ctx)?;
        let rows = services::ledger::balances(c.state, c.actor().await?, &self.0).await?;
        Ok(rows
            .into_iter()
            .map(|(currency, total)| Money::total(total, currency))
            .collect())
    }
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<LedgerEntry>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::ledger::entries(c.state, c.actor().await?, &self.0, page).await?;
        Ok(connection(page, |e| e.id, LedgerEntry))
    }
}

#[derive(InputObject)]
pub struct SubmitExpenseInput {
    pub pool_id: ID,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    /// Minor units (cents), above 0 and at most 10^13.
    pub amount: i64,
    pub currency: String,
    pub payee: String,
    /// When the vote on it closes; seven days from now if not given.
    pub closes_at: Option<DateTime<Utc>>,
    /// Groups it in the pool's accounts (`rent`, `equipment`…); `general`
    /// if not given.
    pub category: Option<String>,
}

#[derive(InputObject)]
pub struct MarkExpensePaidInput {
    pub expense_id: ID,
    /// The payment's reference (bank transfer id, receipt number).
    pub reference: String,
}

#[derive(InputObject)]
pub struct RecordLedgerAdjustmentInput {
    pub pool_id: ID,
    /// Minor units; positive adds, negative subtracts; at most 10^13
    /// either way.
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub description: String,
    /// Groups it in the pool's accounts; `adjustment` if not given.
    pub category: Option<String>,
}
