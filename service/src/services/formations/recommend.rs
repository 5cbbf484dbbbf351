//! Ranks the legal templates for a formation and says, per template, what
//! fits and what does not.

use std::collections::HashSet;

use entities::stakeholder_group::StakeholderKind;

use crate::{
    catalogue::{Catalogue, LegalTemplate, Objective, SurplusDistribution, TemplateKind},
    services::policy::ParentPolicy,
};

use super::{
    draft::{Draft, DraftGroup, FinancialProfile},
    evaluate::kind_name,
};

pub struct Recommendation<'a> {
    pub template: &'a LegalTemplate,
    /// No misfit: the formation could use this template as it stands.
    pub eligible: bool,
    pub score: i32,
    pub fits: Vec<String>,
    pub misfits: Vec<String>,
}

/// Every template the parent allows, best first.
pub fn recommend<'a>(
    draft: &Draft,
    catalogue: &'a Catalogue,
    policy: &ParentPolicy,
    parent_jurisdiction: &str,
) -> Vec<Recommendation<'a>> {
    let aims = objectives_of(draft);
    let mut all: Vec<Recommendation<'a>> = catalogue
        .templates
        .iter()
        .filter(|t| policy.allows_template(&t.id))
        .map(|t| assess(draft, t, parent_jurisdiction, &aims))
        .collect();
    all.sort_by(|a, b| {
        b.eligible
            .cmp(&a.eligible)
            .then(b.score.cmp(&a.score))
            .then(a.template.id.cmp(&b.template.id))
    });
    all
}

fn assess<'a>(
    draft: &Draft,
    t: &'a LegalTemplate,
    parent_jurisdiction: &str,
    aims: &HashSet<Objective>,
) -> Recommendation<'a> {
    let mut a = Assessment::default();
    let groups = draft.groups.as_deref().unwrap_or_default();
    // The lines come in this order in the answer.
    a.jurisdiction(t, parent_jurisdiction);
    a.founders(t, draft.members.as_ref().map_or(0, Vec::len));
    a.group_kinds(t, groups);
    a.investors(t, draft, groups);
    if let Some(f) = &draft.finances {
        a.finances(t, f);
    }
    a.objectives(t, aims);
    let score = a.fits.len() as i32 + a.bonus - 3 * a.misfits.len() as i32;
    Recommendation {
        template: t,
        eligible: a.misfits.is_empty(),
        score,
        fits: a.fits,
        misfits: a.misfits,
    }
}

/// What fits and what does not, and the points a template earns beyond
/// its count of fits.
#[derive(Default)]
struct Assessment {
    fits: Vec<String>,
    misfits: Vec<String>,
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
            (Some(j), _) => self.misfits.push(format!(
                "a legal form of {j}; the parent entity is in {parent_jurisdiction}"
            )),
            (None, _) => {}
        }
    }

    fn founders(&mut self, t: &LegalTemplate, members: usize) {
        if let Some(min) = t.min_founding_members {
            let line = format!("needs at least {min} founding members; you have {members}");
            if members as u32 >= min {
                self.fits.push(line)
            } else {
                self.misfits.push(line)
            }
        }
    }

    fn group_kinds(&mut self, t: &LegalTemplate, groups: &[DraftGroup]) {
        if let Some(allowed) = &t.allowed_stakeholder_kinds {
            for g in groups.iter().filter(|g| !allowed.contains(&g.kind)) {
                self.misfits.push(format!(
                    "does not allow a {} group (your group `{}`)",
                    kind_name(g.kind),
                    g.key
                ));
            }
        }
        for required in &t.required_stakeholder_kinds {
            if groups.iter().any(|g| g.kind == *required) {
                self.fits.push(format!(
                    "requires a {} group; you have one",
                    kind_name(*required)
                ));
            } else {
                self.misfits.push(format!(
                    "requires a {} group; you have none",
                    kind_name(*required)
                ));
            }
        }
    }

    /// The founders want investors by saying so or by having a group of them.
    fn investors(&mut self, t: &LegalTemplate, draft: &Draft, groups: &[DraftGroup]) {
        let wants_investors = draft
            .finances
            .as_ref()
            .is_some_and(|f| f.accepts_investor_members)
            || groups.iter().any(|g| g.kind == StakeholderKind::Investors);
        match (wants_investors, t.investor_members_allowed) {
            (true, Some(true)) => self
                .fits
                .push("admits investor members, as you want".to_owned()),
            (true, Some(false)) => self
                .misfits
                .push("does not admit investor members, which you want".to_owned()),
            _ => {}
        }
    }

    fn finances(&mut self, t: &LegalTemplate, f: &FinancialProfile) {
        match (f.distributes_surplus, t.surplus_distribution) {
            (true, Some(SurplusDistribution::Prohibited)) => self
                .misfits
                .push("does not allow distributing surplus, which you want".to_owned()),
            (true, Some(SurplusDistribution::Allowed)) => self
                .fits
                .push("allows distributing surplus to members".to_owned()),
            (false, _) if t.asset_lock == Some(true) => self
                .fits
                .push("its asset lock keeps what you build for its purpose".to_owned()),
            _ => {}
        }
        if let Some(capital) = t.min_share_capital.as_ref().filter(|c| c.amount > 0)
            && !f.raises_share_capital
        {
            self.misfits.push(format!(
                "needs share capital ({} {} in minor units); you raise none",
                capital.amount, capital.currency
            ));
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
fn objectives_of(draft: &Draft) -> HashSet<Objective> {
    let groups = draft.groups.as_deref().unwrap_or_default();
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
    if draft
        .finances
        .as_ref()
        .is_some_and(|f| !f.distributes_surplus)
    {
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
