//! Stripe's webhook events: verified, recorded once, applied in order.

use chrono::{DateTime, TimeZone, Utc};
use entities::{
    contribution::{self, ContributionStatus},
    stripe_event,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, Set, sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    payments::signature::{self, SignatureError},
    services::audit::{self, Action, Author, Change},
    services::{begin_write, lock, membership::find_pool},
    state::AppState,
};

use super::{income, map_status};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before: acknowledged, nothing done.
    Duplicate,
    /// Older than what the contribution already reflects, or not ours.
    Ignored,
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
    let event: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::Malformed(format!("the body is not JSON: {e}")))?;
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(Rejection::Malformed(
            "an event needs `id` and `type`".into(),
        ));
    };
    let created = Utc
        .timestamp_opt(event["created"].as_i64().unwrap_or_default(), 0)
        .single()
        .unwrap_or_else(Utc::now);
    let object = &event["data"]["object"];

    let txn = begin_write(&state.db).await?;
    // Recording the id is the check: of two deliveries of one event at once,
    // the second waits for the first and then inserts nothing.
    let recorded = stripe_event::Entity::insert(stripe_event::ActiveModel {
        id: Set(id.to_owned()),
        kind: Set(kind.to_owned()),
        created_at: Set(created),
        received_at: Set(Utc::now()),
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
    let outcome = match kind {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            subscription_changed(
                &txn,
                object,
                kind == "customer.subscription.deleted",
                created,
            )
            .await?
        }
        "invoice.paid" | "invoice.payment_succeeded" => invoice_paid(&txn, object, created).await?,
        "invoice.payment_failed" => invoice_failed(&txn, object, created).await?,
        // Every other event is acknowledged and left alone.
        _ => Outcome::Ignored,
    };
    txn.commit().await?;
    Ok(outcome)
}

/// The contribution a subscription belongs to: by its id, else by the
/// contribution id we put in its metadata (for a subscription whose creation
/// answer never reached us). Locked for the transaction, so two events for
/// one contribution apply one after the other and `is_stale` sees the
/// other's `last_event_at`.
async fn contribution_of(
    db: &DatabaseTransaction,
    subscription: &Value,
) -> AppResult<Option<contribution::Model>> {
    let id = subscription["id"]
        .as_str()
        .or_else(|| subscription.as_str())
        .unwrap_or_default();
    if let Some(c) = contribution::Entity::find()
        .filter(contribution::Column::StripeSubscriptionId.eq(id))
        .lock_exclusive()
        .one(db)
        .await?
    {
        return Ok(Some(c));
    }
    let Some(ours) = subscription["metadata"]["contribution_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(None);
    };
    Ok(lock::<contribution::Entity>(db, ours).await?)
}

/// Applies only what is newer than the last event applied to it.
fn is_stale(c: &contribution::Model, created: DateTime<Utc>) -> bool {
    c.last_event_at.is_some_and(|last| created < last)
}

async fn subscription_changed(
    db: &DatabaseTransaction,
    sub: &Value,
    deleted: bool,
    created: DateTime<Utc>,
) -> AppResult<Outcome> {
    let Some(c) = contribution_of(db, sub).await? else {
        return Ok(Outcome::Ignored);
    };
    if is_stale(&c, created) {
        return Ok(Outcome::Ignored);
    }
    let status = if deleted {
        ContributionStatus::Canceled
    } else {
        map_status(sub["status"].as_str().unwrap_or_default())
    };
    let mut active: contribution::ActiveModel = c.clone().into();
    active.status = Set(status);
    active.stripe_subscription_id = Set(sub["id"]
        .as_str()
        .map(str::to_owned)
        .or(c.stripe_subscription_id.clone()));
    active.cancel_at_period_end = Set(sub["cancel_at_period_end"]
        .as_bool()
        .unwrap_or(c.cancel_at_period_end));
    if status == ContributionStatus::Canceled && c.canceled_at.is_none() {
        active.canceled_at = Set(Some(Utc::now()));
    }
    active.last_event_at = Set(Some(created));
    active.updated_at = Set(Utc::now());
    let after = active.update(db).await?;
    record(db, Action::ContributionStatusChanged, &c, &after).await?;
    Ok(Outcome::Applied)
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

async fn invoice_paid(
    db: &DatabaseTransaction,
    invoice: &Value,
    created: DateTime<Utc>,
) -> AppResult<Outcome> {
    let Some(c) = contribution_of(db, &invoice["subscription"]).await? else {
        return Ok(Outcome::Ignored);
    };
    let (Some(invoice_id), Some(paid)) = (invoice["id"].as_str(), invoice["amount_paid"].as_i64())
    else {
        return Ok(Outcome::Ignored);
    };
    if paid > 0 {
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
            occurred_at: created,
        };
        if income::record(db, &pool, payment).await? {
            audit::record(
                db,
                Author::system(),
                Change::new(Action::ContributionPaid, "Contribution", c.id)
                    .in_pool(&pool)
                    .with("amount", paid)
                    .with("currency", currency.clone())
                    .with("reference", invoice_id),
            )
            .await?;
        }
    }
    // A payment proves the subscription live, unless something newer says otherwise.
    if !is_stale(&c, created) && c.status != ContributionStatus::Canceled {
        let mut active: contribution::ActiveModel = c.clone().into();
        active.status = Set(ContributionStatus::Active);
        active.last_event_at = Set(Some(created));
        active.updated_at = Set(Utc::now());
        let after = active.update(db).await?;
        if after.status != c.status {
            record(db, Action::ContributionStatusChanged, &c, &after).await?;
        }
    }
    Ok(Outcome::Applied)
}

/// A failed payment marks the contribution past due; the membership stays.
async fn invoice_failed(
    db: &DatabaseTransaction,
    invoice: &Value,
    created: DateTime<Utc>,
) -> AppResult<Outcome> {
    let Some(c) = contribution_of(db, &invoice["subscription"]).await? else {
        return Ok(Outcome::Ignored);
    };
    if is_stale(&c, created) || c.status == ContributionStatus::Canceled {
        return Ok(Outcome::Ignored);
    }
    let mut active: contribution::ActiveModel = c.clone().into();
    active.status = Set(ContributionStatus::PastDue);
    active.last_event_at = Set(Some(created));
    active.updated_at = Set(Utc::now());
    let after = active.update(db).await?;
    record(db, Action::ContributionStatusChanged, &c, &after).await?;
    Ok(Outcome::Applied)
}
