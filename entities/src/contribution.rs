//! A member's recurring contribution on the pool's sliding scale.
use sea_orm::entity::prelude::*;

pub use crate::sliding_scale::Interval;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Provider {
    /// Charged through Stripe.
    #[sea_orm(string_value = "STRIPE")]
    Stripe,
    /// A pledge the pool collects by bank transfer; admins mark it paid.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
    /// Nothing to charge: a solidarity membership.
    #[sea_orm(string_value = "NONE")]
    None,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContributionStatus {
    /// Recorded; the first payment is not confirmed yet.
    #[sea_orm(string_value = "INCOMPLETE")]
    Incomplete,
    /// Stripe's answer did not arrive; the server settles it from Stripe's
    /// own record. Never a second subscription meanwhile.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// A payment failed; membership is not affected.
    #[sea_orm(string_value = "PAST_DUE")]
    PastDue,
    #[sea_orm(string_value = "CANCELED")]
    Canceled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "contributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub membership_id: Uuid,
    pub user_id: Uuid,
    /// Minor units per interval.
    pub amount: i64,
    pub currency: String,
    pub interval: Interval,
    /// The scale's suggested amount when the contribution started or last changed.
    pub suggested_at_start: i64,
    pub provider: Provider,
    pub status: ContributionStatus,
    /// The client's key: a retried start finds this contribution again.
    pub idempotency_key: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub stripe_subscription_item_id: Option<String>,
    pub stripe_plan_id: Option<String>,
    pub failure_reason: Option<String>,
    /// The error code a failed start answered, replayed for its key.
    pub failure_code: Option<String>,
    /// What a start with `idempotency_key` asked for (pool, amount, payment
    /// method), so the key reused for something else is refused.
    pub request_fingerprint: Option<String>,
    pub cancel_at_period_end: bool,
    /// Time of the newest Stripe event applied, to ignore older ones arriving late.
    pub last_event_at: Option<DateTimeUtc>,
    pub canceled_at: Option<DateTimeUtc>,
    /// Set while the pool's parent has suspended it: Stripe is asked to end
    /// the subscription at its period's end unless the pool is reinstated.
    pub collection_paused_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
