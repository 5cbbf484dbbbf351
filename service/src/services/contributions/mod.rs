//! Sliding-scale contributions: members pay what they can, monthly or
//! yearly, through Stripe or (without Stripe) as pledges admins mark paid;
//! a zero contribution is a solidarity membership. Paying and belonging are
//! separate: nothing here ever ends a membership.

pub mod collection;
pub mod income;
pub mod reconcile;
pub mod scales;
pub mod solidarity;
pub mod stripe_flow;
pub mod webhook;

use chrono::Utc;
use entities::{
    contribution::{self, ContributionStatus, Provider},
    membership, pool,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    auth::access,
    domain::{MinorAmount, SingleLineText},
    error::{AppError, AppResult},
    services::audit::{self, Action, Change},
    services::{
        OnConflict, begin_write, lock,
        membership::{
            find_pool, require_admin, require_admin_reader, require_another_admin, require_member,
        },
        pagination::{Page, PageArgs, PageRequest, paginate},
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

impl Started {
    fn settled(contribution: contribution::Model) -> Self {
        Self {
            contribution,
            client_secret: None,
        }
    }
}

/// What the recording transaction decided.
enum Recorded {
    /// A start the member made before (the same key, or a retry of one
    /// whose outcome is still open): answered as it stands.
    Again(contribution::Model),
    /// New, and Stripe is still to be asked.
    New(contribution::Model),
}

/// Starts the caller's contribution to a pool, on their group's scale.
pub async fn start(state: &AppState, actor: &Actor, input: StartInput) -> AppResult<Started> {
    // Permission before input; asked again in the transaction below.
    let pool = find_pool(&state.db, input.pool_id).await?;
    require_member(&state.db, &pool, actor.user_id).await?;
    // Only sent on to Stripe, but no text goes anywhere unchecked.
    let payment_method = input
        .payment_method_id
        .as_deref()
        .map(|p| {
            SingleLineText::<1, 255>::parse(p, "input.paymentMethodId")
                .map_err(|e| AppError::Validation(vec![e]))
        })
        .transpose()?
        .map(SingleLineText::into_inner);
    let key = input
        .idempotency_key
        .as_deref()
        .map(|k| {
            SingleLineText::<8, 200>::parse(k, "input.idempotencyKey")
                .map_err(|e| AppError::Validation(vec![e]))
        })
        .transpose()?
        .map(SingleLineText::into_inner);
    let fingerprint = fingerprint(pool.id, input.amount, payment_method.as_deref());
    let recorded = record_start(
        state,
        actor,
        &input,
        key,
        &fingerprint,
        payment_method.as_deref(),
    )
    .await?;
    match recorded {
        Recorded::Again(existing) => stripe_flow::replay(state, existing).await,
        Recorded::New(c) if c.provider == Provider::Stripe => {
            // Stripe is asked in a task of its own: a client that hangs up,
            // or the request's deadline, cannot stop it halfway.
            let state = state.clone();
            let actor = actor.clone();
            crate::trace_context::spawn(async move {
                stripe_flow::open(&state, &actor, c, payment_method.as_deref()).await
            })
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("the payment task failed: {e}")))?
        }
        Recorded::New(c) => Ok(Started::settled(c)),
    }
}

/// What a start asked for, to tell a retry from a reused key.
fn fingerprint(pool: Uuid, amount: i64, payment_method: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let text = format!("{pool}\n{amount}\n{}", payment_method.unwrap_or(""));
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Records the intent under the member's lock, before Stripe is called, or
/// finds the start this one repeats.
async fn record_start(
    state: &AppState,
    actor: &Actor,
    input: &StartInput,
    key: Option<String>,
    fingerprint: &str,
    payment_method: Option<&str>,
) -> AppResult<Recorded> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let member = require_member(&txn, &pool, actor.user_id).await?;
    // One start per member at a time: the second waits here and then sees
    // the first one's contribution.
    lock::<membership::Entity>(&txn, member.id).await?;
    if let Some(key) = &key
        && let Some(existing) = contribution::Entity::find()
            .filter(contribution::Column::UserId.eq(actor.user_id))
            .filter(contribution::Column::IdempotencyKey.eq(key.as_str()))
            .one(&txn)
            .await?
    {
        if existing.request_fingerprint.as_deref() != Some(fingerprint) {
            return Err(AppError::Conflict(
                "this idempotency key was used for another start (another pool, amount or payment method); use a new key for a new request".into(),
            ));
        }
        return Ok(Recorded::Again(existing));
    }
    let scale = scales::applicable(&txn, pool.id, member.stakeholder_group_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("this pool has no sliding scale yet; ask an admin to set one".into())
        })?;
    check_amount(input.amount, &scale)?;
    let provider = match (input.amount, &state.stripe) {
        (0, _) => Provider::None,
        (_, Some(_)) => Provider::Stripe,
        (_, None) => Provider::Manual,
    };
    if provider == Provider::Stripe && payment_method.is_none() {
        return Err(AppError::invalid(
            "input.paymentMethodId",
            "a payment method is needed: collect the card with Stripe.js and pass its id",
        ));
    }
    if let Some(live) = live_of(&txn, pool.id, actor.user_id).await? {
        // A retry while Stripe's answer is still open gets that contribution,
        // never a second subscription.
        if is_unsettled(&live) && live.amount == input.amount {
            return Ok(Recorded::Again(live));
        }
        return Err(AppError::Conflict(
            "you already contribute to this pool; change or cancel that contribution".into(),
        ));
    }
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
        request_fingerprint: Set(key.as_ref().map(|_| fingerprint.to_owned())),
        idempotency_key: Set(key),
        stripe_subscription_id: Set(None),
        stripe_subscription_item_id: Set(None),
        stripe_plan_id: Set(None),
        failure_reason: Set(None),
        failure_code: Set(None),
        cancel_at_period_end: Set(false),
        collection_paused_at: Set(None),
        last_event_at: Set(None),
        canceled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .on_conflict(|| {
        "you already contribute to this pool; change or cancel that contribution".into()
    })?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ContributionStarted, "Contribution", recorded.id)
            .in_pool(&pool)
            .created(&recorded),
    )
    .await?;
    txn.commit().await?;
    Ok(Recorded::New(recorded))
}

/// The member's live contribution to a pool (at most one: a unique index).
async fn live_of(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<contribution::Model>> {
    Ok(contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool_id))
        .filter(contribution::Column::UserId.eq(user_id))
        .filter(contribution::Column::Status.ne(ContributionStatus::Canceled))
        .one(db)
        .await?)
}

/// A Stripe start whose subscription is not known yet: being asked for, or
/// without an answer.
pub fn is_unsettled(c: &contribution::Model) -> bool {
    c.provider == Provider::Stripe
        && c.stripe_subscription_id.is_none()
        && matches!(
            c.status,
            ContributionStatus::Incomplete | ContributionStatus::Pending
        )
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
    // A suspended pool takes no payments; stopping one is always possible.
    crate::services::membership::require_active_pool(&find_pool(&state.db, c.pool_id).await?)?;
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
            let plan = stripe_flow::plan_for(
                state,
                gateway,
                &pool,
                amount,
                &c.currency,
                c.interval,
                false,
            )
            .await?;
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
    if is_unsettled(&c) {
        // Canceling now could leave the subscription Stripe is making behind.
        return Err(AppError::Conflict(
            "this contribution's payment is still being confirmed with Stripe; try again in a minute".into(),
        ));
    }
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
    let Some(entries) = income::record(&txn, &pool, payment).await? else {
        return Err(AppError::Conflict(format!(
            "a payment with reference {} is already in the ledger",
            reference.as_str()
        )));
    };
    audit::record(
        &txn,
        actor,
        entries.iter().fold(
            Change::new(Action::ContributionPaid, "Contribution", c.id)
                .in_pool(&pool)
                .with("amount", c.amount)
                .with("currency", c.currency.clone())
                .with("reference", reference.as_str()),
            Change::books,
        ),
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

/// Every contribution `person` made, to any pool, canceled ones included,
/// oldest first; for that person only.
pub async fn of_person(
    state: &AppState,
    actor: &Actor,
    person: Uuid,
    page: PageArgs,
) -> AppResult<Page<contribution::Model>> {
    crate::services::accounts::require_self(actor, person, "contributions")?;
    let page = page.parse()?;
    let select = contribution::Entity::find().filter(contribution::Column::UserId.eq(person));
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
