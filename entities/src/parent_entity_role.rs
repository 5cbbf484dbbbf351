//! A person's role (steward or auditor) at a parent entity. Revoking sets
//! `revoked_at`; rows are never deleted, so the history of who could act stays.
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleKind {
    #[sea_orm(string_value = "STEWARD")]
    Steward,
    #[sea_orm(string_value = "AUDITOR")]
    Auditor,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "parent_entity_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    pub user_id: Uuid,
    pub role: RoleKind,
    pub granted_by: Uuid,
    pub granted_at: DateTimeUtc,
    pub revoked_by: Option<Uuid>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::parent_entity::Entity",
        from = "Column::ParentEntityId",
        to = "super::parent_entity::Column::Id"
    )]
    ParentEntity,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::parent_entity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ParentEntity.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
