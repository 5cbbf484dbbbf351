//! The pool's governance settings and its rules document, both derived from
//! one set of parameters so that what the rules say and what the software
//! does cannot drift apart.

use std::fmt::Write;

use entities::{
    proposal::ProposalKind,
    sliding_scale::Interval,
    stakeholder_group::{Admission, StakeholderKind},
};
use serde::{Deserialize, Serialize};

use crate::{
    catalogue::{Fact, LegalTemplate, SurplusDistribution, TemplateKind, VotingRule},
    domain::format_minor,
    services::membership::sanctions::{CodeOfConduct, MAX_SUSPENSION_DAYS},
};

pub use super::contribution_rules::{Confirmers, ContributionMeaning, WorkContributionRules};
use super::{
    draft::{DraftGroup, FinancialProfile},
    evaluate::kind_name,
    principles::investors_control,
    template_fit::weights_differ,
};

/// Share of members who must vote for a decision to count.
pub const DEFAULT_QUORUM_PERCENT: i32 = 50;
/// Share of votes cast that must agree for a proposal to pass.
pub const DEFAULT_PASS_THRESHOLD_PERCENT: i32 = 50;
/// Changing the rules needs more.
pub const RULES_CHANGE_THRESHOLD_PERCENT: i32 = 67;
/// Voting stays open at least this long, and a week unless the proposal says.
pub const MINIMUM_VOTING_DAYS: i32 = 1;
pub const DEFAULT_VOTING_DAYS: i32 = 7;

/// How long voting stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VotingPeriod {
    /// 0: no minimum beyond a minute (pools founded before periods were rules).
    pub minimum_days: i32,
    pub default_days: i32,
}

impl VotingPeriod {
    /// What pools founded before voting periods were rules had.
    fn unstated() -> Self {
        Self {
            minimum_days: 0,
            default_days: DEFAULT_VOTING_DAYS,
        }
    }
}

/// The bars an expense must pass; `None` takes the pool's general ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpensePolicy {
    pub quorum_percent: Option<i32>,
    pub pass_threshold_percent: Option<i32>,
}

/// The range any sliding scale of the pool must lie in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionBounds {
    pub interval: Interval,
    /// Minor units of the pool's currency.
    pub minimum: i64,
    pub maximum: i64,
}

/// Which end of a scale the bounds refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutOfBounds {
    Interval,
    Minimum,
    Maximum,
}

impl ContributionBounds {
    /// What a scale of `interval` from `minimum` to `maximum` breaks.
    pub fn refuses(&self, interval: Interval, minimum: i64, maximum: i64) -> Vec<OutOfBounds> {
        let mut out = Vec::new();
        if interval != self.interval {
            out.push(OutOfBounds::Interval);
        }
        if minimum < self.minimum {
            out.push(OutOfBounds::Minimum);
        }
        if maximum > self.maximum {
            out.push(OutOfBounds::Maximum);
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupGovernance {
    pub key: String,
    pub name: String,
    pub kind: StakeholderKind,
    pub voting_weight: i32,
    pub admission: Admission,
    pub share_price: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Governance {
    pub voting_rule: VotingRule,
    pub default_quorum_percent: i32,
    pub default_pass_threshold_percent: i32,
    pub rules_change_threshold_percent: i32,
    pub currency: String,
    pub distributes_surplus: bool,
    pub raises_share_capital: bool,
    pub accepts_investor_members: bool,
    pub trades_with_public: bool,
    pub asset_lock: bool,
    pub groups: Vec<GroupGovernance>,
    // Rules added after the first pools were founded: those pools read
    // what they had before.
    #[serde(default = "VotingPeriod::unstated")]
    pub voting_period: VotingPeriod,
    #[serde(default)]
    pub expenses: ExpensePolicy,
    #[serde(default)]
    pub contribution_bounds: Option<ContributionBounds>,
    #[serde(default)]
    pub code_of_conduct: Option<CodeOfConduct>,
    /// Absent from rules that never set it (and then not written, so those
    /// rules read and hash as before): the defaults apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_contributions: Option<WorkContributionRules>,
}

impl Governance {
    /// What the rules say of contributions of work, care and kind.
    pub fn work_contribution_rules(&self) -> WorkContributionRules {
        self.work_contributions.clone().unwrap_or_default()
    }

    /// The quorum and threshold an expense must pass.
    pub fn expense_bars(&self) -> (i32, i32) {
        (
            self.expenses
                .quorum_percent
                .unwrap_or(self.default_quorum_percent),
            self.expenses
                .pass_threshold_percent
                .unwrap_or(self.default_pass_threshold_percent),
        )
    }

    /// The lowest quorum and threshold a proposal of `kind` may set.
    pub fn floors(&self, kind: ProposalKind) -> (i32, i32) {
        match kind {
            ProposalKind::Expense => self.expense_bars(),
            ProposalKind::RulesChange
            | ProposalKind::Move
            | ProposalKind::SpinOut
            | ProposalKind::Dissolution => (
                self.default_quorum_percent,
                self.rules_change_threshold_percent,
            ),
            ProposalKind::Proposal
            | ProposalKind::Poll
            | ProposalKind::Appeal
            | ProposalKind::AssemblyVote => (
                self.default_quorum_percent,
                self.default_pass_threshold_percent,
            ),
        }
    }
}

impl Governance {
    pub fn derive(
        template: &LegalTemplate,
        groups: &[DraftGroup],
        finances: &FinancialProfile,
    ) -> Self {
        // Groups weighted differently count by weight; otherwise the
        // template's rule, or one member one vote. The settings decide what
        // the rules state: a template that wants equal weights and does not
        // get them is a problem of the formation, which cannot be submitted
        // with it.
        let voting_rule = if weights_differ(groups) {
            VotingRule::WeightedByGroup
        } else {
            template.voting_rule.unwrap_or(VotingRule::OneMemberOneVote)
        };
        Self {
            voting_rule,
            default_quorum_percent: DEFAULT_QUORUM_PERCENT,
            default_pass_threshold_percent: DEFAULT_PASS_THRESHOLD_PERCENT,
            rules_change_threshold_percent: RULES_CHANGE_THRESHOLD_PERCENT,
            currency: finances.currency.clone(),
            // As chosen: a template that prohibits it is a problem of the
            // formation, not a clause turned silently into its opposite.
            distributes_surplus: finances.distributes_surplus,
            raises_share_capital: finances.raises_share_capital,
            accepts_investor_members: finances.accepts_investor_members,
            trades_with_public: finances.trades_with_public,
            asset_lock: template.asset_lock.unwrap_or(false),
            groups: groups
                .iter()
                .map(|g| GroupGovernance {
                    key: g.key.clone(),
                    name: g.name.clone(),
                    kind: g.kind,
                    voting_weight: g.voting_weight,
                    admission: g.admission,
                    share_price: g.share_price,
                })
                .collect(),
            voting_period: VotingPeriod {
                minimum_days: MINIMUM_VOTING_DAYS,
                default_days: DEFAULT_VOTING_DAYS,
            },
            expenses: ExpensePolicy::default(),
            contribution_bounds: None,
            code_of_conduct: None,
            work_contributions: None,
        }
    }
}

/// The rules document, in Markdown.
pub fn render_rules(
    name: &str,
    parent_name: &str,
    template: &LegalTemplate,
    g: &Governance,
) -> String {
    let mut doc = String::new();
    let _ = writeln!(doc, "# Rules of {name}\n");
    name_and_form(&mut doc, name, parent_name, template);
    membership(&mut doc, g);
    decisions(&mut doc, parent_name, g);
    money(&mut doc, g);
    dissolution(&mut doc, parent_name, template, g);
    if let Some(code) = &g.code_of_conduct {
        let _ = writeln!(
            doc,
            "\n## 6. Code of conduct (version {})\n\n{}",
            code.version,
            code.text.trim_end()
        );
    }
    if let Some(rules) = &g.work_contributions {
        let section = if g.code_of_conduct.is_some() { 7 } else { 6 };
        let _ = writeln!(
            doc,
            "\n## {section}. Contributions of work, care and kind\n"
        );
        let mut clause = numbered(&mut doc, section);
        for text in rules.clauses(&g.currency) {
            clause(text);
        }
    }
    let _ = writeln!(
        doc,
        "\n---\nBased on the template \"{}\" (version {}). Templates are starting points, not legal advice.",
        template.name, template.version
    );
    doc
}

// Writing into a String cannot fail, hence the `let _ =` below.

/// Section 1: the name, the legal form, and who holds the legal personality.
fn name_and_form(doc: &mut String, name: &str, parent_name: &str, template: &LegalTemplate) {
    let _ = writeln!(doc, "## 1. Name and legal form\n");
    let _ = writeln!(doc, "1.1 The organisation is called **{name}**.");
    let _ = writeln!(
        doc,
        "1.2 Legal form: {} ({}). It rests on: {}.",
        template.legal_form, template.name, template.citation
    );
    if template.registration_required {
        let authority = template
            .registering_authority
            .as_deref()
            .unwrap_or("the competent registering authority");
        let _ = writeln!(doc, "1.3 It is registered with {authority}.");
    } else {
        let _ = writeln!(
            doc,
            "1.3 It is a pool inside **{parent_name}**, which holds its legal personality and its money; the rules of {parent_name} apply where these rules are silent."
        );
    }
    statute_facts(doc, template);
}

/// 1.4: what the statute of a registered form sets, each with its article.
fn statute_facts(doc: &mut String, t: &LegalTemplate) {
    if t.kind != TemplateKind::Incorporated || t.citations.is_empty() {
        return;
    }
    let _ = writeln!(
        doc,
        "1.4 The law of this legal form sets:
"
    );
    for fact in Fact::ALL {
        if let (Some(text), Some(article)) = (fact_text(t, fact), t.cites(fact)) {
            let _ = writeln!(doc, "- {text} ({article})");
        }
    }
}

/// A fact as the rules state it; `None` when the template does not know it.
fn fact_text(t: &LegalTemplate, fact: Fact) -> Option<String> {
    Some(match fact {
        Fact::MinFoundingMembers => {
            format!("at least {} founding members", t.min_founding_members?)
        }
        Fact::InvestorMembersAllowed => if t.investor_members_allowed? {
            "investor members may be admitted"
        } else {
            "no investor members"
        }
        .to_owned(),
        Fact::SurplusDistribution => match t.surplus_distribution? {
            SurplusDistribution::Allowed => "surplus may be shared among the members",
            SurplusDistribution::Limited => {
                "surplus may be shared among the members only within the limits the law sets"
            }
            SurplusDistribution::Prohibited => "surplus is never shared among the members",
        }
        .to_owned(),
        Fact::AssetLock => if t.asset_lock? {
            "an asset lock: on dissolution the assets are not shared among the members"
        } else {
            "no asset lock: on dissolution what remains may be shared among the members"
        }
        .to_owned(),
        Fact::MinShareCapital => {
            let capital = t.min_share_capital.as_ref()?;
            if capital.amount == 0 {
                "no minimum share capital".to_owned()
            } else {
                format!(
                    "share capital of at least {} {}",
                    format_minor(capital.amount, &capital.currency),
                    capital.currency
                )
            }
        }
        Fact::ReserveFundPercent => format!(
            "at least {}% of each year's surplus to a reserve the members cannot share",
            t.reserve_fund_percent?
        ),
        Fact::VotingRule => match t.voting_rule? {
            VotingRule::OneMemberOneVote => "one member, one vote",
            VotingRule::WeightedByGroup => "votes counted by stakeholder group",
        }
        .to_owned(),
    })
}

/// Section 2: the stakeholder groups, as a table, and what membership means.
fn membership(doc: &mut String, g: &Governance) {
    let _ = writeln!(doc, "\n## 2. Membership\n");
    let _ = writeln!(
        doc,
        "2.1 Membership is voluntary. The members belong to these stakeholder groups:\n"
    );
    let _ = writeln!(
        doc,
        "| group | kind | voting weight | how people join | share price |"
    );
    let _ = writeln!(doc, "|---|---|---|---|---|");
    for group in &g.groups {
        let price = group.share_price.map_or_else(
            || "none".to_owned(),
            |p| format!("{} {}", format_minor(p, &g.currency), g.currency),
        );
        let _ = writeln!(
            doc,
            "| {} | {} | {} | {} | {} |",
            group.name,
            kind_name(group.kind),
            group.voting_weight,
            admission_text(group.admission),
            price
        );
    }
    let _ = writeln!(
        doc,
        "\n2.2 A member belongs to exactly one stakeholder group. Members may leave at any time; the member register keeps every membership with its dates."
    );
    let _ = writeln!(
        doc,
        "2.3 Paying and belonging are separate: a member who cannot contribute keeps their rights."
    );
    let _ = writeln!(
        doc,
        "2.4 An admin may remove a member, giving a reason that the register keeps. The pool always keeps at least one admin."
    );
    let _ = writeln!(
        doc,
        "2.5 An admin may suspend another member for up to {MAX_SUSPENSION_DAYS} days, giving a reason that the register keeps. A suspended member keeps their membership and its history but neither votes nor proposes until the suspension ends. The member may appeal once: the appeal is put to the members as a proposal, and if it passes the suspension ends."
    );
    if let Some(code) = &g.code_of_conduct {
        let _ = writeln!(
            doc,
            "2.6 New members accept the code of conduct in section 6 (version {}) when they join; the register records the version each member accepted.",
            code.version
        );
    }
}

/// Section 3: who votes, how votes count, and the bars a decision must pass.
/// Each clause states a rule the software enforces, with its number.
fn decisions(doc: &mut String, parent_name: &str, g: &Governance) {
    let _ = writeln!(doc, "\n## 3. Decisions\n");
    let mut clause = numbered(doc, 3);
    match g.voting_rule {
        VotingRule::OneMemberOneVote => clause("Each member has one vote.".into()),
        VotingRule::WeightedByGroup => clause(
            "Each member has one vote within their group, and each group's share of agreement counts by its voting weight.".into(),
        ),
    }
    if let Some(non_voting) = non_voting_groups(g) {
        clause(format!(
            "Members of {non_voting} take part in discussion but do not vote."
        ));
    }
    clause(format!(
        "Any member may put a proposal or a poll to the members. {}",
        voting_period_text(g.voting_period)
    ));
    clause(format!(
        "A decision needs a quorum of {}% of the eligible members, counting ballots cast directly or through a delegate, and passes with more than {}% of the votes that agree or disagree. A proposal may set a higher quorum or threshold, never a lower one.",
        g.default_quorum_percent, g.default_pass_threshold_percent
    ));
    clause("A single block stops a proposal.".into());
    clause(
        "A poll is decided by the option most voted for; of options tied, the first listed.".into(),
    );
    clause("A member may hand their vote to another member of the same group, for one proposal or standing; the delegate's own vote then counts for them unless they vote themselves. A delegate's vote passes on no further.".into());
    clause("A proposal may be put to some of the voting groups only; then only their members vote and count towards its quorum.".into());
    clause("An admin may close voting before its time; the proposal is then counted as it stands, against the same quorum and threshold.".into());
    clause(format!(
        "These rules change only by a rules-change proposal put to every voting group, with a quorum of {}%, that more than {}% of the votes that agree or disagree accept{}. It is adopted exactly as voted, or not at all: if other rules are adopted while it is open, it lapses. Where the policy of {parent_name} says so, a change takes effect only once a steward of {parent_name} approves it.",
        g.default_quorum_percent,
        g.rules_change_threshold_percent,
        if g.voting_rule == VotingRule::WeightedByGroup {
            " in each voting group"
        } else {
            ""
        }
    ));
    clause(format!(
        "Moving the pool to another parent entity is decided as a change of these rules, and happens once that parent accepts the pool and {parent_name} releases it; the pool keeps its members, register, books and trail."
    ));
}

/// "Voting stays open …": the period's rule as members read it.
fn voting_period_text(p: VotingPeriod) -> String {
    let minimum = match p.minimum_days {
        0 => "more than a minute".to_owned(),
        1 => "at least a day".to_owned(),
        n => format!("at least {n} days"),
    };
    format!(
        "Voting stays open for {minimum}, and for {} when the proposal does not say.",
        days(p.default_days)
    )
}

fn days(n: i32) -> String {
    if n == 1 {
        "a day".to_owned()
    } else {
        format!("{n} days")
    }
}

/// A writer of numbered clauses `section.1`, `section.2`, … so that a clause
/// left out never leaves a gap.
fn numbered(doc: &mut String, section: u32) -> impl FnMut(String) + '_ {
    let mut n = 0;
    move |text| {
        n += 1;
        let _ = writeln!(doc, "{section}.{n} {text}");
    }
}

/// Section 4: the accounts, then one clause per financial choice.
fn money(doc: &mut String, g: &Governance) {
    let _ = writeln!(doc, "\n## 4. Money\n");
    let mut clause = numbered(doc, 4);
    clause(format!(
        "The pool keeps its accounts in {}. Every member can read the ledger.",
        g.currency
    ));
    // Each clause says only what the settings make true: a share price, or
    // investors kept below half of the votes, is stated where there is one.
    let priced = g
        .groups
        .iter()
        .any(|x| x.share_price.is_some_and(|p| p > 0));
    let (investors, total) = g.groups.iter().fold((0, 0), |(inv, all), x| {
        let w = i64::from(x.voting_weight);
        let inv = if x.kind == StakeholderKind::Investors {
            inv + w
        } else {
            inv
        };
        (inv, all + w)
    });
    let choices = [
        (
            g.distributes_surplus,
            "Surplus may be distributed to members in proportion to their participation, not to capital held.",
            "Surplus is not distributed to members; it stays in the pool for its purpose.",
        ),
        (
            g.raises_share_capital,
            if priced {
                "The pool raises share capital from its members at the share prices above."
            } else {
                "The pool raises share capital from its members."
            },
            "The pool raises no share capital.",
        ),
        (
            g.accepts_investor_members,
            if investors_control(investors, total) {
                "Investor members may join, in the groups for investors above."
            } else {
                "Investor members may join; their votes never outweigh those of the other members."
            },
            "The pool admits no investor members.",
        ),
        (
            g.trades_with_public,
            "The pool trades with the public.",
            "The pool trades with its members only.",
        ),
    ];
    for (chosen, yes, no) in choices {
        clause(if chosen { yes } else { no }.to_owned());
    }
    let (quorum, threshold) = g.expense_bars();
    clause(format!(
        "Expenses are proposed to the members and paid only once approved, with a quorum of {quorum}% and more than {threshold}% of the votes that agree or disagree; an admin other than the member who submitted an expense records it paid. Above the amount the parent's policy sets, an expense also needs as many agreeing votes as that policy asks."
    ));
    clause(match g.contribution_bounds {
        Some(b) => format!(
            "Members contribute on a sliding scale the admins set, between {} and {} {} per {}.",
            format_minor(b.minimum, &g.currency),
            format_minor(b.maximum, &g.currency),
            g.currency,
            interval_name(b.interval)
        ),
        None => "Members contribute on a sliding scale the admins set.".to_owned(),
    });
}

pub fn interval_name(i: Interval) -> &'static str {
    match i {
        Interval::Month => "month",
        Interval::Year => "year",
    }
}

/// Section 5: where the assets go; the template's own clause comes first.
fn dissolution(doc: &mut String, parent_name: &str, template: &LegalTemplate, g: &Governance) {
    let _ = writeln!(doc, "\n## 5. Dissolution\n");
    let clause = template.dissolution_clause.clone().unwrap_or_else(|| {
        if g.asset_lock {
            format!("On dissolution, remaining assets go to {parent_name} or to another co-operative, never to members.")
        } else {
            "On dissolution, remaining assets are applied as the law of the legal form requires.".to_owned()
        }
    });
    let _ = writeln!(doc, "5.1 {clause}");
}

fn non_voting_groups(g: &Governance) -> Option<String> {
    let names: Vec<&str> = g
        .groups
        .iter()
        .filter(|x| x.voting_weight == 0)
        .map(|x| x.name.as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn admission_text(admission: Admission) -> &'static str {
    match admission {
        Admission::Open => "open: anyone may join",
        Admission::Application => "by application, decided by the admins",
        Admission::Invitation => "by invitation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalogue::Catalogue,
        services::formations::draft::fixtures::{finances, group},
    };

    fn rules(template: &str, groups: &[DraftGroup], f: &FinancialProfile) -> (Governance, String) {
        let catalogue = Catalogue::load().unwrap();
        let t = catalogue.template(template).unwrap();
        let g = Governance::derive(t, groups, f);
        let doc = render_rules("Test", "Parent", t, &g);
        (g, doc)
    }

    #[test]
    fn investors_are_said_to_be_outweighed_only_when_they_are() {
        use StakeholderKind::*;
        let (_, doc) = rules(
            "pool-inside-parent",
            &[group("workers", Workers, 1), group("money", Investors, 3)],
            &finances(false, false, true),
        );
        assert!(doc.contains("4.4 Investor members may join, in the groups for investors above."));
        assert!(!doc.contains("never outweigh"), "{doc}");
        let (_, doc) = rules(
            "pool-inside-parent",
            &[group("workers", Workers, 3), group("money", Investors, 1)],
            &finances(false, false, true),
        );
        assert!(doc.contains("their votes never outweigh those of the other members"));
    }

    #[test]
    fn the_rules_state_the_weights_and_the_surplus_as_set() {
        use StakeholderKind::*;
        let groups = [group("workers", Workers, 2), group("users", Users, 1)];
        let (g, doc) = rules(
            "es-sociedad-cooperativa",
            &groups,
            &finances(true, false, false),
        );
        assert_eq!(g.voting_rule, VotingRule::WeightedByGroup);
        assert!(doc.contains("each group's share of agreement counts by its voting weight"));
        assert!(g.distributes_surplus);
        assert!(doc.contains("- surplus may be shared among the members only within the limits the law sets (Ley 27/1999, art. 58"));
    }
}
