//! JSON a caller sends (app settings): bounded in size, and free of NUL in
//! every string and key, which PostgreSQL's `jsonb` cannot store.

use serde_json::Value;

use crate::error::FieldError;

/// The largest JSON value accepted for one field, serialised.
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// Every problem of `value`, each with the path below `path`
/// (`input.settings.mail.digest`, `input.settings.tags[0]`).
pub fn check_json(value: &Value, path: &str) -> Vec<FieldError> {
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > MAX_JSON_BYTES {
        return vec![FieldError::new(
            path,
            format!("must be at most {MAX_JSON_BYTES} bytes as JSON"),
        )];
    }
    let mut errors = Vec::new();
    walk(value, path.to_owned(), &mut errors);
    errors
}

const NUL: &str = "must not contain NUL characters (\\u0000)";

fn walk(value: &Value, path: String, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(s) if s.contains('\0') => errors.push(FieldError::new(path, NUL)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if key.contains('\0') {
                    errors.push(FieldError::new(
                        path.clone(),
                        format!("has a key that {NUL}: `{}`", key.escape_debug()),
                    ));
                } else {
                    walk(item, format!("{path}.{key}"), errors);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_found_anywhere_with_its_path() {
        let v = json!({"a": {"b": ["ok", "x\u{0}y"]}, "c\u{0}": 1, "d": "fine\nline"});
        let errors = check_json(&v, "input.settings");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["input.settings.a.b[1]", "input.settings"],
            "{errors:?}"
        );
        assert!(check_json(&json!({"quota": 5, "name": "ok"}), "input.settings").is_empty());
    }

    #[test]
    fn size_is_bounded() {
        let big = json!({ "text": "a".repeat(MAX_JSON_BYTES) });
        assert_eq!(check_json(&big, "input.settings")[0].path, "input.settings");
    }
}
