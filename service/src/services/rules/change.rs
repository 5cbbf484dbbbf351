//! The typed changes a `RULES_CHANGE` proposal carries, and whether they
//! could ever be adopted: each is checked against the rules as they stand,
//! the legal template, the co-operative principles and the parent's policy.
//! A pure function of those, so the rules are unit-tested.

use std::collections::HashMap;

use entities::stakeholder_group::{self, Admission, StakeholderKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    catalogue::{LegalTemplate, SurplusDistribution, TemplateKind},
    domain::{Check, MinorAmount, MultiLineText, SingleLineText},
    error::{AppResult, FieldError},
    services::formations::principles::{GroupShape, shape_violations},
    services::formations::{
        governance::{
            ContributionBounds, ExpensePolicy, Governance, GroupGovernance, VotingPeriod,
            WorkContributionRules,
        },
        group_fields::{self, MAX_GROUPS},
    },
    services::membership::sanctions::CodeOfConduct,
};

pub use crate::services::policy::{RuleChangeKind, RulesChangePolicy};

/// Most changes one proposal may carry.
pub const MAX_CHANGES: usize = 20;
/// Largest amount per interval a contribution bound may name, minor units.
pub const MAX_BOUND: i64 = 1_000_000_000;
pub const MAX_MINIMUM_VOTING_DAYS: i32 = 30;
pub const MAX_DEFAULT_VOTING_DAYS: i32 = 90;
pub const MAX_CODE_OF_CONDUCT_LEN: usize = 20_000;

/// One change to the rules. Groups are named by their id; a new group by the
/// key it will have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum RuleChange {
    AddGroup {
        key: String,
        name: String,
        kind: StakeholderKind,
        voting_weight: i32,
        admission: Admission,
        share_price: Option<i64>,
    },
    RenameGroup {
        group_id: Uuid,
        name: String,
    },
    RetireGroup {
        group_id: Uuid,
    },
    SetVotingWeight {
        group_id: Uuid,
        voting_weight: i32,
    },
    SetAdmission {
        group_id: Uuid,
        admission: Admission,
    },
    SetQuorum {
        percent: i32,
    },
    SetPassThreshold {
        percent: i32,
    },
    SetAmendmentThreshold {
        percent: i32,
    },
    SetVotingPeriod {
        minimum_days: i32,
        default_days: i32,
    },
    SetExpensePolicy {
        quorum_percent: Option<i32>,
        pass_threshold_percent: Option<i32>,
    },
    /// `None` lifts the bounds.
    SetContributionBounds {
        bounds: Option<ContributionBounds>,
    },
    SetAssetLock {
        locked: bool,
    },
    SetSurplusDistribution {
        distributes: bool,
    },
    /// New text for the code of conduct (its version goes up by one), or
    /// `None` to have none.
    SetCodeOfConduct {
        text: Option<String>,
    },
    /// What contributions of work, care and kind need and mean; `None`
    /// drops the section (the defaults apply again).
    SetWorkContributionRules {
        rules: Option<WorkContributionRules>,
    },
}

impl RuleChange {
    pub fn kind(&self) -> RuleChangeKind {
        use RuleChangeKind as K;
        match self {
            Self::AddGroup { .. } => K::AddGroup,
            Self::RenameGroup { .. } => K::RenameGroup,
            Self::RetireGroup { .. } => K::RetireGroup,
            Self::SetVotingWeight { .. } => K::SetVotingWeight,
            Self::SetAdmission { .. } => K::SetAdmission,
            Self::SetQuorum { .. } => K::SetQuorum,
            Self::SetPassThreshold { .. } => K::SetPassThreshold,
            Self::SetAmendmentThreshold { .. } => K::SetAmendmentThreshold,
            Self::SetVotingPeriod { .. } => K::SetVotingPeriod,
            Self::SetExpensePolicy { .. } => K::SetExpensePolicy,
            Self::SetContributionBounds { .. } => K::SetContributionBounds,
            Self::SetAssetLock { .. } => K::SetAssetLock,
            Self::SetSurplusDistribution { .. } => K::SetSurplusDistribution,
            Self::SetCodeOfConduct { .. } => K::SetCodeOfConduct,
            Self::SetWorkContributionRules { .. } => K::SetWorkContributionRules,
        }
    }

    /// The group it names, if any.
    pub fn group_id(&self) -> Option<Uuid> {
        match self {
            Self::RenameGroup { group_id, .. }
            | Self::RetireGroup { group_id }
            | Self::SetVotingWeight { group_id, .. }
            | Self::SetAdmission { group_id, .. } => Some(*group_id),
            _ => None,
        }
    }
}

/// What the pool is now, beside its governance: what a change is checked
/// against.
pub struct PoolState<'a> {
    pub governance: &'a Governance,
    /// Every group of the pool, retired ones too.
    pub groups: &'a [stakeholder_group::Model],
    /// Group id → members who are active or invited.
    pub members: &'a HashMap<Uuid, u64>,
    /// The pool's current sliding scales: interval, minimum, maximum.
    pub scales: &'a [(entities::sliding_scale::Interval, i64, i64)],
    pub template: &'a LegalTemplate,
    pub parent_name: &'a str,
    pub policy: &'a RulesChangePolicy,
    pub allows_principle_exceptions: bool,
    /// The highest code of conduct version the pool's rules ever had; 0 if none.
    pub last_code_version: i32,
}

/// The rules as they would be once the changes apply, each change checked
/// in order against the rules the ones before it leave. Errors name
/// `input.rulesChange[i]…`.
pub fn apply(pool: &PoolState<'_>, changes: &[RuleChange]) -> AppResult<Governance> {
    let mut check = Check::default();
    if changes.is_empty() || changes.len() > MAX_CHANGES {
        check.field::<()>(Err(FieldError::new(
            "input.rulesChange",
            format!("a rules change carries 1 to {MAX_CHANGES} changes"),
        )));
    }
    let mut g = pool.governance.clone();
    for (i, change) in changes.iter().enumerate() {
        let path = format!("input.rulesChange[{i}]");
        if pool.policy.forbidden.contains(&change.kind()) {
            check.field::<()>(Err(FieldError::new(
                &path,
                format!(
                    "the policy of {} does not let its pools make this change",
                    pool.parent_name
                ),
            )));
            continue;
        }
        let mut one = Applying {
            pool,
            g: &mut g,
            path: &path,
            check: &mut check,
        };
        one.change(change);
    }
    whole(pool, &g, &mut check);
    if check.is_empty() {
        Ok(g)
    } else {
        Err(check.into_error())
    }
}

/// Whether any of the changes needs a steward of the parent to approve it.
pub fn needs_parent_approval(policy: &RulesChangePolicy, changes: &[RuleChange]) -> bool {
    changes
        .iter()
        .any(|c| policy.needs_approval.contains(&c.kind()))
}

struct Applying<'a, 'p> {
    pool: &'a PoolState<'p>,
    g: &'a mut Governance,
    path: &'a str,
    check: &'a mut Check,
}

impl Applying<'_, '_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        let path = if field.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}.{field}", self.path)
        };
        self.check.field::<()>(Err(FieldError::new(path, message)));
    }

    fn change(&mut self, change: &RuleChange) {
        match change {
            RuleChange::AddGroup {
                key,
                name,
                kind,
                voting_weight,
                admission,
                share_price,
            } => self.add_group(key, name, *kind, *voting_weight, *admission, *share_price),
            RuleChange::RenameGroup { group_id, name } => {
                let name = self.name(name);
                if let (Some(i), Some(name)) = (self.group(*group_id), name) {
                    self.g.groups[i].name = name;
                }
            }
            RuleChange::RetireGroup { group_id } => {
                if let Some(i) = self.group(*group_id) {
                    let members = self.pool.members.get(group_id).copied().unwrap_or(0);
                    if members > 0 {
                        let name = self.g.groups[i].name.clone();
                        self.fail(
                            "groupId",
                            format!("{name} has {members} members; a group is retired only once it has none"),
                        );
                    } else {
                        self.g.groups.remove(i);
                    }
                }
            }
            RuleChange::SetVotingWeight {
                group_id,
                voting_weight,
            } => {
                let weight = group_fields::voting_weight(
                    *voting_weight,
                    &format!("{}.votingWeight", self.path),
                );
                let i = self.group(*group_id);
                match (i, weight) {
                    (Some(i), Ok(w)) => self.g.groups[i].voting_weight = w,
                    (_, Err(e)) => {
                        self.check.field::<()>(Err(e));
                    }
                    _ => {}
                }
            }
            RuleChange::SetAdmission {
                group_id,
                admission,
            } => {
                if let Some(i) = self.group(*group_id) {
                    self.g.groups[i].admission = *admission;
                }
            }
            RuleChange::SetQuorum { percent } => {
                if self.percent("percent", *percent, 1, 100) {
                    self.g.default_quorum_percent = *percent;
                }
            }
            RuleChange::SetPassThreshold { percent } => {
                if self.percent("percent", *percent, 0, 99) {
                    self.g.default_pass_threshold_percent = *percent;
                }
            }
            RuleChange::SetAmendmentThreshold { percent } => {
                if self.percent("percent", *percent, 50, 99) {
                    self.g.rules_change_threshold_percent = *percent;
                }
            }
            RuleChange::SetVotingPeriod {
                minimum_days,
                default_days,
            } => {
                let min_ok = self.days("minimumDays", *minimum_days, 1, MAX_MINIMUM_VOTING_DAYS);
                let default_ok =
                    self.days("defaultDays", *default_days, 1, MAX_DEFAULT_VOTING_DAYS);
                if min_ok && default_ok && default_days < minimum_days {
                    self.fail("defaultDays", "must be at least minimumDays");
                } else if min_ok && default_ok {
                    self.g.voting_period = VotingPeriod {
                        minimum_days: *minimum_days,
                        default_days: *default_days,
                    };
                }
            }
            RuleChange::SetExpensePolicy {
                quorum_percent,
                pass_threshold_percent,
            } => {
                let q = quorum_percent.is_none_or(|p| self.percent("quorumPercent", p, 1, 100));
                let t = pass_threshold_percent
                    .is_none_or(|p| self.percent("passThresholdPercent", p, 0, 99));
                if q && t {
                    self.g.expenses = ExpensePolicy {
                        quorum_percent: *quorum_percent,
                        pass_threshold_percent: *pass_threshold_percent,
                    };
                }
            }
            RuleChange::SetContributionBounds { bounds } => self.bounds(*bounds),
            RuleChange::SetAssetLock { locked } => {
                if !locked && self.pool.template.asset_lock == Some(true) {
                    let t = self.pool.template;
                    self.fail(
                        "locked",
                        format!("{} requires an asset lock ({})", t.name, t.citation),
                    );
                } else {
                    self.g.asset_lock = *locked;
                }
            }
            RuleChange::SetCodeOfConduct { text } => self.code_of_conduct(text.as_deref()),
            RuleChange::SetWorkContributionRules { rules } => self.work_contributions(rules),
            RuleChange::SetSurplusDistribution { distributes } => {
                if *distributes
                    && self.pool.template.surplus_distribution
                        == Some(SurplusDistribution::Prohibited)
                {
                    let name = self.pool.template.name.clone();
                    self.fail(
                        "distributes",
                        format!("{name} does not allow surplus to be distributed to members"),
                    );
                } else {
                    self.g.distributes_surplus = *distributes;
                }
            }
        }
    }

    fn add_group(
        &mut self,
        key: &str,
        name: &str,
        kind: StakeholderKind,
        voting_weight: i32,
        admission: Admission,
        share_price: Option<i64>,
    ) {
        let path = self.path.to_owned();
        let key = self
            .check
            .field(group_fields::group_key(key, &format!("{path}.key")));
        // A retired group keeps its key: members and votes point at it.
        if let Some(k) = &key
            && (self.pool.groups.iter().any(|g| &g.key == k)
                || self.g.groups.iter().any(|g| &g.key == k))
        {
            self.fail(
                "key",
                format!("the pool already has, or had, a group `{k}`"),
            );
        }
        let name = self.name(name);
        let weight = self.check.field(group_fields::voting_weight(
            voting_weight,
            &format!("{path}.votingWeight"),
        ));
        let price = self.check.field(group_fields::share_price(
            share_price,
            &format!("{path}.sharePrice"),
        ));
        if self.g.groups.len() >= MAX_GROUPS {
            self.fail(
                "",
                format!("a pool has at most {MAX_GROUPS} stakeholder groups"),
            );
            return;
        }
        if let (Some(key), Some(name), Some(voting_weight), Some(share_price)) =
            (key, name, weight, price)
        {
            self.g.groups.push(GroupGovernance {
                key,
                name,
                kind,
                voting_weight,
                admission,
                share_price,
            });
        }
    }

    /// The index in the rules of the group `id` names, if it is one of the
    /// pool's groups and not retired.
    fn group(&mut self, id: Uuid) -> Option<usize> {
        let key = self
            .pool
            .groups
            .iter()
            .find(|g| g.id == id && g.retired_at.is_none())
            .map(|g| g.key.clone());
        let found = key.and_then(|k| self.g.groups.iter().position(|g| g.key == k));
        if found.is_none() {
            self.fail("groupId", "is not a current stakeholder group of this pool");
        }
        found
    }

    /// A group name of 1 to 100 characters no other group has (ignoring case).
    fn name(&mut self, raw: &str) -> Option<String> {
        let name = self.check.field(SingleLineText::<1, 100>::parse(
            raw,
            &format!("{}.name", self.path),
        ))?;
        let name = name.into_inner();
        if self
            .g
            .groups
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(&name))
        {
            self.fail("name", format!("a group is already called {name}"));
            return None;
        }
        Some(name)
    }

    fn percent(&mut self, field: &str, v: i32, min: i32, max: i32) -> bool {
        self.within(field, v, min, max, "")
    }

    fn days(&mut self, field: &str, v: i32, min: i32, max: i32) -> bool {
        self.within(field, v, min, max, " days")
    }

    /// Whether `v` lies in `min..=max`; else an error in `unit`.
    fn within(&mut self, field: &str, v: i32, min: i32, max: i32, unit: &str) -> bool {
        let ok = (min..=max).contains(&v);
        if !ok {
            self.fail(field, format!("must be between {min} and {max}{unit}"));
        }
        ok
    }

    fn code_of_conduct(&mut self, text: Option<&str>) {
        let Some(text) = text else {
            self.g.code_of_conduct = None;
            return;
        };
        let path = format!("{}.text", self.path);
        let Some(text) = self
            .check
            .field(MultiLineText::<1, MAX_CODE_OF_CONDUCT_LEN>::parse(
                text, &path,
            ))
        else {
            return;
        };
        // Versions keep counting after a code is dropped and brought back,
        // so a number never names two texts.
        let version = self
            .g
            .code_of_conduct
            .as_ref()
            .map_or(self.pool.last_code_version, |c| c.version)
            + 1;
        self.g.code_of_conduct = Some(CodeOfConduct {
            version,
            text: text.into_inner(),
        });
    }

    fn work_contributions(&mut self, rules: &Option<WorkContributionRules>) {
        use crate::services::formations::contribution_rules::{
            MAX_CONFIRMATIONS, MAX_HOURS_PER_SHARE, MAX_LABOUR_SHARES, MAX_OTHER_KINDS,
        };
        let Some(r) = rules else {
            self.g.work_contributions = None;
            return;
        };
        let path = format!("{}.rules", self.path);
        let mut ok = self.within(
            "rules.confirmationsRequired",
            r.confirmations_required,
            1,
            MAX_CONFIRMATIONS,
            "",
        );
        ok &= self.within(
            "rules.hoursPerShare",
            r.hours_per_share,
            1,
            MAX_HOURS_PER_SHARE,
            " hours",
        );
        ok &= self.within(
            "rules.maxLabourShares",
            r.max_labour_shares,
            1,
            MAX_LABOUR_SHARES,
            "",
        );
        if r.other_kinds.len() > MAX_OTHER_KINDS {
            self.fail(
                "rules.otherKinds",
                format!("the rules name at most {MAX_OTHER_KINDS} kinds of their own"),
            );
            return;
        }
        let mut kinds: Vec<String> = Vec::new();
        for (i, raw) in r.other_kinds.iter().enumerate() {
            let Some(label) = self.check.field(SingleLineText::<1, 40>::parse(
                raw,
                &format!("{path}.otherKinds[{i}]"),
            )) else {
                ok = false;
                continue;
            };
            let label = label.into_inner();
            if kinds.iter().any(|k| k.eq_ignore_ascii_case(&label)) {
                self.fail(&format!("rules.otherKinds[{i}]"), "is named twice");
                ok = false;
                continue;
            }
            kinds.push(label);
        }
        if ok {
            self.g.work_contributions = Some(WorkContributionRules {
                other_kinds: kinds,
                ..r.clone()
            });
        }
    }

    fn bounds(&mut self, bounds: Option<ContributionBounds>) {
        let Some(b) = bounds else {
            self.g.contribution_bounds = None;
            return;
        };
        let path = self.path.to_owned();
        let min = self.check.field(MinorAmount::parse_non_negative(
            b.minimum,
            &format!("{path}.minimum"),
        ));
        if b.maximum < 1 || b.maximum > MAX_BOUND {
            self.fail(
                "maximum",
                format!("must be between 1 and {MAX_BOUND} minor units"),
            );
            return;
        }
        if min.is_none() {
            return;
        }
        if b.minimum > b.maximum {
            self.fail("minimum", "must not be above maximum");
            return;
        }
        // The scales the admins set must still fit, or the rules would
        // state what is not so.
        for (interval, lo, hi) in self.pool.scales {
            if !b.refuses(*interval, *lo, *hi).is_empty() {
                self.fail(
                    "",
                    "a sliding scale the admins set lies outside these bounds; set the scales inside them first",
                );
                return;
            }
        }
        self.g.contribution_bounds = Some(b);
    }
}

/// What must hold of the rules as a whole once every change applies.
fn whole(pool: &PoolState<'_>, g: &Governance, check: &mut Check) {
    let mut fail = |message: String| {
        check.field::<()>(Err(FieldError::new("input.rulesChange", message)));
    };
    if !g.groups.iter().any(|x| x.voting_weight > 0) {
        fail("at least one stakeholder group must keep a vote".into());
    }
    if g.default_pass_threshold_percent > g.rules_change_threshold_percent {
        fail(format!(
            "changing the rules must need at least the bar of any other decision: the pass threshold {}% is above the amendment threshold {}%",
            g.default_pass_threshold_percent, g.rules_change_threshold_percent
        ));
    }
    if !g.accepts_investor_members
        && let Some(x) = g
            .groups
            .iter()
            .find(|x| x.kind == StakeholderKind::Investors)
    {
        fail(format!(
            "the pool admits no investor members, so it cannot have the investor group {}",
            x.name
        ));
    }
    if !g.raises_share_capital
        && let Some(x) = g.groups.iter().find(|x| x.share_price.is_some())
    {
        fail(format!(
            "the pool raises no share capital, so the group {} cannot have a share price",
            x.name
        ));
    }
    // The principles block here as they do at founding: only a pool inside
    // a parent that allows exceptions may depart from them.
    let excepted =
        pool.allows_principle_exceptions && pool.template.kind == TemplateKind::PoolInsideParent;
    if !excepted {
        let shape: Vec<GroupShape> = g
            .groups
            .iter()
            .map(|x| GroupShape {
                kind: x.kind,
                voting_weight: x.voting_weight,
                admission: x.admission,
            })
            .collect();
        let surplus_with_investors = g.distributes_surplus && g.accepts_investor_members;
        for (_, reason) in shape_violations(&shape, surplus_with_investors) {
            fail(format!(
                "this would break a co-operative principle: {reason}"
            ));
        }
    }
}
