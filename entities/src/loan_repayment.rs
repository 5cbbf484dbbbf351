//! One instalment of a loan from the commons fund, collected once: the
//! pool's ledger entry and the fund's, written together.
//! `(application_id, instalment_number)` is unique.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "loan_repayments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub pool_id: Uuid,
    pub parent_entity_id: Uuid,
    /// 0 for the first instalment.
    pub instalment_number: i32,
    pub due_on: Date,
    pub amount_minor: i64,
    pub currency: String,
    pub pool_ledger_entry_id: Uuid,
    pub parent_ledger_entry_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
