//! One movement of a pool's money. Entries are never changed or deleted (each
//! is bound into the audit event that wrote it, see `ledger_binding`); a
//! correction is an ADJUSTMENT entry.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerKind {
    #[sea_orm(string_value = "CONTRIBUTION")]
    Contribution,
    #[sea_orm(string_value = "PARENT_SHARE")]
    ParentShare,
    #[sea_orm(string_value = "EXPENSE")]
    Expense,
    #[sea_orm(string_value = "ADJUSTMENT")]
    Adjustment,
    /// Funds leaving the pool for good, such as to the entity it spun out
    /// into.
    #[sea_orm(string_value = "TRANSFER_OUT")]
    TransferOut,
    /// The remaining funds of a dissolving pool, paid out as its rules'
    /// asset lock allows.
    #[sea_orm(string_value = "DISTRIBUTION")]
    Distribution,
    /// Rent for an asset of the parent's commons: paid by the pool,
    /// received by the parent.
    #[sea_orm(string_value = "RENT")]
    Rent,
    /// A grant from the parent's commons fund to a pool.
    #[sea_orm(string_value = "GRANT")]
    Grant,
    /// A loan from the parent's commons fund to a pool.
    #[sea_orm(string_value = "LOAN")]
    Loan,
    /// A loan's instalment paid back to the parent's fund.
    #[sea_orm(string_value = "REPAYMENT")]
    Repayment,
    /// A gift to the parent's fund.
    #[sea_orm(string_value = "DONATION")]
    Donation,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub kind: LedgerKind,
    /// Minor units; income positive, spending negative.
    pub amount_minor: i64,
    pub currency: String,
    pub reference: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub expense_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Groups the pool's accounts: `contributions`, `rent`, `general`…
    pub category: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
