//! Which audit event binds each ledger entry: the event whose changes carry
//! the entry's id and digest. Append-only. `event_id` is empty only for
//! entries written before binding existed, marked so when it was added.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "ledger_bindings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ledger_entry_id: Uuid,
    pub event_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
