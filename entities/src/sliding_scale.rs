//! A contribution range for a pool, or for one of its groups. A change
//! supersedes the current row; old rows stay as history.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Interval {
    #[sea_orm(string_value = "MONTH")]
    Month,
    #[sea_orm(string_value = "YEAR")]
    Year,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "sliding_scales")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// `None`: the pool's own scale, for groups without one.
    pub stakeholder_group_id: Option<Uuid>,
    pub currency: String,
    pub interval: Interval,
    /// Minor units.
    pub minimum: i64,
    pub maximum: i64,
    pub suggested: i64,
    /// Whether members may contribute nothing (solidarity membership).
    pub allow_zero: bool,
    pub set_by: Uuid,
    pub created_at: DateTimeUtc,
    pub superseded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
