//! A member suspended by an admin for a period, with the reason, and how it
//! ended: at its time, lifted by an admin, or on appeal. Never deleted: the
//! register shows it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "member_suspensions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub membership_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// The admin's membership.
    pub suspended_by: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// Set when it ended before `ends_at`.
    pub lifted_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub lift_reason: Option<String>,
    /// The proposal the member's appeal opened, once they appeal.
    pub appeal_proposal_id: Option<Uuid>,
}

impl Model {
    /// Whether it holds at `now`.
    pub fn in_force(&self, now: DateTimeUtc) -> bool {
        self.lifted_at.is_none() && self.starts_at <= now && now < self.ends_at
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
