use async_graphql::{ID, SimpleObject};

use crate::{
    catalogue::{
        AppCategory, AppManifest, Fact, Objective, SurplusDistribution, TemplateKind, VotingRule,
    },
    domain::MoneyTotal,
    graphql::{
        scalars::Json,
        types::{FormationProblem, StakeholderKind},
    },
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

// A legal form and model rules for one jurisdiction, with the facts that
// constrain a formation. A `null` fact is not known, not "none".
#[derive(SimpleObject, Clone)]
pub struct LegalTemplate {
    pub(crate) id: ID,
    version: i32,
    name: String,
    kind: TemplateKind,
    /// ISO 3166-1 alpha-2; `null` for the pool template, valid anywhere.
    jurisdiction: Option<String>,
    /// ISO 3166-2 subdivision, for regional laws.
    region: Option<String>,
    legal_form: String,
    model_rules: Option<String>,
    /// The fewest founding members the law allows.
    min_founding_members: Option<u32>,
    /// `null`: not restricted, or not known.
    allowed_stakeholder_kinds: Option<Vec<StakeholderKind>>,
    required_stakeholder_kinds: Vec<StakeholderKind>,
    /// Whether members who invest without using the co-op may join.
    investor_members_allowed: Option<bool>,
    /// What the law lets the co-op do with its surplus.
    surplus_distribution: Option<SurplusDistribution>,
    /// Whether the law keeps the assets from being shared among the members
    /// on dissolution.
    asset_lock: Option<bool>,
    /// The least share capital the law requires; an amount of 0 means the
    /// law requires none.
    min_share_capital: Option<Money>,
    /// The least share of each year's surplus, 1 to 100, that the law sends
    /// to a reserve the members cannot share.
    reserve_fund_percent: Option<i32>,
    /// How votes count, where the law fixes it.
    voting_rule: Option<VotingRule>,
    registration_required: bool,
    registering_authority: Option<String>,
    /// The statute or model rules the template rests on, as a whole;
    /// `citations` names the article behind each fact.
    citation: String,
    /// The article or section that sets each fact this template states,
    /// one entry per fact that is not `null`, in a fixed order.
    citations: Vec<LegalFact>,
    objectives: Vec<Objective>,
    summary: String,
}

// A fact of a legal template and the article or section of the statute
// that sets it.
#[derive(SimpleObject, Clone)]
pub struct LegalFact {
    pub fact: Fact,
    /// Such as "Ley 27/1999, art. 8".
    pub citation: String,
}

impl From<crate::catalogue::LegalTemplate> for LegalTemplate {
    fn from(t: crate::catalogue::LegalTemplate) -> Self {
        let kinds = |k: Vec<_>| k.into_iter().map(Into::into).collect();
        Self {
            id: ID(t.id),
            version: t.version,
            name: t.name,
            kind: t.kind,
            jurisdiction: t.jurisdiction,
            region: t.region,
            legal_form: t.legal_form,
            model_rules: t.model_rules,
            min_founding_members: t.min_founding_members,
            allowed_stakeholder_kinds: t.allowed_stakeholder_kinds.map(kinds),
            required_stakeholder_kinds: kinds(t.required_stakeholder_kinds),
            investor_members_allowed: t.investor_members_allowed,
            surplus_distribution: t.surplus_distribution,
            asset_lock: t.asset_lock,
            min_share_capital: t
                .min_share_capital
                .map(|m| Money::new(m.amount, m.currency)),
            reserve_fund_percent: t.reserve_fund_percent.map(i32::from),
            voting_rule: t.voting_rule,
            registration_required: t.registration_required,
            registering_authority: t.registering_authority,
            citation: t.citation,
            citations: t
                .citations
                .into_iter()
                .map(|(fact, citation)| LegalFact { fact, citation })
                .collect(),
            objectives: t.objectives,
            summary: t.summary,
        }
    }
}

// An app from the open app catalogue.
#[derive(SimpleObject, Clone)]
pub struct App {
    pub(crate) id: ID,
    /// Version of the manifest and its settings schema.
    version: String,
    name: String,
    category: AppCategory,
    /// SPDX licence identifier.
    licence: String,
    homepage: String,
    description: String,
    /// Roles a person can have in the app.
    roles: Vec<String>,
    default_member_role: String,
    /// JSON Schema (2020-12) that `configureApp` validates settings against.
    settings_schema: Json,
}

impl From<AppManifest> for App {
    fn from(a: AppManifest) -> Self {
        Self {
            id: ID(a.id),
            version: a.version,
            name: a.name,
            category: a.category,
            licence: a.licence,
            homepage: a.homepage,
            description: a.description,
            roles: a.roles,
            default_member_role: a.default_member_role,
            settings_schema: Json(a.settings_schema),
        }
    }
}

// How well a legal template fits a formation, and why.
#[derive(SimpleObject)]
pub struct TemplateRecommendation {
    pub template: LegalTemplate,
    /// Nothing in the formation conflicts with the template: exactly when
    /// `chooseLegalTemplate` accepts it, and then it gives the formation no
    /// problem. Steps not answered yet conflict with nothing.
    pub eligible: bool,
    /// Higher fits better; for ordering only.
    pub score: i32,
    /// What fits, such as "needs at least 3 founding members; you have 4".
    pub fits: Vec<String>,
    /// What does not fit, the messages of `problems` once each, such as
    /// "`Sociedad cooperativa (Spain)` needs at least 3 founding members;
    /// you have 2". `chooseLegalTemplate` refuses the template with these.
    pub misfits: Vec<String>,
    /// The problems choosing the template would give the formation, on
    /// the template's step and on the other step each one involves.
    pub problems: Vec<FormationProblem>,
}

impl From<Recommendation<'_>> for TemplateRecommendation {
    fn from(r: Recommendation<'_>) -> Self {
        Self {
            template: r.template.clone().into(),
            eligible: r.eligible,
            score: r.score,
            fits: r.fits,
            misfits: r.misfits,
            problems: r.problems.iter().map(FormationProblem::from).collect(),
        }
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
