//! A pool's vote in the parent's assembly on one fund application, cast
//! by its admins or its delegate; one per pool and application, changeable
//! while the vote is open.
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssemblyChoice {
    #[sea_orm(string_value = "FOR")]
    For,
    #[sea_orm(string_value = "AGAINST")]
    Against,
    /// Counts towards the quorum, not the outcome.
    #[sea_orm(string_value = "ABSTAIN")]
    Abstain,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "assembly_votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub pool_id: Uuid,
    pub choice: AssemblyChoice,
    pub cast_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
