//! Reading a new proposal's fields. Each reader records its errors in one
//! `Check`, so one answer names every field that is wrong, in the order of
//! the input.

use chrono::{DateTime, Duration, Utc};
use entities::{proposal::ProposalKind, stakeholder_group};
use uuid::Uuid;

use crate::{
    catalogue::VotingRule,
    domain::{Check, MultiLineText, SingleLineText},
    error::{AppResult, FieldError},
    services::formations::governance::{Governance, VotingPeriod},
};

use super::{CreateInput, tally::PROPOSAL_OPTIONS};

/// A new proposal's fields, each valid, with the pool's defaults filled in.
pub(super) struct Fields {
    pub title: String,
    pub body: String,
    pub kind: ProposalKind,
    pub options: Vec<String>,
    pub closes_at: DateTime<Utc>,
    pub quorum: i32,
    pub threshold: i32,
    pub rule: VotingRule,
    pub eligible: Vec<Uuid>,
}

/// Parses every field, or answers `VALIDATION` with all that are wrong.
pub(super) fn parse(
    input: CreateInput,
    governance: &Governance,
    groups: &[stakeholder_group::Model],
    now: DateTime<Utc>,
) -> AppResult<Fields> {
    let mut check = Check::default();
    let title = check.field(SingleLineText::<1, 200>::parse(&input.title, "input.title"));
    let body = check.field(MultiLineText::<0, 20_000>::parse(&input.body, "input.body"));
    let options = options(input.kind, &input.options, &mut check);
    let closes_at = closes_at(input.closes_at, governance.voting_period, now, &mut check);
    // The rules' bars are floors: a proposal may ask for more, never less.
    let (quorum_floor, threshold_floor) = governance.floors(input.kind);
    let quorum = percent(
        input.quorum_percent,
        quorum_floor,
        "input.quorumPercent",
        100,
        &mut check,
    );
    let threshold = percent(
        input.pass_threshold_percent,
        threshold_floor,
        "input.passThresholdPercent",
        99,
        &mut check,
    );
    let rule = voting_rule(input.voting_rule, governance.voting_rule, &mut check);
    let eligible = eligible_groups(input.eligible_group_ids, groups, &mut check);
    if input.kind.amends() {
        every_voting_group(&eligible, groups, &mut check);
    }
    let (Some(title), Some(body), Some(quorum), Some(threshold)) = (title, body, quorum, threshold)
    else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    Ok(Fields {
        title: title.into_inner(),
        body: body.into_inner(),
        kind: input.kind,
        options,
        closes_at,
        quorum,
        threshold,
        rule,
        eligible,
    })
}

/// A poll's own options, or the fixed four of a proposal.
fn options(kind: ProposalKind, given: &[String], check: &mut Check) -> Vec<String> {
    match kind {
        ProposalKind::Poll => poll_options(given, check),
        _ => {
            if !given.is_empty() {
                check.field::<()>(Err(FieldError::new("input.options", "a proposal's options are always agree, abstain, disagree and block; leave them out")));
            }
            PROPOSAL_OPTIONS.iter().map(|o| (*o).to_owned()).collect()
        }
    }
}

/// Between 2 and 20 options, no two alike (ignoring case).
fn poll_options(given: &[String], check: &mut Check) -> Vec<String> {
    let mut opts = Vec::new();
    for (i, o) in given.iter().enumerate() {
        if let Some(o) = check.field(SingleLineText::<1, 200>::parse(
            o,
            &format!("input.options[{i}]"),
        )) {
            let o = o.into_inner();
            if opts.iter().any(|x: &String| x.eq_ignore_ascii_case(&o)) {
                check.field::<()>(Err(FieldError::new(
                    format!("input.options[{i}]"),
                    "is listed twice",
                )));
            }
            opts.push(o);
        }
    }
    if !(2..=20).contains(&given.len()) {
        check.field::<()>(Err(FieldError::new(
            "input.options",
            "a poll needs between 2 and 20 options",
        )));
    }
    opts
}

/// When voting closes: the author's time, or the rules' default period
/// from `now`. Never sooner than the rules' minimum period, never more than
/// a year away.
fn closes_at(
    given: Option<DateTime<Utc>>,
    period: VotingPeriod,
    now: DateTime<Utc>,
    check: &mut Check,
) -> DateTime<Utc> {
    let closes_at = given.unwrap_or(now + Duration::days(i64::from(period.default_days)));
    let (earliest, says) = match period.minimum_days {
        0 => (now + Duration::minutes(1), "more than a minute".to_owned()),
        1 => (now + Duration::days(1), "at least a day".to_owned()),
        n => (
            now + Duration::days(i64::from(n)),
            format!("at least {n} days"),
        ),
    };
    if closes_at < earliest || (period.minimum_days == 0 && closes_at == earliest) {
        check.field::<()>(Err(FieldError::new(
            "input.closesAt",
            format!("the pool's rules keep voting open for {says}; choose a later time"),
        )));
    } else if closes_at > now + Duration::days(366) {
        check.field::<()>(Err(FieldError::new(
            "input.closesAt",
            "must be at most a year from now",
        )));
    }
    closes_at
}

/// A percentage from the rules' `floor` to `max`: the author's, or the floor.
fn percent(given: Option<i32>, floor: i32, path: &str, max: i32, check: &mut Check) -> Option<i32> {
    let v = given.unwrap_or(floor);
    check.field(if (floor..=max).contains(&v) {
        Ok(v)
    } else if (0..floor).contains(&v) {
        Err(FieldError::new(
            path,
            format!("the pool's rules ask for at least {floor}; a proposal may set a higher bar, never a lower one"),
        ))
    } else {
        Err(FieldError::new(
            path,
            format!("must be between {floor} and {max}"),
        ))
    })
}

/// The pool's voting rule; a proposal may name it, but not another.
fn voting_rule(given: Option<VotingRule>, rules: VotingRule, check: &mut Check) -> VotingRule {
    if given.is_some_and(|r| r != rules) {
        check.field::<()>(Err(FieldError::new(
            "input.votingRule",
            format!(
                "the pool's rules decide by {}; change the rules to vote another way",
                super::rule_name(rules)
            ),
        )));
    }
    rules
}

/// A change to the rules goes to every voting group.
fn every_voting_group(eligible: &[Uuid], groups: &[stakeholder_group::Model], check: &mut Check) {
    let missing: Vec<&str> = groups
        .iter()
        .filter(|g| g.voting_weight > 0 && g.retired_at.is_none() && !eligible.contains(&g.id))
        .map(|g| g.name.as_str())
        .collect();
    if !missing.is_empty() {
        check.field::<()>(Err(FieldError::new(
            "input.eligibleGroupIds",
            format!(
                "a rules change, a move or a spin-out is put to every voting group; add {}",
                missing.join(", ")
            ),
        )));
    }
}

/// The groups that vote: those the author names, each a voting group of the
/// pool, or else every voting group. At least one.
fn eligible_groups(
    given: Option<Vec<Uuid>>,
    groups: &[stakeholder_group::Model],
    check: &mut Check,
) -> Vec<Uuid> {
    let eligible: Vec<Uuid> = match given {
        None => groups
            .iter()
            .filter(|g| g.voting_weight > 0 && g.retired_at.is_none())
            .map(|g| g.id)
            .collect(),
        Some(ids) => {
            for (i, id) in ids.iter().enumerate() {
                match groups.iter().find(|g| g.id == *id) {
                    None => check.field::<()>(Err(FieldError::new(
                        format!("input.eligibleGroupIds[{i}]"),
                        "is not a stakeholder group of this pool",
                    ))),
                    Some(g) if g.retired_at.is_some() => check.field::<()>(Err(FieldError::new(
                        format!("input.eligibleGroupIds[{i}]"),
                        format!("{} is a retired group", g.name),
                    ))),
                    Some(g) if g.voting_weight == 0 => check.field::<()>(Err(FieldError::new(
                        format!("input.eligibleGroupIds[{i}]"),
                        format!("{} is a non-voting group (weight 0)", g.name),
                    ))),
                    Some(_) => None,
                };
            }
            ids
        }
    };
    if eligible.is_empty() {
        check.field::<()>(Err(FieldError::new(
            "input.eligibleGroupIds",
            "at least one voting group must be eligible",
        )));
    }
    eligible
}
