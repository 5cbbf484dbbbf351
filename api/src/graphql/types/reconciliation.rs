use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{payment_reconciliation, payment_reconciliation_finding};
use uuid::Uuid;

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::Money,
    },
    services::{self, contributions::reconcile::Scope, pagination::PageRequest},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::payment_reconciliation::ReconciliationStatus")]
pub enum PaymentReconciliationStatus {
    Running,
    Done,
    Failed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::payment_reconciliation_finding::FindingKind")]
pub enum PaymentReconciliationFindingKind {
    SubscriptionLinked,
    OrphanCanceled,
    InvoiceBooked,
    UnsettledCanceled,
    RepairFailed,
}

// One run comparing Stripe with the contributions and the ledger; its
// findings are those of the pool or parent entity it was asked through.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PaymentReconciliation {
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    status: PaymentReconciliationStatus,
    subscriptions_checked: i32,
    invoices_checked: i32,
    /// Repairs made across the whole platform in this run.
    repairs: i32,
    /// Why the run failed, when it did.
    error: Option<String>,
    #[graphql(skip)]
    id: Uuid,
    #[graphql(skip)]
    scope: Scope,
}

impl PaymentReconciliation {
    pub fn new(m: payment_reconciliation::Model, scope: Scope) -> Self {
        Self {
            started_at: m.started_at,
            finished_at: m.finished_at,
            status: m.status.into(),
            subscriptions_checked: m.subscriptions_checked,
            invoices_checked: m.invoices_checked,
            repairs: m.repairs,
            error: m.error,
            id: m.id,
            scope,
        }
    }
}

#[ComplexObject]
impl PaymentReconciliation {
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn findings(
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
    ) -> Result<Conn<PaymentReconciliationFinding>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::contributions::reconcile::findings(c.state, self.id, self.scope, page)
            .await?;
        Ok(connection(
            page,
            |f| f.id,
            PaymentReconciliationFinding::from,
        ))
    }
}

// One thing a run repaired, or failed to.
#[derive(SimpleObject)]
pub struct PaymentReconciliationFinding {
    pub(crate) id: ID,
    kind: PaymentReconciliationFindingKind,
    pool_id: Option<ID>,
    contribution_id: Option<ID>,
    /// The Stripe subscription or invoice concerned.
    stripe_id: String,
    /// What a booked invoice paid.
    amount: Option<Money>,
    detail: String,
    created_at: DateTime<Utc>,
}

impl From<payment_reconciliation_finding::Model> for PaymentReconciliationFinding {
    fn from(m: payment_reconciliation_finding::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            pool_id: m.pool_id.map(Into::into),
            contribution_id: m.contribution_id.map(Into::into),
            stripe_id: m.stripe_id,
            amount: match (m.amount, m.currency) {
                (Some(a), Some(c)) => Some(Money::new(a, c)),
                _ => None,
            },
            detail: m.detail,
            created_at: m.created_at,
        }
    }
}
