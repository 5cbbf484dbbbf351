//! A pool's audit pack: one JSON document with everything an outside party
//! needs to check the pool's history without the server: the rules, the
//! register, the ledger, the proposals and their outcomes, and the audit
//! events with their hashes and the chain's head.

use chrono::Utc;
use entities::{audit_chain_head, proposal};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Cursor, Scope, Table, page, time};
use crate::{
    auth::Actor,
    error::AppResult,
    services::{audit::chain, membership::find_pool},
    state::AppState,
};

const FORMAT: &str = "pools-audit-pack/1";

/// Builds the pack (the pool's admins and the parent's stewards and
/// auditors, as for the pool's audit trail).
pub async fn build(state: &AppState, actor: &Actor, pool_id: Uuid) -> AppResult<Value> {
    let pool = find_pool(&state.db, pool_id).await?;
    crate::services::audit_trail::authorize(&state.db, actor, None, Some(pool.id)).await?;
    let scope = Scope::Pool(pool.id);

    let register = all_rows(&state.db, scope, Table::Register).await?;
    let ledger = all_rows(&state.db, scope, Table::Ledger).await?;
    let events = all_rows(&state.db, scope, Table::AuditTrail).await?;

    let proposals: Vec<Value> = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(pool.id))
        .order_by_asc(proposal::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id, "title": p.title, "body": p.body, "kind": p.kind,
                "options": p.options, "status": p.status, "outcome": p.outcome,
                "result": p.result, "votingRule": p.voting_rule,
                "quorumPercent": p.quorum_percent, "passThresholdPercent": p.pass_threshold_percent,
                "createdAt": time(Some(p.created_at)), "closesAt": time(Some(p.closes_at)),
                "closedAt": time(p.closed_at),
            })
        })
        .collect();
    let head = audit_chain_head::Entity::find_by_id(chain::chain_key(Some(pool.parent_entity_id)))
        .one(&state.db)
        .await?;
    let pool_head = events
        .last()
        .and_then(|e| e["hash"].as_str())
        .unwrap_or(chain::GENESIS)
        .to_owned();
    Ok(json!({
        "format": FORMAT,
        "generatedAt": time(Some(Utc::now())),
        "pool": {
            "id": pool.id, "name": pool.name, "slug": pool.slug, "status": pool.status,
            "parentEntityId": pool.parent_entity_id,
            "legalTemplateId": pool.legal_template_id,
            "legalTemplateVersion": pool.legal_template_version,
            "currency": pool.currency, "createdAt": time(Some(pool.created_at)),
            "governance": pool.governance,
        },
        "rulesDocument": pool.rules_document,
        "register": register,
        "ledger": ledger,
        "proposals": proposals,
        "auditEvents": events,
        "chain": {
            "hashRecipe": "sha256 hex of the compact JSON array [\"pools-audit/2\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, contentDigest, requestId] with null for empty values, where contentDigest is the sha256 hex of the compact JSON array [contentSalt, changes, clientAddress] (a redacted event keeps its contentDigest but not its salt, and its changes and clientAddress cannot be checked); events without a contentDigest follow pools-audit/1: [\"pools-audit/1\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, changes, requestId, clientAddress]; each event's poolPrevHash is the previous event's hash in this pack (the first's is 64 zeros)",

            "chainKey": chain::chain_key(Some(pool.parent_entity_id)),
            "poolHeadHash": pool_head,
            "parentHeadSeq": head.as_ref().map(|h| h.seq),
            "parentHeadHash": head.map(|h| h.hash),
        },
    }))
}

/// Every row of an export table, as objects keyed by its CSV header.
async fn all_rows(
    db: &impl sea_orm::ConnectionTrait,
    scope: Scope,
    table: Table,
) -> AppResult<Vec<Value>> {
    let header = table.header();
    let mut rows = Vec::new();
    let mut cursor = Cursor::Start;
    loop {
        let (records, next) = page(db, scope, table, cursor).await?;
        rows.extend(records.into_iter().map(|record| {
            Value::Object(
                header
                    .iter()
                    .zip(record)
                    .map(|(k, v)| ((*k).to_owned(), Value::from(v)))
                    .collect(),
            )
        }));
        match next {
            Some(next) => cursor = next,
            None => return Ok(rows),
        }
    }
}
