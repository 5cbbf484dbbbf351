use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{contribution, sliding_scale};

use crate::{
    graphql::types::{Money, Saturation},
    services::contributions::solidarity::Solidarity as Report,
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

/// A contribution range: members choose what fits their means.
pub struct SlidingScale(pub sliding_scale::Model);

#[Object]
impl SlidingScale {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn interval(&self) -> ContributionInterval {
        self.0.interval.into()
    }
    async fn minimum(&self) -> Money {
        self.money(self.0.minimum)
    }
    async fn maximum(&self) -> Money {
        self.money(self.0.maximum)
    }
    async fn suggested(&self) -> Money {
        self.money(self.0.suggested)
    }
    /// Members may contribute nothing and keep every right.
    async fn allow_zero(&self) -> bool {
        self.0.allow_zero
    }
    /// `null` for the pool's own scale.
    async fn stakeholder_group_id(&self) -> Option<ID> {
        self.0.stakeholder_group_id.map(|g| ID(g.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl SlidingScale {
    fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.0.currency.clone())
    }
}

/// A member's recurring contribution.
pub struct Contribution(pub contribution::Model);

#[Object]
impl Contribution {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn amount(&self) -> Money {
        Money::new(self.0.amount, self.0.currency.clone())
    }
    async fn interval(&self) -> ContributionInterval {
        self.0.interval.into()
    }
    async fn provider(&self) -> PaymentProvider {
        self.0.provider.into()
    }
    async fn status(&self) -> ContributionStatus {
        self.0.status.into()
    }
    async fn member_id(&self) -> ID {
        ID(self.0.membership_id.to_string())
    }
    /// Ends at the close of the paid period.
    async fn cancel_at_period_end(&self) -> bool {
        self.0.cancel_at_period_end
    }
    /// Why starting it failed, for a canceled one.
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn canceled_at(&self) -> Option<DateTime<Utc>> {
        self.0.canceled_at
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
    /// ISO 4217.
    pub currency: String,
    pub interval: ContributionInterval,
    /// Minor units.
    pub minimum: i64,
    pub maximum: i64,
    pub suggested: i64,
    #[graphql(default = false)]
    pub allow_zero: bool,
}

#[derive(InputObject)]
pub struct StartContributionInput {
    pub pool_id: ID,
    /// Minor units per interval, on your group's scale; 0 where allowed.
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
    /// The bank transfer's reference; each is recorded once.
    pub reference: String,
}
