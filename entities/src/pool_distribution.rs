//! One payment of a dissolving pool's remaining funds to its recipient,
//! in one currency; a steward of the parent confirms it paid, which books
//! it in the ledger. Never deleted.
use sea_orm::entity::prelude::*;

use crate::pool_dissolution::Recipient;

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
pub enum DistributionStatus {
    /// Drawn up; waiting for a steward to confirm it paid.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Paid, and booked in the ledger.
    #[sea_orm(string_value = "PAID")]
    Paid,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_distributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dissolution_id: Uuid,
    pub pool_id: Uuid,
    pub currency: String,
    /// Minor units, positive: what is paid out.
    pub amount_minor: i64,
    pub recipient_kind: Recipient,
    /// The parent's or co-op's name, or the member's display name.
    pub recipient_name: String,
    /// The member paid, for `MEMBERS`.
    pub membership_id: Option<Uuid>,
    pub status: DistributionStatus,
    /// The payment's reference, as the steward confirmed it.
    pub reference: Option<String>,
    /// The `DISTRIBUTION` ledger entry that books it.
    pub ledger_entry_id: Option<Uuid>,
    pub paid_by: Option<Uuid>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
