//! An integrator's URL that hears about a parent entity's or a pool's
//! events. Deleting keeps the row (its deliveries stay readable).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// JSON array of event types.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
