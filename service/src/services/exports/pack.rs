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

use std::collections::{HashMap, HashSet, VecDeque};

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
    compose(&state.reads, state, &pool, None).await
}

/// The pack of `pool` as `db` sees it, naming the end-of-life step it seals
/// when there is one. Whoever calls it has authorized the caller.
pub async fn compose(
    db: &impl ConnectionTrait,
    state: &AppState,
    pool: &entities::pool::Model,
    life_step: Option<Value>,
) -> AppResult<Value> {
    let scope = Scope::Pool(pool.id);

    let register = all_rows(db, scope, Table::Register).await?;
    let work_contributions = all_rows(db, scope, Table::WorkContributions).await?;
    let leases = all_rows(db, scope, Table::Leases).await?;
    let fund_applications = all_rows(db, scope, Table::FundApplications).await?;
    let ledger = ledger_entries(db, pool.id).await?;
    let events = events(db, pool.id).await?;

    let proposals: Vec<Value> = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(pool.id))
        .order_by_asc(proposal::Column::Id)
        .all(db)
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
        .one(db)
        .await?;
    let mut chain_keys: Vec<String> = Vec::new();
    for key in events.iter().filter_map(|e| e["chainKey"].as_str()) {
        if !chain_keys.iter().any(|k| k == key) {
            chain_keys.push(key.to_owned());
        }
    }
    let pool_head = events
        .last()
        .and_then(|e| e["hash"].as_str())
        .unwrap_or(chain::GENESIS)
        .to_owned();
    let mut pack = json!({
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
        "workContributions": work_contributions,
        "leases": leases,
        "fundApplications": fund_applications,
        "auditEvents": events,
        "chain": {
            "hashRecipe": "SHA-256 in lower-case hex of the compact JSON array [\"pools-audit/2\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, contentDigest, requestId] of each event's fields as they are in this pack, where contentDigest is SHA-256 in lower-case hex of the compact JSON array [contentSalt, changes, clientAddress] (a redacted event keeps its contentDigest but not its salt, and its changes and clientAddress cannot be checked); an event whose contentDigest is null follows pools-audit/1: [\"pools-audit/1\", id, chainKey, seq, prevHash, poolPrevHash, occurredAt, actorKind, actorUserId, actorTokenId, action, outcome, entityType, entityId, poolId, parentEntityId, changes, requestId, clientAddress]; each event's poolPrevHash is the previous event's hash in this pack (the first's is 64 zeros); each event's chainKey is one of chainKeys (a pool that moved has events in the chain of each parent it was under, in the order it joined them), and within one chain its events' seq increase. The README gives the details.",
            "ledgerRecipe": "each booking event's changes carry ledgerEntries: [{id, digest}], where digest is SHA-256 in lower-case hex of the compact JSON array [\"pools-ledger/1\", id, poolId, kind, amountMinor, currency, reference, description, expenseId, recordedBy, occurredAt, createdAt, category] of the entry's fields as they are in this pack; an entry with beforeBinding true was written before entries were bound and has no event",
            "chainKey": chain::chain_key(Some(pool.parent_entity_id)),
            "chainKeys": chain_keys,
            "poolHeadHash": pool_head,
            "parentHeadSeq": head.as_ref().map(|h| h.seq),
            "parentHeadHash": head.map(|h| h.hash),
        },
    });
    if let (Some(step), Some(fields)) = (life_step, pack.as_object_mut()) {
        fields.insert("lifeStep".into(), step);
    }
    Ok(pack)
}

/// The pool's events in the pool's own order, each as the recipes name its
/// fields. A pool that moved has events in several chains, whose `seq` do
/// not order them; each event's `poolPrevHash` does, so the pack follows
/// those links from the first event. Events off that path (which only
/// tampering makes) come after it, in id order, for the recipe to flag.
async fn events(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<Vec<Value>> {
    let mut all = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = audit_event::Entity::find()
            .filter(audit_event::Column::PoolId.eq(pool_id))
            .order_by_asc(audit_event::Column::Id)
            .limit(PAGE_ROWS);
        if let Some(after) = after {
            select = select.filter(audit_event::Column::Id.gt(after));
        }
        let page = select.all(db).await?;
        let full = page.len() as u64 == PAGE_ROWS;
        after = page.last().map(|e| e.id);
        all.extend(page);
        if !full {
            break;
        }
    }
    Ok(in_pool_order(all).into_iter().map(recipe_fields).collect())
}

/// Orders a pool's events by their links to each other, from the genesis
/// hash; where two claim one predecessor, the earlier by chain and `seq`
/// continues the path.
fn in_pool_order(mut events: Vec<audit_event::Model>) -> Vec<audit_event::Model> {
    events.sort_by(|a, b| (&a.chain_key, a.seq).cmp(&(&b.chain_key, b.seq)));
    let mut next: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let link = e.pool_prev_hash.clone().unwrap_or_default();
        next.entry(link).or_default().push_back(i);
    }
    let mut taken = vec![false; events.len()];
    let mut order = Vec::with_capacity(events.len());
    let mut link = chain::GENESIS.to_owned();
    while let Some(i) = next.get_mut(&link).and_then(VecDeque::pop_front) {
        taken[i] = true;
        order.push(i);
        link = events[i].hash.clone();
    }
    let mut rest: Vec<usize> = (0..events.len()).filter(|&i| !taken[i]).collect();
    rest.sort_by_key(|&i| events[i].id);
    order.extend(rest);
    let mut slots: Vec<Option<audit_event::Model>> = events.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn recipe_fields(e: audit_event::Model) -> Value {
    json!({
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
    })
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
