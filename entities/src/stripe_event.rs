//! A Stripe webhook event, recorded once: duplicates are ignored. An event
//! whose object is not known yet waits here and is applied by a job.
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
pub enum EventStatus {
    #[sea_orm(string_value = "APPLIED")]
    Applied,
    /// Not ours, or nothing to do.
    #[sea_orm(string_value = "IGNORED")]
    Ignored,
    /// Its subscription is not linked to a contribution yet.
    #[sea_orm(string_value = "WAITING")]
    Waiting,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    /// When Stripe created the event.
    pub created_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
    pub status: EventStatus,
    /// The subscription the event is about.
    pub subscription_id: Option<String>,
    /// The event's body, kept while it waits.
    pub payload: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
