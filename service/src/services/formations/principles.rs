//! The seven co-operative principles, and which of them a formation's
//! configuration would break.

use entities::stakeholder_group::{Admission, StakeholderKind};

use crate::catalogue::TemplateKind;

use super::{
    draft::{Draft, DraftGroup, FinancialProfile},
    evaluate::Facts,
};

/// The seven co-operative principles of the International Co-operative Alliance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum IcaPrinciple {
    VoluntaryAndOpenMembership,
    DemocraticMemberControl,
    MemberEconomicParticipation,
    AutonomyAndIndependence,
    EducationTrainingAndInformation,
    CooperationAmongCooperatives,
    ConcernForCommunity,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipleViolation {
    pub principle: IcaPrinciple,
    pub reason: String,
    /// Blocks submission; otherwise a warning the founders can accept.
    pub blocking: bool,
}

/// The ICA principles this configuration would break. Only what the
/// configuration can show is checked; education, co-operation among
/// co-ops and concern for community depend on what the members do.
pub fn principle_violations(draft: &Draft, facts: &Facts<'_>) -> Vec<PrincipleViolation> {
    let Some(groups) = draft.groups.as_deref() else {
        return Vec::new();
    };
    let template = draft
        .formation
        .legal_template_id
        .as_deref()
        .and_then(|id| facts.catalogue.template(id));
    // A warning only for a pool inside a parent that allows exceptions.
    let blocking = !(facts.policy.allows_principle_exceptions
        && template.is_none_or(|t| t.kind == TemplateKind::PoolInsideParent));
    breaches(groups, draft.finances.as_ref())
        .into_iter()
        .map(|(principle, reason)| PrincipleViolation {
            principle,
            reason,
            blocking,
        })
        .collect()
}

/// The principles these groups and finances break, and why.
pub(super) fn breaches(
    groups: &[DraftGroup],
    finances: Option<&FinancialProfile>,
) -> Vec<(IcaPrinciple, String)> {
    let shape: Vec<GroupShape> = groups
        .iter()
        .map(|g| GroupShape {
            kind: g.kind,
            voting_weight: g.voting_weight,
            admission: g.admission,
        })
        .collect();
    let surplus_with_investors =
        finances.is_some_and(|f| f.distributes_surplus && f.accepts_investor_members);
    shape_violations(&shape, surplus_with_investors)
}

/// What the principles look at in a stakeholder group.
pub struct GroupShape {
    pub kind: StakeholderKind,
    pub voting_weight: i32,
    pub admission: Admission,
}

/// The principles a set of groups breaks, with why; `surplus_with_investors`
/// when surplus is distributed and investor members are accepted. Founding
/// and changing the rules both ask this.
pub fn shape_violations(
    groups: &[GroupShape],
    surplus_with_investors: bool,
) -> Vec<(IcaPrinciple, String)> {
    let mut found = Vec::new();
    let mut add = |principle, reason: String| found.push((principle, reason));
    if groups.iter().all(|g| g.admission == Admission::Invitation) {
        add(
            IcaPrinciple::VoluntaryAndOpenMembership,
            "no stakeholder group admits new members: every group joins by invitation only".into(),
        );
    }
    let total: i64 = groups.iter().map(|g| i64::from(g.voting_weight)).sum();
    let investors: i64 = groups
        .iter()
        .filter(|g| g.kind == StakeholderKind::Investors)
        .map(|g| i64::from(g.voting_weight))
        .sum();
    if total == 0 {
        add(
            IcaPrinciple::DemocraticMemberControl,
            "no stakeholder group has a vote".into(),
        );
    } else if investors_control(investors, total) {
        add(
            IcaPrinciple::DemocraticMemberControl,
            format!(
                "investor votes (weight {investors}) equal or outweigh the members' votes (weight {})",
                total - investors
            ),
        );
        add(
            IcaPrinciple::AutonomyAndIndependence,
            "outside investors would hold at least half of the votes and could control the co-op"
                .into(),
        );
    }
    {
        let member_voters = groups
            .iter()
            .any(|g| g.kind != StakeholderKind::Investors && g.voting_weight > 0);
        if surplus_with_investors && !member_voters {
            add(
                IcaPrinciple::MemberEconomicParticipation,
                "surplus would be distributed while only investors control it; members should share it by their participation".into(),
            );
        }
    }
    found
}

/// Whether investors' `investors` of `total` voting weight are at least half.
pub fn investors_control(investors: i64, total: i64) -> bool {
    investors > 0 && investors * 2 >= total
}
