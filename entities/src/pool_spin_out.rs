//! A pool's spin-out into a legal entity of its own: the members decided it
//! by a proposal choosing a standalone legal template; it waits for the
//! founders to report the new entity registered, and then the pool's funds
//! are transferred out and the pool is `SPUN_OUT`. Never deleted.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SpinOutStatus {
    /// Decided; the founders incorporate the new entity and report it
    /// registered. The pool goes on meanwhile.
    #[sea_orm(string_value = "AWAITING_REGISTRATION")]
    AwaitingRegistration,
    /// The new entity is registered; the pool's funds went to it and the
    /// pool is spun out.
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_spin_outs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// The members' proposal that decided it.
    pub proposal_id: Uuid,
    pub status: SpinOutStatus,
    /// The standalone template chosen, and its version when decided.
    pub legal_template_id: String,
    pub legal_template_version: i32,
    /// The name the new entity is to be registered under.
    pub entity_name: String,
    /// What the registering authority gave, as the founders reported it.
    pub registration_number: Option<String>,
    pub registered_name: Option<String>,
    pub registered_at: Option<DateTimeUtc>,
    pub registered_by: Option<Uuid>,
    /// The new entity, once it registered on the platform as a parent.
    pub parent_entity_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
