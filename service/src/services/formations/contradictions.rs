//! Where two steps of a formation say opposite things: the stakeholder
//! groups and the financial profile. Each contradiction is a problem of
//! both steps, so whichever the founder opens shows it, and the rules
//! document, which states both, is never submitted saying one thing in its
//! table and the opposite in its clauses.

use entities::stakeholder_group::StakeholderKind;

use super::{
    draft::{Draft, DraftGroup, FinancialProfile},
    evaluate::{FormationStep, ProblemCode},
};

/// Adds each contradiction between the groups and the finances, once both
/// are answered, as a problem of each step.
pub(super) fn check(draft: &Draft, add: &mut impl FnMut(FormationStep, &str, ProblemCode, String)) {
    let (Some(groups), Some(f)) = (&draft.groups, &draft.finances) else {
        return;
    };
    for c in contradictions(groups, f) {
        add(
            FormationStep::Stakeholders,
            &c.groups_path,
            ProblemCode::Contradiction,
            c.message.clone(),
        );
        add(
            FormationStep::Finances,
            c.finances_path,
            ProblemCode::Contradiction,
            c.message,
        );
    }
}

struct Contradiction {
    groups_path: String,
    finances_path: &'static str,
    message: String,
}

fn contradictions(groups: &[DraftGroup], f: &FinancialProfile) -> Vec<Contradiction> {
    let mut found = Vec::new();
    Answer {
        says_yes: f.accepts_investor_members,
        finances_path: "financialProfile.acceptsInvestorMembers",
        group_field: "kind",
        yes_without: "the financial profile accepts investor members, but no stakeholder group is of kind INVESTORS for them to join",
        no_with: "is for investors, but the financial profile accepts no investor members",
    }
    .check(groups, |g| g.kind == StakeholderKind::Investors, &mut found);
    Answer {
        says_yes: f.raises_share_capital,
        finances_path: "financialProfile.raisesShareCapital",
        group_field: "sharePrice",
        yes_without: "the financial profile raises share capital, but no stakeholder group has a share price",
        no_with: "has a share price, but the financial profile raises no share capital",
    }
    .check(groups, |g| g.share_price.is_some_and(|p| p > 0), &mut found);
    found
}

/// A yes-or-no answer of the financial profile about some of the groups:
/// yes needs at least one such group, no refuses every one.
struct Answer {
    says_yes: bool,
    finances_path: &'static str,
    /// The field of a group that makes it one of them.
    group_field: &'static str,
    yes_without: &'static str,
    /// Follows the group's key.
    no_with: &'static str,
}

impl Answer {
    fn check(
        &self,
        groups: &[DraftGroup],
        is_one: impl Fn(&DraftGroup) -> bool,
        found: &mut Vec<Contradiction>,
    ) {
        let mut ones = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| is_one(g))
            .peekable();
        if self.says_yes {
            if ones.peek().is_none() {
                found.push(Contradiction {
                    groups_path: "stakeholderGroups".to_owned(),
                    finances_path: self.finances_path,
                    message: self.yes_without.to_owned(),
                });
            }
            return;
        }
        for (i, g) in ones {
            found.push(Contradiction {
                groups_path: format!("stakeholderGroups[{i}].{}", self.group_field),
                finances_path: self.finances_path,
                message: format!("the group `{}` {}", g.key, self.no_with),
            });
        }
    }
}
