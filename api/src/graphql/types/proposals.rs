use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{delegation, proposal, vote};

use crate::{
    catalogue::VotingRule,
    error::AppError,
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{Expense, Member, StakeholderGroup, load_member, loader_error},
    },
    services::{
        self,
        pagination::PageRequest,
        proposals::{options_of, parse_rule, tally::Tally},
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::proposal::ProposalKind")]
pub enum ProposalKind {
    /// Agree, abstain, disagree or block.
    Proposal,
    /// The proposal's own options.
    Poll,
    /// An expense to approve.
    Expense,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::proposal::ProposalStatus")]
pub enum ProposalStatus {
    Open,
    Closed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::proposal::Outcome")]
pub enum ProposalOutcome {
    Passed,
    Failed,
    NoQuorum,
    Blocked,
}

/// A decision put to a pool's members.
pub struct Proposal(pub proposal::Model);

#[Object]
impl Proposal {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn kind(&self) -> ProposalKind {
        self.0.kind.into()
    }
    async fn options(&self) -> Vec<String> {
        options_of(&self.0)
    }
    async fn closes_at(&self) -> DateTime<Utc> {
        self.0.closes_at
    }
    async fn quorum_percent(&self) -> i32 {
        self.0.quorum_percent
    }
    /// Passes with more than this share of agree among agree and disagree.
    async fn pass_threshold_percent(&self) -> i32 {
        self.0.pass_threshold_percent
    }
    async fn voting_rule(&self) -> VotingRule {
        parse_rule(&self.0.voting_rule)
    }
    async fn eligible_groups(&self, ctx: &Context<'_>) -> Result<Vec<StakeholderGroup>> {
        let c = Ctx::of(ctx)?;
        let ids = services::proposals::eligible_groups_of(&self.0);
        let groups = c
            .loaders
            .stakeholder_groups
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
        Ok(ids
            .iter()
            .filter_map(|id| groups.get(id).cloned())
            .map(StakeholderGroup)
            .collect())
    }
    async fn status(&self) -> ProposalStatus {
        self.0.status.into()
    }
    /// Set once closed.
    async fn outcome(&self) -> Option<ProposalOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// The count, once closed.
    async fn result(&self) -> Result<Option<ProposalResult>> {
        let Some(raw) = &self.0.result else {
            return Ok(None);
        };
        let tally: Tally = serde_json::from_value(raw.clone())
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored tally unreadable: {e}")))?;
        Ok(Some(ProposalResult(tally)))
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.author_membership_id).await
    }
    /// The votes cast so far; open to the pool's members, as in an assembly.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn votes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Vote>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::proposals::votes(c.state, c.actor().await?, &self.0, page).await?;
        Ok(connection(page, |v| v.id, Vote))
    }
    /// The expense this proposal decides, for expense proposals.
    async fn expense(&self, ctx: &Context<'_>) -> Result<Option<Expense>> {
        let c = Ctx::of(ctx)?;
        let found = c
            .loaders
            .expense_of_proposal
            .load_one(self.0.id)
            .await
            .map_err(loader_error)?;
        Ok(found.and_then(|mut v| v.pop()).map(Expense))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// How a closed proposal was counted.
pub struct ProposalResult(pub Tally);

#[Object]
impl ProposalResult {
    async fn eligible_voters(&self) -> i64 {
        self.0.eligible_voters
    }
    /// Ballots counted, direct and delegated.
    async fn ballots(&self) -> i64 {
        self.0.ballots
    }
    async fn turnout_percent(&self) -> i64 {
        self.0.turnout_percent
    }
    async fn quorum_reached(&self) -> bool {
        self.0.quorum_reached
    }
    /// Agree among agree and disagree, in basis points (10000 = all); by
    /// group weight under `WEIGHTED_BY_GROUP`.
    async fn agree_basis_points(&self) -> Option<i64> {
        self.0.agree_basis_points
    }
    async fn winning_option(&self) -> Option<&str> {
        self.0.winning_option.as_deref()
    }
    async fn counts(&self) -> Vec<OptionCount> {
        self.0.counts.iter().map(OptionCount::from).collect()
    }
    /// The same counts per stakeholder group, with each group's weight.
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<GroupResult>> {
        let c = Ctx::of(ctx)?;
        let ids: Vec<_> = self.0.groups.iter().map(|g| g.group_id).collect();
        let groups = c
            .loaders
            .stakeholder_groups
            .load_many(ids)
            .await
            .map_err(loader_error)?;
        Ok(self
            .0
            .groups
            .iter()
            .filter_map(|g| {
                groups.get(&g.group_id).cloned().map(|group| GroupResult {
                    group: StakeholderGroup(group),
                    weight: g.weight,
                    eligible: g.eligible,
                    counts: g.counts.iter().map(OptionCount::from).collect(),
                })
            })
            .collect())
    }
}

#[derive(SimpleObject)]
pub struct OptionCount {
    pub option: String,
    pub direct: i64,
    /// Votes of members who delegated to someone who voted this.
    pub delegated: i64,
    pub total: i64,
}

impl From<&services::proposals::tally::OptionCount> for OptionCount {
    fn from(c: &services::proposals::tally::OptionCount) -> Self {
        Self {
            option: c.option.clone(),
            direct: c.direct,
            delegated: c.delegated,
            total: c.direct + c.delegated,
        }
    }
}

#[derive(SimpleObject)]
pub struct GroupResult {
    pub group: StakeholderGroup,
    pub weight: i32,
    pub eligible: i64,
    pub counts: Vec<OptionCount>,
}

/// A member's vote.
pub struct Vote(pub vote::Model);

#[Object]
impl Vote {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.membership_id).await
    }
    async fn choice(&self) -> &str {
        &self.0.choice
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn cast_at(&self) -> DateTime<Utc> {
        self.0.cast_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A vote handed to another member of the same group.
pub struct Delegation(pub delegation::Model);

#[Object]
impl Delegation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `null` for a standing delegation.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        let Some(id) = self.0.proposal_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .proposals
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(Proposal))
    }
    async fn delegator(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.delegator_membership_id).await
    }
    async fn delegate(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.delegate_membership_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(InputObject)]
pub struct CreateProposalInput {
    pub pool_id: ID,
    pub title: String,
    #[graphql(default)]
    pub body: String,
    #[graphql(default_with = "ProposalKind::Proposal")]
    pub kind: ProposalKind,
    /// A poll's options; a proposal's are always agree, abstain, disagree, block.
    #[graphql(default)]
    pub options: Vec<String>,
    /// Seven days from now if not given.
    pub closes_at: Option<DateTime<Utc>>,
    /// The pool's default if not given.
    pub quorum_percent: Option<i32>,
    /// The pool's default if not given.
    pub pass_threshold_percent: Option<i32>,
    /// The pool's rule if not given.
    pub voting_rule: Option<VotingRule>,
    /// Every voting group if not given.
    pub eligible_group_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct CastVoteInput {
    pub proposal_id: ID,
    /// One of the proposal's options.
    pub choice: String,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct DelegateVoteInput {
    /// `null` for a standing delegation, for every proposal.
    pub proposal_id: Option<ID>,
    pub to_member_id: ID,
}

#[derive(InputObject)]
pub struct RevokeDelegationInput {
    pub pool_id: ID,
    /// `null` for the standing delegation.
    pub proposal_id: Option<ID>,
}
