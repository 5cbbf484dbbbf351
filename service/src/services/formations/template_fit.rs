//! Whether a formation's choices fit its legal template: step 3 of the
//! evaluation once a catalogued template is chosen.

use entities::stakeholder_group::StakeholderKind;

use crate::catalogue::{LegalTemplate, SurplusDistribution, VotingRule};

use super::{
    draft::{Draft, DraftGroup},
    evaluate::{Facts, FormationStep, ProblemCode, kind_name},
};

/// Adds, in this order, what the parent refuses and what the template does
/// not allow in the members, the groups, the finances and the weights.
pub(super) fn check(
    draft: &Draft,
    facts: &Facts<'_>,
    id: &str,
    t: &LegalTemplate,
    add: &mut impl FnMut(FormationStep, &str, ProblemCode, String),
) {
    let mut fit = Fit {
        draft,
        t,
        groups: draft.groups.as_deref().unwrap_or_default(),
        // Every problem found here belongs to the template's step.
        add: |path: &str, code: ProblemCode, message: String| {
            add(FormationStep::LegalTemplate, path, code, message)
        },
    };
    fit.parent_accepts(facts, id);
    fit.enough_founders();
    fit.group_kinds();
    fit.finances();
    fit.no_investor_group();
    fit.voting_weights();
}

struct Fit<'a, F> {
    draft: &'a Draft,
    t: &'a LegalTemplate,
    groups: &'a [DraftGroup],
    add: F,
}

impl<F: FnMut(&str, ProblemCode, String)> Fit<'_, F> {
    fn conflict(&mut self, path: &str, message: String) {
        (self.add)(path, ProblemCode::TemplateConflict, message);
    }

    /// The parent's policy allows the template, and it is for the parent's
    /// jurisdiction.
    fn parent_accepts(&mut self, facts: &Facts<'_>, id: &str) {
        let t = self.t;
        if !facts.policy.allows_template(id) {
            (self.add)(
                "legalTemplateId",
                ProblemCode::NotAllowed,
                format!("the parent entity does not allow the template `{}`", t.name),
            );
        }
        if !t.fits_jurisdiction(facts.parent_jurisdiction) {
            self.conflict(
                "legalTemplateId",
                format!(
                    "`{}` is for {}; the parent entity is in {}",
                    t.name,
                    t.jurisdiction.as_deref().unwrap_or("any"),
                    facts.parent_jurisdiction
                ),
            );
        }
    }

    fn enough_founders(&mut self) {
        let t = self.t;
        let count = self.draft.members.as_ref().map_or(0, Vec::len);
        if let Some(min) = t.min_founding_members
            && (count as u32) < min
        {
            (self.add)(
                "foundingMembers",
                ProblemCode::TooFew,
                format!(
                    "`{}` needs at least {min} founding members; you have {count}",
                    t.name
                ),
            );
        }
    }

    /// Each group is of a kind the template allows, and every kind it
    /// requires has a group (once groups are set at all).
    fn group_kinds(&mut self) {
        let (t, groups) = (self.t, self.groups);
        if let Some(allowed) = &t.allowed_stakeholder_kinds {
            for (i, g) in groups.iter().enumerate() {
                if !allowed.contains(&g.kind) {
                    self.conflict(
                        &format!("stakeholderGroups[{i}].kind"),
                        format!(
                            "`{}` does not allow {} as a stakeholder group",
                            t.name,
                            kind_name(g.kind)
                        ),
                    );
                }
            }
        }
        if self.draft.groups.is_some() {
            for required in &t.required_stakeholder_kinds {
                if !groups.iter().any(|g| g.kind == *required) {
                    self.conflict(
                        "stakeholderGroups",
                        format!(
                            "`{}` requires a stakeholder group of {}",
                            t.name,
                            kind_name(*required)
                        ),
                    );
                }
            }
        }
    }

    /// The financial answers: investors, surplus and share capital.
    fn finances(&mut self) {
        let (t, draft) = (self.t, self.draft);
        let Some(f) = &draft.finances else {
            return;
        };
        if investors_refused(t) && f.accepts_investor_members {
            self.conflict(
                "financialProfile.acceptsInvestorMembers",
                format!("`{}` does not admit investor members", t.name),
            );
        }
        if f.distributes_surplus && t.surplus_distribution == Some(SurplusDistribution::Prohibited)
        {
            self.conflict(
                "financialProfile.distributesSurplus",
                format!(
                    "`{}` does not allow distributing surplus to members",
                    t.name
                ),
            );
        }
        if let Some(capital) = t.min_share_capital.as_ref().filter(|c| c.amount > 0)
            && !f.raises_share_capital
        {
            self.conflict(
                "financialProfile.raisesShareCapital",
                format!(
                    "`{}` needs share capital of at least {} {} (minor units)",
                    t.name, capital.amount, capital.currency
                ),
            );
        }
    }

    /// A template that refuses investor members refuses a group of them too
    /// (the first such group is named).
    fn no_investor_group(&mut self) {
        let t = self.t;
        if investors_refused(t)
            && let Some(i) = self
                .groups
                .iter()
                .position(|g| g.kind == StakeholderKind::Investors)
        {
            self.conflict(
                &format!("stakeholderGroups[{i}].kind"),
                format!("`{}` does not admit investor members", t.name),
            );
        }
    }

    /// One member one vote: every voting group weighs the same.
    fn voting_weights(&mut self) {
        let t = self.t;
        if t.voting_rule != Some(VotingRule::OneMemberOneVote) {
            return;
        }
        let mut weights = self
            .groups
            .iter()
            .map(|g| g.voting_weight)
            .filter(|w| *w > 0);
        if let Some(first) = weights.next()
            && weights.any(|w| w != first)
        {
            self.conflict(
                "stakeholderGroups",
                format!(
                    "`{}` gives one member one vote: give every voting group the same weight",
                    t.name
                ),
            );
        }
    }
}

fn investors_refused(t: &LegalTemplate) -> bool {
    t.investor_members_allowed == Some(false)
}
