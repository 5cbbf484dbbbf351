//! A parent entity's policy for the pools under it.

use entities::parent_entity;
use serde_json::Value;

pub struct ParentPolicy {
    /// `None`: every template in the catalogue.
    pub allowed_template_ids: Option<Vec<String>>,
    /// `None`: every app in the catalogue.
    pub allowed_app_ids: Option<Vec<String>>,
    /// Whether a pool may depart from an ICA principle (then only a warning).
    pub allows_principle_exceptions: bool,
}

impl ParentPolicy {
    pub fn of(parent: &parent_entity::Model) -> Self {
        Self {
            allowed_template_ids: ids(parent.allowed_template_ids.as_ref()),
            allowed_app_ids: ids(parent.allowed_app_ids.as_ref()),
            allows_principle_exceptions: parent.allows_principle_exceptions,
        }
    }

    pub fn allows_template(&self, id: &str) -> bool {
        self.allowed_template_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == id))
    }

    pub fn allows_app(&self, id: &str) -> bool {
        self.allowed_app_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == id))
    }
}

fn ids(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}
