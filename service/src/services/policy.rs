//! A parent entity's policy for the pools under it.

use entities::parent_entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub struct ParentPolicy {
    /// `None`: every template in the catalogue.
    pub allowed_template_ids: Option<Vec<String>>,
    /// `None`: every app in the catalogue.
    pub allowed_app_ids: Option<Vec<String>>,
    /// Whether a pool may depart from an ICA principle (then only a warning).
    pub allows_principle_exceptions: bool,
    pub rules_changes: RulesChangePolicy,
}

impl ParentPolicy {
    pub fn of(parent: &parent_entity::Model) -> Self {
        Self {
            allowed_template_ids: ids(parent.allowed_template_ids.as_ref()),
            allowed_app_ids: ids(parent.allowed_app_ids.as_ref()),
            allows_principle_exceptions: parent.allows_principle_exceptions,
            rules_changes: RulesChangePolicy::of(parent),
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

/// What kind of change: what a parent's policy names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleChangeKind {
    AddGroup,
    RenameGroup,
    RetireGroup,
    SetVotingWeight,
    SetAdmission,
    SetQuorum,
    SetPassThreshold,
    SetAmendmentThreshold,
    SetVotingPeriod,
    SetExpensePolicy,
    SetContributionBounds,
    SetAssetLock,
    SetSurplusDistribution,
    SetCodeOfConduct,
    SetWorkContributionRules,
}

/// Which kinds of change the parent forbids, and which wait for a steward.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesChangePolicy {
    #[serde(default)]
    pub forbidden: Vec<RuleChangeKind>,
    #[serde(default)]
    pub needs_approval: Vec<RuleChangeKind>,
}

impl RulesChangePolicy {
    /// The parent's policy; none set forbids nothing and approves everything.
    pub fn of(parent: &parent_entity::Model) -> Self {
        parent
            .rules_change_policy
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> Option<serde_json::Value> {
        (self != &Self::default()).then(|| serde_json::to_value(self).unwrap_or_default())
    }
}
