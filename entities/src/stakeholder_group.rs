//! A membership class of a pool, with its own rights.
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
pub enum StakeholderKind {
    #[sea_orm(string_value = "WORKERS")]
    Workers,
    #[sea_orm(string_value = "USERS")]
    Users,
    #[sea_orm(string_value = "PRODUCERS")]
    Producers,
    #[sea_orm(string_value = "INVESTORS")]
    Investors,
    #[sea_orm(string_value = "SUPPORTERS")]
    Supporters,
    #[sea_orm(string_value = "CUSTODIANS")]
    Custodians,
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
pub enum Admission {
    /// Anyone may join at once.
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// People apply; admins decide.
    #[sea_orm(string_value = "APPLICATION")]
    Application,
    /// Only people invited by admins.
    #[sea_orm(string_value = "INVITATION")]
    Invitation,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "stakeholder_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// Short stable key, unique within the pool.
    pub key: String,
    pub name: String,
    pub kind: StakeholderKind,
    /// Weight in multi-stakeholder votes; 0 is a non-voting (associate) group.
    pub voting_weight: i32,
    /// Price of one share in the pool's currency, minor units, if shares exist.
    pub share_price_minor: Option<i64>,
    pub admission: Admission,
    pub created_at: DateTimeUtc,
    /// Set when a rules change retired the group: it takes no new members
    /// and no longer votes, and its history stays.
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
