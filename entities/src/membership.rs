//! A person's membership of a pool: one row per membership ever held, so the
//! member register keeps its history. Ending one sets `left_at`.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberRole {
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MEMBER")]
    Member,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipStatus {
    /// Invited; becomes active when the person accepts.
    #[sea_orm(string_value = "INVITED")]
    Invited,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "LEFT")]
    Left,
    #[sea_orm(string_value = "REMOVED")]
    Removed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JoinedVia {
    #[sea_orm(string_value = "FOUNDING")]
    Founding,
    #[sea_orm(string_value = "INVITATION")]
    Invitation,
    #[sea_orm(string_value = "APPLICATION")]
    Application,
    #[sea_orm(string_value = "OPEN")]
    Open,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// Set once the person has an account linked to this membership.
    pub user_id: Option<Uuid>,
    /// Normalised email the membership was offered to.
    pub email: String,
    pub display_name: String,
    pub stakeholder_group_id: Uuid,
    pub role: MemberRole,
    pub status: MembershipStatus,
    pub joined_via: JoinedVia,
    pub joined_at: Option<DateTimeUtc>,
    pub left_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Shares held, for pools that raise share capital.
    pub shares_held: i64,
    /// Why the membership ended (a removal records its reason here).
    pub end_reason: Option<String>,
    /// Who ended it: the member leaving, or the admin removing them.
    pub ended_by: Option<Uuid>,
    /// The version of the pool's code of conduct the member accepted.
    pub conduct_version: Option<i32>,
    pub conduct_accepted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The account, once the person has one: a page of members is read
    /// joined with it.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl ActiveModelBehavior for ActiveModel {}
