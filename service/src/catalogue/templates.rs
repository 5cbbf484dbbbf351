//! Legal templates: a legal form and model rules for one jurisdiction, with
//! the facts that constrain a formation. `None` means "not known", never a guess.

use entities::stakeholder_group::StakeholderKind;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateKind {
    /// A registered legal entity of its own.
    Incorporated,
    /// A pool inside the parent: no registration, the parent's rules apply.
    PoolInsideParent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SurplusDistribution {
    Allowed,
    Limited,
    Prohibited,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VotingRule {
    /// One member, one vote: the co-operative default.
    OneMemberOneVote,
    /// Each stakeholder group's result counts by its voting weight.
    WeightedByGroup,
}

/// What a co-op is for, to match templates with founders' aims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Objective {
    WorkerOwnership,
    ConsumerOwnership,
    ProducerOwnership,
    MultiStakeholder,
    CommunityBenefit,
    SelfEmployment,
    Investment,
    Any,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MinShareCapital {
    /// Minor units.
    pub amount: i64,
    pub currency: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegalTemplate {
    pub id: String,
    pub version: i32,
    pub name: String,
    pub kind: TemplateKind,
    /// ISO 3166-1 alpha-2; `None` for the pool template, valid anywhere.
    pub jurisdiction: Option<String>,
    /// ISO 3166-2 subdivision suffix, for regional laws.
    pub region: Option<String>,
    pub legal_form: String,
    pub model_rules: Option<String>,
    pub min_founding_members: Option<u32>,
    /// `None`: not restricted, or not known.
    pub allowed_stakeholder_kinds: Option<Vec<StakeholderKind>>,
    pub required_stakeholder_kinds: Vec<StakeholderKind>,
    pub investor_members_allowed: Option<bool>,
    pub surplus_distribution: Option<SurplusDistribution>,
    pub asset_lock: Option<bool>,
    pub min_share_capital: Option<MinShareCapital>,
    pub voting_rule: Option<VotingRule>,
    pub registration_required: bool,
    pub registering_authority: Option<String>,
    /// The statute or model rules the template rests on.
    pub citation: String,
    pub objectives: Vec<Objective>,
    pub summary: String,
    pub dissolution_clause: Option<String>,
}

impl LegalTemplate {
    pub(super) fn check(&self) -> Result<(), String> {
        if self.citation.trim().is_empty() {
            return Err("citation is empty".into());
        }
        if self.objectives.is_empty() {
            return Err("objectives is empty".into());
        }
        match (&self.jurisdiction, self.kind) {
            (None, TemplateKind::Incorporated) => {
                return Err("an incorporated form needs a jurisdiction".into());
            }
            (Some(j), _) if isocountry::CountryCode::for_alpha2(j).is_err() => {
                return Err(format!("jurisdiction `{j}` is not ISO 3166-1 alpha-2"));
            }
            _ => {}
        }
        if let Some(capital) = &self.min_share_capital
            && (capital.amount < 0
                || iso_currency::Currency::from_code(&capital.currency).is_none())
        {
            return Err(
                "minShareCapital needs a non-negative amount and an ISO 4217 currency".into(),
            );
        }
        if let Some(allowed) = &self.allowed_stakeholder_kinds
            && let Some(k) = self
                .required_stakeholder_kinds
                .iter()
                .find(|k| !allowed.contains(k))
        {
            return Err(format!("requires {k:?} but does not allow it"));
        }
        Ok(())
    }

    /// Whether a formation under a parent in `parent_jurisdiction` may use it.
    pub fn fits_jurisdiction(&self, parent_jurisdiction: &str) -> bool {
        self.jurisdiction
            .as_deref()
            .is_none_or(|j| j == parent_jurisdiction)
    }
}
