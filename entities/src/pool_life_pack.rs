//! The signed audit pack an end-of-life step of a pool produced, kept as
//! it was signed. Never deleted.
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
pub enum LifeStep {
    /// The parent's stewards suspended the pool.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
    /// The parent's stewards reinstated it.
    #[sea_orm(string_value = "REINSTATED")]
    Reinstated,
    /// It moved to another parent entity.
    #[sea_orm(string_value = "MOVED")]
    Moved,
    /// It became a co-op of its own.
    #[sea_orm(string_value = "SPUN_OUT")]
    SpunOut,
    /// Its members decided to dissolve it, and it is winding up.
    #[sea_orm(string_value = "DISSOLVING")]
    Dissolving,
    /// It is dissolved.
    #[sea_orm(string_value = "DISSOLVED")]
    Dissolved,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_life_packs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// The parent entity the pool was under before the step: its stewards
    /// and auditors keep access to the pack after a move.
    pub parent_entity_id: Uuid,
    pub step: LifeStep,
    /// The audit event that recorded the step, the pack's last, and its hash.
    pub event_id: Uuid,
    pub event_hash: String,
    /// The pack's length in bytes, and the SHA-256 of those bytes.
    pub size_bytes: i64,
    pub body_sha256: String,
    /// Ed25519 over the pack's bytes, in standard base64, and the key's id.
    pub signature: String,
    pub key_id: String,
    /// The pack's bytes, gzip-compressed; `None` past the number of packs
    /// kept per pool, where only its digest and signature are kept.
    #[sea_orm(column_type = "Blob", nullable)]
    pub body_gzip: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
