//! How often one caller was refused one mutation within one window of time,
//! in one audit chain. The first refusal of a window is an audit event; the
//! rest only count here, so repeated refusals cannot flood a trail.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "audit_refusal_windows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_key: String,
    /// `user:<id>` for a signed-in caller, `address:<ip>` otherwise.
    #[sea_orm(primary_key, auto_increment = false)]
    pub actor_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub mutation: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub window_start: DateTimeUtc,
    /// Refusals in the window, the recorded one included.
    pub refusals: i64,
    /// The audit event that recorded the window's first refusal.
    pub event_id: Option<Uuid>,
    pub last_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
