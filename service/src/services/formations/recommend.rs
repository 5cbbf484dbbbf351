//! Ranks the legal templates for a formation and says, per template, what
//! fits and what does not. Whether a template is eligible is decided by
//! [`template_fit::misfits`] alone, as for choosing it and submitting.

use std::collections::HashSet;

use entities::stakeholder_group::StakeholderKind;

use crate::{
    catalogue::{Catalogue, LegalTemplate, Objective, SurplusDistribution, TemplateKind},
    services::policy::ParentPolicy,
};

use super::{
    draft::Draft,
    evaluate::{Problem, kind_name},
    template_fit::{self, Facts, Misfit, Parent},
};

pub struct Recommendation<'a> {
    pub template: &'a LegalTemplate,
    /// No misfit: choosing the template is accepted, and it gives the
    /// formation no problem.
    pub eligible: bool,
    pub score: i32,
    pub fits: Vec<String>,
    /// What choosing it would conflict with, as the problems say it.
    pub misfits: Vec<String>,
    /// The problems choosing it would give the formation.
    pub problems: Vec<Problem>,
    /// The misfits themselves, each with the fact it conflicts with.
    pub found: Vec<Misfit>,
}

/// Every template the parent allows, best first.
pub fn recommend<'a>(
    draft: &Draft,
    catalogue: &'a Catalogue,
    policy: &ParentPolicy,
    parent_jurisdiction: &str,
) -> Vec<Recommendation<'a>> {
    let parent = Parent {
        policy,
        jurisdiction: parent_jurisdiction,
    };
    rank(
        &Facts::of(draft),
        catalogue
            .templates
            .iter()
            .filter(|t| policy.allows_template(&t.id)),
        &parent,
    )
}

/// `templates` held against `facts`, best first: those that fit, then by
/// score, then by id.
pub fn rank<'a>(
    facts: &Facts<'_>,
    templates: impl Iterator<Item = &'a LegalTemplate>,
    parent: &Parent<'_>,
) -> Vec<Recommendation<'a>> {
    let aims = objectives_of(facts);
    let mut all: Vec<Recommendation<'a>> =
        templates.map(|t| assess(facts, t, parent, &aims)).collect();
    all.sort_by(|a, b| {
        b.eligible
            .cmp(&a.eligible)
            .then(b.score.cmp(&a.score))
            .then(a.template.id.cmp(&b.template.id))
    });
    all
}

fn assess<'a>(
    draft: &Facts<'_>,
    t: &'a LegalTemplate,
    parent: &Parent<'_>,
    aims: &HashSet<Objective>,
) -> Recommendation<'a> {
    let misfits = template_fit::misfits_of(draft, t, parent);
    let mut a = Assessment::default();
    // The lines come in this order in the answer.
    a.jurisdiction(t, parent.jurisdiction);
    a.founders(t, draft);
    a.group_kinds(t, draft);
    a.investors(t, draft);
    a.finances(t, draft);
    a.objectives(t, aims);
    let score = a.fits.len() as i32 + a.bonus - 3 * misfits.len() as i32;
    Recommendation {
        template: t,
        eligible: misfits.is_empty(),
        score,
        fits: a.fits,
        problems: misfits.iter().flat_map(|m| m.problems()).collect(),
        misfits: misfits.iter().map(|m| m.message.clone()).collect(),
        found: misfits,
    }
}

/// What fits, and the points a template earns beyond its count of fits.
/// What does not fit is the misfits' to say.
#[derive(Default)]
struct Assessment {
    fits: Vec<String>,
    bonus: i32,
}

impl Assessment {
    fn jurisdiction(&mut self, t: &LegalTemplate, parent_jurisdiction: &str) {
        match (&t.jurisdiction, t.kind) {
            (_, TemplateKind::PoolInsideParent) => {
                self.fits.push(
                    "no registration needed: the parent's legal personality and rules apply"
                        .to_owned(),
                );
                self.bonus += 1;
            }
            (Some(j), _) if j == parent_jurisdiction => self
                .fits
                .push(format!("a legal form of {j}, where the parent entity is")),
            _ => {}
        }
    }

    fn founders(&mut self, t: &LegalTemplate, draft: &Facts<'_>) {
        if let (Some(min), Some(members)) = (t.min_founding_members, draft.members)
            && members as u64 >= u64::from(min)
        {
            self.fits.push(format!(
                "needs at least {min} founding members; you have {members}"
            ));
        }
    }

    fn group_kinds(&mut self, t: &LegalTemplate, draft: &Facts<'_>) {
        let groups = draft.groups.unwrap_or_default();
        for required in &t.required_stakeholder_kinds {
            if groups.iter().any(|g| g.kind == *required) {
                self.fits.push(format!(
                    "requires a {} group; you have one",
                    kind_name(*required)
                ));
            }
        }
    }

    /// The founders want investors by saying so or by having a group of them.
    fn investors(&mut self, t: &LegalTemplate, draft: &Facts<'_>) {
        let wants_investors = draft.finances.is_some_and(|f| f.accepts_investor_members)
            || draft
                .groups
                .into_iter()
                .flatten()
                .any(|g| g.kind == StakeholderKind::Investors);
        if wants_investors && t.investor_members_allowed == Some(true) {
            self.fits
                .push("admits investor members, as you want".to_owned());
        }
    }

    fn finances(&mut self, t: &LegalTemplate, draft: &Facts<'_>) {
        let Some(f) = draft.finances else {
            return;
        };
        match (f.distributes_surplus, t.surplus_distribution) {
            (true, Some(SurplusDistribution::Allowed)) => self
                .fits
                .push("allows distributing surplus to members".to_owned()),
            (true, Some(SurplusDistribution::Limited)) => self
                .fits
                .push("allows distributing surplus to members within limits".to_owned()),
            (false, _) if t.asset_lock == Some(true) => self
                .fits
                .push("its asset lock keeps what you build for its purpose".to_owned()),
            _ => {}
        }
    }

    /// A template made for what the founders aim at earns two points an aim.
    fn objectives(&mut self, t: &LegalTemplate, aims: &HashSet<Objective>) {
        let shared: Vec<Objective> = t
            .objectives
            .iter()
            .filter(|o| aims.contains(o))
            .copied()
            .collect();
        if !shared.is_empty() {
            self.bonus += 2 * shared.len() as i32;
            self.fits.push(format!(
                "made for {}",
                shared
                    .iter()
                    .map(|o| objective_text(*o))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

/// What the founders' choices say the co-op is for.
fn objectives_of(draft: &Facts<'_>) -> HashSet<Objective> {
    let groups = draft.groups.unwrap_or_default();
    let kinds: HashSet<StakeholderKind> = groups
        .iter()
        .filter(|g| g.voting_weight > 0)
        .map(|g| g.kind)
        .collect();
    let mut aims = HashSet::new();
    if kinds.len() > 1 {
        aims.insert(Objective::MultiStakeholder);
    }
    for kind in &kinds {
        match kind {
            StakeholderKind::Workers => aims.insert(Objective::WorkerOwnership),
            StakeholderKind::Users => aims.insert(Objective::ConsumerOwnership),
            StakeholderKind::Producers => aims.insert(Objective::ProducerOwnership),
            StakeholderKind::Investors => aims.insert(Objective::Investment),
            StakeholderKind::Custodians | StakeholderKind::Supporters => {
                aims.insert(Objective::CommunityBenefit)
            }
            StakeholderKind::Other => false,
        };
    }
    if draft.finances.is_some_and(|f| !f.distributes_surplus) {
        aims.insert(Objective::CommunityBenefit);
    }
    aims
}

fn objective_text(o: Objective) -> &'static str {
    match o {
        Objective::WorkerOwnership => "worker ownership",
        Objective::ConsumerOwnership => "consumer ownership",
        Objective::ProducerOwnership => "producer ownership",
        Objective::MultiStakeholder => "several stakeholder groups",
        Objective::CommunityBenefit => "community benefit",
        Objective::SelfEmployment => "self-employment",
        Objective::Investment => "outside investment",
        Objective::Any => "any purpose",
    }
}
