//! A person's role (steward or auditor) at a parent entity. A role starts as
//! an invitation to an email (PENDING, no `user_id`) and becomes a person's
//! when they accept it. Rows are never deleted, so the history of who could
//! act, and who was asked, stays.
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

/// Where a role stands. Only ACTIVE roles give any rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleStatus {
    /// Invited, waiting for the person to accept or decline.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    /// Ended by a steward: an active role, or an invitation withdrawn.
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    /// A pending invitation past `expires_at`. Also derived from the time
    /// for rows still stored as PENDING.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "parent_entity_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    /// The person, once they accepted.
    pub user_id: Option<Uuid>,
    /// The email the role was granted to, normalised.
    pub email: String,
    pub role: RoleKind,
    pub status: RoleStatus,
    pub granted_by: Uuid,
    pub granted_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub declined_at: Option<DateTimeUtc>,
    /// When a pending invitation lapses; `None` for roles given without one.
    pub expires_at: Option<DateTimeUtc>,
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
