//! Payment reconciliation: a periodic job compares the subscriptions Stripe
//! holds for our customers with the contributions and the ledger, and
//! repairs what a lost answer or webhook left behind: it links a
//! subscription a contribution lost, cancels at Stripe what no live
//! contribution owns, books paid invoices the ledger lacks, and closes
//! starts Stripe never confirmed. Every repair is audited and recorded as a
//! finding of the run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use entities::{
    contribution::{self, ContributionStatus, Provider},
    job,
    payment_reconciliation::{self as run, ReconciliationStatus},
    payment_reconciliation_finding::{self as finding, FindingKind},
    pool, stripe_object,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, Set, Statement,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{income, map_status};
use crate::{
    error::{AppError, AppResult},
    payments::{ListedSubscription, PaymentError, StripeGateway},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job, JobError, JobResult, JobStatus, Kind},
        lock,
        membership::find_pool,
    },
    state::AppState,
};

/// Stripe statuses under which a subscription still charges.
const CHARGING: &[&str] = &["active", "trialing", "past_due", "incomplete", "unpaid"];

/// A start older than this without a subscription was left by a server
/// that stopped in the middle of it.
const UNSETTLED_AFTER: Duration = Duration::hours(1);

/// The reason a never-confirmed start is closed with.
pub const UNSETTLED_REASON: &str = "Stripe never confirmed this payment";

/// The findings' `detail` is bounded.
const DETAIL_MAX: usize = 1000;

/// An arbitrary constant: the key of the advisory lock that keeps two
/// servers from queueing the next run twice.
const SCHEDULE_LOCK: i64 = 0x7265_636f_6e63_696c;

/// Queues the first run at startup, when none waits or runs.
pub async fn schedule_at_startup(state: &AppState) -> AppResult<()> {
    if state.stripe.is_none() || state.config.payment_reconcile_interval.is_none() {
        return Ok(());
    }
    schedule(state, Utc::now(), &[JobStatus::Pending, JobStatus::Running]).await
}

/// Queues the run after this one, at `finish + interval`, unless one waits.
pub async fn schedule_next(state: &AppState) -> AppResult<()> {
    let Some(interval) = state.config.payment_reconcile_interval else {
        return Ok(());
    };
    let at = Utc::now() + Duration::from_std(interval).unwrap_or(Duration::hours(1));
    schedule(state, at, &[JobStatus::Pending]).await
}

/// In one transaction: no other run in `open` states, then queue one. On
/// PostgreSQL an advisory lock orders two servers doing this at once; on
/// SQLite the write transaction is exclusive already.
async fn schedule(state: &AppState, at: DateTime<Utc>, open: &[JobStatus]) -> AppResult<()> {
    let txn = begin_write(&state.db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [SCHEDULE_LOCK.into()],
        ))
        .await?;
    }
    let queued = job::Entity::find()
        .filter(job::Column::Kind.eq(ReconcilePayments::KIND.as_str()))
        .filter(job::Column::Status.is_in(open.iter().copied()))
        .one(&txn)
        .await?;
    if queued.is_none() {
        jobs::enqueue(&txn, &ReconcilePayments {}, at).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The `reconcile_payments` job: one run, then the next one queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcilePayments {}

impl Job for ReconcilePayments {
    const KIND: Kind = Kind::ReconcilePayments;
}

/// Runs the job. Stripe unreachable fails the run and the job, which the
/// queue retries.
pub async fn run_job(state: &AppState, _job: ReconcilePayments) -> JobResult {
    let Some(gateway) = state.stripe.clone() else {
        return Ok(());
    };
    let started = run::ActiveModel {
        id: Set(Uuid::now_v7()),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
        status: Set(ReconciliationStatus::Running),
        subscriptions_checked: Set(0),
        invoices_checked: Set(0),
        repairs: Set(0),
        error: Set(None),
    }
    .insert(&state.db)
    .await?;
    let mut r = Run {
        state,
        gateway: &gateway,
        id: started.id,
        subscriptions: 0,
        invoices: 0,
        repairs: 0,
    };
    let outcome = r.reconcile().await;
    let mut done: run::ActiveModel = started.into();
    done.finished_at = Set(Some(Utc::now()));
    done.subscriptions_checked = Set(r.subscriptions);
    done.invoices_checked = Set(r.invoices);
    done.repairs = Set(r.repairs);
    match outcome {
        Ok(()) => {
            done.status = Set(ReconciliationStatus::Done);
            done.update(&state.db).await?;
            schedule_next(state).await?;
            Ok(())
        }
        Err(e) => {
            let message = e.to_string();
            done.status = Set(ReconciliationStatus::Failed);
            done.error = Set(Some(bounded(&message)));
            done.update(&state.db).await?;
            tracing::warn!(error = %message, "payment reconciliation failed");
            Err(JobError::Retry(message))
        }
    }
}

/// Why a run ends: Stripe could not be asked, or our database failed.
#[derive(Debug)]
enum Stop {
    Stripe(PaymentError),
    Db(AppError),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stripe(e) => write!(f, "{e}"),
            Self::Db(e) => write!(f, "{}", e.message()),
        }
    }
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Self::Db(e)
    }
}

impl From<sea_orm::DbErr> for Stop {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Db(e.into())
    }
}

struct Run<'a> {
    state: &'a AppState,
    gateway: &'a StripeGateway,
    id: Uuid,
    subscriptions: i32,
    invoices: i32,
    repairs: i32,
}

/// What a finding is about.
struct Found<'a> {
    kind: FindingKind,
    pool: Option<&'a pool::Model>,
    contribution: Option<Uuid>,
    stripe_id: &'a str,
    amount: Option<(i64, &'a str)>,
    detail: String,
}

impl Run<'_> {
    async fn reconcile(&mut self) -> Result<(), Stop> {
        let db = &self.state.db;
        let objects = stripe_object::Entity::find().all(db).await?;
        let customers: HashSet<&str> = objects
            .iter()
            .filter(|o| o.key.starts_with("customer:"))
            .map(|o| o.stripe_id.as_str())
            .collect();
        // The pool a plan was made for: `plan:<pool id>:…`.
        let plans: HashMap<&str, Uuid> = objects
            .iter()
            .filter_map(|o| {
                let pool = o.key.strip_prefix("plan:")?.split(':').next()?;
                Some((o.stripe_id.as_str(), Uuid::parse_str(pool).ok()?))
            })
            .collect();

        let mut listed: Vec<ListedSubscription> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .gateway
                .list_subscriptions(cursor.as_deref())
                .await
                .map_err(Stop::Stripe)?;
            // Of the others, keep those whose metadata names a contribution of ours.
            let named: Vec<Uuid> = page
                .subscriptions
                .iter()
                .filter(|s| !customers.contains(s.customer.as_str()))
                .filter_map(|s| s.contribution_id.as_deref()?.parse().ok())
                .collect();
            let ours: HashSet<Uuid> = if named.is_empty() {
                HashSet::new()
            } else {
                contribution::Entity::find()
                    .filter(contribution::Column::Id.is_in(named))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|c| c.id)
                    .collect()
            };
            listed.extend(page.subscriptions.into_iter().filter(|s| {
                customers.contains(s.customer.as_str())
                    || s.contribution_id
                        .as_deref()
                        .and_then(|c| c.parse().ok())
                        .is_some_and(|c| ours.contains(&c))
            }));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        self.subscriptions = i32::try_from(listed.len()).unwrap_or(i32::MAX);
        let named_at_stripe: HashSet<Uuid> = listed
            .iter()
            .filter_map(|s| s.contribution_id.as_deref()?.parse().ok())
            .collect();

        for sub in &listed {
            let owner = self.subscription(sub, &plans).await?;
            if let Some(c) = owner {
                self.book_invoices(sub, &c).await?;
            }
        }
        self.close_unsettled(&named_at_stripe).await
    }

    /// Links or cancels one subscription; returns the contribution it
    /// belongs to, whose invoices are then checked.
    async fn subscription(
        &mut self,
        sub: &ListedSubscription,
        plans: &HashMap<&str, Uuid>,
    ) -> Result<Option<contribution::Model>, Stop> {
        let db = &self.state.db;
        let mut found = contribution::Entity::find()
            .filter(contribution::Column::StripeSubscriptionId.eq(sub.id.as_str()))
            .one(db)
            .await?;
        if found.is_none()
            && let Some(id) = sub
                .contribution_id
                .as_deref()
                .and_then(|c| c.parse::<Uuid>().ok())
        {
            found = contribution::Entity::find_by_id(id).one(db).await?;
        }
        let live = |c: &contribution::Model| c.status != ContributionStatus::Canceled;
        match found {
            Some(c) if c.stripe_subscription_id.as_deref() == Some(sub.id.as_str()) && live(&c) => {
                Ok(Some(c))
            }
            Some(c) if c.stripe_subscription_id.is_none() && live(&c) => {
                let pool = find_pool(db, c.pool_id).await?;
                match self.link(sub, c.id, &pool).await {
                    Ok(linked) => Ok(linked),
                    Err(e) => {
                        self.failed(Some(&pool), Some(c.id), &sub.id, "linking", &e)
                            .await?;
                        Ok(None)
                    }
                }
            }
            owner => {
                // Payments already booked for a canceled contribution stay.
                let booked = owner
                    .as_ref()
                    .filter(|c| c.stripe_subscription_id.as_deref() == Some(sub.id.as_str()))
                    .cloned();
                if CHARGING.contains(&sub.status.as_str()) {
                    let pool_id = owner
                        .as_ref()
                        .map(|c| c.pool_id)
                        .or_else(|| sub.plan_id.as_deref().and_then(|p| plans.get(p).copied()));
                    let pool = match pool_id {
                        Some(id) => pool::Entity::find_by_id(id).one(db).await?,
                        None => None,
                    };
                    if let Err(e) = self.cancel_orphan(sub, owner.as_ref(), pool.as_ref()).await {
                        self.failed(
                            pool.as_ref(),
                            owner.as_ref().map(|c| c.id),
                            &sub.id,
                            "canceling",
                            &e,
                        )
                        .await?;
                    }
                }
                Ok(booked)
            }
        }
    }

    /// Gives a live contribution the subscription it lost, under its row
    /// lock; nothing if it got one meanwhile.
    async fn link(
        &mut self,
        sub: &ListedSubscription,
        id: Uuid,
        pool: &pool::Model,
    ) -> AppResult<Option<contribution::Model>> {
        let txn = begin_write(&self.state.db).await?;
        let Some(before) = lock::<contribution::Entity>(&txn, id).await? else {
            return Ok(None);
        };
        if before.stripe_subscription_id.is_some() || before.status == ContributionStatus::Canceled
        {
            return Ok(None);
        }
        let mut active: contribution::ActiveModel = before.clone().into();
        active.stripe_subscription_id = Set(Some(sub.id.clone()));
        active.stripe_subscription_item_id = Set(sub.item_id.clone());
        if before.stripe_plan_id.is_none() {
            active.stripe_plan_id = Set(sub.plan_id.clone());
        }
        active.status = Set(map_status(&sub.status));
        active.updated_at = Set(Utc::now());
        let after = active.update(&txn).await?;
        self.found(
            &txn,
            Found {
                kind: FindingKind::SubscriptionLinked,
                pool: Some(pool),
                contribution: Some(id),
                stripe_id: &sub.id,
                amount: None,
                detail: format!(
                    "the contribution had lost its subscription {}; linked again ({} at Stripe)",
                    sub.id, sub.status
                ),
            },
        )
        .await?;
        self.repaired(txn, pool, &before, &after, "subscriptionLinked")
            .await?;
        Ok(Some(after))
    }

    /// Cancels at Stripe a charging subscription no live contribution owns.
    async fn cancel_orphan(
        &mut self,
        sub: &ListedSubscription,
        owner: Option<&contribution::Model>,
        pool: Option<&pool::Model>,
    ) -> AppResult<()> {
        self.gateway.cancel(&sub.id, false).await?;
        let why = match owner {
            None => "no contribution owns it".to_owned(),
            Some(c) if c.status == ContributionStatus::Canceled => {
                "its contribution is canceled".to_owned()
            }
            Some(_) => "its contribution pays through another subscription".to_owned(),
        };
        let txn = begin_write(&self.state.db).await?;
        self.found(
            &txn,
            Found {
                kind: FindingKind::OrphanCanceled,
                pool,
                contribution: owner.map(|c| c.id),
                stripe_id: &sub.id,
                amount: None,
                detail: format!(
                    "subscription {} was still charging ({}) but {why}; canceled at Stripe",
                    sub.id, sub.status
                ),
            },
        )
        .await?;
        // A subscription of no contribution goes to the platform's chain.
        let change = match (owner, pool) {
            (Some(c), Some(pool)) => {
                Change::new(Action::ContributionReconciled, "Contribution", c.id).in_pool(pool)
            }
            _ => {
                let change = Change::new(
                    Action::ContributionReconciled,
                    "PaymentReconciliation",
                    self.id,
                );
                match pool {
                    Some(p) => change.with("poolId", p.id.to_string()),
                    None => change,
                }
            }
        };
        audit::record(
            &txn,
            Author::system(),
            change
                .with("repair", "orphanCanceled")
                .with("subscription", sub.id.as_str())
                .with("reason", why),
        )
        .await?;
        txn.commit().await?;
        self.repairs += 1;
        Ok(())
    }

    /// Books the subscription's paid invoices the ledger lacks, as the
    /// `invoice.paid` webhook would (same reference, so neither books twice).
    async fn book_invoices(
        &mut self,
        sub: &ListedSubscription,
        c: &contribution::Model,
    ) -> Result<(), Stop> {
        let pool = find_pool(&self.state.db, c.pool_id).await?;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .gateway
                .list_invoices(&sub.id, cursor.as_deref())
                .await
                .map_err(Stop::Stripe)?;
            for invoice in &page.invoices {
                self.invoices += 1;
                if invoice.status != "paid" || invoice.amount_paid <= 0 {
                    continue;
                }
                let currency = if invoice.currency.is_empty() {
                    c.currency.clone()
                } else {
                    invoice.currency.to_uppercase()
                };
                let paid_at = Utc
                    .timestamp_opt(invoice.created, 0)
                    .single()
                    .unwrap_or_else(Utc::now);
                let booked = self
                    .book(
                        c.id,
                        &pool,
                        &invoice.id,
                        invoice.amount_paid,
                        &currency,
                        paid_at,
                    )
                    .await;
                if let Err(e) = booked {
                    self.failed(Some(&pool), Some(c.id), &invoice.id, "booking", &e)
                        .await?;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn book(
        &mut self,
        contribution: Uuid,
        pool: &pool::Model,
        invoice: &str,
        amount: i64,
        currency: &str,
        paid_at: DateTime<Utc>,
    ) -> AppResult<()> {
        let txn = begin_write(&self.state.db).await?;
        // The webhook locks the contribution too: the two book one after the other.
        lock::<contribution::Entity>(&txn, contribution).await?;
        let payment = income::Payment {
            amount,
            currency,
            reference: invoice,
            description: "contribution paid through Stripe",
            recorded_by: None,
            occurred_at: paid_at,
        };
        let Some(entries) = income::record(&txn, pool, payment).await? else {
            return Ok(());
        };
        self.found(
            &txn,
            Found {
                kind: FindingKind::InvoiceBooked,
                pool: Some(pool),
                contribution: Some(contribution),
                stripe_id: invoice,
                amount: Some((amount, currency)),
                detail: format!("invoice {invoice} was paid but missing from the ledger; booked"),
            },
        )
        .await?;
        audit::record(
            &txn,
            Author::system(),
            entries.iter().fold(
                Change::new(Action::ContributionPaid, "Contribution", contribution)
                    .in_pool(pool)
                    .with("amount", amount)
                    .with("currency", currency)
                    .with("reference", invoice),
                Change::books,
            ),
        )
        .await?;
        txn.commit().await?;
        self.repairs += 1;
        Ok(())
    }

    /// Closes Stripe starts older than an hour that never got a
    /// subscription (a server stopped in the middle, or Stripe never
    /// answered the settling job), when Stripe has none naming them either.
    /// A subscription made after this is canceled when it is linked.
    async fn close_unsettled(&mut self, named_at_stripe: &HashSet<Uuid>) -> Result<(), Stop> {
        let stale = contribution::Entity::find()
            .filter(contribution::Column::Provider.eq(Provider::Stripe))
            .filter(
                contribution::Column::Status
                    .is_in([ContributionStatus::Incomplete, ContributionStatus::Pending]),
            )
            .filter(contribution::Column::StripeSubscriptionId.is_null())
            .filter(contribution::Column::CreatedAt.lt(Utc::now() - UNSETTLED_AFTER))
            .all(&self.state.db)
            .await?;
        for c in stale.iter().filter(|c| !named_at_stripe.contains(&c.id)) {
            let pool = find_pool(&self.state.db, c.pool_id).await?;
            if let Err(e) = self.close(c.id, &pool).await {
                self.failed(Some(&pool), Some(c.id), "", "closing", &e)
                    .await?;
            }
        }
        Ok(())
    }

    async fn close(&mut self, id: Uuid, pool: &pool::Model) -> AppResult<()> {
        let txn = begin_write(&self.state.db).await?;
        let Some(before) = lock::<contribution::Entity>(&txn, id).await? else {
            return Ok(());
        };
        if !super::is_unsettled(&before) {
            return Ok(());
        }
        let now = Utc::now();
        let mut active: contribution::ActiveModel = before.clone().into();
        active.status = Set(ContributionStatus::Canceled);
        active.canceled_at = Set(Some(now));
        active.failure_reason = Set(Some(UNSETTLED_REASON.to_owned()));
        active.updated_at = Set(now);
        let after = active.update(&txn).await?;
        self.found(
            &txn,
            Found {
                kind: FindingKind::UnsettledCanceled,
                pool: Some(pool),
                contribution: Some(id),
                stripe_id: "",
                amount: None,
                detail: format!("{UNSETTLED_REASON}; the start was closed"),
            },
        )
        .await?;
        self.repaired(txn, pool, &before, &after, "unsettledCanceled")
            .await?;
        Ok(())
    }

    /// Audits a repair of a contribution, commits it and counts it.
    async fn repaired(
        &mut self,
        txn: DatabaseTransaction,
        pool: &pool::Model,
        before: &contribution::Model,
        after: &contribution::Model,
        repair: &str,
    ) -> AppResult<()> {
        audit::record(
            &txn,
            Author::system(),
            Change::new(Action::ContributionReconciled, "Contribution", after.id)
                .in_pool(pool)
                .diff(before, after)
                .with("repair", repair),
        )
        .await?;
        txn.commit().await?;
        self.repairs += 1;
        Ok(())
    }

    /// A repair that failed is a finding; the run goes on.
    async fn failed(
        &mut self,
        pool: Option<&pool::Model>,
        contribution: Option<Uuid>,
        stripe_id: &str,
        what: &str,
        e: &AppError,
    ) -> Result<(), Stop> {
        tracing::warn!(stripe_id, error = %e.message(), "a payment repair failed");
        self.found(
            &self.state.db,
            Found {
                kind: FindingKind::RepairFailed,
                pool,
                contribution,
                stripe_id,
                amount: None,
                detail: format!("{what} failed: {}", e.message()),
            },
        )
        .await?;
        Ok(())
    }

    async fn found(&self, db: &impl ConnectionTrait, f: Found<'_>) -> AppResult<()> {
        finding::ActiveModel {
            id: Set(Uuid::now_v7()),
            reconciliation_id: Set(self.id),
            parent_entity_id: Set(f.pool.map(|p| p.parent_entity_id)),
            pool_id: Set(f.pool.map(|p| p.id)),
            contribution_id: Set(f.contribution),
            kind: Set(f.kind),
            stripe_id: Set(f.stripe_id.chars().take(100).collect()),
            amount: Set(f.amount.map(|(a, _)| a)),
            currency: Set(f.amount.map(|(_, c)| c.to_owned())),
            detail: Set(bounded(&f.detail)),
            created_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
        Ok(())
    }
}

fn bounded(text: &str) -> String {
    text.chars().take(DETAIL_MAX).collect()
}

/// Whose findings a reader asks for.
#[derive(Clone, Copy)]
pub enum Scope {
    Pool(Uuid),
    Parent(Uuid),
}

/// The last finished run, for a pool's admins and the parent's stewards and
/// auditors; `None` before the first.
pub async fn last_for_pool(
    state: &AppState,
    actor: &crate::auth::Actor,
    pool: &pool::Model,
) -> AppResult<Option<run::Model>> {
    crate::services::membership::require_admin_reader(
        &state.db,
        pool,
        actor.user_id,
        "only admins and the parent's stewards and auditors see payment reconciliation",
    )
    .await?;
    last_finished(state).await
}

/// The last finished run, for the parent's stewards and auditors.
pub async fn last_for_parent(
    state: &AppState,
    actor: &crate::auth::Actor,
    parent_entity_id: Uuid,
) -> AppResult<Option<run::Model>> {
    crate::auth::permissions::require_steward_or_auditor(
        &state.db,
        parent_entity_id,
        actor.user_id,
    )
    .await?;
    last_finished(state).await
}

async fn last_finished(state: &AppState) -> AppResult<Option<run::Model>> {
    use sea_orm::QueryOrder;
    Ok(run::Entity::find()
        .filter(run::Column::FinishedAt.is_not_null())
        .order_by_desc(run::Column::FinishedAt)
        .one(&state.db)
        .await?)
}

/// A run's findings within `scope` (read after the run was authorized for it).
pub async fn findings(
    state: &AppState,
    run_id: Uuid,
    scope: Scope,
    page: crate::services::pagination::PageRequest,
) -> AppResult<crate::services::pagination::Page<finding::Model>> {
    let select = finding::Entity::find().filter(finding::Column::ReconciliationId.eq(run_id));
    let select = match scope {
        Scope::Pool(id) => select.filter(finding::Column::PoolId.eq(id)),
        Scope::Parent(id) => select.filter(finding::Column::ParentEntityId.eq(id)),
    };
    crate::services::pagination::paginate(&state.db, select, finding::Column::Id, page).await
}
