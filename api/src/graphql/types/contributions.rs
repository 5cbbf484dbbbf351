use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{contribution, sliding_scale};

use crate::{
    error::{AppError, AppResult},
    graphql::{
        ids::uuid,
        types::{Member, Money, Pool, Saturation, load_member, load_pool},
    },
    services::contributions::{StartInput, scales, solidarity::Solidarity as Report},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::sliding_scale::Interval")]
pub enum ContributionInterval {
    Month,
    Year,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::contribution::Provider")]
pub enum PaymentProvider {
    Stripe,
    /// A pledge paid by bank transfer; admins mark it paid.
    Manual,
    /// Nothing to charge: a solidarity membership.
    None,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::contribution::ContributionStatus")]
pub enum ContributionStatus {
    /// Waiting for the first payment, which the member may have to confirm
    /// with `clientSecret`.
    Incomplete,
    /// Stripe's answer did not arrive in time; the server settles it from
    /// Stripe's own record, with no second subscription. Retrying the start
    /// returns this contribution.
    Pending,
    Active,
    PastDue,
    Canceled,
}

// A contribution range: members choose what fits their means.
#[derive(SimpleObject)]
pub struct SlidingScale {
    pub(crate) id: ID,
    currency: String,
    interval: ContributionInterval,
    minimum: Money,
    maximum: Money,
    suggested: Money,
    /// Members may contribute nothing and keep every right.
    allow_zero: bool,
    /// `null` for the pool's own scale.
    stakeholder_group_id: Option<ID>,
    created_at: DateTime<Utc>,
}

impl From<sliding_scale::Model> for SlidingScale {
    fn from(m: sliding_scale::Model) -> Self {
        let money = |amount| Money::new(amount, m.currency.clone());
        Self {
            id: m.id.into(),
            minimum: money(m.minimum),
            maximum: money(m.maximum),
            suggested: money(m.suggested),
            currency: m.currency,
            interval: m.interval.into(),
            allow_zero: m.allow_zero,
            stakeholder_group_id: m.stakeholder_group_id.map(Into::into),
            created_at: m.created_at,
        }
    }
}

// A member's recurring contribution.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Contribution {
    pub(crate) id: ID,
    amount: Money,
    interval: ContributionInterval,
    provider: PaymentProvider,
    status: ContributionStatus,
    member_id: ID,
    /// The member chose to end it at the close of the paid period.
    cancel_at_period_end: bool,
    /// Set while the pool is suspended: collection is paused, and the
    /// subscription ends at the close of its paid period unless the pool
    /// is reinstated first.
    collection_paused_at: Option<DateTime<Utc>>,
    /// Why starting it failed, for a canceled one.
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    canceled_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pool_id: uuid::Uuid,
    #[graphql(skip)]
    membership_id: uuid::Uuid,
}

impl From<contribution::Model> for Contribution {
    fn from(m: contribution::Model) -> Self {
        Self {
            id: m.id.into(),
            amount: Money::new(m.amount, m.currency),
            interval: m.interval.into(),
            provider: m.provider.into(),
            status: m.status.into(),
            member_id: m.membership_id.into(),
            cancel_at_period_end: m.cancel_at_period_end,
            collection_paused_at: m.collection_paused_at,
            failure_reason: m.failure_reason,
            created_at: m.created_at,
            canceled_at: m.canceled_at,
            pool_id: m.pool_id,
            membership_id: m.membership_id,
        }
    }
}

// The pool and the member load through the request's loaders.
#[ComplexObject]
impl Contribution {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.pool_id).await
    }
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.membership_id).await
    }
}

/// A started contribution, with what a frontend needs to confirm its payment.
#[derive(SimpleObject)]
pub struct ContributionPayload {
    pub contribution: Contribution,
    /// Stripe's client secret when the member must confirm the payment
    /// (Stripe.js `confirmCardPayment`); `null` when nothing is to confirm.
    pub client_secret: Option<String>,
}

/// Paying it forward, per currency in monthly terms.
#[derive(SimpleObject)]
pub struct Solidarity {
    pub currency: String,
    /// Monthly income above the suggested amounts.
    pub above_suggested: i64,
    /// Monthly amount members below the suggestion (or at zero) leave uncovered.
    pub below_suggested: i64,
    pub members_above: i64,
    pub members_below: i64,
    pub members_at_zero: i64,
    /// How much of the shortfall the surplus covers, 0 to 100 (100 when none).
    pub covered_percent: i64,
    /// An amount here lies beyond an `Int`'s range (±9223372036854775807)
    /// and is shown at that bound.
    pub saturated: bool,
}

impl From<Report> for Solidarity {
    fn from(r: Report) -> Self {
        let (above, below) = (r.above_suggested.0, r.below_suggested.0);
        let covered_percent = if below == 0 {
            100
        } else {
            // i128: neither product nor quotient can overflow.
            (above.saturating_mul(100) / below).clamp(0, 100) as i64
        };
        let mut shown = Saturation::default();
        Self {
            currency: r.currency,
            above_suggested: shown.show(r.above_suggested),
            below_suggested: shown.show(r.below_suggested),
            saturated: shown.any(),
            members_above: r.members_above,
            members_below: r.members_below,
            members_at_zero: r.members_at_zero,
            covered_percent,
        }
    }
}

#[derive(InputObject)]
pub struct SetSlidingScaleInput {
    pub pool_id: ID,
    /// A group's own scale; the pool's when `null`.
    pub stakeholder_group_id: Option<ID>,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
    pub interval: ContributionInterval,
    /// Minor units, 0 or more (members who cannot pay: `allowZero`).
    pub minimum: i64,
    /// Minor units, 1 to 1000000000 (10^9), at least `minimum`.
    pub maximum: i64,
    /// Minor units, from `minimum` to `maximum`.
    pub suggested: i64,
    #[graphql(default = false)]
    pub allow_zero: bool,
}

#[derive(InputObject)]
pub struct StartContributionInput {
    pub pool_id: ID,
    /// Minor units per interval, on your group's scale: from its `minimum`
    /// (at least 1) to its `maximum`, or 0 where the scale allows zero.
    pub amount: i64,
    /// A Stripe payment method collected by the frontend (Stripe.js), 1 to
    /// 255 characters. Required when the server charges through Stripe and
    /// the amount is above 0; one Stripe does not accept answers
    /// `VALIDATION` on this field.
    pub payment_method_id: Option<String>,
    /// Your own key for safe retries: 8 to 200 visible characters on one
    /// line (a UUID is a good choice), unique per start. Retrying with it
    /// answers the first start again (its contribution, or the error it
    /// answered) and never starts a second one; the same key with another
    /// pool, amount or payment method answers `CONFLICT`.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ChangeContributionInput {
    pub contribution_id: ID,
    /// Minor units per interval, on the member's scale: from its `minimum`
    /// (at least 1) to its `maximum`, or 0 where the scale allows zero.
    pub amount: i64,
}

#[derive(InputObject)]
pub struct CancelContributionInput {
    pub contribution_id: ID,
    /// Keep paying until the end of the current period.
    #[graphql(default = true)]
    pub at_period_end: bool,
}

#[derive(InputObject)]
pub struct MarkContributionPaidInput {
    pub contribution_id: ID,
    /// The bank transfer's reference, 1 to 200 characters on one line; each
    /// is recorded once.
    pub reference: String,
}

impl TryFrom<SetSlidingScaleInput> for scales::ScaleInput {
    type Error = AppError;
    fn try_from(input: SetSlidingScaleInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            stakeholder_group_id: uuid!(input.stakeholder_group_id)?,
            currency: input.currency,
            interval: input.interval.into(),
            minimum: input.minimum,
            maximum: input.maximum,
            suggested: input.suggested,
            allow_zero: input.allow_zero,
        })
    }
}

impl TryFrom<StartContributionInput> for StartInput {
    type Error = AppError;
    fn try_from(input: StartContributionInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            amount: input.amount,
            payment_method_id: input.payment_method_id,
            idempotency_key: input.idempotency_key,
        })
    }
}
