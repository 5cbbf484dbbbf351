use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{delegation, proposal, vote};
use uuid::Uuid;

use crate::{
    catalogue::VotingRule,
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        types::{
            DissolutionInput, Expense, LegalTemplate, Member, ParentEntity, Pool,
            ProposedDissolution, ProposedSpinOut, RuleChangeInput, RulesChange, StakeholderGroup,
            load_member, load_parent, load_pool, loader_error, parse_changes, pool_model,
            rules_change_of,
        },
    },
    services::{
        self,
        pagination::{PageArgs, PageRequest},
        proposals::{self, options_of, parse_rule, tally::Tally},
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
    /// A change to the pool's rules, carried in `rulesChange`; passes with
    /// the rules' amendment threshold.
    RulesChange,
    /// A suspended member's appeal (made with `appealSuspension`); passing
    /// it lifts the suspension.
    Appeal,
    /// Moving the pool to the parent entity in `moveTo`; passes as a rules
    /// change, then waits for both parents.
    Move,
    /// Spinning the pool out into a legal entity of its own under the
    /// standalone template in `spinOut`; passes as a rules change, then
    /// waits for the new entity's registration.
    SpinOut,
    /// Dissolving the pool, its remaining funds going as `dissolution`
    /// says; passes as a rules change, then waits for the parent's consent
    /// where its policy asks for it.
    Dissolution,
    /// How the pool votes in its parent entity's assembly on the fund
    /// application in `fundApplication`: passing casts the pool's vote FOR,
    /// failing or a block AGAINST (no quorum casts nothing); it must close
    /// before the assembly's vote does.
    AssemblyVote,
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
    /// Closed without a count: the pool ended while it was open.
    Withdrawn,
}

// A decision put to a pool's members.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Proposal {
    pub(crate) id: ID,
    title: String,
    body: String,
    kind: ProposalKind,
    options: Vec<String>,
    closes_at: DateTime<Utc>,
    quorum_percent: i32,
    /// Passes with more than this share of agree among agree and disagree.
    pass_threshold_percent: i32,
    voting_rule: VotingRule,
    #[graphql(skip)]
    model: proposal::Model,
}

impl From<proposal::Model> for Proposal {
    fn from(m: proposal::Model) -> Self {
        Self {
            id: m.id.into(),
            title: m.title.clone(),
            body: m.body.clone(),
            kind: m.kind.into(),
            options: options_of(&m),
            closes_at: m.closes_at,
            quorum_percent: m.quorum_percent,
            pass_threshold_percent: m.pass_threshold_percent,
            voting_rule: parse_rule(&m.voting_rule),
            model: m,
        }
    }
}

// Fields that load relations or read JSON, after the plain ones as in the schema.
#[ComplexObject]
impl Proposal {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The live delegations for this proposal alone (standing ones are on
    /// each member), for the pool's members and the parent's overseers.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn delegations(
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
    ) -> Result<Conn<Delegation>> {
        let page = PageArgs::new(first, after, last, before);
        delegations_of(
            ctx,
            self.model.pool_id,
            DelegationList::OfProposal(self.model.id),
            page,
        )
        .await
    }
    async fn eligible_groups(&self, ctx: &Context<'_>) -> Result<Vec<StakeholderGroup>> {
        let c = Ctx::of(ctx)?;
        let ids = services::proposals::eligible_groups_of(&self.model);
        let groups = c
            .loaders
            .stakeholder_groups()
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
        Ok(ids
            .iter()
            .filter_map(|id| groups.get(id).cloned())
            .map(StakeholderGroup::from)
            .collect())
    }
    async fn status(&self) -> ProposalStatus {
        self.model.status.into()
    }
    /// Set once closed.
    async fn outcome(&self) -> Option<ProposalOutcome> {
        self.model.outcome.map(Into::into)
    }
    /// The count, once closed.
    async fn result(&self) -> Result<Option<ProposalResult>> {
        let Some(raw) = &self.model.result else {
            return Ok(None);
        };
        let tally: Tally = serde_json::from_value(raw.clone())
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored tally unreadable: {e}")))?;
        Ok(Some(ProposalResult::from(tally)))
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.model.author_membership_id).await
    }
    /// The votes cast so far; open to the pool's members, as in an assembly.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn votes(
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
    ) -> Result<Conn<Vote>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::proposals::votes(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |v| v.id, Vote::from))
    }
    /// The expense this proposal decides, for expense proposals.
    async fn expense(&self, ctx: &Context<'_>) -> Result<Option<Expense>> {
        let c = Ctx::of(ctx)?;
        let found = c
            .loaders
            .expense_of_proposal()
            .load_one(self.model.id)
            .await
            .map_err(loader_error)?;
        Ok(found.and_then(|mut v| v.pop()).map(Expense::from))
    }
    /// For a move: the parent entity the pool would move to.
    async fn move_to(&self, ctx: &Context<'_>) -> Result<Option<ParentEntity>> {
        match self.model.move_to_parent_id {
            Some(id) => Ok(Some(ParentEntity::from(load_parent(ctx, id).await?))),
            None => Ok(None),
        }
    }
    /// For a spin-out: the standalone template chosen and the new entity's
    /// name.
    async fn spin_out(&self, ctx: &Context<'_>) -> Result<Option<ProposedSpinOut>> {
        let (Some(template), Some(name)) = (
            self.model.spin_out_template_id.as_deref(),
            self.model.spin_out_entity_name.as_deref(),
        ) else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(Some(ProposedSpinOut {
            legal_template: c
                .state
                .catalogue
                .template(template)
                .cloned()
                .map(LegalTemplate::from),
            legal_template_id: template.to_owned(),
            entity_name: name.to_owned(),
        }))
    }
    /// For an assembly vote: the fund application it decides the pool's
    /// vote on.
    async fn fund_application(&self, ctx: &Context<'_>) -> Result<Option<super::FundApplication>> {
        match self.model.fund_application_id {
            Some(id) => Ok(Some(super::fund::load_application(ctx, id).await?)),
            None => Ok(None),
        }
    }
    /// For a dissolution: where the remaining funds go.
    async fn dissolution(&self) -> Option<ProposedDissolution> {
        services::proposals::dissolution::choice_of(&self.model).map(ProposedDissolution::from)
    }
    /// For a rules change: what it changes, the exact document it would
    /// adopt and its diff, and where it stands.
    async fn rules_change(&self) -> Result<Option<RulesChange>> {
        Ok(rules_change_of(&self.model)?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.model.closed_at
    }
}

// How a closed proposal was counted.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProposalResult {
    eligible_voters: i64,
    /// Ballots counted, direct and delegated.
    ballots: i64,
    turnout_percent: i64,
    quorum_reached: bool,
    /// Agree among agree and disagree, in basis points (10000 = all); by
    /// group weight under `WEIGHTED_BY_GROUP`.
    agree_basis_points: Option<i64>,
    winning_option: Option<String>,
    counts: Vec<OptionCount>,
    #[graphql(skip)]
    tally: Tally,
}

impl From<Tally> for ProposalResult {
    fn from(t: Tally) -> Self {
        Self {
            eligible_voters: t.eligible_voters,
            ballots: t.ballots,
            turnout_percent: t.turnout_percent,
            quorum_reached: t.quorum_reached,
            agree_basis_points: t.agree_basis_points,
            winning_option: t.winning_option.clone(),
            counts: t.counts.iter().map(OptionCount::from).collect(),
            tally: t,
        }
    }
}

#[ComplexObject]
impl ProposalResult {
    /// The same counts per stakeholder group, with each group's weight.
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<GroupResult>> {
        let c = Ctx::of(ctx)?;
        let ids: Vec<_> = self.tally.groups.iter().map(|g| g.group_id).collect();
        let groups = c
            .loaders
            .stakeholder_groups()
            .load_many(ids)
            .await
            .map_err(loader_error)?;
        Ok(self
            .tally
            .groups
            .iter()
            .filter_map(|g| {
                groups.get(&g.group_id).cloned().map(|group| GroupResult {
                    group: StakeholderGroup::from(group),
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

// A member's vote.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Vote {
    pub(crate) id: ID,
    choice: String,
    reason: Option<String>,
    cast_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[graphql(skip)]
    membership_id: Uuid,
    #[graphql(skip)]
    proposal_id: Uuid,
}

impl From<vote::Model> for Vote {
    fn from(m: vote::Model) -> Self {
        Self {
            id: m.id.into(),
            choice: m.choice,
            reason: m.reason,
            cast_at: m.cast_at,
            updated_at: m.updated_at,
            membership_id: m.membership_id,
            proposal_id: m.proposal_id,
        }
    }
}

#[ComplexObject]
impl Vote {
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.membership_id).await
    }
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        Ok(Proposal::from(load_proposal(ctx, self.proposal_id).await?))
    }
}

/// A proposal by id, through the request's loader: the end of a link
/// from a row of the same pool, which the caller already sees.
pub(crate) async fn load_proposal(ctx: &Context<'_>, id: Uuid) -> Result<proposal::Model> {
    let c = Ctx::of(ctx)?;
    Ok(c.loaders
        .proposals()
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("proposal {id} missing")))?)
}

/// Which list of delegations a field shows.
pub(crate) enum DelegationList {
    /// Those a member (by membership id) gave.
    Given(Uuid),
    /// Those a member holds.
    Received(Uuid),
    /// Those for one proposal.
    OfProposal(Uuid),
}

/// A page of the live delegations `list` names, inside the pool
/// `pool_id`: the service decides who may read them, the loaders read them
/// for every member or proposal of the response at once.
pub(crate) async fn delegations_of(
    ctx: &Context<'_>,
    pool_id: Uuid,
    list: DelegationList,
    page: PageArgs,
) -> Result<Conn<Delegation>> {
    let c = Ctx::of(ctx)?;
    let pool = pool_model(ctx, pool_id).await?;
    let actor = c.actor_in(&pool).await?;
    let (loader, owner) = match list {
        DelegationList::Given(id) => (c.loaders.delegations_given(), id),
        DelegationList::Received(id) => (c.loaders.delegations_received(), id),
        DelegationList::OfProposal(id) => (c.loaders.delegations_for_proposal(), id),
    };
    let page = services::proposals::delegations::in_pool(c.state, actor, &pool, page, async || {
        Ok(loader
            .load_one(owner)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    })
    .await?;
    Ok(connection(page, |d| d.id, Delegation::from))
}

// A vote handed to another member of the same group.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Delegation {
    pub(crate) id: ID,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    proposal_id: Option<Uuid>,
    #[graphql(skip)]
    delegator_membership_id: Uuid,
    #[graphql(skip)]
    delegate_membership_id: Uuid,
}

impl From<delegation::Model> for Delegation {
    fn from(m: delegation::Model) -> Self {
        Self {
            id: m.id.into(),
            created_at: m.created_at,
            revoked_at: m.revoked_at,
            proposal_id: m.proposal_id,
            delegator_membership_id: m.delegator_membership_id,
            delegate_membership_id: m.delegate_membership_id,
        }
    }
}

// The proposal and both members load through the request's loaders.
#[ComplexObject]
impl Delegation {
    /// `null` for a standing delegation.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        let Some(id) = self.proposal_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .proposals()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(Proposal::from))
    }
    async fn delegator(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.delegator_membership_id).await
    }
    async fn delegate(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.delegate_membership_id).await
    }
}

#[derive(InputObject)]
pub struct CreateProposalInput {
    pub pool_id: ID,
    /// 1 to 200 characters on one line.
    pub title: String,
    /// At most 20000 characters.
    #[graphql(default)]
    pub body: String,
    #[graphql(default_with = "ProposalKind::Proposal")]
    pub kind: ProposalKind,
    /// A poll's options: 2 to 20, each 1 to 200 characters on one line and
    /// none twice (ignoring case); a proposal's are always agree, abstain,
    /// disagree, block.
    #[graphql(default)]
    pub options: Vec<String>,
    /// No sooner than the pool's rules' minimum voting period (more than a
    /// minute for pools whose rules set none) and at most 366 days from
    /// now; the rules' default period from now if not given.
    pub closes_at: Option<DateTime<Utc>>,
    /// From the pool's quorum (its expense quorum for expenses) to 100: a
    /// proposal may set a higher bar, never a lower one. The pool's if not
    /// given.
    pub quorum_percent: Option<i32>,
    /// From the pool's pass threshold (its amendment threshold for a rules
    /// change) to 99: passes with more than this share of agree among agree
    /// and disagree. The pool's if not given.
    pub pass_threshold_percent: Option<i32>,
    /// The pool's rule; naming another is refused.
    pub voting_rule: Option<VotingRule>,
    /// Current voting groups of the pool (weight above 0), at least one;
    /// every voting group if not given, and always every one for a rules
    /// change.
    pub eligible_group_ids: Option<Vec<ID>>,
    /// For `RULES_CHANGE` only: 1 to 20 changes, applied in order.
    pub rules_change: Option<Vec<RuleChangeInput>>,
    /// For `MOVE` only: the parent entity the pool moves to. Its policy
    /// must allow the pool's template and apps.
    pub move_to: Option<ID>,
    /// For `SPIN_OUT` only: the standalone template the pool incorporates
    /// under (one of `pool.spinOutOptions` that fits) and the new entity's
    /// name.
    pub spin_out: Option<SpinOutInput>,
    /// For `DISSOLUTION` only: where the remaining funds go.
    pub dissolution: Option<DissolutionInput>,
    /// For `ASSEMBLY_VOTE` only: the open application, to the pool's
    /// parent entity's fund by another pool, that the pool decides its vote
    /// on.
    pub fund_application_id: Option<ID>,
}

/// What a `SPIN_OUT` proposal chooses.
#[derive(InputObject)]
pub struct SpinOutInput {
    /// A standalone (`INCORPORATED`) template of the catalogue that the
    /// pool fits.
    pub legal_template_id: String,
    /// The name the new entity registers under: 1 to 200 characters on one
    /// line.
    pub entity_name: String,
}

impl TryFrom<CreateProposalInput> for proposals::CreateInput {
    type Error = AppError;
    fn try_from(input: CreateProposalInput) -> AppResult<Self> {
        // Checked before the pool id: an answer names the first bad field.
        let eligible_group_ids = uuid!(input.eligible_group_ids)?;
        let rules_change = input.rules_change.map(parse_changes).transpose()?;
        let move_to = uuid!(input.move_to)?;
        let fund_application = uuid!(input.fund_application_id)?;
        let spin_out = input
            .spin_out
            .map(|s| services::proposals::spin_out::SpinOutChoice {
                legal_template_id: s.legal_template_id,
                entity_name: s.entity_name,
            });
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            title: input.title,
            body: input.body,
            kind: input.kind.into(),
            options: input.options,
            closes_at: input.closes_at,
            quorum_percent: input.quorum_percent,
            pass_threshold_percent: input.pass_threshold_percent,
            voting_rule: input.voting_rule,
            eligible_group_ids,
            rules_change,
            move_to,
            spin_out,
            dissolution: input.dissolution.map(Into::into),
            fund_application,
        })
    }
}

#[derive(InputObject)]
pub struct CastVoteInput {
    pub proposal_id: ID,
    /// One of the proposal's options (ignoring case).
    pub choice: String,
    /// At most 2000 characters.
    pub reason: Option<String>,
}

impl TryFrom<CastVoteInput> for proposals::voting::CastInput {
    type Error = AppError;
    fn try_from(input: CastVoteInput) -> AppResult<Self> {
        Ok(Self {
            proposal_id: uuid!(input.proposal_id)?,
            choice: input.choice,
            reason: input.reason,
        })
    }
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
