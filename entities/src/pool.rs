//! A pool: a small co-op inside a parent entity.
use sea_orm::entity::prelude::*;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PoolStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
    #[sea_orm(string_value = "DISSOLVING")]
    Dissolving,
    #[sea_orm(string_value = "DISSOLVED")]
    Dissolved,
    /// It became a legal entity of its own; read-only, its register and
    /// books kept.
    #[sea_orm(string_value = "SPUN_OUT")]
    SpunOut,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    /// The formation that created it; unique, so one formation makes one pool.
    pub formation_id: Uuid,
    pub name: String,
    pub slug: String,
    pub name_key: String,
    pub status: PoolStatus,
    pub legal_template_id: String,
    pub legal_template_version: i32,
    /// ISO 4217 code of the pool's money.
    pub currency: String,
    /// The rules document (Markdown) rendered at approval.
    #[sea_orm(column_type = "Text")]
    pub rules_document: String,
    /// Governance settings derived from the same parameters as the rules.
    #[sea_orm(column_type = "JsonBinary")]
    pub governance: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Why the status last changed (a suspension's reason), and when.
    #[sea_orm(column_type = "Text", nullable)]
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
