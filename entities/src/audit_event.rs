//! One change (or refused attempt) in the audit trail. Rows are never updated
//! or deleted (triggers refuse it); each carries a hash over its content and
//! the previous event of its chain, one chain per parent entity.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The parent entity's id, or `platform` for events outside any parent.
    pub chain_key: String,
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    pub prev_hash: String,
    /// The hash of the previous event of the same pool, for pool events.
    pub pool_prev_hash: Option<String>,
    pub hash: String,
    pub occurred_at: DateTimeUtc,
    /// SESSION, API_TOKEN, ANONYMOUS or SYSTEM.
    pub actor_kind: String,
    pub actor_user_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    pub action: String,
    /// SUCCEEDED or DENIED.
    pub outcome: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub parent_entity_id: Option<Uuid>,
    /// JSON text, kept byte for byte as hashed.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
