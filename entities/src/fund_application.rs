//! A pool's application to the parent's commons fund for a grant or a
//! loan, decided by the parent's assembly of pools; or a formation's,
//! paid out to its pool once the formation is approved. A loan is repaid in
//! equal instalments, one per period from `repayment_starts_on`.
use sea_orm::entity::prelude::*;

use crate::{billing_period::BillingPeriod, parent_entity::AssemblyWeighting};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FundingKind {
    #[sea_orm(string_value = "GRANT")]
    Grant,
    #[sea_orm(string_value = "LOAN")]
    Loan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FundApplicationStatus {
    /// The assembly is voting.
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// Approved and paid out of the fund.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Approved, but the fund did not hold the amount when it closed.
    #[sea_orm(string_value = "UNFUNDED")]
    Unfunded,
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "fund_applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    /// The applicant pool; for a formation's application, its pool once
    /// the formation is approved.
    pub pool_id: Option<Uuid>,
    /// The applicant formation, if a formation applied.
    pub formation_id: Option<Uuid>,
    pub kind: FundingKind,
    /// Minor units of `currency` (the pool's).
    pub amount_minor: i64,
    pub currency: String,
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    /// Loans only: how often an instalment falls due, how many, from when.
    pub repayment_period: Option<BillingPeriod>,
    pub instalments: Option<i32>,
    pub repayment_starts_on: Option<Date>,
    pub status: FundApplicationStatus,
    /// The parent's weighting when the application was made.
    pub weighting: AssemblyWeighting,
    pub closes_at: DateTimeUtc,
    /// The tally, written when it is decided.
    pub eligible_pools: Option<i32>,
    pub pools_voted: Option<i32>,
    pub weight_for: Option<i64>,
    pub weight_against: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    /// The fund's entry paying it out, once approved and the pool exists.
    pub parent_ledger_entry_id: Option<Uuid>,
    /// Loans: instalments collected so far, from the first.
    pub instalments_paid: i32,
    pub applied_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
