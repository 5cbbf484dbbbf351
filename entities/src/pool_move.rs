//! A pool's move from one parent entity to another: the members decided it
//! by a proposal; the receiving parent accepts and the releasing one
//! releases, and then it moves. Never deleted.
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
pub enum MoveStatus {
    /// Waiting for the receiving parent to accept and the releasing one to
    /// release.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Both agreed; the pool moved.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// A steward of either parent declined it.
    #[sea_orm(string_value = "DECLINED")]
    Declined,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_moves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub from_parent_id: Uuid,
    pub to_parent_id: Uuid,
    /// The members' proposal that decided it.
    pub proposal_id: Uuid,
    pub status: MoveStatus,
    /// The receiving parent's steward who accepted.
    pub accepted_by: Option<Uuid>,
    pub accepted_at: Option<DateTimeUtc>,
    /// The releasing parent's steward who released.
    pub released_by: Option<Uuid>,
    pub released_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decline_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
