//! Refused mutations go into the audit trail too. A refusal rolls its
//! transaction back, so it is recorded here, after execution, in a
//! transaction of its own.
//!
//! A refusal costs its target nothing it cannot bound:
//! - What is kept is small whatever the request: who, which mutation, which
//!   object, why, and a SHA-256 digest and the size of the arguments
//!   (secrets masked before hashing), never the arguments themselves.
//! - Repeats are counted, not stored: the first refusal of one mutation to
//!   one caller in a window (`AUDIT_REFUSAL_WINDOW_SECS`) is an event; the
//!   rest of the window only counts (`audit_refusal_windows`), and the next
//!   window's event says how many there were.
//! - Whose chain: a refusal lands in the chain of the parent entity its
//!   target belongs to only when the caller belongs there too (holds or
//!   held a role, a membership or a formation under that parent). An
//!   outsider's attempts go into the platform chain, naming the target,
//!   so nobody can grow another tenant's trail from outside.

use std::collections::BTreeMap;

use async_graphql::{
    Name, Positioned, Request, Response, Value,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, Selection},
};
use chrono::{DateTime, Utc};
use entities::{audit_refusal_window, formation, membership, parent_entity_role, pool};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::{ExprTrait as _, OnConflict},
};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::RequestContext,
    error::{AppResult, code},
    services::{
        audit::{
            self, Action, Author, Change, Outcome,
            chain::{chain_key, timestamp},
            scope::{Scope, scope_of},
        },
        begin_write,
    },
    state::AppState,
};

/// Ids of the arguments tried when looking for a refusal's target.
const MAX_TARGET_IDS: usize = 4;
/// Longest reason kept.
const MAX_REASON_CHARS: usize = 300;

/// One root field of a mutation: the key it answers under, its name, the
/// ids its arguments name and a digest of them.
pub struct MutationCall {
    response_key: String,
    name: String,
    ids: Vec<Uuid>,
    arguments_sha256: String,
    arguments_bytes: usize,
}

/// The operation a request runs: its only one, the one it names, or the
/// first.
pub fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d Positioned<OperationDefinition>> {
    match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name),
            None => ops.values().next(),
        },
    }
}

/// The root fields of the operation `request` will run, with their
/// arguments resolved against the variables.
pub fn mutation_calls(request: &mut Request) -> Vec<MutationCall> {
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
    let Ok(doc) = request.parsed_query() else {
        return Vec::new();
    };
    let Some(operation) = selected_operation(doc, operation_name.as_deref()) else {
        return Vec::new();
    };
    let defaults = &operation.node.variable_definitions;
    let lookup = |name: Name| {
        variables
            .get(&name)
            .cloned()
            .or_else(|| {
                defaults
                    .iter()
                    .find(|d| d.node.name.node == name)
                    .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
            })
            .ok_or(())
    };
    let mut calls = Vec::new();
    for item in &operation.node.selection_set.node.items {
        let Selection::Field(field) = &item.node else {
            continue;
        };
        let mut arguments = Map::new();
        for (name, value) in &field.node.arguments {
            let value = value
                .node
                .clone()
                .into_const_with(&lookup)
                .unwrap_or(Value::Null);
            arguments.insert(
                name.node.to_string(),
                masked(value.into_json().unwrap_or_default()),
            );
        }
        let arguments = Json::Object(arguments);
        let mut ids = Vec::new();
        collect_ids(&arguments, &mut ids);
        let bytes = serde_json::to_vec(&arguments).unwrap_or_default();
        calls.push(MutationCall {
            response_key: field.node.response_key().node.to_string(),
            name: field.node.name.node.to_string(),
            ids,
            arguments_sha256: hex::encode(Sha256::digest(&bytes)),
            arguments_bytes: bytes.len(),
        });
    }
    calls
}

/// Records each call the response refused with `FORBIDDEN`. Failing to
/// record is logged, never turned into an error for the caller.
pub async fn record_refusals(
    state: &AppState,
    author: &Author,
    calls: &[MutationCall],
    response: &Response,
) {
    // One record per mutation name and request, however many aliases.
    let mut denied: BTreeMap<&str, (&MutationCall, &str, i64)> = BTreeMap::new();
    for err in &response.errors {
        let refused = err
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .is_some_and(|c| *c == Value::from(code::FORBIDDEN));
        if !refused {
            continue;
        }
        // Only the mutation's own refusal: a field deeper in the result of a
        // mutation that went through may be refused on its own.
        let [async_graphql::PathSegment::Field(key)] = err.path.as_slice() else {
            continue;
        };
        let Some(call) = calls.iter().find(|c| &c.response_key == key) else {
            continue;
        };
        denied
            .entry(call.name.as_str())
            .or_insert((call, err.message.as_str(), 0))
            .2 += 1;
    }
    for (call, reason, count) in denied.into_values() {
        if let Err(e) = record(state, author.clone(), call, reason, count).await {
            tracing::error!(error = ?e, mutation = %call.name, "recording a refused mutation failed");
        }
    }
}

/// Who made a request: the caller, or an anonymous one for a request
/// without a valid token.
pub async fn author_of(state: &AppState, context: &RequestContext) -> Author {
    match context.actor(state).await {
        Ok(Some(actor)) => Author::from(actor),
        _ => Author::anonymous(&context.origin),
    }
}

async fn record(
    state: &AppState,
    author: Author,
    call: &MutationCall,
    reason: &str,
    count: i64,
) -> AppResult<()> {
    // Found before the write transaction, which on SQLite locks the database.
    let mut target: Option<(Uuid, Scope)> = None;
    for id in call.ids.iter().take(MAX_TARGET_IDS) {
        if let Some(found) = scope_of(&state.db, *id).await? {
            target = Some((*id, found));
            break;
        }
    }
    let insider = match (&target, author.user_id) {
        (Some((_, scope)), Some(user)) => {
            belongs_to(&state.db, user, scope.parent_entity_id).await?
        }
        _ => false,
    };
    let actor_key = match author.user_id {
        Some(user) => format!("user:{user}"),
        None => format!(
            "address:{}",
            author.origin.client_address.as_deref().unwrap_or_default()
        ),
    };
    let now = Utc::now();
    let window = state.config.audit_refusal_window;
    let window_start = window_start(now, window);
    let mut change = Change {
        action: Action::denied(&call.name),
        entity_type: "Mutation",
        entity_id: None,
        pool_id: None,
        parent_entity_id: None,
        outcome: Outcome::Denied,
        changes: Map::new(),
        ledger_entries: Vec::new(),
        arrives_from: None,
    }
    .with("mutation", call.name.as_str())
    .with(
        "reason",
        reason.chars().take(MAX_REASON_CHARS).collect::<String>(),
    )
    .with("argumentsSha256", call.arguments_sha256.as_str())
    .with("argumentsBytes", call.arguments_bytes as i64)
    .with(
        "window",
        serde_json::json!({ "start": timestamp(window_start), "seconds": window.as_secs() }),
    );
    if let Some((id, scope)) = target {
        change.entity_type = scope.entity_type;
        change.entity_id = Some(id);
        if insider {
            change.pool_id = scope.pool_id;
            change.parent_entity_id = Some(scope.parent_entity_id);
        }
    }
    let chain = chain_key(change.parent_entity_id);
    let txn = begin_write(&state.db).await?;
    let opened = audit_refusal_window::Entity::insert(audit_refusal_window::ActiveModel {
        chain_key: Set(chain.clone()),
        actor_key: Set(actor_key.clone()),
        mutation: Set(call.name.clone()),
        window_start: Set(window_start),
        refusals: Set(count),
        event_id: Set(None),
        last_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            audit_refusal_window::Column::ChainKey,
            audit_refusal_window::Column::ActorKey,
            audit_refusal_window::Column::Mutation,
            audit_refusal_window::Column::WindowStart,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let key = (chain, actor_key, call.name.clone(), window_start);
    if opened == 0 {
        // Not the window's first: count it, nothing more.
        audit_refusal_window::Entity::update_many()
            .col_expr(
                audit_refusal_window::Column::Refusals,
                sea_orm::sea_query::Expr::col(audit_refusal_window::Column::Refusals).add(count),
            )
            .col_expr(audit_refusal_window::Column::LastAt, now.into())
            .filter(audit_refusal_window::Column::ChainKey.eq(key.0.as_str()))
            .filter(audit_refusal_window::Column::ActorKey.eq(key.1.as_str()))
            .filter(audit_refusal_window::Column::Mutation.eq(key.2.as_str()))
            .filter(audit_refusal_window::Column::WindowStart.eq(key.3))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(());
    }
    let window_len = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(1));
    if let Some(previous) = audit_refusal_window::Entity::find_by_id((
        key.0.clone(),
        key.1.clone(),
        key.2.clone(),
        window_start - window_len,
    ))
    .one(&txn)
    .await?
    {
        change = change.with("refusalsInPreviousWindow", previous.refusals);
    }
    if count > 1 {
        change = change.with("refusalsInRequest", count);
    }
    let event = audit::record(&txn, author, change).await?;
    let mut row: audit_refusal_window::ActiveModel = audit_refusal_window::ActiveModel {
        chain_key: Set(key.0),
        actor_key: Set(key.1),
        mutation: Set(key.2),
        window_start: Set(key.3),
        ..Default::default()
    };
    row.event_id = Set(Some(event.id));
    row.update(&txn).await?;
    // Counts older than a month have served their purpose.
    audit_refusal_window::Entity::delete_many()
        .filter(audit_refusal_window::Column::WindowStart.lt(now - chrono::Duration::days(31)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The start of the fixed window `now` falls in.
fn window_start(now: DateTime<Utc>, window: std::time::Duration) -> DateTime<Utc> {
    let secs = Ord::max(window.as_secs(), 1) as i64;
    let start = now.timestamp().div_euclid(secs) * secs;
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

/// Whether a person has, or had, anything to do with a parent entity: a
/// role, a membership in one of its pools, or a formation under it.
async fn belongs_to(db: &impl ConnectionTrait, user: Uuid, parent: Uuid) -> AppResult<bool> {
    let roles = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent))
        .filter(parent_entity_role::Column::UserId.eq(user))
        .count(db)
        .await?;
    if roles > 0 {
        return Ok(true);
    }
    let formations = formation::Entity::find()
        .filter(formation::Column::ParentEntityId.eq(parent))
        .filter(formation::Column::FounderId.eq(user))
        .count(db)
        .await?;
    if formations > 0 {
        return Ok(true);
    }
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .filter(
            membership::Column::PoolId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(pool::Column::Id)
                    .from(pool::Entity)
                    .and_where(pool::Column::ParentEntityId.eq(parent))
                    .to_owned(),
            ),
        )
        .count(db)
        .await?;
    Ok(memberships > 0)
}

/// Argument names whose values are never written down.
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "token", "secret", "paymentmethod"]
        .iter()
        .any(|s| name.contains(s))
}

fn masked(value: Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret(&k) {
                        Json::from("[masked]")
                    } else {
                        masked(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

fn collect_ids(value: &Json, out: &mut Vec<Uuid>) {
    if out.len() >= MAX_TARGET_IDS {
        return;
    }
    match value {
        Json::String(s) => {
            if let Ok(id) = Uuid::parse_str(s)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        Json::Object(map) => map.values().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let args = json!({ "input": { "email": "a@b.c", "password": "hunter22", "nested": [{ "token": "x" }] } });
        assert_eq!(
            masked(args),
            json!({ "input": { "email": "a@b.c", "password": "[masked]", "nested": [{ "token": "[masked]" }] } })
        );
    }

    #[test]
    fn windows_are_fixed_and_aligned() {
        let hour = std::time::Duration::from_secs(3600);
        let t = DateTime::parse_from_rfc3339("2026-12-02T10:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            timestamp(window_start(t, hour)),
            "2026-12-02T10:00:00.000000Z"
        );
        let next = t + chrono::Duration::seconds(1);
        assert_eq!(
            timestamp(window_start(next, hour)),
            "2026-12-02T11:00:00.000000Z"
        );
    }

    #[test]
    fn only_a_few_ids_are_taken_from_huge_arguments() {
        let many: Vec<String> = (0..1000).map(|_| Uuid::now_v7().to_string()).collect();
        let mut ids = Vec::new();
        collect_ids(&json!({ "ids": many }), &mut ids);
        assert_eq!(ids.len(), MAX_TARGET_IDS);
    }

    #[test]
    fn ids_are_found_in_nested_arguments() {
        let id = Uuid::now_v7();
        let mut ids = Vec::new();
        collect_ids(
            &json!({ "input": { "poolId": id.to_string(), "note": "x" } }),
            &mut ids,
        );
        assert_eq!(ids, vec![id]);
    }
}
