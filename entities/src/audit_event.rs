//! One change (or refused attempt) in the audit trail. Rows are never updated
//! or deleted (triggers refuse it); each carries a hash over its content and
//! the previous event of its chain, one chain per parent entity.
use sea_orm::entity::prelude::*;

/// Who acted. The stored text is part of each event's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorKind {
    #[sea_orm(string_value = "SESSION")]
    Session,
    #[sea_orm(string_value = "API_TOKEN")]
    ApiToken,
    /// A caller without a token (signing up or in).
    #[sea_orm(string_value = "ANONYMOUS")]
    Anonymous,
    /// The server on its own (closing proposals, payment webhooks).
    #[sea_orm(string_value = "SYSTEM")]
    System,
}

/// Whether the operation happened or was refused. Part of the hash too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "DENIED")]
    Denied,
}

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
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    pub action: String,
    pub outcome: Outcome,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub parent_entity_id: Option<Uuid>,
    /// JSON text, kept byte for byte as hashed.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    /// Random per event (recipe 2): the digest of an erased value cannot
    /// be tested against guesses once the salt is gone.
    pub content_salt: Option<String>,
    /// SHA-256 over `[salt, changes, clientAddress]`; the hash covers this
    /// instead of the two values. `None` for events of recipe 1.
    pub content_digest: Option<String>,
    /// When a person's data in `changes` and `client_address` was erased.
    pub redacted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
