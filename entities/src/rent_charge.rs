//! One period's rent of a lease, charged once: the pool's ledger entry and
//! the fund's, written together. `(lease_id, period_number)` is unique.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "rent_charges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lease_id: Uuid,
    pub pool_id: Uuid,
    pub parent_entity_id: Uuid,
    /// 0 for the lease's first period.
    pub period_number: i32,
    pub period_start: Date,
    /// Exclusive.
    pub period_end: Date,
    pub amount_minor: i64,
    pub currency: String,
    pub pool_ledger_entry_id: Uuid,
    pub parent_ledger_entry_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
