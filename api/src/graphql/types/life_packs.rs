use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::pool_life_pack;

use crate::graphql::types::{ParentEntity, Pool, load_parent, load_pool};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_life_pack::LifeStep")]
pub enum LifeStep {
    /// The parent's stewards suspended the pool.
    Suspended,
    /// The parent's stewards reinstated it.
    Reinstated,
    /// It moved to another parent entity.
    Moved,
    /// It became a co-op of its own.
    SpunOut,
    /// Its members decided to dissolve it, and it is winding up.
    Dissolving,
    /// It is dissolved.
    Dissolved,
}

/// The signed audit pack an end-of-life step of a pool produced, as the
/// step left the pool. Its bytes are served at `downloadPath` exactly as
/// signed, with the signature in the `Pools-Pack-Signature` header; the
/// README says how to verify one offline.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LifePack {
    pub(crate) id: ID,
    step: LifeStep,
    /// The audit event that recorded the step (the pack's last), and its
    /// hash.
    event_id: ID,
    event_hash: String,
    /// The pack's length in bytes and their SHA-256 in lower-case hex.
    size_bytes: i64,
    body_sha256: String,
    /// Ed25519 over the pack's bytes, in standard base64, and the id of
    /// the key (see `/.well-known/pools-pack-key`).
    signature: String,
    key_id: String,
    /// Where the pack's bytes are served (a GET with the bearer token), or
    /// null when only its digest and signature were kept: a pool keeps the
    /// bytes of its first 32 packs.
    download_path: Option<String>,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    model: pool_life_pack::Model,
}

impl From<pool_life_pack::Model> for LifePack {
    fn from(m: pool_life_pack::Model) -> Self {
        Self {
            id: m.id.into(),
            step: m.step.into(),
            event_id: m.event_id.into(),
            event_hash: m.event_hash.clone(),
            size_bytes: m.size_bytes,
            body_sha256: m.body_sha256.clone(),
            signature: m.signature.clone(),
            key_id: m.key_id.clone(),
            download_path: m
                .body_gzip
                .is_some()
                .then(|| format!("/exports/life-packs/{}", m.id)),
            created_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl LifePack {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The parent entity the pool was under before the step (the one it
    /// left, for a move).
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(
            load_parent(ctx, self.model.parent_entity_id).await?,
        ))
    }
}
