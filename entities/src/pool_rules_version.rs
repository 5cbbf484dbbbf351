//! One adopted version of a pool's rules. Version 1 is the founding rules;
//! each later one was adopted by a `RULES_CHANGE` proposal. Never changed
//! or deleted.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_rules_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// 1, 2, … within the pool; unique with it.
    pub version: i32,
    /// The rules document (Markdown) of this version.
    #[sea_orm(column_type = "Text")]
    pub document: String,
    /// The governance settings the document was rendered from.
    #[sea_orm(column_type = "JsonBinary")]
    pub governance: Json,
    pub adopted_at: DateTimeUtc,
    /// The proposal that adopted it; none for the founding rules.
    pub proposal_id: Option<Uuid>,
    /// A unified diff of the document from the version before.
    #[sea_orm(column_type = "Text", nullable)]
    pub diff: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
