//! What changed in a row, from its serialised states.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// Bookkeeping columns that change with every write and say nothing.
const IGNORED: &[&str] = &["updated_at", "created_at"];

/// `{field: {before, after}}` for each field whose value differs; with no
/// `before`, every field of `after` as `{after}`. Secret columns never get
/// here: the entities skip them when serialising.
pub fn field_changes<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Map<String, Value> {
    let as_object = |v: Option<&T>| match v.map(serde_json::to_value) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    };
    let before = as_object(before);
    let after = as_object(after);
    let mut out = Map::new();
    for (field, new) in &after {
        if IGNORED.contains(&field.as_str()) {
            continue;
        }
        match before.get(field) {
            Some(old) if old == new => {}
            Some(old) => {
                out.insert(field.clone(), json!({ "before": old, "after": new }));
            }
            None if before.is_empty() => {
                out.insert(field.clone(), json!({ "after": new }));
            }
            None => {
                out.insert(field.clone(), json!({ "before": null, "after": new }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        id: u32,
        status: &'static str,
        updated_at: &'static str,
    }

    #[test]
    fn only_changed_fields_are_kept() {
        let before = Row {
            id: 1,
            status: "ACTIVE",
            updated_at: "a",
        };
        let after = Row {
            id: 1,
            status: "LEFT",
            updated_at: "b",
        };
        let changes = field_changes(Some(&before), Some(&after));
        assert_eq!(
            Value::Object(changes),
            json!({ "status": { "before": "ACTIVE", "after": "LEFT" } })
        );
    }

    #[test]
    fn a_creation_lists_every_field() {
        let row = Row {
            id: 7,
            status: "ACTIVE",
            updated_at: "a",
        };
        let changes = field_changes(None, Some(&row));
        assert_eq!(
            Value::Object(changes),
            json!({ "id": { "after": 7 }, "status": { "after": "ACTIVE" } })
        );
    }
}
