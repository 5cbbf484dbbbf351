//! A founding member listed in a formation, by email (they may have no account yet).
use sea_orm::entity::prelude::*;

use crate::membership::MemberRole;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "formation_founding_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub formation_id: Uuid,
    /// Order as entered, so the founder sees the list as they wrote it.
    pub position: i32,
    /// Normalised email.
    pub email: String,
    pub display_name: String,
    pub stakeholder_group_key: String,
    pub role: MemberRole,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
