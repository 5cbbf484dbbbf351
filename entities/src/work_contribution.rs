//! A contribution of work, care or kind to a pool: recorded by a member,
//! confirmed (or refused) as the pool's rules say.
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
pub enum WorkContributionKind {
    #[sea_orm(string_value = "WORK")]
    Work,
    #[sea_orm(string_value = "CARE")]
    Care,
    #[sea_orm(string_value = "IN_KIND")]
    InKind,
    /// A kind the pool's rules name, by its label.
    #[sea_orm(string_value = "OTHER")]
    Other,
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
pub enum WorkContributionStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "REFUSED")]
    Refused,
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "work_contributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// The member who gave it (and recorded it).
    pub membership_id: Uuid,
    pub kind: WorkContributionKind,
    /// For `OTHER`: the label of a kind the pool's rules define.
    pub label: Option<String>,
    pub occurred_on: Date,
    /// Hours of work or care, in quarter hours.
    pub quarter_hours: Option<i32>,
    /// For contributions in kind: how many of `unit`.
    pub quantity: Option<i64>,
    pub unit: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// A value in money, minor units of `currency`, where the rules allow.
    pub value_minor: Option<i64>,
    pub currency: Option<String>,
    pub status: WorkContributionStatus,
    pub confirmations: i32,
    /// As the rules said when it was recorded.
    pub confirmations_required: i32,
    pub refused_by_membership_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub refusal_reason: Option<String>,
    /// When it was confirmed, refused or withdrawn.
    pub decided_at: Option<DateTimeUtc>,
    /// Goes up by one with every change, for compare-and-swap updates.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
