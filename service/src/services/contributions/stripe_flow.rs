//! A Stripe contribution's way from a recorded intent to a subscription.
//!
//! Every Stripe object is created under an idempotency key derived from our
//! ids, so asking again is always safe. That makes an unanswered call (a
//! timeout, a dropped connection, a 5xx) an open question, not a failure:
//! the contribution is `PENDING` and a job asks again until Stripe's answer,
//! or its own record found by our metadata, settles it.

use chrono::Utc;
use entities::{
    contribution::{self, ContributionStatus},
    pool, stripe_object, user,
};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Actor, access},
    error::{AppError, AppResult, code},
    payments::{PaymentError, StripeGateway, StripeSubscription},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::find_pool,
        notifications::{self, Notice},
    },
    state::AppState,
};

use super::{Started, map_status};

/// Asks Stripe for the subscription of a contribution just recorded.
pub(super) async fn open(
    state: &AppState,
    actor: &Actor,
    c: contribution::Model,
    payment_method: Option<&str>,
) -> AppResult<Started> {
    let gateway = gateway(state)?;
    let pool = find_pool(&state.db, c.pool_id).await?;
    let person = user::Entity::find_by_id(c.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    match open_subscription(state, gateway, &c, &pool, &person, payment_method).await {
        Ok(sub) => {
            let after = link(state, gateway, actor.into(), c.id, &sub).await?;
            let client_secret = sub
                .client_secret
                .filter(|_| after.status == ContributionStatus::Incomplete);
            Ok(Started {
                contribution: after,
                client_secret,
            })
        }
        Err(e) if e.outcome_unknown() => {
            let after = mark_pending(state, actor.into(), c.id, payment_method, &e).await?;
            Ok(Started::settled(after))
        }
        Err(e) => {
            let error = member_error(e);
            close_failed(state, actor.into(), c.id, &error).await?;
            Err(error)
        }
    }
}

/// A start answered again for its idempotency key, or retried while its
/// outcome is open: what it answered the first time, as it stands now.
pub(super) async fn replay(state: &AppState, c: contribution::Model) -> AppResult<Started> {
    if c.status == ContributionStatus::Canceled
        && let Some(failure) = &c.failure_code
    {
        return Err(failure_of(
            failure,
            c.failure_reason.clone().unwrap_or_default(),
        ));
    }
    // The member may still have to confirm the first payment.
    let client_secret = match (&c.stripe_subscription_id, state.stripe.as_deref()) {
        (Some(sub), Some(gateway)) if c.status == ContributionStatus::Incomplete => gateway
            .subscription(sub)
            .await
            .ok()
            .and_then(|s| s.client_secret),
        _ => None,
    };
    Ok(Started {
        contribution: c,
        client_secret,
    })
}

/// The `settle_contribution` job: ask Stripe again about a `PENDING`
/// contribution, with the payment method its start was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettleContribution {
    pub contribution_id: Uuid,
    pub payment_method: Option<String>,
}

impl Job for SettleContribution {
    const KIND: Kind = Kind::SettleContribution;
}

/// Runs a settling job.
pub async fn run_settle(state: &AppState, job: SettleContribution) -> JobResult {
    let id = job.contribution_id;
    let payment_method = job.payment_method.as_deref();
    let Some(c) = contribution::Entity::find_by_id(id).one(&state.db).await? else {
        return Err(JobError::Permanent("the contribution is gone".into()));
    };
    if c.status != ContributionStatus::Pending {
        return Ok(()); // settled meanwhile, by a webhook or another run
    }
    let gateway = state
        .stripe
        .as_deref()
        .ok_or_else(|| JobError::Permanent("Stripe is not configured on this server".into()))?;
    let pool = find_pool(&state.db, c.pool_id).await?;
    let person = user::Entity::find_by_id(c.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| JobError::Permanent("the member's account is gone".into()))?;
    // Stripe's own record first: the creation may have gone through.
    let found = match stored(state, &customer_key(c.user_id)).await? {
        Some(customer) => gateway
            .subscription_for(&customer, &c.id.to_string())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?,
        None => None,
    };
    let opened = match found {
        Some(sub) => Ok(sub),
        None => open_subscription(state, gateway, &c, &pool, &person, payment_method).await,
    };
    match opened {
        Ok(sub) => {
            link(state, gateway, Author::system(), c.id, &sub).await?;
            Ok(())
        }
        Err(e) if e.outcome_unknown() || matches!(e, PaymentError::Unreachable(_)) => {
            Err(JobError::Retry(e.to_string()))
        }
        Err(e) => {
            close_failed(state, Author::system(), c.id, &member_error(e)).await?;
            Ok(())
        }
    }
}

fn gateway(state: &AppState) -> AppResult<&StripeGateway> {
    state
        .stripe
        .as_deref()
        .ok_or_else(|| AppError::PaymentProvider("Stripe is not configured on this server".into()))
}

/// A contribution read under its row lock, in a write transaction.
async fn locked(
    state: &AppState,
    id: Uuid,
) -> AppResult<(DatabaseTransaction, contribution::Model)> {
    let txn = begin_write(&state.db).await?;
    let before = lock::<contribution::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found("contribution", id))?;
    Ok((txn, before))
}

/// Writes the change made from `before` with its audit event, in `txn`.
async fn store(
    txn: &DatabaseTransaction,
    by: Author,
    action: Action,
    before: &contribution::Model,
    mut active: contribution::ActiveModel,
    reason: Option<String>,
) -> AppResult<contribution::Model> {
    active.updated_at = Set(Utc::now());
    let after = active.update(txn).await?;
    let pool = find_pool(txn, after.pool_id).await?;
    let mut change = Change::new(action, "Contribution", after.id).in_pool(&pool);
    if let Some(reason) = reason {
        change = change.with("reason", reason);
    }
    audit::record(txn, by, change.diff(before, &after)).await?;
    Ok(after)
}

/// Stores Stripe's subscription on its contribution. A webhook may have
/// come first and knows a later state than the creation's answer, and
/// CANCELED is final: a subscription that arrives for a contribution
/// canceled meanwhile is canceled at Stripe too.
async fn link(
    state: &AppState,
    gateway: &StripeGateway,
    by: Author,
    id: Uuid,
    sub: &StripeSubscription,
) -> AppResult<contribution::Model> {
    let (txn, before) = locked(state, id).await?;
    let answered = map_status(&sub.status);
    let status = match before.status {
        ContributionStatus::Canceled => ContributionStatus::Canceled,
        _ if before.stripe_subscription_id.as_deref() == Some(sub.id.as_str())
            && before.last_event_at.is_some() =>
        {
            before.status
        }
        _ => answered,
    };
    let mut active: contribution::ActiveModel = before.clone().into();
    active.stripe_subscription_id = Set(Some(sub.id.clone()));
    if sub.item_id.is_some() {
        active.stripe_subscription_item_id = Set(sub.item_id.clone());
    }
    if sub.plan_id.is_some() {
        active.stripe_plan_id = Set(sub.plan_id.clone());
    }
    active.status = Set(status);
    let after = store(
        &txn,
        by,
        Action::ContributionPaymentSetUp,
        &before,
        active,
        None,
    )
    .await?;
    txn.commit().await?;
    if status == ContributionStatus::Canceled && answered != ContributionStatus::Canceled {
        // Best effort; reconciliation cancels what this leaves.
        if let Err(e) = gateway.cancel(&sub.id, false).await {
            tracing::warn!(contribution = %id, error = %e, "canceling a late subscription failed");
        }
    }
    Ok(after)
}

/// Stripe did not answer: the contribution waits, and a job asks again.
async fn mark_pending(
    state: &AppState,
    by: Author,
    id: Uuid,
    payment_method: Option<&str>,
    error: &PaymentError,
) -> AppResult<contribution::Model> {
    let (txn, before) = locked(state, id).await?;
    if before.status != ContributionStatus::Incomplete || before.stripe_subscription_id.is_some() {
        return Ok(before); // a webhook settled it meanwhile
    }
    let mut active: contribution::ActiveModel = before.clone().into();
    active.status = Set(ContributionStatus::Pending);
    let reason = Some(error.to_string());
    let after = store(
        &txn,
        by,
        Action::ContributionPaymentPending,
        &before,
        active,
        reason,
    )
    .await?;
    // Stripe gets a moment before it is asked again.
    let delay = chrono::Duration::from_std(state.config.stripe_timeout)
        .unwrap_or(chrono::Duration::seconds(10));
    let settle = SettleContribution {
        contribution_id: id,
        payment_method: payment_method.map(str::to_owned),
    };
    jobs::enqueue(&txn, &settle, Utc::now() + delay).await?;
    txn.commit().await?;
    Ok(after)
}

/// A start Stripe refused: closed with why, and the code it answered.
async fn close_failed(state: &AppState, by: Author, id: Uuid, error: &AppError) -> AppResult<()> {
    let (txn, before) = locked(state, id).await?;
    if before.status == ContributionStatus::Canceled {
        return Ok(());
    }
    let mut active: contribution::ActiveModel = before.clone().into();
    active.status = Set(ContributionStatus::Canceled);
    active.canceled_at = Set(Some(Utc::now()));
    active.failure_reason = Set(Some(error.message()));
    active.failure_code = Set(Some(error.code().to_owned()));
    store(
        &txn,
        by,
        Action::ContributionPaymentFailed,
        &before,
        active,
        None,
    )
    .await?;
    notifications::queue(
        &txn,
        Notice::PaymentFailed {
            contribution_id: id,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What the member is told about Stripe refusing a start: their payment
/// method, by its field, when that is what Stripe refused.
fn member_error(e: PaymentError) -> AppError {
    let about_payment_method = matches!(
        &e,
        PaymentError::Invalid { param: Some(p), .. } | PaymentError::Missing { param: Some(p), .. }
            if p.contains("payment_method")
    );
    if about_payment_method {
        return AppError::invalid(
            "input.paymentMethodId",
            format!(
                "Stripe does not accept this payment method ({e}); collect the card again with Stripe.js"
            ),
        );
    }
    e.into()
}

/// The error a failed start answered, again.
fn failure_of(failure_code: &str, reason: String) -> AppError {
    match failure_code {
        code::PAYMENT_FAILED => AppError::PaymentFailed(reason),
        code::VALIDATION => AppError::invalid("input.paymentMethodId", reason),
        code::CONFLICT => AppError::Conflict(reason),
        _ => AppError::PaymentProvider(reason),
    }
}

fn customer_key(user: Uuid) -> String {
    format!("customer:{user}")
}

/// Customer, product and plan (each created once and reused), the card,
/// then the subscription. Objects Stripe no longer has are made again.
async fn open_subscription(
    state: &AppState,
    gateway: &StripeGateway,
    c: &contribution::Model,
    pool: &pool::Model,
    person: &user::Model,
    payment_method: Option<&str>,
) -> Result<StripeSubscription, PaymentError> {
    let customer_for = |again: bool| {
        object(state, customer_key(person.id), again, |key| async move {
            gateway
                .create_customer(&key, &person.email, &person.display_name)
                .await
        })
    };
    let mut customer = customer_for(false).await?;
    if let Some(pm) = payment_method {
        customer = match gateway.attach_payment_method(pm, &customer).await {
            Err(PaymentError::Missing { .. }) if !gateway.has_customer(&customer).await? => {
                let customer = customer_for(true).await?;
                gateway.attach_payment_method(pm, &customer).await?;
                customer
            }
            // The customer is there, so the card is what Stripe lacks.
            Err(PaymentError::Missing { param, message }) => {
                return Err(PaymentError::Invalid {
                    param: param.or(Some("payment_method".into())),
                    message,
                });
            }
            attached => attached.map(|()| customer)?,
        };
    }
    let plan = plan_for(
        state,
        gateway,
        pool,
        c.amount,
        &c.currency,
        c.interval,
        false,
    )
    .await?;
    let subscribe = |plan: String| {
        let customer = customer.clone();
        async move {
            // The plan is part of the key: a retry asks for exactly the same.
            gateway
                .create_subscription(
                    &format!("subscription-{}-{plan}", c.id),
                    &customer,
                    &plan,
                    &c.id.to_string(),
                )
                .await
        }
    };
    match subscribe(plan).await {
        // The customer was just found; what is missing is the plan.
        Err(PaymentError::Missing { .. }) => {
            let plan = plan_for(
                state,
                gateway,
                pool,
                c.amount,
                &c.currency,
                c.interval,
                true,
            )
            .await?;
            subscribe(plan).await
        }
        other => other,
    }
}

/// The pool's plan for an amount; `again` makes a new one for a stored
/// plan Stripe no longer has (and the product too, if that is gone).
pub(super) async fn plan_for(
    state: &AppState,
    gateway: &StripeGateway,
    pool: &pool::Model,
    amount: i64,
    currency: &str,
    interval: contribution::Interval,
    again: bool,
) -> Result<String, PaymentError> {
    let interval = match interval {
        contribution::Interval::Month => "month",
        contribution::Interval::Year => "year",
    };
    let key = format!("plan:{}:{amount}:{currency}:{interval}", pool.id);
    let product_for = |again: bool| {
        object(
            state,
            format!("product:{}", pool.id),
            again,
            |key| async move { gateway.create_product(&key, &pool.name).await },
        )
    };
    let fresh = fresh_key(&key);
    object(state, key, again, |idempotency| async move {
        let product = product_for(false).await?;
        match gateway
            .create_plan(&idempotency, &product, amount, currency, interval)
            .await
        {
            // The plan names nothing else: the product is what is missing.
            Err(PaymentError::Missing { .. }) => {
                let product = product_for(true).await?;
                gateway
                    .create_plan(&fresh, &product, amount, currency, interval)
                    .await
            }
            other => other,
        }
    })
    .await
}

fn db_error(e: AppError) -> PaymentError {
    PaymentError::Internal(e.message())
}

async fn stored(state: &AppState, key: &str) -> AppResult<Option<String>> {
    Ok(stripe_object::Entity::find_by_id(key.to_owned())
        .one(&state.db)
        .await?
        .map(|o| o.stripe_id))
}

/// A new idempotency key for `key`: the old one would replay an object
/// that is gone.
fn fresh_key(key: &str) -> String {
    format!("{}-{}", key.replace(':', "-"), Uuid::now_v7().simple())
}

/// The Stripe object stored under `key`, created if new (or, with `again`,
/// made anew for a stored one Stripe answers 404 for: deleted in its
/// dashboard, or another Stripe account). `create` gets the idempotency key
/// derived from `key`, so a retry returns the same object, and two requests
/// racing here both get it.
async fn object<F, Fut>(
    state: &AppState,
    key: String,
    again: bool,
    create: F,
) -> Result<String, PaymentError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, PaymentError>>,
{
    if !again && let Some(found) = stored(state, &key).await.map_err(db_error)? {
        return Ok(found);
    }
    let idempotency = if again {
        tracing::warn!(key, "a Stripe object we stored is gone; making it again");
        fresh_key(&key)
    } else {
        key.replace(':', "-")
    };
    let id = create(idempotency).await?;
    let row = stripe_object::ActiveModel {
        key: Set(key),
        stripe_id: Set(id.clone()),
        created_at: Set(Utc::now()),
    };
    stripe_object::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(stripe_object::Column::Key)
                .update_column(stripe_object::Column::StripeId)
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await
        .map_err(|e| db_error(e.into()))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settling_jobs_are_stored_as_before() {
        let contribution_id = Uuid::now_v7();
        jobs::assert_stored_as(
            SettleContribution {
                contribution_id,
                payment_method: Some("pm_card_visa".into()),
            },
            json!({ "contribution_id": contribution_id, "payment_method": "pm_card_visa" }),
        );
        jobs::assert_stored_as(
            SettleContribution {
                contribution_id,
                payment_method: None,
            },
            json!({ "contribution_id": contribution_id, "payment_method": null }),
        );
    }
}
