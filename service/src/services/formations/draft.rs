//! A formation read into typed steps. The JSON columns hold these shapes.

use std::collections::BTreeMap;

use entities::{
    formation, formation_founding_member,
    stakeholder_group::{Admission, StakeholderKind},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftGroup {
    pub key: String,
    pub name: String,
    pub kind: StakeholderKind,
    pub voting_weight: i32,
    /// Minor units of the formation's currency.
    pub share_price: Option<i64>,
    pub admission: Admission,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinancialProfile {
    pub distributes_surplus: bool,
    pub raises_share_capital: bool,
    pub accepts_investor_members: bool,
    pub trades_with_public: bool,
    /// ISO 4217.
    pub currency: String,
}

/// Which app role each kind of member gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleMapping {
    /// Role of pool admins.
    pub admins: String,
    /// Stakeholder group key → role; groups not listed get the app's default member role.
    pub groups: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    /// As the founder entered them (defaults are filled in when read).
    pub settings: Value,
    pub role_mapping: RoleMapping,
}

/// Everything entered so far.
#[derive(Clone, Debug)]
pub struct Draft {
    pub formation: formation::Model,
    pub groups: Option<Vec<DraftGroup>>,
    /// `None` until `setFoundingMembers` has been called.
    pub members: Option<Vec<formation_founding_member::Model>>,
    pub finances: Option<FinancialProfile>,
    pub app_ids: Option<Vec<String>>,
    pub app_configs: BTreeMap<String, AppConfig>,
}

impl Draft {
    pub fn read(
        formation: formation::Model,
        members: Vec<formation_founding_member::Model>,
    ) -> AppResult<Self> {
        Ok(Self {
            groups: decode(formation.stakeholder_groups.clone())?,
            members: formation.founding_members_set.then_some(members),
            finances: decode(formation.financial_profile.clone())?,
            app_ids: decode(formation.app_ids.clone())?,
            app_configs: decode(Some(formation.app_configs.clone()))?.unwrap_or_default(),
            formation,
        })
    }

    pub fn group(&self, key: &str) -> Option<&DraftGroup> {
        self.groups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|g| g.key == key)
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: Option<Value>) -> AppResult<Option<T>> {
    value
        .filter(|v| !v.is_null())
        .map(|v| {
            serde_json::from_value(v).map_err(|e| {
                AppError::internal(anyhow::anyhow!("stored formation step unreadable: {e}"))
            })
        })
        .transpose()
}

pub fn encode<T: Serialize>(value: &T) -> AppResult<Value> {
    serde_json::to_value(value).map_err(AppError::internal)
}

/// Groups and finances for the unit tests of the formation's rules.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;

    /// An open group with no share price.
    pub fn group(key: &str, kind: StakeholderKind, voting_weight: i32) -> DraftGroup {
        DraftGroup {
            key: key.to_owned(),
            name: key.to_owned(),
            kind,
            voting_weight,
            share_price: None,
            admission: Admission::Open,
        }
    }

    /// A profile in EUR, trading with the public.
    pub fn finances(surplus: bool, capital: bool, investors: bool) -> FinancialProfile {
        FinancialProfile {
            distributes_surplus: surplus,
            raises_share_capital: capital,
            accepts_investor_members: investors,
            trades_with_public: true,
            currency: "EUR".to_owned(),
        }
    }
}
