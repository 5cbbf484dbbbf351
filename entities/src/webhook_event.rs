//! One event as integrators receive it; its id stays the same on every
//! delivery attempt so receivers can drop duplicates.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Such as `member.joined`.
    pub kind: String,
    pub pool_id: Option<Uuid>,
    pub parent_entity_id: Option<Uuid>,
    /// The JSON body sent, byte for byte.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
