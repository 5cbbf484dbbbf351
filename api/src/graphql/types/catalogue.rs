use async_graphql::{ID, Json, Object, SimpleObject};

use crate::{
    catalogue::{
        AppCategory, AppManifest, Objective, SurplusDistribution, TemplateKind, VotingRule,
    },
    domain::MoneyTotal,
    graphql::types::StakeholderKind,
    services::formations::{names::NameAvailability as Availability, recommend::Recommendation},
};

/// An amount of money: minor units (cents) and an ISO 4217 currency.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// Minor units, such as cents. A total beyond what an `Int` of 64 bits
    /// holds (±9223372036854775807) is shown at that bound, with
    /// `saturated` true.
    pub amount: i64,
    pub currency: String,
    /// The exact figure lies beyond `amount`'s range; `amount` is the
    /// bound on its side. Only a total can be: each entry is at most 10^13.
    pub saturated: bool,
}

impl Money {
    /// One stored amount.
    pub fn new(amount: i64, currency: String) -> Self {
        Self {
            amount,
            currency,
            saturated: false,
        }
    }

    /// A sum of amounts, saturated if it must be.
    pub fn total(total: MoneyTotal, currency: String) -> Self {
        let (amount, saturated) = total.shown();
        Self {
            amount,
            currency,
            saturated,
        }
    }
}

/// Shows several totals as `Int`s, remembering whether any was cut to fit.
#[derive(Default)]
pub struct Saturation(bool);

impl Saturation {
    pub fn show(&mut self, total: MoneyTotal) -> i64 {
        let (amount, saturated) = total.shown();
        self.0 |= saturated;
        amount
    }

    pub fn any(&self) -> bool {
        self.0
    }
}

/// A legal form and model rules for one jurisdiction, with the facts that
/// constrain a formation. A `null` fact is not known, not "none".
#[derive(Clone)]
pub struct LegalTemplate(pub crate::catalogue::LegalTemplate);

#[Object]
impl LegalTemplate {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> TemplateKind {
        self.0.kind
    }
    /// ISO 3166-1 alpha-2; `null` for the pool template, valid anywhere.
    async fn jurisdiction(&self) -> Option<&str> {
        self.0.jurisdiction.as_deref()
    }
    /// ISO 3166-2 subdivision, for regional laws.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    async fn legal_form(&self) -> &str {
        &self.0.legal_form
    }
    async fn model_rules(&self) -> Option<&str> {
        self.0.model_rules.as_deref()
    }
    async fn min_founding_members(&self) -> Option<u32> {
        self.0.min_founding_members
    }
    /// `null`: not restricted, or not known.
    async fn allowed_stakeholder_kinds(&self) -> Option<Vec<StakeholderKind>> {
        self.0
            .allowed_stakeholder_kinds
            .as_ref()
            .map(|k| k.iter().map(|k| (*k).into()).collect())
    }
    async fn required_stakeholder_kinds(&self) -> Vec<StakeholderKind> {
        self.0
            .required_stakeholder_kinds
            .iter()
            .map(|k| (*k).into())
            .collect()
    }
    async fn investor_members_allowed(&self) -> Option<bool> {
        self.0.investor_members_allowed
    }
    async fn surplus_distribution(&self) -> Option<SurplusDistribution> {
        self.0.surplus_distribution
    }
    async fn asset_lock(&self) -> Option<bool> {
        self.0.asset_lock
    }
    async fn min_share_capital(&self) -> Option<Money> {
        self.0
            .min_share_capital
            .as_ref()
            .map(|m| Money::new(m.amount, m.currency.clone()))
    }
    async fn voting_rule(&self) -> Option<VotingRule> {
        self.0.voting_rule
    }
    async fn registration_required(&self) -> bool {
        self.0.registration_required
    }
    async fn registering_authority(&self) -> Option<&str> {
        self.0.registering_authority.as_deref()
    }
    /// The statute or model rules the template rests on.
    async fn citation(&self) -> &str {
        &self.0.citation
    }
    async fn objectives(&self) -> &[Objective] {
        &self.0.objectives
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
}

/// An app from the open app catalogue.
#[derive(Clone)]
pub struct App(pub AppManifest);

#[Object]
impl App {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Version of the manifest and its settings schema.
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn category(&self) -> AppCategory {
        self.0.category
    }
    /// SPDX licence identifier.
    async fn licence(&self) -> &str {
        &self.0.licence
    }
    async fn homepage(&self) -> &str {
        &self.0.homepage
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Roles a person can have in the app.
    async fn roles(&self) -> &[String] {
        &self.0.roles
    }
    async fn default_member_role(&self) -> &str {
        &self.0.default_member_role
    }
    /// JSON Schema (2020-12) that `configureApp` validates settings against.
    async fn settings_schema(&self) -> Json<serde_json::Value> {
        Json(self.0.settings_schema.clone())
    }
}

/// How well a legal template fits a formation, and why.
pub struct TemplateRecommendation {
    pub template: LegalTemplate,
    pub eligible: bool,
    pub score: i32,
    pub fits: Vec<String>,
    pub misfits: Vec<String>,
}

impl From<Recommendation<'_>> for TemplateRecommendation {
    fn from(r: Recommendation<'_>) -> Self {
        Self {
            template: LegalTemplate(r.template.clone()),
            eligible: r.eligible,
            score: r.score,
            fits: r.fits,
            misfits: r.misfits,
        }
    }
}

#[Object]
impl TemplateRecommendation {
    async fn template(&self) -> &LegalTemplate {
        &self.template
    }
    /// Nothing in the formation conflicts with the template.
    async fn eligible(&self) -> bool {
        self.eligible
    }
    /// Higher fits better; for ordering only.
    async fn score(&self) -> i32 {
        self.score
    }
    /// What fits, such as "needs at least 3 founding members; you have 4".
    async fn fits(&self) -> &[String] {
        &self.fits
    }
    /// What does not fit, such as "needs at least 3 founding members; you have 2".
    async fn misfits(&self) -> &[String] {
        &self.misfits
    }
}

/// Whether a name is free under a parent entity.
#[derive(SimpleObject)]
pub struct NameAvailability {
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// The name as it would be stored (trimmed, spaces folded).
    pub normalized_name: Option<String>,
    pub slug: Option<String>,
    /// Free alternatives, when the name is taken.
    pub suggestions: Vec<String>,
}

impl From<Availability> for NameAvailability {
    fn from(a: Availability) -> Self {
        Self {
            available: a.available,
            reason: a.reason,
            normalized_name: a.normalized_name,
            slug: a.slug,
            suggestions: a.suggestions,
        }
    }
}
