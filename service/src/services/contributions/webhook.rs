//! Stripe's webhook events: verified, recorded once, and applied from
//! Stripe's current record of the subscription, so the order they arrive
//! in cannot matter.

use chrono::{DateTime, TimeZone, Utc};
use entities::{
    contribution::{self, ContributionStatus},
    stripe_event::{self, EventStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, Set, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    payments::signature::{self, SignatureError},
    services::audit::{self, Action, Author, Change},
    services::{
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::find_pool,
        notifications::{self, Notice},
    },
    state::AppState,
};

use super::{income, map_status};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before: acknowledged, nothing done.
    Duplicate,
    /// Not ours, or nothing left to do.
    Ignored,
    /// Its subscription is not linked to a contribution yet: kept, and
    /// applied by a job once it is.
    Waiting,
}

pub enum Rejection {
    NotConfigured,
    Signature(SignatureError),
    Malformed(String),
    Internal(AppError),
}

impl From<AppError> for Rejection {
    fn from(e: AppError) -> Self {
        Self::Internal(e)
    }
}

impl From<sea_orm::DbErr> for Rejection {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

/// An event as far as we use it.
struct Event<'a> {
    id: &'a str,
    kind: &'a str,
    created: DateTime<Utc>,
    object: &'a Value,
}

impl<'a> Event<'a> {
    fn parse(event: &'a Value) -> Result<Self, Rejection> {
        let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
            return Err(Rejection::Malformed(
                "an event needs `id` and `type`".into(),
            ));
        };
        let created = Utc
            .timestamp_opt(event["created"].as_i64().unwrap_or_default(), 0)
            .single()
            .unwrap_or_else(Utc::now);
        Ok(Self {
            id,
            kind,
            created,
            object: &event["data"]["object"],
        })
    }

    fn is_subscription(&self) -> bool {
        self.kind.starts_with("customer.subscription.")
    }

    fn is_invoice(&self) -> bool {
        matches!(
            self.kind,
            "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed"
        )
    }

    /// The subscription the event is about.
    fn subscription_id(&self) -> Option<&'a str> {
        if self.is_subscription() {
            return self.object["id"].as_str();
        }
        if !self.is_invoice() {
            return None;
        }
        let o = self.object;
        o["subscription"]
            .as_str()
            .or_else(|| o["subscription"]["id"].as_str())
            .or_else(|| o["parent"]["subscription_details"]["subscription"].as_str())
    }

    /// The contribution id our metadata names, wherever this event's object
    /// carries it.
    fn contribution_named(&self) -> Option<Uuid> {
        let o = self.object;
        [
            &o["metadata"]["contribution_id"],
            &o["subscription"]["metadata"]["contribution_id"],
            &o["subscription_details"]["metadata"]["contribution_id"],
            &o["parent"]["subscription_details"]["metadata"]["contribution_id"],
            &o["lines"]["data"][0]["metadata"]["contribution_id"],
        ]
        .into_iter()
        .find_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
    }
}

/// A subscription's state: Stripe's current record when it could be
/// fetched, else what the event carried.
struct SubState {
    id: String,
    status: String,
    cancel_at_period_end: Option<bool>,
    contribution: Option<Uuid>,
    /// Fetched from Stripe now, so newer than any event: order cannot matter.
    current: bool,
}

pub async fn handle(
    state: &AppState,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Outcome, Rejection> {
    let secret = state
        .config
        .stripe_webhook_secret
        .as_ref()
        .ok_or(Rejection::NotConfigured)?;
    signature::verify(
        secret.expose(),
        signature_header,
        body,
        Utc::now().timestamp(),
    )
    .map_err(Rejection::Signature)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::Malformed(format!("the body is not JSON: {e}")))?;
    let event = Event::parse(&value)?;
    // A redelivery needs no call to Stripe; recording the id below is the
    // check that holds when two deliveries race.
    if stripe_event::Entity::find_by_id(event.id.to_owned())
        .one(&state.db)
        .await?
        .is_some()
    {
        return Ok(Outcome::Duplicate);
    }
    let current = current_state(state, &event).await;
    let txn = begin_write(&state.db).await?;
    let recorded = stripe_event::Entity::insert(stripe_event::ActiveModel {
        id: Set(event.id.to_owned()),
        kind: Set(event.kind.to_owned()),
        created_at: Set(event.created),
        received_at: Set(Utc::now()),
        status: Set(EventStatus::Applied),
        subscription_id: Set(event.subscription_id().map(str::to_owned)),
        payload: Set(None),
    })
    .on_conflict(
        OnConflict::column(stripe_event::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if recorded == 0 {
        return Ok(Outcome::Duplicate);
    }
    let outcome = apply(&txn, &event, current).await?;
    if outcome != Outcome::Applied {
        let mut row: stripe_event::ActiveModel =
            stripe_event::Entity::find_by_id(event.id.to_owned())
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("an event row vanished")))?
                .into();
        row.status = Set(if outcome == Outcome::Waiting {
            EventStatus::Waiting
        } else {
            EventStatus::Ignored
        });
        if outcome == Outcome::Waiting {
            // Bounded by the request body limit.
            row.payload = Set(Some(String::from_utf8_lossy(body).into_owned()));
            let apply = ApplyStripeEvent {
                event_id: event.id.to_owned(),
            };
            jobs::enqueue(&txn, &apply, Utc::now() + chrono::Duration::seconds(1)).await?;
        }
        row.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(outcome)
}

/// The `apply_stripe_event` job, for an event that waited: applied once
/// its subscription is known, retried (with the queue's backoff) until then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyStripeEvent {
    /// Stripe's event id (`evt_…`).
    pub event_id: String,
}

impl Job for ApplyStripeEvent {
    const KIND: Kind = Kind::ApplyStripeEvent;
}

/// Runs an `apply_stripe_event` job.
pub async fn run_waiting(state: &AppState, job: ApplyStripeEvent) -> JobResult {
    let id = job.event_id.as_str();
    let Some(row) = stripe_event::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
    else {
        return Err(JobError::Permanent("the event is gone".into()));
    };
    if row.status != EventStatus::Waiting {
        return Ok(());
    }
    let body: Value = row
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| JobError::Permanent("the waiting event has no body".into()))?;
    let event = Event::parse(&body).map_err(|_| JobError::Permanent("a malformed event".into()))?;
    let current = current_state(state, &event).await;
    let txn = begin_write(&state.db).await?;
    // Locked, so two runs cannot both apply it.
    let Some(locked) = lock::<stripe_event::Entity>(&txn, id.to_owned()).await? else {
        return Ok(());
    };
    if locked.status != EventStatus::Waiting {
        return Ok(());
    }
    let outcome = apply(&txn, &event, current).await?;
    if outcome == Outcome::Waiting {
        return Err(JobError::Retry(
            "its subscription is not linked to a contribution yet".into(),
        ));
    }
    let mut row: stripe_event::ActiveModel = locked.into();
    row.status = Set(if outcome == Outcome::Applied {
        EventStatus::Applied
    } else {
        EventStatus::Ignored
    });
    row.payload = Set(None);
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Stripe's current record of the event's subscription, when Stripe is
/// configured and answers. Fetched before any transaction, so no lock is
/// held across the network.
async fn current_state(state: &AppState, event: &Event<'_>) -> Option<SubState> {
    let gateway = state.stripe.as_deref()?;
    let id = event.subscription_id()?;
    match gateway.subscription(id).await {
        Ok(sub) => Some(SubState {
            contribution: sub
                .contribution
                .as_deref()
                .and_then(|s| Uuid::parse_str(s).ok()),
            id: sub.id,
            status: sub.status,
            cancel_at_period_end: Some(sub.cancel_at_period_end),
            current: true,
        }),
        Err(e) => {
            tracing::warn!(event = event.id, error = %e, "fetching a subscription for a webhook failed; using the event's copy");
            None
        }
    }
}

/// The event's own copy of its subscription's state.
fn event_state(event: &Event<'_>) -> Option<SubState> {
    let id = event.subscription_id()?.to_owned();
    let o = event.object;
    let (status, cancel_at_period_end) = if event.is_subscription() {
        let status = if event.kind == "customer.subscription.deleted" {
            "canceled"
        } else {
            o["status"].as_str().unwrap_or_default()
        };
        (status.to_owned(), o["cancel_at_period_end"].as_bool())
    } else if event.kind == "invoice.payment_failed" {
        ("past_due".to_owned(), None)
    } else {
        // A payment proves the subscription live.
        ("active".to_owned(), None)
    };
    Some(SubState {
        id,
        status,
        cancel_at_period_end,
        contribution: event.contribution_named(),
        current: false,
    })
}

async fn apply(
    db: &DatabaseTransaction,
    event: &Event<'_>,
    current: Option<SubState>,
) -> AppResult<Outcome> {
    if !event.is_subscription() && !event.is_invoice() {
        // Every other event is acknowledged and left alone.
        return Ok(Outcome::Ignored);
    }
    let Some(sub) = current.or_else(|| event_state(event)) else {
        return Ok(Outcome::Ignored);
    };
    let c = match contribution_of(db, &sub.id, sub.contribution.or(event.contribution_named()))
        .await?
    {
        Found::Yes(c) => *c,
        Found::NotOurs => return Ok(Outcome::Ignored),
        // Stripe's record, or a subscription's own copy, would name ours.
        Found::NotYet if sub.current || event.is_subscription() => return Ok(Outcome::Ignored),
        Found::NotYet => return Ok(Outcome::Waiting),
    };
    let mut applied = false;
    if matches!(event.kind, "invoice.paid" | "invoice.payment_succeeded") {
        applied |= book_invoice(db, &c, event).await?;
    }
    applied |= apply_state(db, &c, &sub, event.created).await?;
    Ok(if applied || event.is_invoice() {
        Outcome::Applied
    } else {
        Outcome::Ignored
    })
}

enum Found {
    Yes(Box<contribution::Model>),
    /// No contribution of ours: a subscription made for something else.
    NotOurs,
    /// It may be ours, but nothing links it yet.
    NotYet,
}

/// The contribution a subscription belongs to: by its id, else by the
/// contribution id we put in its metadata (for a subscription whose creation
/// answer has not reached us yet). Locked for the transaction, so two events
/// for one contribution apply one after the other.
async fn contribution_of(
    db: &DatabaseTransaction,
    subscription: &str,
    named: Option<Uuid>,
) -> AppResult<Found> {
    if let Some(c) = contribution::Entity::find()
        .filter(contribution::Column::StripeSubscriptionId.eq(subscription))
        .lock_exclusive()
        .one(db)
        .await?
    {
        return Ok(Found::Yes(Box::new(c)));
    }
    let Some(ours) = named else {
        return Ok(Found::NotYet);
    };
    match lock::<contribution::Entity>(db, ours).await? {
        // Linked to another subscription: this one is not its own.
        Some(c)
            if c.stripe_subscription_id
                .as_deref()
                .is_some_and(|linked| linked != subscription) =>
        {
            Ok(Found::NotOurs)
        }
        Some(c) => Ok(Found::Yes(Box::new(c))),
        None => Ok(Found::NotOurs),
    }
}

/// Applies a subscription's state. Stripe's current record always applies;
/// an event's own copy only if it is not older than the last one applied.
/// CANCELED is final either way: nothing revives a canceled contribution.
async fn apply_state(
    db: &DatabaseTransaction,
    c: &contribution::Model,
    sub: &SubState,
    created: DateTime<Utc>,
) -> AppResult<bool> {
    if c.status == ContributionStatus::Canceled {
        return Ok(false);
    }
    if !sub.current && c.last_event_at.is_some_and(|last| created < last) {
        return Ok(false);
    }
    let status = map_status(&sub.status);
    let mut active: contribution::ActiveModel = c.clone().into();
    active.status = Set(status);
    active.stripe_subscription_id = Set(Some(sub.id.clone()));
    // While collection is paused (and until its resumption reached Stripe),
    // Stripe's flag is the pause's, not the member's choice, which the
    // contribution keeps.
    let members_choice = if super::collection::pause_decides(db, c).await? {
        None
    } else {
        sub.cancel_at_period_end
    };
    active.cancel_at_period_end = Set(members_choice.unwrap_or(c.cancel_at_period_end));
    if status == ContributionStatus::Canceled {
        active.canceled_at = Set(Some(Utc::now()));
    }
    active.last_event_at = Set(Some(
        c.last_event_at.map_or(created, |last| last.max(created)),
    ));
    let changed = status != c.status
        || c.stripe_subscription_id.as_deref() != Some(sub.id.as_str())
        || members_choice.is_some_and(|v| v != c.cancel_at_period_end);
    if changed {
        active.updated_at = Set(Utc::now());
    }
    let after = active.update(db).await?;
    if changed {
        record(db, Action::ContributionStatusChanged, c, &after).await?;
    }
    if status == ContributionStatus::PastDue && c.status != ContributionStatus::PastDue {
        notifications::queue(
            db,
            Notice::PaymentFailed {
                contribution_id: after.id,
            },
        )
        .await?;
    }
    Ok(changed)
}

/// Payment events are the server's own doing, on Stripe's word.
async fn record(
    db: &impl ConnectionTrait,
    action: Action,
    before: &contribution::Model,
    after: &contribution::Model,
) -> AppResult<()> {
    let pool = find_pool(db, after.pool_id).await?;
    audit::record(
        db,
        Author::system(),
        Change::new(action, "Contribution", after.id)
            .in_pool(&pool)
            .diff(before, after),
    )
    .await?;
    Ok(())
}

/// Books a paid invoice into the ledger, once (its id is the reference).
async fn book_invoice(
    db: &DatabaseTransaction,
    c: &contribution::Model,
    event: &Event<'_>,
) -> AppResult<bool> {
    let invoice = event.object;
    let (Some(invoice_id), Some(paid)) = (invoice["id"].as_str(), invoice["amount_paid"].as_i64())
    else {
        return Ok(false);
    };
    if paid <= 0 {
        return Ok(false);
    }
    let pool = find_pool(db, c.pool_id).await?;
    let currency = invoice["currency"]
        .as_str()
        .map_or_else(|| c.currency.clone(), str::to_uppercase);
    let payment = income::Payment {
        amount: paid,
        currency: &currency,
        reference: invoice_id,
        description: "contribution paid through Stripe",
        recorded_by: None,
        occurred_at: event.created,
    };
    let Some(entries) = income::record(db, &pool, payment).await? else {
        return Ok(false);
    };
    audit::record(
        db,
        Author::system(),
        entries.iter().fold(
            Change::new(Action::ContributionPaid, "Contribution", c.id)
                .in_pool(&pool)
                .with("amount", paid)
                .with("currency", currency.clone())
                .with("reference", invoice_id),
            Change::books,
        ),
    )
    .await?;
    Ok(true)
}
