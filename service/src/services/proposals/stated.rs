//! The rules as written are the rules enforced: for many governance values,
//! each rule the rendered document states (read back from its text) is
//! checked against what the code that serves the API does with that value —
//! the fields a new proposal may have, how a closed one is counted, and
//! which sliding scales the admins may set.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use entities::{
    proposal::{Outcome, ProposalKind},
    sliding_scale::Interval,
    stakeholder_group::{self, Admission, StakeholderKind},
};
use proptest::prelude::*;
use uuid::Uuid;

use super::{
    CreateInput,
    fields::parse,
    tally::{AGREE, DISAGREE, PROPOSAL_OPTIONS, TallyInput, tally},
};
use crate::{
    catalogue::{Catalogue, VotingRule},
    services::formations::governance::{
        ContributionBounds, ExpensePolicy, Governance, GroupGovernance, VotingPeriod, render_rules,
    },
    services::membership::sanctions::{CodeOfConduct, accepted_on_joining},
};

fn kind() -> impl Strategy<Value = StakeholderKind> {
    prop_oneof![
        Just(StakeholderKind::Workers),
        Just(StakeholderKind::Users),
        Just(StakeholderKind::Producers),
        Just(StakeholderKind::Supporters),
        Just(StakeholderKind::Other),
    ]
}

fn admission() -> impl Strategy<Value = Admission> {
    prop_oneof![
        Just(Admission::Open),
        Just(Admission::Application),
        Just(Admission::Invitation),
    ]
}

fn groups() -> impl Strategy<Value = Vec<GroupGovernance>> {
    prop::collection::vec((kind(), 0..=100i32, admission()), 1..=5)
        .prop_map(|gs| {
            gs.into_iter()
                .enumerate()
                .map(|(i, (kind, voting_weight, admission))| GroupGovernance {
                    key: format!("g{i}"),
                    name: format!("Group {i}"),
                    kind,
                    voting_weight,
                    admission,
                    share_price: None,
                })
                .collect::<Vec<_>>()
        })
        // A pool always has a voting group.
        .prop_filter("a voting group", |gs| {
            gs.iter().any(|g| g.voting_weight > 0)
        })
}

prop_compose! {
    fn governance()(
        weighted in any::<bool>(),
        quorum in 1..=100i32,
        threshold in 0..=98i32,
        extra in 0..=20i32,
        minimum_days in 0..=30i32,
        longer in 0..=30i32,
        expense_quorum in prop::option::of(1..=100i32),
        expense_threshold in prop::option::of(0..=99i32),
        bounds in prop::option::of((0..=5_000i64, 1..=100_000i64, any::<bool>())),
        finances in any::<(bool, bool, bool)>(),
        groups in groups(),
        code in prop::option::of((1..=9i32, "[A-Za-z ,.]{1,60}")),
    ) -> Governance {
        Governance {
            voting_rule: if weighted { VotingRule::WeightedByGroup } else { VotingRule::OneMemberOneVote },
            default_quorum_percent: quorum,
            default_pass_threshold_percent: threshold,
            rules_change_threshold_percent: (threshold + extra).clamp(50, 99).max(threshold),
            currency: "EUR".into(),
            distributes_surplus: finances.0,
            raises_share_capital: false,
            accepts_investor_members: finances.1,
            trades_with_public: finances.2,
            asset_lock: true,
            groups,
            voting_period: VotingPeriod {
                minimum_days,
                default_days: (minimum_days + longer).max(1),
            },
            expenses: ExpensePolicy { quorum_percent: expense_quorum, pass_threshold_percent: expense_threshold },
            contribution_bounds: bounds.map(|(minimum, span, yearly)| ContributionBounds {
                interval: if yearly { Interval::Year } else { Interval::Month },
                minimum,
                maximum: minimum + span,
            }),
            code_of_conduct: code.map(|(version, text)| CodeOfConduct { version, text: format!("Rule: {text}") }),
            work_contributions: None,
        }
    }
}

/// The whole number the document states right after `before`.
fn stated(doc: &str, before: &str) -> i32 {
    let at = doc
        .find(before)
        .unwrap_or_else(|| panic!("the document does not say {before:?}:\n{doc}"));
    let digits: String = doc[at + before.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {before:?}"))
}

/// The minimum voting period the document states, in days (0: a minute).
fn stated_minimum_days(doc: &str) -> i32 {
    if doc.contains("Voting stays open for more than a minute") {
        0
    } else if doc.contains("Voting stays open for at least a day,") {
        1
    } else {
        stated(doc, "Voting stays open for at least ")
    }
}

fn stated_default_days(doc: &str) -> i32 {
    if doc.contains("and for a day when the proposal does not say") {
        1
    } else {
        stated(doc, ", and for ")
    }
}

/// The groups of `g` as the pool's rows.
fn rows(g: &Governance) -> Vec<stakeholder_group::Model> {
    g.groups
        .iter()
        .map(|x| stakeholder_group::Model {
            id: Uuid::now_v7(),
            pool_id: Uuid::nil(),
            key: x.key.clone(),
            name: x.name.clone(),
            kind: x.kind,
            voting_weight: x.voting_weight,
            share_price_minor: x.share_price,
            admission: x.admission,
            created_at: Utc::now(),
            retired_at: None,
        })
        .collect()
}

fn input(kind: ProposalKind) -> CreateInput {
    CreateInput {
        pool_id: Uuid::nil(),
        title: "A proposal".into(),
        body: String::new(),
        kind,
        options: if kind == ProposalKind::Poll {
            vec!["a".into(), "b".into()]
        } else {
            Vec::new()
        },
        closes_at: None,
        quorum_percent: None,
        pass_threshold_percent: None,
        voting_rule: None,
        eligible_group_ids: None,
        rules_change: None,
        move_to: None,
        spin_out: None,
        dissolution: None,
        fund_application: None,
    }
}

/// Whether a new proposal with these bars is accepted.
fn accepts(
    g: &Governance,
    groups: &[stakeholder_group::Model],
    kind: ProposalKind,
    quorum: Option<i32>,
    threshold: Option<i32>,
) -> bool {
    let mut i = input(kind);
    i.quorum_percent = quorum;
    i.pass_threshold_percent = threshold;
    parse(i, g, groups, Utc::now()).is_ok()
}

/// The outcome of one group of `eligible` voters of which `agree` agree,
/// `disagree` disagree and the rest do not vote.
fn outcome(
    rule: VotingRule,
    quorum: i32,
    threshold: i32,
    eligible: usize,
    agree: usize,
    disagree: usize,
) -> Outcome {
    let group = Uuid::now_v7();
    let voters: Vec<Uuid> = (0..eligible).map(|_| Uuid::now_v7()).collect();
    let electorate: HashMap<Uuid, Uuid> = voters.iter().map(|v| (*v, group)).collect();
    let votes: HashMap<Uuid, String> = voters
        .iter()
        .take(agree)
        .map(|v| (*v, AGREE.to_owned()))
        .chain(
            voters
                .iter()
                .skip(agree)
                .take(disagree)
                .map(|v| (*v, DISAGREE.to_owned())),
        )
        .collect();
    let options: Vec<String> = PROPOSAL_OPTIONS.iter().map(|o| (*o).to_owned()).collect();
    tally(&TallyInput {
        kind: ProposalKind::Proposal,
        options: &options,
        rule,
        quorum_percent: quorum,
        pass_threshold_percent: threshold,
        electorate: &electorate,
        weights: &HashMap::from([(group, 1)]),
        votes: &votes,
        delegations: &HashMap::new(),
        min_agree: None,
        every_group: false,
        labour_shares: &HashMap::new(),
    })
    .outcome
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_stated_rule_is_the_enforced_rule(g in governance()) {
        let catalogue = Catalogue::load().unwrap();
        let template = catalogue.template("pool-inside-parent").unwrap();
        let doc = render_rules("Test Pool", "The Parent", template, &g);
        let groups = rows(&g);

        // 3.x: the quorum and threshold, as floors a proposal may raise.
        let quorum = stated(&doc, "a quorum of ");
        let threshold = stated(&doc, "passes with more than ");
        for kind in [ProposalKind::Proposal, ProposalKind::Poll] {
            prop_assert!(accepts(&g, &groups, kind, Some(quorum), None));
            prop_assert!(accepts(&g, &groups, kind, Some(100), None));
            prop_assert!(!accepts(&g, &groups, kind, Some(quorum - 1), None), "quorum {} accepted", quorum - 1);
        }
        prop_assert!(accepts(&g, &groups, ProposalKind::Proposal, None, Some(threshold)));
        prop_assert!(accepts(&g, &groups, ProposalKind::Proposal, None, Some(99)));
        if threshold > 0 {
            prop_assert!(!accepts(&g, &groups, ProposalKind::Proposal, None, Some(threshold - 1)));
        }
        let mut defaults = input(ProposalKind::Proposal);
        defaults.closes_at = None;
        let f = parse(defaults, &g, &groups, Utc::now()).unwrap();
        prop_assert_eq!((f.quorum, f.threshold), (quorum, threshold));

        // "a quorum of Q% … passes with more than T%": counted so. Ten
        // voters all agreeing: quorum is reached with exactly Q% turnout
        // (rounded up) and not with one ballot less.
        let needed = (quorum as usize * 10).div_ceil(100);
        prop_assert_ne!(outcome(g.voting_rule, quorum, threshold, 10, needed, 0), Outcome::NoQuorum);
        if needed > 0 {
            prop_assert_eq!(outcome(g.voting_rule, quorum, threshold, 10, needed - 1, 0), Outcome::NoQuorum);
        }
        // Of 100 voters, `threshold` agreeing and the rest against is not
        // more than T%; one more is (when the quorum is met by all voting).
        prop_assert_eq!(outcome(g.voting_rule, quorum, threshold, 100, threshold as usize, 100 - threshold as usize), Outcome::Failed);
        prop_assert_eq!(outcome(g.voting_rule, quorum, threshold, 100, threshold as usize + 1, 99 - threshold as usize), Outcome::Passed);

        // The amendment threshold is the floor of a rules change.
        let amendment = stated(&doc, "that more than ");
        prop_assert_eq!(amendment, g.rules_change_threshold_percent);
        prop_assert!(!accepts(&g, &groups, ProposalKind::RulesChange, None, Some(amendment - 1)));
        let rc = parse(input(ProposalKind::RulesChange), &g, &groups, Utc::now()).unwrap();
        prop_assert_eq!(rc.threshold, amendment);
        prop_assert_eq!(
            doc.contains("accept in each voting group"),
            g.voting_rule == VotingRule::WeightedByGroup
        );

        // The voting period: the minimum is refused a minute short and
        // accepted a minute over; the default is what a proposal gets.
        let minimum = stated_minimum_days(&doc);
        let default = stated_default_days(&doc);
        prop_assert_eq!((minimum, default), (g.voting_period.minimum_days, g.voting_period.default_days));
        let now = Utc::now();
        let at = |closes: chrono::DateTime<Utc>| {
            let mut i = input(ProposalKind::Proposal);
            i.closes_at = Some(closes);
            parse(i, &g, &groups, now).is_ok()
        };
        let floor = if minimum == 0 { Duration::minutes(1) } else { Duration::days(i64::from(minimum)) };
        prop_assert!(!at(now + floor - Duration::seconds(30)));
        prop_assert!(at(now + floor + Duration::seconds(30)));
        let f = parse(input(ProposalKind::Proposal), &g, &groups, now).unwrap();
        prop_assert_eq!(f.closes_at, now + Duration::days(i64::from(default)));

        // The voting rule: stated, applied, and no proposal picks another.
        let weighted = doc.contains("counts by its voting weight");
        prop_assert_eq!(weighted, g.voting_rule == VotingRule::WeightedByGroup);
        prop_assert_eq!(f.rule, g.voting_rule);
        let other = if weighted { VotingRule::OneMemberOneVote } else { VotingRule::WeightedByGroup };
        let mut i = input(ProposalKind::Proposal);
        i.voting_rule = Some(other);
        prop_assert!(parse(i, &g, &groups, now).is_err());

        // Non-voting groups: named in the document exactly when they have
        // weight 0; they are never in a proposal's electorate.
        for row in &groups {
            let says_no_vote = doc
                .lines()
                .any(|l| l.contains("take part in discussion but do not vote") && l.contains(&row.name));
            prop_assert_eq!(says_no_vote, row.voting_weight == 0, "{}", row.name);
            prop_assert_eq!(f.eligible.contains(&row.id), row.voting_weight > 0);
            let mut i = input(ProposalKind::Proposal);
            i.eligible_group_ids = Some(vec![row.id]);
            prop_assert_eq!(parse(i, &g, &groups, now).is_ok(), row.voting_weight > 0);
            // The table states each group's weight.
            let table_row = format!("| {} | {} | {} |", row.name, crate::services::formations::evaluate::kind_name(row.kind), row.voting_weight);
            prop_assert!(doc.contains(&table_row), "{table_row}");
        }

        // Expenses: the bars the document states are an expense's floors.
        let expense_quorum = stated(&doc, "paid only once approved, with a quorum of ");
        let expense_threshold = stated(&doc, &format!("with a quorum of {expense_quorum}% and more than "));
        let e = parse(input(ProposalKind::Expense), &g, &groups, now).unwrap();
        prop_assert_eq!((e.quorum, e.threshold), (expense_quorum, expense_threshold));
        if expense_quorum > 0 {
            prop_assert!(!accepts(&g, &groups, ProposalKind::Expense, Some(expense_quorum - 1), None));
        }

        // Contribution bounds: a scale at the stated ends is admitted, one
        // a unit outside is not.
        match g.contribution_bounds {
            Some(b) => {
                let said = format!("between {} and {} EUR per {}",
                    crate::domain::format_minor(b.minimum, "EUR"),
                    crate::domain::format_minor(b.maximum, "EUR"),
                    if b.interval == Interval::Year { "year" } else { "month" });
                prop_assert!(doc.contains(&said), "{said}");
                prop_assert!(b.refuses(b.interval, b.minimum, b.maximum).is_empty());
                prop_assert!(!b.refuses(b.interval, b.minimum - 1, b.maximum).is_empty());
                prop_assert!(!b.refuses(b.interval, b.minimum, b.maximum + 1).is_empty());
                let other = if b.interval == Interval::Year { Interval::Month } else { Interval::Year };
                prop_assert!(!b.refuses(other, b.minimum, b.maximum).is_empty());
            }
            None => prop_assert!(doc.contains("Members contribute on a sliding scale the admins set.")),
        }

        // The financial choices are stated as they are.
        prop_assert_eq!(doc.contains("Surplus may be distributed"), g.distributes_surplus);
        prop_assert_eq!(doc.contains("Investor members may join"), g.accepts_investor_members);
        prop_assert_eq!(doc.contains("The pool trades with the public."), g.trades_with_public);

        // The code of conduct: stated with its version exactly when the
        // rules carry one, and joining needs exactly that version.
        let pool = entities::pool::Model {
            id: Uuid::nil(),
            parent_entity_id: Uuid::nil(),
            formation_id: Uuid::nil(),
            name: "Test Pool".into(),
            slug: "test-pool".into(),
            name_key: "test pool".into(),
            status: entities::pool::PoolStatus::Active,
            legal_template_id: template.id.clone(),
            legal_template_version: template.version,
            currency: "EUR".into(),
            rules_document: doc.clone(),
            governance: serde_json::to_value(&g).unwrap(),
            created_at: now,
            updated_at: now,
            status_reason: None,
            status_changed_at: None,
        };
        match &g.code_of_conduct {
            Some(code) => {
                let heading = format!("## 6. Code of conduct (version {})", code.version);
                prop_assert!(doc.contains(&heading), "{heading}");
                prop_assert!(doc.contains(code.text.trim_end()));
                prop_assert_eq!(accepted_on_joining(&pool, Some(code.version), "p"), Ok(Some(code.version)));
                prop_assert!(accepted_on_joining(&pool, None, "p").is_err());
                prop_assert!(accepted_on_joining(&pool, Some(code.version + 1), "p").is_err());
            }
            None => {
                prop_assert!(!doc.contains("Code of conduct"));
                prop_assert_eq!(accepted_on_joining(&pool, None, "p"), Ok(None));
            }
        }

        // Clauses are numbered without gaps.
        for section in 1..=6 {
            let numbers: Vec<u32> = doc
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{section}.")))
                .filter_map(|rest| rest.split(' ').next()?.parse().ok())
                .collect();
            prop_assert_eq!(numbers.clone(), (1..=numbers.len() as u32).collect::<Vec<_>>());
        }
    }
}
