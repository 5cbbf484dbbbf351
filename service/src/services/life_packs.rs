//! The signed audit pack each end-of-life step of a pool produces: a
//! suspension, a reinstatement, a move, a spin-out, the start and the end
//! of a dissolution. It is built in the step's own transaction, right after
//! the event that records the step, so it shows the pool exactly as the
//! step left it; its bytes are signed with the platform's key and kept
//! (gzip-compressed) as they were signed, to be handed out later.
//!
//! What a step may store is bounded: the bodies of a pool's first
//! [`BODIES_KEPT`] packs are kept. Only repeated suspensions can go past
//! that; such a pack keeps its digest, signature and the hash of the event
//! it ends with, which still pin down the chain as it then was.

use std::io::{Read, Write};

use chrono::Utc;
use entities::{
    audit_event, pool,
    pool_life_pack::{self, LifeStep, Model as LifePack},
};
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    error::{AppError, AppResult},
    services::{
        audit_trail,
        exports::pack::{self, SignedPack},
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// How many packs per pool keep their bytes.
pub const BODIES_KEPT: u64 = 32;

/// Seals `step`, which `event` recorded, with a signed pack of the pool as
/// `txn` now sees it. `parent_entity_id` is the parent the pool was under
/// before the step (the one it leaves, for a move).
pub async fn seal(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    pool: &pool::Model,
    parent_entity_id: Uuid,
    step: LifeStep,
    event: &audit_event::Model,
) -> AppResult<LifePack> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let described = json!({
        "packId": id, "step": step, "eventId": event.id, "eventHash": event.hash,
        "parentEntityId": parent_entity_id, "sealedAt": crate::services::exports::time(Some(now)),
    });
    let body = pack::compose(txn, state, pool, Some(described)).await?;
    let body = serde_json::to_vec(&body).map_err(AppError::internal)?;
    let kept = pool_life_pack::Entity::find()
        .filter(pool_life_pack::Column::PoolId.eq(pool.id))
        .filter(pool_life_pack::Column::BodyGzip.is_not_null())
        .count(txn)
        .await?;
    let body_gzip = if kept < BODIES_KEPT {
        Some(compress(&body)?)
    } else {
        None
    };
    let sealed = pool_life_pack::ActiveModel {
        id: Set(id),
        pool_id: Set(pool.id),
        parent_entity_id: Set(parent_entity_id),
        step: Set(step),
        event_id: Set(event.id),
        event_hash: Set(event.hash.clone()),
        size_bytes: Set(i64::try_from(body.len()).map_err(AppError::internal)?),
        body_sha256: Set(hex::encode(Sha256::digest(&body))),
        signature: Set(state.pack_signer.sign(&body)),
        key_id: Set(state.pack_signer.key_id().to_owned()),
        body_gzip: Set(body_gzip),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(sealed)
}

fn compress(body: &[u8]) -> AppResult<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(body).map_err(AppError::internal)?;
    encoder.finish().map_err(AppError::internal)
}

fn decompress(gzip: &[u8]) -> AppResult<Vec<u8>> {
    let mut body = Vec::new();
    GzDecoder::new(gzip)
        .read_to_end(&mut body)
        .map_err(AppError::internal)?;
    Ok(body)
}

/// Who may read a pack: whoever may read its pool's audit trail now, and
/// the stewards and auditors of the parent it was sealed under. Others
/// get `NOT_FOUND`.
async fn authorize(db: &impl ConnectionTrait, actor: &Actor, p: &LifePack) -> AppResult<()> {
    if permissions::parent_role(db, p.parent_entity_id, actor.user_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    audit_trail::authorize(db, actor, None, Some(p.pool_id))
        .await
        .map(|_| ())
        .map_err(|_| access::not_found("life pack", p.id))
}

/// One pack's record, for those who may read it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<LifePack> {
    let p = pool_life_pack::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found("life pack", id))?;
    authorize(&state.db, actor, &p).await?;
    Ok(p)
}

/// A pack's bytes exactly as they were signed, with the signature.
pub async fn download(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<SignedPack> {
    let p = get(state, actor, id).await?;
    let Some(gzip) = p.body_gzip.as_deref() else {
        return Err(AppError::Conflict(format!(
            "this pack's bytes were not kept (a pool keeps the first {BODIES_KEPT}); its digest {} and signature are on its record",
            p.body_sha256
        )));
    };
    Ok(SignedPack {
        body: decompress(gzip)?,
        signature: p.signature,
        key_id: p.key_id,
    })
}

/// A pool's packs, oldest first, for those who may read its audit trail.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageArgs,
) -> AppResult<Page<LifePack>> {
    audit_trail::authorize(&state.db, actor, None, Some(pool.id)).await?;
    let page = page.parse()?;
    let select = pool_life_pack::Entity::find().filter(pool_life_pack::Column::PoolId.eq(pool.id));
    paginate(&state.db, select, pool_life_pack::Column::Id, page).await
}

/// The packs sealed while pools were under a parent entity (those that
/// moved away included), for its stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<LifePack>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let select = pool_life_pack::Entity::find()
        .filter(pool_life_pack::Column::ParentEntityId.eq(parent_entity_id));
    paginate(&state.db, select, pool_life_pack::Column::Id, page).await
}
