//! One movement of a parent entity's own money: its commons fund. Entries
//! are never changed or deleted. Where money moves between the parent and
//! one of its pools, `pool_ledger_entry_id` names the pool's side of it,
//! written in the same transaction.
use sea_orm::entity::prelude::*;

pub use super::ledger_entry::LedgerKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "parent_ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    pub kind: LedgerKind,
    /// Minor units; into the fund positive, out of it negative.
    pub amount_minor: i64,
    pub currency: String,
    /// Groups the fund's accounts: `rent`, `grants`, `loans`…
    pub category: String,
    pub reference: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// The pool on the other side, if any.
    pub pool_id: Option<Uuid>,
    /// The pool's own entry for the same movement.
    pub pool_ledger_entry_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
