//! The parent entity's commons: its fund's ledger, and what it owns and
//! lends to its pools.

use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::parent_ledger_entry;
use uuid::Uuid;

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{LedgerEntryKind, Money, Pool, load_pool},
    },
    services::{self, pagination::PageArgs},
};

/// One movement of the parent entity's own money. Where a pool is on the
/// other side, its ledger has the opposite entry.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ParentLedgerEntry {
    pub(crate) id: async_graphql::ID,
    kind: LedgerEntryKind,
    /// Groups it in the fund's accounts.
    category: String,
    /// Into the fund positive, out of it negative.
    amount: Money,
    reference: String,
    description: String,
    occurred_at: DateTime<Utc>,
    #[graphql(skip)]
    pool_id: Option<Uuid>,
}

impl From<parent_ledger_entry::Model> for ParentLedgerEntry {
    fn from(m: parent_ledger_entry::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            category: m.category,
            amount: Money::new(m.amount_minor, m.currency),
            reference: m.reference,
            description: m.description,
            occurred_at: m.occurred_at,
            pool_id: m.pool_id,
        }
    }
}

#[ComplexObject]
impl ParentLedgerEntry {
    /// The pool on the other side of it, if any.
    async fn pool(&self, ctx: &Context<'_>) -> Result<Option<Pool>> {
        match self.pool_id {
            Some(id) => Ok(Some(load_pool(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

/// The parent entity's commons fund: its stewards and auditors read it.
pub struct ParentLedger(pub Uuid);

#[Object]
impl ParentLedger {
    /// Balance per currency (`saturated` if beyond an `Int`'s range).
    async fn balances(&self, ctx: &Context<'_>) -> Result<Vec<Money>> {
        let c = Ctx::of(ctx)?;
        let rows = services::commons::ledger::balances(c.state, c.actor().await?, self.0).await?;
        Ok(rows
            .into_iter()
            .map(|(currency, total)| Money::total(total, currency))
            .collect())
    }
    /// Its entries, oldest first.
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
    ) -> Result<Conn<ParentLedgerEntry>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::commons::ledger::entries(c.state, c.actor().await?, self.0, page).await?;
        Ok(connection(page, |e| e.id, ParentLedgerEntry::from))
    }
}

/// How often something falls due: an asset's rent, a loan's instalments.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::billing_period::BillingPeriod")]
pub enum BillingPeriod {
    Month,
    Quarter,
    Year,
}
