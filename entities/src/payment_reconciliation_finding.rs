//! What one reconciliation run found and repaired (or failed to repair).
use sea_orm::entity::prelude::*;

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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingKind {
    /// A contribution got back the subscription id it had lost.
    #[sea_orm(string_value = "SUBSCRIPTION_LINKED")]
    SubscriptionLinked,
    /// A charging subscription no live contribution owns was canceled.
    #[sea_orm(string_value = "ORPHAN_CANCELED")]
    OrphanCanceled,
    /// A paid invoice missing from the ledger was booked.
    #[sea_orm(string_value = "INVOICE_BOOKED")]
    InvoiceBooked,
    /// A start Stripe never confirmed was closed.
    #[sea_orm(string_value = "UNSETTLED_CANCELED")]
    UnsettledCanceled,
    /// A repair was attempted and failed; `detail` says why.
    #[sea_orm(string_value = "REPAIR_FAILED")]
    RepairFailed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "payment_reconciliation_findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reconciliation_id: Uuid,
    /// None for a subscription that belongs to no pool of ours.
    pub parent_entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub contribution_id: Option<Uuid>,
    pub kind: FindingKind,
    /// The subscription or invoice concerned.
    pub stripe_id: String,
    /// Minor units, with `currency`, for a booked invoice.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub detail: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
