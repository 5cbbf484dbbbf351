//! The terms on which a pool uses one of the parent's assets: rent per
//! period in the pool's currency, from a start to an (exclusive) end. The
//! parent offers it; the pool's admins accept or decline it; rent falls due
//! at the start of each period from acceptance on.
use sea_orm::entity::prelude::*;

use crate::billing_period::BillingPeriod;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LeaseStatus {
    /// Offered by a steward, waiting for the pool's answer.
    #[sea_orm(string_value = "OFFERED")]
    Offered,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    /// Ended early by either side, or withdrawn before the pool answered.
    #[sea_orm(string_value = "ENDED")]
    Ended,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub asset_id: Uuid,
    pub parent_entity_id: Uuid,
    pub pool_id: Uuid,
    /// Rent per period, minor units of `currency` (the pool's).
    pub rent_minor: i64,
    pub currency: String,
    pub period: BillingPeriod,
    pub starts_on: Date,
    /// The first day it no longer runs; `None`: until ended.
    pub ends_on: Option<Date>,
    #[sea_orm(column_type = "Text")]
    pub terms: String,
    pub status: LeaseStatus,
    /// Periods charged so far, from the first: the next to charge.
    pub periods_charged: i32,
    pub offered_by: Uuid,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
