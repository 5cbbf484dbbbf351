//! A pool's audit pack: one JSON document with everything an outside party
//! needs to check the pool's history without the server: the rules, the
//! register, the ledger, the proposals and their outcomes, and the audit
//! events with their hashes and the chain's head.
//!
//! Events carry exactly the fields of the published hash recipes, under
//! the recipes' names and with the recipes' types (`seq` a number, absent
//! values `null`, `changes` the stored text), so that each hash can be
//! recomputed from the pack as it is; ledger entries carry the columns of
//! their digest (`pools-ledger/1`) the same way.

use std::collections::HashSet;

use chrono::Utc;
use entities::{audit_chain_head, audit_event, ledger_binding, ledger_entry, proposal};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Cursor, PAGE_ROWS, Scope, Table, page, time};
use crate::{
    auth::Actor,
    error::{AppError, AppResult},
    services::{
        audit::chain::{self, timestamp},
        membership::find_pool,
    },
    signing,
    state::AppState,
};

const FORMAT: &str = "pools-audit-pack/2";

/// A pack as it is sent: the body's bytes and their detached signature
/// (see `crate::signing`).
pub struct SignedPack {
    pub body: Vec<u8>,
    /// Ed25519 over exactly `body`, in standard base64.
    pub signature: String,
    pub key_id: String,
}

/// Builds the pack and signs its bytes with the platform's key.
pub async fn signed(state: &AppState, actor: &Actor, pool_id: Uuid) -> AppResult<SignedPack> {
    let pack = build(state, actor, pool_id).await?;
    sign(state, &pack)
}

/// A document's bytes and their signature by the platform's key, verified
/// offline as an audit pack is.
pub fn sign(state: &AppState, document: &Value) -> AppResult<SignedPack> {
    let body = serde_json::to_vec(document).map_err(AppError::internal)?;
    Ok(SignedPack {
        signature: state.pack_signer.sign(&body),
        key_id: state.pack_signer.key_id().to_owned(),
        body,
    })
}

/// Builds the pack (the pool's admins and the parent's stewards and
/// auditors, as for the pool's audit trail).
pub async fn build(state: &AppState, actor: &Actor, pool_id: Uuid) -> AppResult<Value> {
    let pool = find_pool(&state.db, pool_id).await?;
    crate::services::audit_trail::authorize(&state.db, actor, None, Some(pool.id)).await?;
    let scope = Scope::Pool(pool.id);

    let register = all_rows(&state.db, scope, Table::Register).await?;
    let ledger = ledger_entries(&state.db, pool.id).await?;
    let events = events(&state.db, pool.id).await?;

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
        "signing": {
            "algorithm": "Ed25519",
            "keyId": state.pack_signer.key_id(),
            "publicKeyUrl": format!("{}{}", state.public_url, signing::PUBLIC_KEY_PATH),
            "signature": "detached: the Pools-Pack-Signature header of the response, over its body's exact bytes",
        },
        "rulesDocument": pool.rules_document,
        "register": register,
        "ledger": ledger,
        "proposals": proposals,
        "auditEvents": events,
        "chain": {
            "hashRecipe": "SHA-256 in lower-case hex of the compact JSON array [\"pools-audit/2\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, contentDigest, requestId] of each event's fields as they are in this pack, where contentDigest is SHA-256 in lower-case hex of the compact JSON array [contentSalt, changes, clientAddress] (a redacted event keeps its contentDigest but not its salt, and its changes and clientAddress cannot be checked); an event whose contentDigest is null follows pools-audit/1: [\"pools-audit/1\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, changes, requestId, clientAddress]; each event's poolPrevHash is the previous event's hash in this pack (the first's is 64 zeros). The README gives the details.",
            "ledgerRecipe": "each booking event's changes carry ledgerEntries: [{id, digest}], where digest is SHA-256 in lower-case hex of the compact JSON array [\"pools-ledger/1\", id, poolId, kind, amountMinor, currency, reference, description, expenseId, recordedBy, occurredAt, createdAt, category] of the entry's fields as they are in this pack; an entry with beforeBinding true was written before entries were bound and has no event",
            "chainKey": chain::chain_key(Some(pool.parent_entity_id)),
            "poolHeadHash": pool_head,
            "parentHeadSeq": head.as_ref().map(|h| h.seq),
            "parentHeadHash": head.map(|h| h.hash),
        },
    }))
}

/// The pool's events in chain order, each as the recipes name its fields.
async fn events(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::PoolId.eq(pool_id))
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE_ROWS)
            .all(db)
            .await?;
        let full = page.len() as u64 == PAGE_ROWS;
        for e in page {
            after = e.seq;
            out.push(json!({
                "id": e.id, "chainKey": e.chain_key, "seq": e.seq,
                "prevHash": e.prev_hash, "poolPrevHash": e.pool_prev_hash,
                "occurredAt": timestamp(e.occurred_at), "actorKind": e.actor_kind,
                "actorUserId": e.actor_user_id, "actorTokenId": e.actor_token_id,
                "action": e.action, "outcome": e.outcome, "entityType": e.entity_type,
                "entityId": e.entity_id, "poolId": e.pool_id, "parentEntityId": e.parent_entity_id,
                "contentDigest": e.content_digest, "requestId": e.request_id,
                "changes": e.changes, "clientAddress": e.client_address,
                "contentSalt": e.content_salt, "redactedAt": e.redacted_at.map(timestamp),
                "hash": e.hash,
            }));
        }
        if !full {
            return Ok(out);
        }
    }
}

/// The pool's ledger in id order, each entry with the columns its digest
/// covers and whether it was written before binding.
async fn ledger_entries(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::PoolId.eq(pool_id))
            .order_by_asc(ledger_entry::Column::Id)
            .limit(PAGE_ROWS);
        if let Some(after) = after {
            select = select.filter(ledger_entry::Column::Id.gt(after));
        }
        let page = select.all(db).await?;
        let before_binding: HashSet<Uuid> = ledger_binding::Entity::find()
            .select_only()
            .column(ledger_binding::Column::LedgerEntryId)
            .filter(ledger_binding::Column::LedgerEntryId.is_in(page.iter().map(|e| e.id)))
            .filter(ledger_binding::Column::EventId.is_null())
            .into_tuple()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let full = page.len() as u64 == PAGE_ROWS;
        for e in page {
            after = Some(e.id);
            out.push(json!({
                "id": e.id, "poolId": e.pool_id, "kind": e.kind, "amountMinor": e.amount_minor,
                "currency": e.currency, "reference": e.reference, "description": e.description,
                "expenseId": e.expense_id, "recordedBy": e.recorded_by,
                "occurredAt": timestamp(e.occurred_at), "createdAt": timestamp(e.created_at),
                "category": e.category, "beforeBinding": before_binding.contains(&e.id),
            }));
        }
        if !full {
            return Ok(out);
        }
    }
}

/// The pool's member register, as the export's rows keyed by its header.
pub async fn register_rows(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<Vec<Value>> {
    all_rows(db, Scope::Pool(pool_id), Table::Register).await
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
