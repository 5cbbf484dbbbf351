//! Sliding-scale contributions: members pay what they can, monthly or
//! yearly, through Stripe or (without Stripe) as pledges admins mark paid;
//! a zero contribution is a solidarity membership. Paying and belonging are
//! separate: nothing here ever ends a membership.

pub mod income;
pub mod reconcile;
pub mod scales;
pub mod solidarity;
pub mod webhook;

use chrono::Utc;
use entities::{
    contribution::{self, ContributionStatus, Provider},
    membership, pool, stripe_object, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    auth::access,
    domain::{MinorAmount, SingleLineText},
    error::{AppError, AppResult},
    payments::{PaymentError, StripeGateway, StripeSubscription},
    services::audit::{self, Action, Change},
    services::{
        OnConflict, begin_write, lock,
        membership::{
            find_pool, require_admin, require_admin_reader, require_another_admin, require_member,
        },
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

pub struct StartInput {
    pub pool_id: Uuid,
    pub amount: i64,
    /// A Stripe payment method the frontend collected (Stripe.js).
    pub payment_method_id: Option<String>,
    /// The client's key for safe retries.
    pub idempotency_key: Option<String>,
}

pub struct Started {
    pub contribution: contribution::Model,
    /// For a payment the member still has to confirm (Stripe.js).
    pub client_secret: Option<String>,
}

/// Starts the caller's contribution to a pool, on their group's scale.
pub async fn start(state: &AppState, actor: &Actor, mut input: StartInput) -> AppResult<Started> {
    // Permission before input; asked again in the transaction below.
    let pool = find_pool(&state.db, input.pool_id).await?;
    require_member(&state.db, &pool, actor.user_id).await?;
    // Only sent on to Stripe, but no text goes anywhere unchecked.
    input.payment_method_id = input
        .payment_method_id
        .map(|p| {
            SingleLineText::<1, 255>::parse(&p, "input.paymentMethodId")
                .map_err(|e| AppError::Validation(vec![e]))
        })
        .transpose()?
        .map(SingleLineText::into_inner);
    let key = input
        .idempotency_key
        .map(|k| {
            SingleLineText::<8, 200>::parse(&k, "input.idempotencyKey")
                .map_err(|e| AppError::Validation(vec![e]))
        })
        .transpose()?
        .map(SingleLineText::into_inner);
    if let Some(key) = &key
        && let Some(existing) = contribution::Entity::find()
            .filter(contribution::Column::UserId.eq(actor.user_id))
            .filter(contribution::Column::IdempotencyKey.eq(key.as_str()))
            .one(&state.db)
            .await?
    {
        return Ok(Started {
            contribution: existing,
            client_secret: None,
        });
    }
    // 1. Record the intent, and commit before calling Stripe.
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let member = require_member(&txn, &pool, actor.user_id).await?;
    let scale = scales::applicable(&txn, pool.id, member.stakeholder_group_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("this pool has no sliding scale yet; ask an admin to set one".into())
        })?;
    check_amount(input.amount, &scale)?;
    let live = contribution::Entity::find()
        .filter(contribution::Column::MembershipId.eq(member.id))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .one(&txn)
        .await?;
    if live.is_some() {
        return Err(AppError::Conflict(
            "you already contribute to this pool; change or cancel that contribution".into(),
        ));
    }
    let provider = match (input.amount, &state.stripe) {
        (0, _) => Provider::None,
        (_, Some(_)) => Provider::Stripe,
        (_, None) => Provider::Manual,
    };
    let now = Utc::now();
    let recorded = contribution::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        membership_id: Set(member.id),
        user_id: Set(actor.user_id),
        amount: Set(input.amount),
        currency: Set(scale.currency.clone()),
        interval: Set(scale.interval),
        suggested_at_start: Set(scale.suggested),
        provider: Set(provider),
        // Solidarity and pledges are live at once; Stripe waits for payment.
        status: Set(if provider == Provider::Stripe {
            ContributionStatus::Incomplete
        } else {
            ContributionStatus::Active
        }),
        idempotency_key: Set(key),
        stripe_subscription_id: Set(None),
        stripe_subscription_item_id: Set(None),
        stripe_plan_id: Set(None),
        failure_reason: Set(None),
        cancel_at_period_end: Set(false),
        last_event_at: Set(None),
        canceled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .on_conflict(|| "a contribution with this idempotency key already exists".into())?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ContributionStarted, "Contribution", recorded.id)
            .in_pool(&pool)
            .created(&recorded),
    )
    .await?;
    txn.commit().await?;

    let Some(gateway) = state
        .stripe
        .as_deref()
        .filter(|_| provider == Provider::Stripe)
    else {
        return Ok(Started {
            contribution: recorded,
            client_secret: None,
        });
    };
    // 2. Stripe, with keys derived from our ids so retries never duplicate.
    let me = user::Entity::find_by_id(actor.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    let opened = open_subscription(
        state,
        gateway,
        &recorded,
        &pool,
        &me,
        input.payment_method_id.as_deref(),
    )
    .await;
    // 3. Finish on the answer; a failure leaves a canceled record, not a half-made one.
    let mut active: contribution::ActiveModel = recorded.into();
    active.updated_at = Set(Utc::now());
    match opened {
        Ok((plan, sub)) => {
            active.stripe_subscription_id = Set(Some(sub.id.clone()));
            active.stripe_subscription_item_id = Set(sub.item_id.clone());
            active.stripe_plan_id = Set(Some(plan));
            active.status = Set(map_status(&sub.status));
            let contribution = save(
                state,
                actor,
                Action::ContributionPaymentSetUp,
                active,
                |_| Ok(()),
            )
            .await?;
            Ok(Started {
                contribution,
                client_secret: sub.client_secret,
            })
        }
        Err(e) => {
            active.status = Set(ContributionStatus::Canceled);
            active.canceled_at = Set(Some(Utc::now()));
            active.failure_reason = Set(Some(e.to_string()));
            save(
                state,
                actor,
                Action::ContributionPaymentFailed,
                active,
                |_| Ok(()),
            )
            .await?;
            Err(e.into())
        }
    }
}

/// Customer, product and plan (each created once and reused), then the subscription.
async fn open_subscription(
    state: &AppState,
    gateway: &StripeGateway,
    c: &contribution::Model,
    pool: &pool::Model,
    person: &user::Model,
    payment_method: Option<&str>,
) -> Result<(String, StripeSubscription), PaymentError> {
    let customer = ensure(
        state,
        &format!("customer:{}", person.id),
        |key| async move {
            gateway
                .create_customer(&key, &person.email, &person.display_name)
                .await
        },
    )
    .await?;
    let plan = plan_for(state, gateway, pool, c.amount, &c.currency, c.interval).await?;
    if let Some(pm) = payment_method {
        gateway.attach_payment_method(pm, &customer).await?;
    }
    let sub = gateway
        .create_subscription(
            &format!("subscription-{}", c.id),
            &customer,
            &plan,
            &c.id.to_string(),
        )
        .await?;
    Ok((plan, sub))
}

async fn plan_for(
    state: &AppState,
    gateway: &StripeGateway,
    pool: &pool::Model,
    amount: i64,
    currency: &str,
    interval: contribution::Interval,
) -> Result<String, PaymentError> {
    let product = ensure(state, &format!("product:{}", pool.id), |key| async move {
        gateway.create_product(&key, &pool.name).await
    })
    .await?;
    let interval_name = match interval {
        contribution::Interval::Month => "month",
        contribution::Interval::Year => "year",
    };
    let key = format!("plan:{}:{amount}:{currency}:{interval_name}", pool.id);
    let product = product.as_str();
    ensure(state, &key, |idempotency| async move {
        gateway
            .create_plan(&idempotency, product, amount, currency, interval_name)
            .await
    })
    .await
}

/// The Stripe object stored under `key`, created if new; `create` gets the
/// idempotency key derived from `key`, so a retry returns the same object.
async fn ensure<F, Fut>(state: &AppState, key: &str, create: F) -> Result<String, PaymentError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, PaymentError>>,
{
    let db_error = |e: sea_orm::DbErr| PaymentError::Internal(e.to_string());
    if let Some(found) = stripe_object::Entity::find_by_id(key.to_owned())
        .one(&state.db)
        .await
        .map_err(db_error)?
    {
        return Ok(found.stripe_id);
    }
    let id = create(key.replace(':', "-")).await?;
    // Two requests may race here; Stripe's idempotency gave both the same id.
    let inserted = stripe_object::ActiveModel {
        key: Set(key.to_owned()),
        stripe_id: Set(id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&state.db)
    .await;
    if let Err(e) = inserted
        && stripe_object::Entity::find_by_id(key.to_owned())
            .one(&state.db)
            .await
            .map_err(db_error)?
            .is_none()
    {
        return Err(db_error(e));
    }
    Ok(id)
}

pub fn map_status(stripe: &str) -> ContributionStatus {
    match stripe {
        "active" | "trialing" => ContributionStatus::Active,
        "past_due" | "unpaid" => ContributionStatus::PastDue,
        "canceled" | "incomplete_expired" => ContributionStatus::Canceled,
        _ => ContributionStatus::Incomplete,
    }
}

fn check_amount(amount: i64, scale: &entities::sliding_scale::Model) -> AppResult<()> {
    let amount = MinorAmount::parse_non_negative(amount, "input.amount")
        .map_err(|e| AppError::Validation(vec![e]))?
        .get();
    if amount == 0 {
        if scale.allow_zero {
            return Ok(());
        }
        return Err(AppError::invalid(
            "input.amount",
            "this pool does not accept zero contributions; choose an amount on the scale",
        ));
    }
    if amount < scale.minimum.max(1) || amount > scale.maximum {
        return Err(AppError::invalid(
            "input.amount",
            format!(
                "choose between {} and {} {} (minor units {} to {})",
                crate::domain::format_minor(scale.minimum, &scale.currency),
                crate::domain::format_minor(scale.maximum, &scale.currency),
                scale.currency,
                scale.minimum,
                scale.maximum
            ),
        ));
    }
    Ok(())
}

/// Stores a contribution's new state with its audit event. `active` was
/// made from an earlier read (Stripe was called in between, outside any
/// transaction), so the row is read again under lock: `still` checks the
/// change still applies to it, only the columns `active` sets are written,
/// and the audit trail's "before" is the locked row.
async fn save(
    state: &AppState,
    actor: &Actor,
    action: Action,
    active: contribution::ActiveModel,
    still: impl FnOnce(&contribution::Model) -> AppResult<()>,
) -> AppResult<contribution::Model> {
    let id = match &active.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
        sea_orm::ActiveValue::NotSet => {
            return Err(AppError::internal(anyhow::anyhow!(
                "saving a contribution without its id"
            )));
        }
    };
    let txn = begin_write(&state.db).await?;
    let before = lock::<contribution::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found("contribution", id))?;
    still(&before)?;
    let after = active.update(&txn).await?;
    let pool = find_pool(&txn, after.pool_id).await?;
    audit::record(
        &txn,
        actor,
        Change::new(action, "Contribution", after.id)
            .in_pool(&pool)
            .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// A change of the member's own that a cancellation meanwhile overtook.
fn not_canceled(c: &contribution::Model) -> AppResult<()> {
    if c.status == ContributionStatus::Canceled {
        return Err(AppError::Conflict(
            "this contribution was canceled meanwhile; start a new one".into(),
        ));
    }
    Ok(())
}

/// A contribution its owner may change.
async fn own(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<contribution::Model> {
    let c = contribution::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("contribution", id))?;
    if c.user_id != actor.user_id {
        let pool = find_pool(db, c.pool_id).await?;
        return Err(access::refuse(
            sees_contributions(db, &pool, actor.user_id).await?,
            "contribution",
            id,
            "only the member who makes a contribution may change or cancel it",
        ));
    }
    if c.status == ContributionStatus::Canceled {
        return Err(AppError::Conflict(
            "this contribution is canceled; start a new one".into(),
        ));
    }
    Ok(c)
}

/// Who sees the contributions of others in a pool: its admins and the
/// parent's stewards and auditors (see `auth::access`).
async fn sees_contributions(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    user_id: Uuid,
) -> AppResult<bool> {
    match require_admin_reader(db, pool, user_id, "admins only").await {
        Ok(()) => Ok(true),
        Err(AppError::Forbidden(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Changes the amount (Stripe prorates the current period).
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    amount: i64,
) -> AppResult<contribution::Model> {
    let c = own(&state.db, actor, id).await?;
    let member = membership::Entity::find_by_id(c.membership_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("contribution without membership")))?;
    let scale = scales::applicable(&state.db, c.pool_id, member.stakeholder_group_id)
        .await?
        .ok_or_else(|| AppError::Conflict("this pool has no sliding scale any more".into()))?;
    check_amount(amount, &scale)?;
    if scale.currency != c.currency || scale.interval != c.interval {
        return Err(AppError::Conflict("the pool's scale changed its currency or interval; cancel and start a new contribution".into()));
    }
    let mut active: contribution::ActiveModel = c.clone().into();
    match c.provider {
        Provider::Stripe => {
            if amount == 0 {
                return Err(AppError::invalid(
                    "input.amount",
                    "to pay nothing, cancel this contribution and start a solidarity one",
                ));
            }
            let gateway = state.stripe.as_deref().ok_or_else(|| {
                AppError::PaymentProvider("Stripe is not configured on this server".into())
            })?;
            let (Some(sub), Some(item)) =
                (&c.stripe_subscription_id, &c.stripe_subscription_item_id)
            else {
                return Err(AppError::Conflict(
                    "this contribution's payment is not set up yet".into(),
                ));
            };
            let pool = find_pool(&state.db, c.pool_id).await?;
            let plan = plan_for(state, gateway, &pool, amount, &c.currency, c.interval).await?;
            let key = format!(
                "change-{}-{}-{}",
                c.id,
                amount,
                c.updated_at.timestamp_micros()
            );
            let updated = gateway.change_plan(&key, sub, item, &plan).await?;
            active.stripe_plan_id = Set(Some(plan));
            active.stripe_subscription_item_id = Set(updated.item_id.or(Some(item.clone())));
            active.status = Set(map_status(&updated.status));
        }
        Provider::Manual | Provider::None => {
            if c.provider == Provider::None && amount > 0 && state.stripe.is_some() {
                return Err(AppError::invalid(
                    "input.amount",
                    "to start paying, cancel this solidarity contribution and start a paid one with a payment method",
                ));
            }
            active.provider = Set(if amount == 0 {
                Provider::None
            } else {
                Provider::Manual
            });
        }
    }
    active.amount = Set(amount);
    active.suggested_at_start = Set(scale.suggested);
    active.updated_at = Set(Utc::now());
    save(
        state,
        actor,
        Action::ContributionChanged,
        active,
        not_canceled,
    )
    .await
}

/// Cancels now, or at the end of the paid period.
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    at_period_end: bool,
) -> AppResult<contribution::Model> {
    let c = own(&state.db, actor, id).await?;
    let mut active: contribution::ActiveModel = c.clone().into();
    let now = Utc::now();
    let mut ends_now = true;
    if c.provider == Provider::Stripe
        && let (Some(gateway), Some(sub)) = (state.stripe.as_deref(), &c.stripe_subscription_id)
    {
        let result = gateway.cancel(sub, at_period_end).await?;
        ends_now = !at_period_end || map_status(&result.status) == ContributionStatus::Canceled;
    }
    if ends_now {
        active.status = Set(ContributionStatus::Canceled);
        active.canceled_at = Set(Some(now));
    } else {
        active.cancel_at_period_end = Set(true);
    }
    active.updated_at = Set(now);
    save(
        state,
        actor,
        Action::ContributionCanceled,
        active,
        not_canceled,
    )
    .await
}

/// Records a manual pledge's payment (admins), into the ledger.
pub async fn mark_paid(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reference: &str,
) -> AppResult<contribution::Model> {
    let txn = begin_write(&state.db).await?;
    let c = lock::<contribution::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found("contribution", id))?;
    let pool = find_pool(&txn, c.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    let admin = access::unless_seen(admin, "contribution", id, async || {
        Ok(c.user_id == actor.user_id || sees_contributions(&txn, &pool, actor.user_id).await?)
    })
    .await?;
    let reference = SingleLineText::<1, 200>::parse(reference, "input.reference")
        .map_err(|e| AppError::Validation(vec![e]))?;
    require_another_admin(
        &admin,
        c.membership_id,
        "an admin cannot mark their own contribution paid; another admin must confirm it",
    )?;
    if c.provider != Provider::Manual {
        return Err(AppError::Conflict(
            "only manual pledges are marked paid; Stripe payments arrive by themselves".into(),
        ));
    }
    if c.status == ContributionStatus::Canceled {
        return Err(AppError::Conflict("this contribution is canceled".into()));
    }
    let description = format!("contribution by bank transfer ({})", reference.as_str());
    let payment = income::Payment {
        amount: c.amount,
        currency: &c.currency,
        reference: reference.as_str(),
        description: &description,
        recorded_by: Some(actor.user_id),
        occurred_at: Utc::now(),
    };
    let recorded = income::record(&txn, &pool, payment).await?;
    if !recorded {
        return Err(AppError::Conflict(format!(
            "a payment with reference {} is already in the ledger",
            reference.as_str()
        )));
    }
    audit::record(
        &txn,
        actor,
        Change::new(Action::ContributionPaid, "Contribution", c.id)
            .in_pool(&pool)
            .with("amount", c.amount)
            .with("currency", c.currency.clone())
            .with("reference", reference.as_str()),
    )
    .await?;
    txn.commit().await?;
    Ok(c)
}

/// The contributions of a pool: for its admins and the parent's overseers.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageRequest,
) -> AppResult<Page<contribution::Model>> {
    require_admin_reader(
        &state.db,
        pool,
        actor.user_id,
        "only admins see every member's contribution; see yours with myContribution",
    )
    .await?;
    let select = contribution::Entity::find().filter(contribution::Column::PoolId.eq(pool.id));
    paginate(&state.db, select, contribution::Column::Id, page).await
}

/// The caller's live contribution to a pool.
pub async fn mine(
    state: &AppState,
    actor: &Actor,
    pool_id: Uuid,
) -> AppResult<Option<contribution::Model>> {
    Ok(contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool_id))
        .filter(contribution::Column::UserId.eq(actor.user_id))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .one(&state.db)
        .await?)
}
