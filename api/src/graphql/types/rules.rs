use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, OneofObject, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use entities::{pool, pool_rules_version};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{
            Admission, ContributionInterval, Proposal, SetWorkContributionRulesInput,
            StakeholderKind, WorkContributionRulesInForce, load_proposal,
        },
    },
    services::{
        self,
        formations::governance::ContributionBounds,
        pagination::PageArgs,
        rules::{self, Proposed, change::RuleChange as Change},
    },
};

pub use services::policy::RuleChangeKind;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::proposal::RulesChangeStatus")]
pub enum RulesChangeStatus {
    /// The members are voting.
    Voting,
    /// Passed; the parent's policy asks a steward to approve it.
    AwaitingParent,
    /// Applied: the rules have a new version.
    Adopted,
    /// The vote did not pass it.
    NotPassed,
    /// A steward of the parent declined it.
    DeclinedByParent,
    /// Passed, but other rules were adopted while it was open, or the pool
    /// changed so that it no longer fits; nothing applied.
    Lapsed,
}

/// One change to a pool's rules: exactly one of its fields.
#[derive(OneofObject)]
pub enum RuleChangeInput {
    AddGroup(AddGroupInput),
    RenameGroup(RenameGroupInput),
    /// Retires a group with no active or invited members: it takes no new
    /// members, and its history stays.
    RetireGroup(GroupRefInput),
    SetVotingWeight(SetVotingWeightInput),
    SetAdmission(SetAdmissionInput),
    /// The quorum of every decision: 1 to 100.
    SetQuorum(PercentInput),
    /// The pass threshold of every decision: 0 to 99, at most the amendment
    /// threshold.
    SetPassThreshold(PercentInput),
    /// The bar a change of the rules must pass: 50 to 99.
    SetAmendmentThreshold(PercentInput),
    SetVotingPeriod(VotingPeriodInput),
    SetExpensePolicy(ExpensePolicyInput),
    SetContributionBounds(ContributionBoundsInput),
    SetAssetLock(AssetLockInput),
    SetSurplusDistribution(SurplusDistributionInput),
    /// A new code of conduct (its version goes up by one), or none.
    SetCodeOfConduct(CodeOfConductInput),
    /// Who confirms contributions of work, care and kind, whether they
    /// carry a value, and what they mean (a recognition, or labour shares).
    SetWorkContributionRules(SetWorkContributionRulesInput),
}

#[derive(InputObject)]
pub struct CodeOfConductInput {
    /// Markdown, 1 to 20000 characters; `null` to have no code of conduct.
    pub text: Option<String>,
}

#[derive(InputObject)]
pub struct AddGroupInput {
    /// 1 to 40 lower-case letters, digits, `-` or `_`, starting with a
    /// letter; no group of the pool has or had it.
    pub key: String,
    /// 1 to 100 characters on one line; no other group is called so.
    pub name: String,
    pub kind: StakeholderKind,
    /// 0 (no vote) to 100.
    pub voting_weight: i32,
    pub admission: Admission,
    /// Price of one share in minor units (0 to 10^11), for pools that raise
    /// share capital.
    pub share_price: Option<i64>,
}

#[derive(InputObject)]
pub struct RenameGroupInput {
    pub group_id: ID,
    /// 1 to 100 characters on one line; no other group is called so.
    pub name: String,
}

#[derive(InputObject)]
pub struct GroupRefInput {
    pub group_id: ID,
}

#[derive(InputObject)]
pub struct SetVotingWeightInput {
    pub group_id: ID,
    /// 0 (no vote) to 100.
    pub voting_weight: i32,
}

#[derive(InputObject)]
pub struct SetAdmissionInput {
    pub group_id: ID,
    pub admission: Admission,
}

#[derive(InputObject)]
pub struct PercentInput {
    pub percent: i32,
}

#[derive(InputObject)]
pub struct VotingPeriodInput {
    /// 1 to 30.
    pub minimum_days: i32,
    /// From `minimumDays` to 90: how long voting stays open when a proposal
    /// does not say.
    pub default_days: i32,
}

#[derive(InputObject)]
pub struct ExpensePolicyInput {
    /// 1 to 100; the general quorum if not given.
    pub quorum_percent: Option<i32>,
    /// 0 to 99; the general pass threshold if not given.
    pub pass_threshold_percent: Option<i32>,
}

#[derive(InputObject)]
pub struct ContributionBoundsInput {
    /// `null` lifts the bounds.
    pub bounds: Option<BoundsInput>,
}

#[derive(InputObject)]
pub struct BoundsInput {
    pub interval: ContributionInterval,
    /// Minor units, 0 or more.
    pub minimum: i64,
    /// Minor units, from `minimum` to 10^9.
    pub maximum: i64,
}

#[derive(InputObject)]
pub struct AssetLockInput {
    pub locked: bool,
}

#[derive(InputObject)]
pub struct SurplusDistributionInput {
    pub distributes: bool,
}

/// Each change's group ids, read as UUIDs; errors name the change.
pub fn parse_changes(input: Vec<RuleChangeInput>) -> AppResult<Vec<Change>> {
    input
        .into_iter()
        .enumerate()
        .map(|(i, c)| parse_change(i, c))
        .collect()
}

fn parse_change(i: usize, c: RuleChangeInput) -> AppResult<Change> {
    let group = |id: ID, variant: &str| -> AppResult<Uuid> {
        Uuid::parse_str(id.as_str()).map_err(|_| {
            AppError::invalid(
                format!("input.rulesChange[{i}].{variant}.groupId"),
                "is not a valid ID",
            )
        })
    };
    use RuleChangeInput as I;
    Ok(match c {
        I::AddGroup(g) => Change::AddGroup {
            key: g.key,
            name: g.name,
            kind: g.kind.into(),
            voting_weight: g.voting_weight,
            admission: g.admission.into(),
            share_price: g.share_price,
        },
        I::RenameGroup(g) => Change::RenameGroup {
            group_id: group(g.group_id, "renameGroup")?,
            name: g.name,
        },
        I::RetireGroup(g) => Change::RetireGroup {
            group_id: group(g.group_id, "retireGroup")?,
        },
        I::SetVotingWeight(g) => Change::SetVotingWeight {
            group_id: group(g.group_id, "setVotingWeight")?,
            voting_weight: g.voting_weight,
        },
        I::SetAdmission(g) => Change::SetAdmission {
            group_id: group(g.group_id, "setAdmission")?,
            admission: g.admission.into(),
        },
        I::SetQuorum(p) => Change::SetQuorum { percent: p.percent },
        I::SetPassThreshold(p) => Change::SetPassThreshold { percent: p.percent },
        I::SetAmendmentThreshold(p) => Change::SetAmendmentThreshold { percent: p.percent },
        I::SetVotingPeriod(p) => Change::SetVotingPeriod {
            minimum_days: p.minimum_days,
            default_days: p.default_days,
        },
        I::SetExpensePolicy(p) => Change::SetExpensePolicy {
            quorum_percent: p.quorum_percent,
            pass_threshold_percent: p.pass_threshold_percent,
        },
        I::SetContributionBounds(b) => Change::SetContributionBounds {
            bounds: b.bounds.map(|b| ContributionBounds {
                interval: b.interval.into(),
                minimum: b.minimum,
                maximum: b.maximum,
            }),
        },
        I::SetAssetLock(l) => Change::SetAssetLock { locked: l.locked },
        I::SetSurplusDistribution(s) => Change::SetSurplusDistribution {
            distributes: s.distributes,
        },
        I::SetCodeOfConduct(c) => Change::SetCodeOfConduct { text: c.text },
        I::SetWorkContributionRules(r) => Change::SetWorkContributionRules {
            rules: r.rules.map(Into::into),
        },
    })
}

/// One change a rules-change proposal carries. `kind` says which; the
/// fields it uses are set and the others null.
#[derive(SimpleObject)]
pub struct RuleChange {
    pub kind: RuleChangeKind,
    /// The change in words, as the members read it.
    pub summary: String,
    /// The group it changes (not for `ADD_GROUP`).
    pub group_id: Option<ID>,
    pub key: Option<String>,
    pub name: Option<String>,
    pub stakeholder_kind: Option<StakeholderKind>,
    pub voting_weight: Option<i32>,
    pub admission: Option<Admission>,
    pub share_price: Option<i64>,
    pub percent: Option<i32>,
    pub minimum_days: Option<i32>,
    pub default_days: Option<i32>,
    pub quorum_percent: Option<i32>,
    pub pass_threshold_percent: Option<i32>,
    pub interval: Option<ContributionInterval>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    /// For `SET_ASSET_LOCK` and `SET_SURPLUS_DISTRIBUTION`.
    pub enabled: Option<bool>,
    /// For `SET_CODE_OF_CONDUCT`: the new text (null: none).
    pub text: Option<String>,
    /// For `SET_WORK_CONTRIBUTION_RULES`: the rules it sets (null: the
    /// section is dropped, and the defaults apply).
    pub work_contribution_rules: Option<WorkContributionRulesInForce>,
}

impl RuleChange {
    fn of(c: &Change, currency: &str) -> Self {
        let mut out = Self {
            kind: c.kind(),
            summary: summary(c, currency),
            group_id: c.group_id().map(Into::into),
            key: None,
            name: None,
            stakeholder_kind: None,
            voting_weight: None,
            admission: None,
            share_price: None,
            percent: None,
            minimum_days: None,
            default_days: None,
            quorum_percent: None,
            pass_threshold_percent: None,
            interval: None,
            minimum: None,
            maximum: None,
            enabled: None,
            text: None,
            work_contribution_rules: None,
        };
        match c {
            Change::AddGroup {
                key,
                name,
                kind,
                voting_weight,
                admission,
                share_price,
            } => {
                out.key = Some(key.clone());
                out.name = Some(name.clone());
                out.stakeholder_kind = Some((*kind).into());
                out.voting_weight = Some(*voting_weight);
                out.admission = Some((*admission).into());
                out.share_price = *share_price;
            }
            Change::RenameGroup { name, .. } => out.name = Some(name.clone()),
            Change::RetireGroup { .. } => {}
            Change::SetVotingWeight { voting_weight, .. } => {
                out.voting_weight = Some(*voting_weight);
            }
            Change::SetAdmission { admission, .. } => out.admission = Some((*admission).into()),
            Change::SetQuorum { percent }
            | Change::SetPassThreshold { percent }
            | Change::SetAmendmentThreshold { percent } => out.percent = Some(*percent),
            Change::SetVotingPeriod {
                minimum_days,
                default_days,
            } => {
                out.minimum_days = Some(*minimum_days);
                out.default_days = Some(*default_days);
            }
            Change::SetExpensePolicy {
                quorum_percent,
                pass_threshold_percent,
            } => {
                out.quorum_percent = *quorum_percent;
                out.pass_threshold_percent = *pass_threshold_percent;
            }
            Change::SetContributionBounds { bounds } => {
                out.interval = bounds.map(|b| b.interval.into());
                out.minimum = bounds.map(|b| b.minimum);
                out.maximum = bounds.map(|b| b.maximum);
            }
            Change::SetAssetLock { locked } => out.enabled = Some(*locked),
            Change::SetSurplusDistribution { distributes } => out.enabled = Some(*distributes),
            Change::SetCodeOfConduct { text } => out.text = text.clone(),
            Change::SetWorkContributionRules { rules } => {
                out.work_contribution_rules = rules
                    .clone()
                    .map(|r| WorkContributionRulesInForce::of(Some(r)));
            }
        }
        out
    }
}

fn summary(c: &Change, currency: &str) -> String {
    let money = |m: i64| format!("{} {currency}", crate::domain::format_minor(m, currency));
    match c {
        Change::AddGroup {
            name,
            voting_weight,
            ..
        } => format!("Add the group {name}, with voting weight {voting_weight}"),
        Change::RenameGroup { name, .. } => format!("Rename a group to {name}"),
        Change::RetireGroup { .. } => "Retire a group".to_owned(),
        Change::SetVotingWeight { voting_weight, .. } => {
            format!("Set a group's voting weight to {voting_weight}")
        }
        Change::SetAdmission { admission, .. } => {
            format!("Set how people join a group: {admission:?}")
        }
        Change::SetQuorum { percent } => format!("Set the quorum to {percent}%"),
        Change::SetPassThreshold { percent } => {
            format!("Pass decisions with more than {percent}% agreeing")
        }
        Change::SetAmendmentThreshold { percent } => {
            format!("Change the rules only with more than {percent}% agreeing")
        }
        Change::SetVotingPeriod {
            minimum_days,
            default_days,
        } => format!(
            "Keep voting open for at least {minimum_days} days, {default_days} when a proposal does not say"
        ),
        Change::SetExpensePolicy { .. } => "Set the bars an expense must pass".to_owned(),
        Change::SetContributionBounds { bounds: None } => {
            "Lift the bounds on sliding scales".to_owned()
        }
        Change::SetContributionBounds { bounds: Some(b) } => format!(
            "Bound sliding scales between {} and {} per {}",
            money(b.minimum),
            money(b.maximum),
            services::formations::governance::interval_name(b.interval)
        ),
        Change::SetAssetLock { locked: true } => "Lock the pool's assets".to_owned(),
        Change::SetAssetLock { locked: false } => "Lift the asset lock".to_owned(),
        Change::SetSurplusDistribution { distributes: true } => {
            "Let surplus be distributed to members".to_owned()
        }
        Change::SetSurplusDistribution { distributes: false } => {
            "Keep surplus in the pool".to_owned()
        }
        Change::SetCodeOfConduct { text: Some(_) } => {
            "Adopt a new code of conduct for members to accept".to_owned()
        }
        Change::SetCodeOfConduct { text: None } => "Drop the code of conduct".to_owned(),
        Change::SetWorkContributionRules { rules: None } => {
            "Drop the rules on contributions of work, care and kind".to_owned()
        }
        Change::SetWorkContributionRules { rules: Some(r) } => format!(
            "Set how contributions of work, care and kind are confirmed ({} confirmation{}) and what they mean ({})",
            r.confirmations_required,
            if r.confirmations_required == 1 {
                ""
            } else {
                "s"
            },
            match r.meaning {
                services::formations::governance::ContributionMeaning::Recognition =>
                    "a recognition",
                services::formations::governance::ContributionMeaning::LabourShares =>
                    "labour shares",
            }
        ),
    }
}

/// What a rules-change proposal would change, and where it stands.
pub struct RulesChange {
    pub(crate) proposed: Proposed,
    pub(crate) status: Option<entities::proposal::RulesChangeStatus>,
    pub(crate) base_version: i32,
    pub(crate) pool_id: Uuid,
}

#[Object]
impl RulesChange {
    async fn status(&self) -> Option<RulesChangeStatus> {
        self.status.map(Into::into)
    }
    /// The version of the rules it was proposed against.
    async fn base_version(&self) -> i32 {
        self.base_version
    }
    async fn changes(&self) -> Vec<RuleChange> {
        let currency = &self.proposed.governance.currency;
        self.proposed
            .changes
            .iter()
            .map(|c| RuleChange::of(c, currency))
            .collect()
    }
    /// The whole rules document it would adopt, exactly.
    async fn proposed_document(&self) -> &str {
        &self.proposed.document
    }
    /// A unified diff from the base version's document to the proposed one.
    async fn diff(&self, ctx: &Context<'_>) -> Result<String> {
        let c = Ctx::of(ctx)?;
        let base = rules::version(&c.state.db, self.pool_id, self.base_version)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("base rules version missing")))?;
        Ok(rules::diff(
            &base.document,
            &self.proposed.document,
            &format!("version {}", self.base_version),
            "proposed",
        ))
    }
    /// Whether the parent's policy holds it for a steward's approval once
    /// the members pass it.
    async fn needs_parent_approval(&self) -> bool {
        self.proposed.needs_parent_approval
    }
}

/// A pool's rules: the version in force and every version adopted.
pub struct PoolRules {
    pub(crate) pool: pool::Model,
}

#[Object]
impl PoolRules {
    async fn current(&self, ctx: &Context<'_>) -> Result<RulesVersion> {
        let c = Ctx::of(ctx)?;
        let v = rules::current_for(c.state, c.actor().await?, &self.pool).await?;
        Ok(RulesVersion::from(v))
    }
    /// Every version, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<RulesVersion>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = rules::versions(c.state, c.actor().await?, &self.pool, page).await?;
        Ok(connection(page, |v| v.id, RulesVersion::from))
    }
}

/// One adopted version of a pool's rules.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RulesVersion {
    /// 1 for the founding rules, then 2, 3, …
    version: i32,
    adopted_at: DateTime<Utc>,
    /// The rules document (Markdown).
    document: String,
    /// A unified diff from the version before; none for version 1.
    diff: Option<String>,
    #[graphql(skip)]
    proposal_id: Option<Uuid>,
}

impl From<pool_rules_version::Model> for RulesVersion {
    fn from(m: pool_rules_version::Model) -> Self {
        Self {
            version: m.version,
            adopted_at: m.adopted_at,
            document: m.document,
            diff: m.diff,
            proposal_id: m.proposal_id,
        }
    }
}

#[ComplexObject]
impl RulesVersion {
    /// The rules-change proposal that adopted it; none for the founding rules.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        match self.proposal_id {
            Some(id) => Ok(Some(Proposal::from(load_proposal(ctx, id).await?))),
            None => Ok(None),
        }
    }
}

/// The stored change of a rules-change proposal, for its GraphQL field.
pub fn rules_change_of(p: &entities::proposal::Model) -> AppResult<Option<RulesChange>> {
    Ok(Proposed::of(p)?.map(|proposed| RulesChange {
        proposed,
        status: p.rules_change_status,
        base_version: p.rules_base_version.unwrap_or(1),
        pool_id: p.pool_id,
    }))
}
