//! Whether a legal template fits a formation: the one decision behind
//! `recommendedTemplates` (eligible), `chooseLegalTemplate` (accepted) and
//! submission (the template step's problems), so that a template is
//! eligible exactly when it can be chosen and submitted.

use entities::stakeholder_group::StakeholderKind;

use crate::{
    catalogue::{Fact, LegalTemplate, SurplusDistribution, TemplateKind, VotingRule},
    domain::format_minor,
    services::policy::ParentPolicy,
};

use super::{
    draft::{Draft, DraftGroup, FinancialProfile},
    evaluate::{FormationStep, Problem, ProblemCode, kind_name},
    principles,
};

/// One way a template does not fit the choices made so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misfit {
    pub code: ProblemCode,
    pub message: String,
    /// The other step the conflict involves, and where in it; the
    /// template's own step is always involved.
    pub also: Option<(FormationStep, String)>,
    /// The fact of the template it conflicts with, when the template knows
    /// one (and may cite the article that sets it).
    pub fact: Option<Fact>,
}

impl Misfit {
    /// The misfit as the formation's problems: one on the template's step
    /// and, when another step is involved, one there too.
    pub fn problems(&self) -> impl Iterator<Item = Problem> + '_ {
        let own = (FormationStep::LegalTemplate, "legalTemplateId".to_owned());
        std::iter::once(own)
            .chain(self.also.clone())
            .map(|(step, path)| Problem {
                step,
                path,
                code: self.code,
                message: self.message.clone(),
            })
    }
}

/// What the parent allows and where it is.
pub struct Parent<'a> {
    pub policy: &'a ParentPolicy,
    pub jurisdiction: &'a str,
}

/// What a template is held against: a formation's answers so far, or a
/// pool as it stands (its groups, active members and governance). `None`
/// is a fact not known yet, which conflicts with nothing.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub groups: Option<&'a [DraftGroup]>,
    /// How many founding members (of a pool: its active members).
    pub members: Option<usize>,
    pub finances: Option<&'a FinancialProfile>,
}

impl<'a> Facts<'a> {
    pub fn of(draft: &'a Draft) -> Self {
        Self {
            groups: draft.groups.as_deref(),
            members: draft.members.as_ref().map(Vec::len),
            finances: draft.finances.as_ref(),
        }
    }
}

/// Everything in `draft` that choosing `t` would conflict with, in a stable
/// order; empty when the template fits. A step not answered yet conflicts
/// with nothing: it is missing, which its own step says.
pub fn misfits(draft: &Draft, t: &LegalTemplate, parent: &Parent<'_>) -> Vec<Misfit> {
    misfits_of(&Facts::of(draft), t, parent)
}

/// [`misfits`] for any [`Facts`].
pub fn misfits_of(facts: &Facts<'_>, t: &LegalTemplate, parent: &Parent<'_>) -> Vec<Misfit> {
    let mut fit = Fit {
        t,
        groups: facts.groups,
        finances: facts.finances,
        found: Vec::new(),
    };
    fit.parent_accepts(parent);
    if let Some(members) = facts.members {
        fit.enough_founders(members);
    }
    if let Some(groups) = fit.groups {
        fit.group_kinds(groups);
        fit.no_investor_group(groups);
        fit.voting_weights(groups);
    }
    if let Some(finances) = fit.finances {
        fit.finances(finances);
    }
    fit.principle_exceptions(parent.policy);
    fit.found
}

struct Fit<'a> {
    t: &'a LegalTemplate,
    groups: Option<&'a [DraftGroup]>,
    finances: Option<&'a FinancialProfile>,
    found: Vec<Misfit>,
}

impl Fit<'_> {
    fn add(&mut self, code: ProblemCode, message: String, also: Option<(FormationStep, String)>) {
        self.found.push(Misfit {
            code,
            message,
            also,
            fact: None,
        });
    }

    /// The misfit just found conflicts with `fact` of the template.
    fn cite(&mut self, fact: Fact) {
        if let Some(last) = self.found.last_mut() {
            last.fact = Some(fact);
        }
    }

    fn conflict(&mut self, step: FormationStep, path: String, message: String) {
        self.add(ProblemCode::TemplateConflict, message, Some((step, path)));
    }

    /// The parent's policy allows the template, and it is for the parent's
    /// jurisdiction.
    fn parent_accepts(&mut self, parent: &Parent<'_>) {
        let t = self.t;
        if !parent.policy.allows_template(&t.id) {
            self.add(
                ProblemCode::NotAllowed,
                format!("the parent entity does not allow the template `{}`", t.name),
                None,
            );
        }
        if !t.fits_jurisdiction(parent.jurisdiction) {
            self.add(
                ProblemCode::TemplateConflict,
                format!(
                    "`{}` is for {}; the parent entity is in {}",
                    t.name,
                    t.jurisdiction.as_deref().unwrap_or("any"),
                    parent.jurisdiction
                ),
                None,
            );
        }
    }

    fn enough_founders(&mut self, count: usize) {
        let t = self.t;
        if let Some(min) = t.min_founding_members
            && (count as u64) < u64::from(min)
        {
            self.add(
                ProblemCode::TooFew,
                format!(
                    "`{}` needs at least {min} founding members; you have {count}",
                    t.name
                ),
                Some((FormationStep::Stakeholders, "foundingMembers".to_owned())),
            );
            self.cite(Fact::MinFoundingMembers);
        }
    }

    /// Each group is of a kind the template allows, and every kind it
    /// requires has a group.
    fn group_kinds(&mut self, groups: &[DraftGroup]) {
        let t = self.t;
        if let Some(allowed) = &t.allowed_stakeholder_kinds {
            for (i, g) in groups.iter().enumerate() {
                if !allowed.contains(&g.kind) {
                    self.conflict(
                        FormationStep::Stakeholders,
                        format!("stakeholderGroups[{i}].kind"),
                        format!(
                            "`{}` does not allow {} as a stakeholder group (your group `{}`)",
                            t.name,
                            kind_name(g.kind),
                            g.key
                        ),
                    );
                }
            }
        }
        for required in &t.required_stakeholder_kinds {
            if !groups.iter().any(|g| g.kind == *required) {
                self.conflict(
                    FormationStep::Stakeholders,
                    "stakeholderGroups".to_owned(),
                    format!(
                        "`{}` requires a stakeholder group of {}",
                        t.name,
                        kind_name(*required)
                    ),
                );
            }
        }
    }

    /// A template that refuses investor members refuses every group of them.
    fn no_investor_group(&mut self, groups: &[DraftGroup]) {
        let t = self.t;
        if !investors_refused(t) {
            return;
        }
        for (i, g) in groups.iter().enumerate() {
            if g.kind == StakeholderKind::Investors {
                self.conflict(
                    FormationStep::Stakeholders,
                    format!("stakeholderGroups[{i}].kind"),
                    format!(
                        "`{}` does not admit investor members (your group `{}`)",
                        t.name, g.key
                    ),
                );
                self.cite(Fact::InvestorMembersAllowed);
            }
        }
    }

    /// One member one vote: every voting group weighs the same.
    fn voting_weights(&mut self, groups: &[DraftGroup]) {
        let t = self.t;
        if t.voting_rule == Some(VotingRule::OneMemberOneVote) && weights_differ(groups) {
            self.conflict(
                FormationStep::Stakeholders,
                "stakeholderGroups".to_owned(),
                format!(
                    "`{}` gives one member one vote: give every voting group the same weight",
                    t.name
                ),
            );
            self.cite(Fact::VotingRule);
        }
    }

    /// The financial answers: investors, surplus and share capital.
    fn finances(&mut self, f: &FinancialProfile) {
        let t = self.t;
        if investors_refused(t) && f.accepts_investor_members {
            self.conflict(
                FormationStep::Finances,
                "financialProfile.acceptsInvestorMembers".to_owned(),
                format!("`{}` does not admit investor members", t.name),
            );
            self.cite(Fact::InvestorMembersAllowed);
        }
        if f.distributes_surplus && t.surplus_distribution == Some(SurplusDistribution::Prohibited)
        {
            self.conflict(
                FormationStep::Finances,
                "financialProfile.distributesSurplus".to_owned(),
                format!(
                    "`{}` does not allow distributing surplus to members",
                    t.name
                ),
            );
            self.cite(Fact::SurplusDistribution);
        }
        if let Some(capital) = t.min_share_capital.as_ref().filter(|c| c.amount > 0)
            && !f.raises_share_capital
        {
            self.conflict(
                FormationStep::Finances,
                "financialProfile.raisesShareCapital".to_owned(),
                format!(
                    "`{}` needs share capital of at least {} {}; you raise none",
                    t.name,
                    format_minor(capital.amount, &capital.currency),
                    capital.currency
                ),
            );
            self.cite(Fact::MinShareCapital);
        }
    }

    /// A parent's exceptions to the co-operative principles cover only pools
    /// inside it: with a registered form, what breaks a principle blocks.
    fn principle_exceptions(&mut self, policy: &ParentPolicy) {
        let t = self.t;
        let (Some(groups), true) = (self.groups, policy.allows_principle_exceptions) else {
            return;
        };
        if t.kind == TemplateKind::PoolInsideParent {
            return;
        }
        let breaches = principles::breaches(groups, self.finances);
        if !breaches.is_empty() {
            let reasons: Vec<&str> = breaches.iter().map(|(_, r)| r.as_str()).collect();
            self.add(
                ProblemCode::PrincipleViolation,
                format!(
                    "the parent's exceptions to the co-operative principles cover only pools inside it; with `{}` this breaks them: {}",
                    t.name,
                    reasons.join("; ")
                ),
                // The stakeholder step shows each breach already.
                None,
            );
        }
    }
}

fn investors_refused(t: &LegalTemplate) -> bool {
    t.investor_members_allowed == Some(false)
}

/// Whether the groups that vote do not all weigh the same.
pub fn weights_differ(groups: &[DraftGroup]) -> bool {
    let mut voting = groups.iter().map(|g| g.voting_weight).filter(|w| *w > 0);
    voting
        .next()
        .is_some_and(|first| voting.any(|w| w != first))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use entities::{
        formation::{self, FormationStatus},
        formation_founding_member,
        membership::MemberRole,
    };
    use uuid::Uuid;

    use super::*;
    use crate::{
        catalogue::Catalogue,
        services::formations::draft::fixtures::{finances, group},
    };

    /// A draft with these answers; `None` is a step not answered yet.
    fn draft(
        groups: Option<Vec<DraftGroup>>,
        founders: Option<usize>,
        finances: Option<FinancialProfile>,
    ) -> Draft {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let members = founders.map(|n| {
            (0..n)
                .map(|i| formation_founding_member::Model {
                    id: Uuid::now_v7(),
                    formation_id: id,
                    position: i as i32,
                    email: format!("m{i}@example.org"),
                    display_name: format!("M{i}"),
                    stakeholder_group_key: "workers".to_owned(),
                    role: MemberRole::Member,
                })
                .collect()
        });
        Draft {
            formation: formation::Model {
                id,
                parent_entity_id: Uuid::now_v7(),
                founder_id: Uuid::now_v7(),
                working_name: "Test".to_owned(),
                status: FormationStatus::Draft,
                stakeholder_groups: None,
                founding_members_set: founders.is_some(),
                financial_profile: None,
                legal_template_id: None,
                name: None,
                slug: None,
                name_key: None,
                app_ids: None,
                app_configs: serde_json::json!({}),
                submitted_at: None,
                decided_at: None,
                decided_by: None,
                rejection_reason: None,
                pool_id: None,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            groups,
            members,
            finances,
            app_ids: None,
            app_configs: BTreeMap::new(),
        }
    }

    fn template(id: &str) -> LegalTemplate {
        Catalogue::load()
            .unwrap()
            .template(id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is in the catalogue"))
    }

    /// The misfits' codes and the other step each involves, in order.
    fn misfits_in(
        d: &Draft,
        t: &LegalTemplate,
        jurisdiction: &str,
        policy: &ParentPolicy,
    ) -> Vec<(ProblemCode, Option<(FormationStep, String)>)> {
        let parent = Parent {
            policy,
            jurisdiction,
        };
        misfits(d, t, &parent)
            .into_iter()
            .map(|m| (m.code, m.also))
            .collect()
    }

    fn any_policy() -> ParentPolicy {
        ParentPolicy {
            allowed_template_ids: None,
            allowed_app_ids: None,
            allows_principle_exceptions: false,
            rules_changes: Default::default(),
        }
    }

    fn also(step: FormationStep, path: &str) -> Option<(FormationStep, String)> {
        Some((step, path.to_owned()))
    }

    #[test]
    fn steps_not_answered_yet_conflict_with_nothing() {
        let es = template("es-sociedad-cooperativa");
        assert_eq!(
            misfits_in(&draft(None, None, None), &es, "ES", &any_policy()),
            vec![]
        );
    }

    #[test]
    fn weights_of_2_1_0_do_not_fit_one_member_one_vote() {
        use StakeholderKind::*;
        let groups = vec![
            group("workers", Workers, 2),
            group("users", Users, 1),
            group("friends", Supporters, 0),
        ];
        let d = draft(Some(groups), Some(3), Some(finances(false, false, false)));
        let es = template("es-sociedad-cooperativa");
        assert_eq!(
            misfits_in(&d, &es, "ES", &any_policy()),
            vec![(
                ProblemCode::TemplateConflict,
                also(FormationStep::Stakeholders, "stakeholderGroups")
            )]
        );
    }

    #[test]
    fn the_parent_refuses_by_policy_and_by_jurisdiction() {
        let policy = ParentPolicy {
            allowed_template_ids: Some(vec!["pool-inside-parent".to_owned()]),
            ..any_policy()
        };
        let es = template("es-sociedad-cooperativa");
        assert_eq!(
            misfits_in(&draft(None, None, None), &es, "FR", &policy),
            vec![
                (ProblemCode::NotAllowed, None),
                (ProblemCode::TemplateConflict, None)
            ]
        );
    }

    #[test]
    fn too_few_founders_are_a_problem_of_the_members_too() {
        let es = template("es-sociedad-cooperativa");
        assert_eq!(
            misfits_in(&draft(None, Some(2), None), &es, "ES", &any_policy()),
            vec![(
                ProblemCode::TooFew,
                also(FormationStep::Stakeholders, "foundingMembers")
            )]
        );
    }

    #[test]
    fn a_form_without_investor_members_refuses_their_group_and_their_admission() {
        use StakeholderKind::*;
        let groups = vec![group("workers", Workers, 1), group("money", Investors, 1)];
        let d = draft(Some(groups), Some(3), Some(finances(false, false, true)));
        let ma = template("us-ma-worker-cooperative");
        assert_eq!(
            misfits_in(&d, &ma, "US", &any_policy()),
            vec![
                (
                    ProblemCode::TemplateConflict,
                    also(FormationStep::Stakeholders, "stakeholderGroups[1].kind")
                ),
                (
                    ProblemCode::TemplateConflict,
                    also(
                        FormationStep::Finances,
                        "financialProfile.acceptsInvestorMembers"
                    )
                ),
            ]
        );
    }

    #[test]
    fn share_capital_the_law_requires_and_surplus_it_prohibits() {
        let pt = template("pt-cooperativa");
        let d = draft(None, None, Some(finances(true, false, false)));
        assert_eq!(
            misfits_in(&d, &pt, "PT", &any_policy()),
            vec![(
                ProblemCode::TemplateConflict,
                also(
                    FormationStep::Finances,
                    "financialProfile.raisesShareCapital"
                )
            )]
        );
        let mut no_surplus = pt.clone();
        no_surplus.surplus_distribution = Some(SurplusDistribution::Prohibited);
        no_surplus.min_share_capital = None;
        assert_eq!(
            misfits_in(&d, &no_surplus, "PT", &any_policy()),
            vec![(
                ProblemCode::TemplateConflict,
                also(
                    FormationStep::Finances,
                    "financialProfile.distributesSurplus"
                )
            )]
        );
    }

    #[test]
    fn principle_exceptions_cover_only_pools_inside_the_parent() {
        use StakeholderKind::*;
        let groups = vec![group("workers", Workers, 1), group("money", Investors, 3)];
        let d = draft(Some(groups), Some(3), Some(finances(false, false, true)));
        let policy = ParentPolicy {
            allows_principle_exceptions: true,
            ..any_policy()
        };
        let pool = template("pool-inside-parent");
        assert_eq!(misfits_in(&d, &pool, "ES", &policy), vec![]);
        let es = template("es-sociedad-cooperativa");
        let found = misfits_in(&d, &es, "ES", &policy);
        assert!(
            found.contains(&(ProblemCode::PrincipleViolation, None)),
            "{found:?}"
        );
    }

    #[test]
    fn a_misfit_is_a_problem_of_each_step_it_involves() {
        let m = Misfit {
            code: ProblemCode::TooFew,
            message: "needs three".to_owned(),
            also: also(FormationStep::Stakeholders, "foundingMembers"),
            fact: Some(Fact::MinFoundingMembers),
        };
        let at: Vec<(FormationStep, String)> = m.problems().map(|p| (p.step, p.path)).collect();
        assert_eq!(
            at,
            vec![
                (FormationStep::LegalTemplate, "legalTemplateId".to_owned()),
                (FormationStep::Stakeholders, "foundingMembers".to_owned())
            ]
        );
    }
}
