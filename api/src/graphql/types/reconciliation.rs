use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entities::{payment_reconciliation, payment_reconciliation_finding};

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

/// One run comparing Stripe with the contributions and the ledger; its
/// findings are those of the pool or parent entity it was asked through.
pub struct PaymentReconciliation(pub payment_reconciliation::Model, pub Scope);

#[Object]
impl PaymentReconciliation {
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn status(&self) -> PaymentReconciliationStatus {
        self.0.status.into()
    }
    async fn subscriptions_checked(&self) -> i32 {
        self.0.subscriptions_checked
    }
    async fn invoices_checked(&self) -> i32 {
        self.0.invoices_checked
    }
    /// Repairs made across the whole platform in this run.
    async fn repairs(&self) -> i32 {
        self.0.repairs
    }
    /// Why the run failed, when it did.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<PaymentReconciliationFinding>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page =
            services::contributions::reconcile::findings(c.state, self.0.id, self.1, page).await?;
        Ok(connection(page, |f| f.id, PaymentReconciliationFinding))
    }
}

/// One thing a run repaired, or failed to.
pub struct PaymentReconciliationFinding(pub payment_reconciliation_finding::Model);

#[Object]
impl PaymentReconciliationFinding {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> PaymentReconciliationFindingKind {
        self.0.kind.into()
    }
    async fn pool_id(&self) -> Option<ID> {
        self.0.pool_id.map(|p| ID(p.to_string()))
    }
    async fn contribution_id(&self) -> Option<ID> {
        self.0.contribution_id.map(|p| ID(p.to_string()))
    }
    /// The Stripe subscription or invoice concerned.
    async fn stripe_id(&self) -> &str {
        &self.0.stripe_id
    }
    /// What a booked invoice paid.
    async fn amount(&self) -> Option<Money> {
        match (self.0.amount, &self.0.currency) {
            (Some(a), Some(c)) => Some(Money::new(a, c.clone())),
            _ => None,
        }
    }
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
