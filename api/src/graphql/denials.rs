//! Refused mutations go into the audit trail too. A refusal rolls its
//! transaction back, so it is recorded here, after execution, in a
//! transaction of its own: the mutation's name, its arguments (secrets
//! masked) and the reason, in the chain of whatever the arguments name.

use async_graphql::{
    Name, Positioned, Request, Response, Value,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, Selection},
};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::{
    auth::RequestContext,
    error::code,
    services::{
        audit::{self, Author, Change, Outcome, scope::scope_of},
        begin_write,
    },
    state::AppState,
};

/// One root field of a mutation: the key it answers under, and its call.
pub struct MutationCall {
    response_key: String,
    name: String,
    arguments: Json,
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
        calls.push(MutationCall {
            response_key: field.node.response_key().node.to_string(),
            name: field.node.name.node.to_string(),
            arguments: Json::Object(arguments),
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
        if let Err(e) = record(state, author.clone(), call, &err.message).await {
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
) -> crate::error::AppResult<()> {
    let mut ids = Vec::new();
    collect_ids(&call.arguments, &mut ids);
    // Found before the write transaction, which on SQLite locks the database.
    let mut scope = None;
    for id in &ids {
        if let Some(found) = scope_of(&state.db, *id).await? {
            scope = Some((*id, found));
            break;
        }
    }
    let txn = begin_write(&state.db).await?;
    let mut change = Change {
        action: format!("{}.denied", call.name),
        entity_type: "Mutation",
        entity_id: None,
        pool_id: None,
        parent_entity_id: None,
        outcome: Outcome::Denied,
        changes: Map::new(),
    }
    .with("mutation", call.name.as_str())
    .with("arguments", call.arguments.clone())
    .with("reason", reason);
    if let Some((id, found)) = scope {
        change.entity_type = found.entity_type;
        change.entity_id = Some(id);
        change.pool_id = found.pool_id;
        change.parent_entity_id = Some(found.parent_entity_id);
    }
    audit::record(&txn, author, change).await?;
    txn.commit().await?;
    Ok(())
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
    match value {
        Json::String(s) => {
            if let Ok(id) = Uuid::parse_str(s) {
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
