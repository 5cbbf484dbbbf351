//! Legal templates: a legal form and model rules for one jurisdiction, with
//! the facts that constrain a formation. `None` means "not known", never a
//! guess, and every fact that is known names the article or section of the
//! statute that sets it.

use std::collections::BTreeMap;

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

/// What the law lets a co-op of this form do with its surplus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SurplusDistribution {
    /// Surplus may be shared among the members.
    Allowed,
    /// Only within limits the law sets (after reserves, by participation, capped).
    Limited,
    /// Never shared among the members.
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

/// A fact of a template that a statute sets, and that a citation backs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, async_graphql::Enum,
)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "TemplateFact")]
pub enum Fact {
    /// `minFoundingMembers`
    MinFoundingMembers,
    /// `investorMembersAllowed`
    InvestorMembersAllowed,
    /// `surplusDistribution`
    SurplusDistribution,
    /// `assetLock`
    AssetLock,
    /// `minShareCapital`
    MinShareCapital,
    /// `reserveFundPercent`
    ReserveFundPercent,
    /// `votingRule`
    VotingRule,
}

impl Fact {
    pub const ALL: [Fact; 7] = [
        Fact::MinFoundingMembers,
        Fact::InvestorMembersAllowed,
        Fact::SurplusDistribution,
        Fact::AssetLock,
        Fact::MinShareCapital,
        Fact::ReserveFundPercent,
        Fact::VotingRule,
    ];

    /// The name the data files and the API give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fact::MinFoundingMembers => "minFoundingMembers",
            Fact::InvestorMembersAllowed => "investorMembersAllowed",
            Fact::SurplusDistribution => "surplusDistribution",
            Fact::AssetLock => "assetLock",
            Fact::MinShareCapital => "minShareCapital",
            Fact::ReserveFundPercent => "reserveFundPercent",
            Fact::VotingRule => "votingRule",
        }
    }
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
    /// The least share of each year's surplus the law sends to a reserve
    /// the members cannot share; `None` when the law sets no share or it is
    /// not known.
    pub reserve_fund_percent: Option<u8>,
    pub voting_rule: Option<VotingRule>,
    pub registration_required: bool,
    pub registering_authority: Option<String>,
    /// The statute or model rules the template rests on, as a whole.
    pub citation: String,
    /// The article or section that sets each known fact.
    pub citations: BTreeMap<Fact, String>,
    pub objectives: Vec<Objective>,
    pub summary: String,
    pub dissolution_clause: Option<String>,
}

impl LegalTemplate {
    pub(super) fn check(&self) -> Result<(), String> {
        if self.citation.trim().is_empty() {
            return Err("citation is empty".into());
        }
        for fact in Fact::ALL {
            let cited = self.citations.get(&fact);
            match (self.knows(fact), cited) {
                (true, None) => {
                    return Err(format!("{} is set but cites no article", fact.as_str()));
                }
                (false, Some(_)) => {
                    return Err(format!(
                        "cites an article for {}, which it leaves unknown",
                        fact.as_str()
                    ));
                }
                (_, Some(c)) if c.trim().is_empty() => {
                    return Err(format!("the citation of {} is empty", fact.as_str()));
                }
                _ => {}
            }
        }
        if self
            .reserve_fund_percent
            .is_some_and(|p| !(1..=100).contains(&p))
        {
            return Err("reserveFundPercent must be between 1 and 100".into());
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

    /// Whether the template states `fact` (rather than leaving it unknown).
    pub fn knows(&self, fact: Fact) -> bool {
        match fact {
            Fact::MinFoundingMembers => self.min_founding_members.is_some(),
            Fact::InvestorMembersAllowed => self.investor_members_allowed.is_some(),
            Fact::SurplusDistribution => self.surplus_distribution.is_some(),
            Fact::AssetLock => self.asset_lock.is_some(),
            Fact::MinShareCapital => self.min_share_capital.is_some(),
            Fact::ReserveFundPercent => self.reserve_fund_percent.is_some(),
            Fact::VotingRule => self.voting_rule.is_some(),
        }
    }

    /// The article or section that sets `fact`, if the template knows it.
    pub fn cites(&self, fact: Fact) -> Option<&str> {
        self.citations.get(&fact).map(String::as_str)
    }

    /// Whether a formation under a parent in `parent_jurisdiction` may use it.
    pub fn fits_jurisdiction(&self, parent_jurisdiction: &str) -> bool {
        self.jurisdiction
            .as_deref()
            .is_none_or(|j| j == parent_jurisdiction)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A template that passes the check: two facts, each with its article.
    fn valid() -> Value {
        json!({
            "id": "xx-test", "version": 1, "name": "Test co-operative", "kind": "INCORPORATED",
            "jurisdiction": "ES", "region": null, "legalForm": "Cooperativa", "modelRules": null,
            "minFoundingMembers": 3, "allowedStakeholderKinds": null, "requiredStakeholderKinds": [],
            "investorMembersAllowed": null, "surplusDistribution": null, "assetLock": null,
            "minShareCapital": null, "reserveFundPercent": 20, "votingRule": null,
            "registrationRequired": true, "registeringAuthority": null,
            "citation": "Ley 27/1999, de 16 de julio, de Cooperativas",
            "citations": { "minFoundingMembers": "Ley 27/1999, art. 8", "reserveFundPercent": "Ley 27/1999, art. 58.1" },
            "objectives": ["ANY"], "summary": "A test.", "dissolutionClause": null
        })
    }

    fn check(v: Value) -> Result<(), String> {
        let t: LegalTemplate = serde_json::from_value(v).map_err(|e| e.to_string())?;
        t.check()
    }

    /// Why the valid template, changed by `change`, is refused.
    fn refusal(change: impl FnOnce(&mut Value)) -> String {
        let mut v = valid();
        change(&mut v);
        check(v).expect_err("refused")
    }

    #[test]
    fn a_template_citing_each_fact_it_states_passes() {
        assert_eq!(check(valid()), Ok(()));
    }

    #[test]
    fn a_fact_without_its_article_is_refused() {
        let err = refusal(|v| v["assetLock"] = json!(true));
        assert_eq!(err, "assetLock is set but cites no article");
    }

    #[test]
    fn an_article_for_a_fact_left_unknown_is_refused() {
        let err = refusal(|v| v["citations"]["votingRule"] = json!("Ley 27/1999, art. 26"));
        assert_eq!(
            err,
            "cites an article for votingRule, which it leaves unknown"
        );
    }

    #[test]
    fn an_article_for_no_fact_at_all_is_refused() {
        let err = refusal(|v| v["citations"]["quorum"] = json!("art. 1"));
        assert!(err.contains("unknown variant `quorum`"), "{err}");
    }

    #[test]
    fn an_empty_article_is_refused() {
        let err = refusal(|v| v["citations"]["minFoundingMembers"] = json!("  "));
        assert_eq!(err, "the citation of minFoundingMembers is empty");
    }

    #[test]
    fn a_reserve_share_beyond_the_whole_is_refused() {
        let err = refusal(|v| v["reserveFundPercent"] = json!(120));
        assert_eq!(err, "reserveFundPercent must be between 1 and 100");
    }
}
