//! Counting votes: the outcome of a closed proposal. A pure function of the
//! electorate, the votes and the delegations, so the rules are unit-tested.

use std::collections::HashMap;

use entities::proposal::{Outcome, ProposalKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalogue::VotingRule;

pub const AGREE: &str = "agree";
pub const ABSTAIN: &str = "abstain";
pub const DISAGREE: &str = "disagree";
pub const BLOCK: &str = "block";
/// The options of a proposal (and of an expense).
pub const PROPOSAL_OPTIONS: [&str; 4] = [AGREE, ABSTAIN, DISAGREE, BLOCK];

pub struct TallyInput<'a> {
    pub kind: ProposalKind,
    pub options: &'a [String],
    pub rule: VotingRule,
    pub quorum_percent: i32,
    pub pass_threshold_percent: i32,
    /// Eligible voters: membership id → group id.
    pub electorate: &'a HashMap<Uuid, Uuid>,
    /// Group id → voting weight.
    pub weights: &'a HashMap<Uuid, i32>,
    /// Direct votes: membership id → choice.
    pub votes: &'a HashMap<Uuid, String>,
    /// Delegator → delegate, already resolved (a proposal's own delegation
    /// before a standing one).
    pub delegations: &'a HashMap<Uuid, Uuid>,
    /// Fewest agreeing votes needed (the parent's policy for large expenses).
    pub min_agree: Option<i64>,
    /// Under `WEIGHTED_BY_GROUP`, every group must pass the threshold on its
    /// own (a change to the rules), not only their weighted sum.
    pub every_group: bool,
    /// Labour shares (membership id → shares) where the pool's rules make
    /// them count: each adds one to that member's ballot when agreement is
    /// counted; quorum and blocks still count people. Empty leaves every
    /// ballot at one.
    pub labour_shares: &'a HashMap<Uuid, i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionCount {
    pub option: String,
    pub direct: i64,
    pub delegated: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupCount {
    pub group_id: Uuid,
    pub weight: i32,
    pub eligible: i64,
    pub counts: Vec<OptionCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub outcome: Outcome,
    pub eligible_voters: i64,
    /// Ballots counted, direct and delegated.
    pub ballots: i64,
    /// Ballots per 100 eligible voters, rounded down.
    pub turnout_percent: i64,
    pub quorum_reached: bool,
    /// Share of agreeing votes among agree and disagree, in basis points
    /// (10 000 = all), weighted by group under `WEIGHTED_BY_GROUP`.
    pub agree_basis_points: Option<i64>,
    pub counts: Vec<OptionCount>,
    pub groups: Vec<GroupCount>,
    /// The poll option with most votes (ties: the first listed).
    pub winning_option: Option<String>,
    /// Labour shares counted beside the ballots (0 where the rules give
    /// none, and then not stored, so counts stored before read the same).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub labour_shares: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

pub fn tally(input: &TallyInput<'_>) -> Tally {
    let ballots = ballots(input);
    let counts = count(input.options, &ballots, |_| true);
    let groups = group_counts(input, &ballots);
    let eligible_voters = input.electorate.len() as i64;
    let cast = ballots.len() as i64;
    let turnout_percent = if eligible_voters == 0 {
        0
    } else {
        cast * 100 / eligible_voters
    };
    let quorum_reached =
        eligible_voters > 0 && cast * 100 >= i64::from(input.quorum_percent) * eligible_voters;
    let sides = Sides::of(&ballots);
    let decision = if !quorum_reached {
        Decision::plain(Outcome::NoQuorum)
    } else if input.kind == ProposalKind::Poll {
        poll_decision(&counts)
    } else {
        proposal_decision(input, &counts, &groups, &sides)
    };
    let labour_shares = ballots
        .iter()
        .fold(0i64, |n, b| n.saturating_add(b.weight.saturating_sub(1)));
    Tally {
        outcome: decision.outcome,
        eligible_voters,
        ballots: cast,
        turnout_percent,
        quorum_reached,
        agree_basis_points: decision.agree_basis_points,
        counts,
        groups,
        winning_option: decision.winning_option,
        labour_shares,
    }
}

/// Agreeing and disagreeing weight, in all and per group: each ballot one,
/// plus its voter's labour shares.
#[derive(Default)]
struct Sides {
    all: (i64, i64),
    groups: HashMap<Uuid, (i64, i64)>,
}

impl Sides {
    fn of(ballots: &[Ballot<'_>]) -> Self {
        let mut s = Self::default();
        for b in ballots {
            let add = |side: &mut (i64, i64)| match b.choice {
                AGREE => side.0 = side.0.saturating_add(b.weight),
                DISAGREE => side.1 = side.1.saturating_add(b.weight),
                _ => {}
            };
            add(&mut s.all);
            add(s.groups.entry(b.group).or_default());
        }
        s
    }

    fn of_group(&self, group: Uuid) -> (i64, i64) {
        self.groups.get(&group).copied().unwrap_or_default()
    }
}

/// One ballot counted: the voter's group, the choice, and whether it came
/// through a delegate.
struct Ballot<'a> {
    group: Uuid,
    choice: &'a str,
    delegated: bool,
    /// One, and the voter's labour shares.
    weight: i64,
}

/// Each eligible voter casts at most one ballot: their own, or their
/// delegate's own (delegations never chain), and only a delegate of the
/// same group counts.
fn ballots<'a>(input: &'a TallyInput<'_>) -> Vec<Ballot<'a>> {
    let mut ballots = Vec::new();
    for (member, group) in input.electorate {
        let weight = input
            .labour_shares
            .get(member)
            .map_or(1, |s| s.max(&0).saturating_add(1));
        if let Some(choice) = input.votes.get(member) {
            ballots.push(Ballot {
                group: *group,
                choice,
                delegated: false,
                weight,
            });
        } else if let Some(choice) = input
            .delegations
            .get(member)
            .filter(|d| input.electorate.get(d) == Some(group))
            .and_then(|d| input.votes.get(d))
        {
            ballots.push(Ballot {
                group: *group,
                choice,
                delegated: true,
                weight,
            });
        }
    }
    ballots
}

/// Direct and delegated ballots per option, among the ballots of the groups
/// `counted` admits.
fn count(
    options: &[String],
    ballots: &[Ballot<'_>],
    counted: impl Fn(Uuid) -> bool,
) -> Vec<OptionCount> {
    let of = |option: &str, delegated: bool| {
        ballots
            .iter()
            .filter(|b| counted(b.group) && b.choice == option && b.delegated == delegated)
            .count() as i64
    };
    options
        .iter()
        .map(|o| OptionCount {
            option: o.clone(),
            direct: of(o, false),
            delegated: of(o, true),
        })
        .collect()
}

/// The counts of each group in the electorate, in the order of their ids.
fn group_counts(input: &TallyInput<'_>, ballots: &[Ballot<'_>]) -> Vec<GroupCount> {
    let mut group_ids: Vec<Uuid> = input.electorate.values().copied().collect();
    group_ids.sort();
    group_ids.dedup();
    group_ids
        .iter()
        .map(|g| GroupCount {
            group_id: *g,
            weight: input.weights.get(g).copied().unwrap_or(0),
            eligible: input.electorate.values().filter(|x| *x == g).count() as i64,
            counts: count(input.options, ballots, |x| x == *g),
        })
        .collect()
}

/// Ballots for `option`, direct and delegated.
fn total(counts: &[OptionCount], option: &str) -> i64 {
    counts
        .iter()
        .find(|c| c.option == option)
        .map_or(0, |c| c.direct + c.delegated)
}

/// What the count decided, beside the numbers themselves.
struct Decision {
    outcome: Outcome,
    agree_basis_points: Option<i64>,
    winning_option: Option<String>,
}

impl Decision {
    fn plain(outcome: Outcome) -> Self {
        Self {
            outcome,
            agree_basis_points: None,
            winning_option: None,
        }
    }
}

/// A poll passes with the option most voted for (ties: the first listed),
/// and fails when nobody chose any.
fn poll_decision(counts: &[OptionCount]) -> Decision {
    let winning_option = counts
        .iter()
        .fold(None::<&OptionCount>, |best, c| match best {
            Some(b) if b.direct + b.delegated >= c.direct + c.delegated => Some(b),
            _ => Some(c),
        })
        .filter(|c| c.direct + c.delegated > 0)
        .map(|c| c.option.clone());
    Decision {
        outcome: if winning_option.is_some() {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        agree_basis_points: None,
        winning_option,
    }
}

/// A single block stops a proposal; otherwise it passes when agreement is
/// above the threshold and, where the parent asks for it, enough agree.
fn proposal_decision(
    input: &TallyInput<'_>,
    counts: &[OptionCount],
    groups: &[GroupCount],
    sides: &Sides,
) -> Decision {
    if total(counts, BLOCK) > 0 {
        return Decision::plain(Outcome::Blocked);
    }
    let share = agree_share(input.rule, sides, groups);
    let bar = i64::from(input.pass_threshold_percent) * 100;
    let enough_agree = input
        .min_agree
        .is_none_or(|min| total(counts, AGREE) >= min);
    let each_group = !(input.every_group && input.rule == VotingRule::WeightedByGroup)
        || groups.iter().filter(|g| g.weight > 0).all(|g| {
            let (a, d) = sides.of_group(g.group_id);
            a + d > 0 && basis_points(a, d) > bar
        });
    let outcome = match share {
        Some(bp) if bp > bar && enough_agree && each_group => Outcome::Passed,
        _ => Outcome::Failed,
    };
    Decision {
        outcome,
        agree_basis_points: share,
        winning_option: None,
    }
}

/// Agreement among agree and disagree, in basis points: every ballot alike,
/// or each group's share weighted by the group. `None` when nobody took a
/// side.
fn agree_share(rule: VotingRule, sides: &Sides, groups: &[GroupCount]) -> Option<i64> {
    match rule {
        VotingRule::OneMemberOneVote => {
            let (a, d) = sides.all;
            (a + d > 0).then(|| basis_points(a, d))
        }
        VotingRule::WeightedByGroup => {
            let mut weighted = 0i64;
            let mut weight_sum = 0i64;
            for g in groups {
                let (a, d) = sides.of_group(g.group_id);
                if a + d > 0 && g.weight > 0 {
                    weighted += i64::from(g.weight) * basis_points(a, d);
                    weight_sum += i64::from(g.weight);
                }
            }
            (weight_sum > 0).then(|| weighted / weight_sum)
        }
    }
}

/// `agree` of `agree + disagree`, in basis points, rounded down; computed
/// wide, so that labour shares cannot overflow it.
fn basis_points(agree: i64, disagree: i64) -> i64 {
    let all = i128::from(agree) + i128::from(disagree);
    if all <= 0 {
        return 0;
    }
    (i128::from(agree) * 10_000 / all) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Setup {
        electorate: HashMap<Uuid, Uuid>,
        weights: HashMap<Uuid, i32>,
        votes: HashMap<Uuid, String>,
        delegations: HashMap<Uuid, Uuid>,
        options: Vec<String>,
        labour: HashMap<Uuid, i64>,
    }

    fn setup(groups: &[(i32, usize)]) -> (Setup, Vec<Vec<Uuid>>) {
        let mut s = Setup {
            electorate: HashMap::new(),
            weights: HashMap::new(),
            votes: HashMap::new(),
            delegations: HashMap::new(),
            options: PROPOSAL_OPTIONS.iter().map(|o| o.to_string()).collect(),
            labour: HashMap::new(),
        };
        let mut members = Vec::new();
        for (weight, size) in groups {
            let g = Uuid::now_v7();
            s.weights.insert(g, *weight);
            let ms: Vec<Uuid> = (0..*size).map(|_| Uuid::now_v7()).collect();
            for m in &ms {
                s.electorate.insert(*m, g);
            }
            members.push(ms);
        }
        (s, members)
    }

    fn run(s: &Setup, rule: VotingRule, quorum: i32) -> Tally {
        tally(&TallyInput {
            kind: ProposalKind::Proposal,
            options: &s.options,
            rule,
            quorum_percent: quorum,
            pass_threshold_percent: 50,
            electorate: &s.electorate,
            weights: &s.weights,
            votes: &s.votes,
            delegations: &s.delegations,
            min_agree: None,
            every_group: false,
            labour_shares: &s.labour,
        })
    }

    #[test]
    fn a_simple_majority_passes_and_a_tie_fails() {
        let (mut s, m) = setup(&[(1, 4)]);
        s.votes.insert(m[0][0], AGREE.into());
        s.votes.insert(m[0][1], AGREE.into());
        s.votes.insert(m[0][2], DISAGREE.into());
        assert_eq!(
            run(&s, VotingRule::OneMemberOneVote, 50).outcome,
            Outcome::Passed
        );
        s.votes.insert(m[0][3], DISAGREE.into());
        let t = run(&s, VotingRule::OneMemberOneVote, 50);
        assert_eq!(t.outcome, Outcome::Failed);
        assert_eq!(t.turnout_percent, 100);
    }

    #[test]
    fn quorum_and_block() {
        let (mut s, m) = setup(&[(1, 10)]);
        s.votes.insert(m[0][0], AGREE.into());
        assert_eq!(
            run(&s, VotingRule::OneMemberOneVote, 20).outcome,
            Outcome::NoQuorum
        );
        s.votes.insert(m[0][1], ABSTAIN.into());
        assert_eq!(
            run(&s, VotingRule::OneMemberOneVote, 20).outcome,
            Outcome::Passed,
            "abstentions count for quorum"
        );
        s.votes.insert(m[0][2], BLOCK.into());
        assert_eq!(
            run(&s, VotingRule::OneMemberOneVote, 20).outcome,
            Outcome::Blocked
        );
    }

    #[test]
    fn weighted_groups_count_by_weight_not_headcount() {
        // Workers (weight 3, 2 people) agree; users (weight 1, 6 people) disagree.
        let (mut s, m) = setup(&[(3, 2), (1, 6)]);
        for w in &m[0] {
            s.votes.insert(*w, AGREE.into());
        }
        for u in &m[1] {
            s.votes.insert(*u, DISAGREE.into());
        }
        assert_eq!(
            run(&s, VotingRule::OneMemberOneVote, 50).outcome,
            Outcome::Failed,
            "2 against 6 by headcount"
        );
        let t = run(&s, VotingRule::WeightedByGroup, 50);
        assert_eq!(t.outcome, Outcome::Passed, "3 against 1 by weight");
        assert_eq!(t.agree_basis_points, Some(7_500));
    }

    #[test]
    fn delegated_votes_count_once_and_do_not_chain() {
        let (mut s, m) = setup(&[(1, 4)]);
        let [a, b, c, d] = [m[0][0], m[0][1], m[0][2], m[0][3]];
        s.votes.insert(a, DISAGREE.into());
        s.delegations.insert(b, a); // b follows a
        s.delegations.insert(c, b); // c follows b, who did not vote: no chain
        s.delegations.insert(d, a);
        s.votes.insert(d, AGREE.into()); // d voted: their own vote wins
        let t = run(&s, VotingRule::OneMemberOneVote, 0);
        let disagree = t.counts.iter().find(|c| c.option == DISAGREE).unwrap();
        assert_eq!((disagree.direct, disagree.delegated), (1, 1));
        assert_eq!(t.ballots, 3);
    }

    #[test]
    fn polls_pick_the_most_chosen_option() {
        let (mut s, m) = setup(&[(1, 3)]);
        s.options = vec!["Tuesday".into(), "Thursday".into()];
        s.votes.insert(m[0][0], "Thursday".into());
        s.votes.insert(m[0][1], "Thursday".into());
        s.votes.insert(m[0][2], "Tuesday".into());
        let t = tally(&TallyInput {
            kind: ProposalKind::Poll,
            options: &s.options,
            rule: VotingRule::OneMemberOneVote,
            quorum_percent: 50,
            pass_threshold_percent: 50,
            electorate: &s.electorate,
            weights: &s.weights,
            votes: &s.votes,
            delegations: &s.delegations,
            min_agree: None,
            every_group: false,
            labour_shares: &s.labour,
        });
        assert_eq!(t.winning_option.as_deref(), Some("Thursday"));
        assert_eq!(t.outcome, Outcome::Passed);
    }

    #[test]
    fn labour_shares_weigh_agreement_but_not_quorum() {
        // Three workers: one with 3 labour shares agrees, two disagree.
        let (mut s, m) = setup(&[(1, 3)]);
        s.votes.insert(m[0][0], AGREE.into());
        s.votes.insert(m[0][1], DISAGREE.into());
        s.votes.insert(m[0][2], DISAGREE.into());
        let plain = run(&s, VotingRule::OneMemberOneVote, 50);
        assert_eq!(plain.outcome, Outcome::Failed, "1 against 2");
        assert_eq!(plain.labour_shares, 0);
        s.labour.insert(m[0][0], 3);
        let t = run(&s, VotingRule::OneMemberOneVote, 50);
        assert_eq!(t.outcome, Outcome::Passed, "4 against 2");
        assert_eq!(t.agree_basis_points, Some(6_666));
        assert_eq!(t.ballots, 3, "ballots still count people");
        assert_eq!(t.labour_shares, 3);
        let w = run(&s, VotingRule::WeightedByGroup, 50);
        assert_eq!(w.outcome, Outcome::Passed);
    }

    #[test]
    fn no_labour_shares_store_the_count_as_before() {
        let (mut s, m) = setup(&[(1, 2)]);
        s.votes.insert(m[0][0], AGREE.into());
        let t = run(&s, VotingRule::OneMemberOneVote, 50);
        let stored = serde_json::to_value(&t).unwrap();
        assert!(stored.get("labourShares").is_none(), "{stored}");
    }

    proptest::proptest! {
        #[test]
        fn huge_labour_shares_never_overflow(shares in proptest::prelude::any::<i64>()) {
            let (mut s, m) = setup(&[(3, 2), (1, 2)]);
            for g in &m {
                s.votes.insert(g[0], AGREE.into());
                s.votes.insert(g[1], DISAGREE.into());
                s.labour.insert(g[0], shares);
            }
            let t = run(&s, VotingRule::WeightedByGroup, 50);
            proptest::prop_assert!(t.agree_basis_points.is_some_and(|bp| (0..=10_000).contains(&bp)));
        }
    }
}
