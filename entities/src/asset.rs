//! Something the parent entity owns for its pools to use: equipment,
//! premises, servers, software licences, a brand. Retired, never deleted,
//! so the leases that used it keep their history.
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssetKind {
    #[sea_orm(string_value = "EQUIPMENT")]
    Equipment,
    #[sea_orm(string_value = "PREMISES")]
    Premises,
    #[sea_orm(string_value = "SERVER")]
    Server,
    #[sea_orm(string_value = "SOFTWARE_LICENCE")]
    SoftwareLicence,
    #[sea_orm(string_value = "BRAND")]
    Brand,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssetStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// No longer leased out; kept for its leases' history.
    #[sea_orm(string_value = "RETIRED")]
    Retired,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "assets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    pub name: String,
    pub kind: AssetKind,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// What it is worth, in minor units of `currency`.
    pub value_minor: i64,
    pub currency: String,
    pub status: AssetStatus,
    pub retired_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
