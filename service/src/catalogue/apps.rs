//! App manifests: what an app is, the roles it offers, and the JSON Schema
//! its settings are validated against.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppCategory {
    FilesAndOffice,
    Forum,
    DecisionMaking,
    Meetings,
    Chat,
    Social,
    Budgeting,
    ProjectBoards,
    Website,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppManifest {
    pub id: String,
    /// Version of the manifest (and so of its settings schema).
    pub version: String,
    pub name: String,
    pub category: AppCategory,
    /// SPDX licence id.
    pub licence: String,
    pub homepage: String,
    pub description: String,
    /// Roles a person can have in the app, such as `admin`, `member`, `guest`.
    pub roles: Vec<String>,
    /// The role members get unless the founder maps their group otherwise.
    pub default_member_role: String,
    pub settings_schema: Value,
}

/// A manifest with its compiled settings validator.
pub struct App {
    pub manifest: AppManifest,
    validator: jsonschema::Validator,
}

/// The role that pool admins get in every app.
pub const ADMIN_ROLE: &str = "admin";

impl App {
    pub(super) fn new(manifest: AppManifest) -> Result<Self, String> {
        let validator = jsonschema::validator_for(&manifest.settings_schema)
            .map_err(|e| format!("settingsSchema is not a valid JSON Schema: {e}"))?;
        if !manifest.roles.iter().any(|r| r == ADMIN_ROLE) {
            return Err("roles must include `admin`".into());
        }
        if !manifest.roles.contains(&manifest.default_member_role) {
            return Err("defaultMemberRole must be one of roles".into());
        }
        if !manifest.homepage.starts_with("https://") {
            return Err("homepage must be an https URL".into());
        }
        let app = Self {
            manifest,
            validator,
        };
        app.validate_settings(&Value::Object(Map::new()))
            .map_err(|errors| format!("the defaults alone do not validate: {errors:?}"))?;
        Ok(app)
    }

    /// The settings with the schema's defaults filled in, or every error with
    /// its path below `settings`.
    pub fn validate_settings(&self, settings: &Value) -> Result<Value, Vec<FieldError>> {
        let mut filled = settings.clone();
        apply_defaults(&self.manifest.settings_schema, &mut filled);
        let errors: Vec<FieldError> = self
            .validator
            .iter_errors(&filled)
            .map(|e| FieldError::new(settings_path(&e.instance_path().to_string()), e.to_string()))
            .collect();
        if errors.is_empty() {
            Ok(filled)
        } else {
            Err(errors)
        }
    }

    /// The defaults alone.
    pub fn default_settings(&self) -> Value {
        let mut v = Value::Object(Map::new());
        apply_defaults(&self.manifest.settings_schema, &mut v);
        v
    }
}

/// Fills in `default`s of an object schema's properties, recursively.
fn apply_defaults(schema: &Value, value: &mut Value) {
    let (Some(properties), Value::Object(object)) =
        (schema.get("properties").and_then(Value::as_object), value)
    else {
        return;
    };
    for (name, property) in properties {
        if !object.contains_key(name) {
            if let Some(default) = property.get("default") {
                object.insert(name.clone(), default.clone());
            } else if property.get("properties").is_some() {
                object.insert(name.clone(), Value::Object(Map::new()));
            }
        }
        if let Some(child) = object.get_mut(name) {
            apply_defaults(property, child);
        }
    }
}

/// `/notifications/digest` → `settings.notifications.digest`; `/tags/0` → `settings.tags[0]`.
fn settings_path(pointer: &str) -> String {
    let mut path = String::from("settings");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn app() -> App {
        App::new(AppManifest {
            id: "demo".into(),
            version: "1.0.0".into(),
            name: "Demo".into(),
            category: AppCategory::Forum,
            licence: "MIT".into(),
            homepage: "https://example.org".into(),
            description: "A demo.".into(),
            roles: vec!["admin".into(), "member".into()],
            default_member_role: "member".into(),
            settings_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "quota": { "type": "integer", "minimum": 1, "default": 5 },
                    "mail": { "type": "object", "additionalProperties": false,
                              "properties": { "digest": { "enum": ["daily", "weekly"], "default": "weekly" } } }
                }
            }),
        })
        .unwrap()
    }

    #[test]
    fn defaults_fill_what_is_missing() {
        let filled = app().validate_settings(&json!({ "quota": 9 })).unwrap();
        assert_eq!(
            filled,
            json!({ "quota": 9, "mail": { "digest": "weekly" } })
        );
    }

    #[test]
    fn errors_carry_json_paths() {
        let errors = app()
            .validate_settings(&json!({ "quota": 0, "mail": { "digest": "hourly" } }))
            .unwrap_err();
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"settings.quota"), "{paths:?}");
        assert!(paths.contains(&"settings.mail.digest"), "{paths:?}");
    }

    #[test]
    fn pointers_become_paths() {
        assert_eq!(settings_path(""), "settings");
        assert_eq!(settings_path("/a/0/b"), "settings.a[0].b");
    }
}
