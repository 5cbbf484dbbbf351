use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{membership, parent_entity, pool, pool_app, stakeholder_group};

use crate::{
    catalogue::VotingRule,
    error::AppError,
    graphql::{
        connection::{Conn, connection, nodes_select, page_complexity},
        context::Ctx,
        ids::uuid,
        loaders::prime_owned,
        scalars::Date,
        scalars::Json,
        types::{
            App, ApplicationStatus, CodeOfConduct, Contribution, ContributionAccount,
            ContributionInterval, Delegation, DelegationList, Dissolution, Formation, Ledger,
            LegalTemplate, LifePack, MemberSuspension, MembershipApplication, Money, ParentEntity,
            PoolMove, PoolRules, Proposal, ProposalStatus, RegisterFilter, SlidingScale,
            Solidarity, SpinOut, SpinOutOption, User, WorkContribution,
            WorkContributionRulesInForce, WorkContributionStatus, contribution_account_list,
            delegations_of, loader_error, suspension_list, suspension_now, work_contribution_list,
        },
    },
    services::{
        self,
        pagination::{PageArgs, PageRequest},
        work_contributions::reads::Filter as WorkFilter,
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::stakeholder_group::StakeholderKind")]
pub enum StakeholderKind {
    Workers,
    Users,
    Producers,
    Investors,
    Supporters,
    Custodians,
    Other,
}

/// How people join a stakeholder group.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::stakeholder_group::Admission")]
pub enum Admission {
    /// Anyone may join at once.
    Open,
    /// People apply; admins decide.
    Application,
    /// Only people the admins invite.
    Invitation,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::membership::MemberRole")]
pub enum MemberRole {
    Admin,
    Member,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::membership::MembershipStatus")]
pub enum MembershipStatus {
    Invited,
    Active,
    Left,
    Removed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::membership::JoinedVia")]
pub enum JoinedVia {
    Founding,
    Invitation,
    Application,
    Open,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool::PoolStatus")]
pub enum PoolStatus {
    Active,
    Suspended,
    /// Its members decided to dissolve it, and it winds up (see
    /// `dissolution`): read-only but for what the winding up needs.
    Dissolving,
    /// Dissolved: read-only for good, its register and books kept.
    Dissolved,
    /// It became a legal entity of its own (see `spinOut`); read-only, its
    /// register and books kept.
    SpunOut,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_app::ProvisioningState")]
pub enum ProvisioningState {
    Requested,
    Provisioning,
    Ready,
    Failed,
    /// The pool is dissolving: its operator is asked to take the app down.
    Deprovisioning,
    /// Its operator took it down (or it was never set up).
    Deprovisioned,
}

// A small co-op inside a parent entity.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Pool {
    pub(crate) id: ID,
    slug: String,
    name: String,
    status: PoolStatus,
    /// Why the status last changed: the parent's reason for a suspension
    /// or a reinstatement.
    status_reason: Option<String>,
    status_changed_at: Option<DateTime<Utc>>,
    /// ISO 4217 code of the pool's money.
    currency: String,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    model: pool::Model,
}

impl From<pool::Model> for Pool {
    fn from(m: pool::Model) -> Self {
        Self {
            id: m.id.into(),
            slug: m.slug.clone(),
            name: m.name.clone(),
            status: m.status.into(),
            status_reason: m.status_reason.clone(),
            status_changed_at: m.status_changed_at,
            currency: m.currency.clone(),
            created_at: m.created_at,
            model: m,
        }
    }
}

impl Pool {
    /// The pool's parent entity, through the request's loader.
    async fn parent(&self, ctx: &Context<'_>) -> Result<parent_entity::Model> {
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .parent_entities()
            .load_one(self.model.parent_entity_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("pool {} has no parent", self.model.id))
            })?)
    }
}

// Relations and permission-checked fields, after the plain ones as in the schema.
#[ComplexObject]
impl Pool {
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(self.parent(ctx).await?))
    }
    /// Whether a platform admin verified the pool's parent entity.
    async fn parent_verified(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.parent(ctx).await?.verified_at.is_some())
    }
    /// The formation that made the pool, as its `formation` query shows it:
    /// for its founder, its founding members and the parent's stewards and
    /// auditors; `null` for everyone else.
    async fn formation(&self, ctx: &Context<'_>) -> Result<Option<Formation>> {
        let c = Ctx::of(ctx)?;
        let Some(actor) = c.request.actor(c.state).await? else {
            return Ok(None);
        };
        Ok(c.loaders
            .formations_seen()
            .load_one((actor.user_id, self.model.formation_id))
            .await
            .map_err(loader_error)?
            .map(Formation::new))
    }
    /// The template the pool was formed with (the current catalogue entry).
    async fn legal_template(&self, ctx: &Context<'_>) -> Result<Option<LegalTemplate>> {
        let c = Ctx::of(ctx)?;
        Ok(c.state
            .catalogue
            .template(&self.model.legal_template_id)
            .cloned()
            .map(LegalTemplate::from))
    }
    async fn stakeholder_groups(&self, ctx: &Context<'_>) -> Result<Vec<StakeholderGroup>> {
        let c = Ctx::of(ctx)?;
        let groups = c
            .loaders
            .groups_of_pool()
            .load_one(self.model.id)
            .await
            .map_err(loader_error)?;
        Ok(groups
            .unwrap_or_default()
            .into_iter()
            .map(StakeholderGroup::from)
            .collect())
    }
    async fn apps(&self, ctx: &Context<'_>) -> Result<Vec<PoolApp>> {
        let c = Ctx::of(ctx)?;
        let apps = c
            .loaders
            .apps_of_pool()
            .load_one(self.model.id)
            .await
            .map_err(loader_error)?;
        Ok(apps
            .unwrap_or_default()
            .into_iter()
            .map(PoolApp::from)
            .collect())
    }
    /// Current and invited members. For the pool's members and the parent's
    /// stewards and auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn members(
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
    ) -> Result<Conn<Member>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let wants = MemberFields::asked(ctx);
        let actor = c.actor_in(&self.model).await?;
        let page =
            services::pools::members(c.state, actor, &self.model, page, wants.account).await?;
        let page = with_member_relations(&c, &self.model, wants, page).await?;
        Ok(connection(page, |m| m.model.id, |m| m))
    }
    /// The member register: every membership ever held, with its group,
    /// role, dates, shares and how the person joined. Nothing is deleted.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        filter: Option<RegisterFilter>,
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
    ) -> Result<Conn<Member>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let filter = filter.unwrap_or(RegisterFilter {
            status: None,
            stakeholder_group_id: None,
        });
        let filter = services::membership::RegisterFilter::try_from(filter)?;
        let page = services::membership::register(
            c.state,
            c.actor().await?.user_id,
            &self.model,
            filter,
            page,
        )
        .await?;
        Ok(connection(page, |m| m.id, Member::from))
    }
    /// Proposals, polls and expense votes, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        status: Option<ProposalStatus>,
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
    ) -> Result<Conn<Proposal>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::proposals::list(
            c.state,
            c.actor().await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |p| p.id, Proposal::from))
    }
    /// The pool's money, open to every member.
    async fn ledger(&self) -> Ledger {
        Ledger(self.model.clone())
    }
    /// Contributions of work, care and kind, oldest recorded first. For
    /// its members and the parent's stewards and auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "a connection's four arguments beside two filters"
    )]
    async fn work_contributions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this member's.")] member_id: Option<ID>,
        status: Option<WorkContributionStatus>,
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
    ) -> Result<Conn<WorkContribution>> {
        let filter = WorkFilter {
            membership_id: uuid!(member_id)?,
            status: status.map(Into::into),
        };
        let page = PageArgs::new(first, after, last, before);
        work_contribution_list(ctx, &self.model, filter, page).await
    }
    /// The leases on which the pool uses its parent entity's assets, oldest
    /// first (its members and the parent's stewards and auditors).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn leases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only leases with this status.")] status: Option<super::LeaseStatus>,
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
    ) -> Result<Conn<super::Lease>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = crate::services::commons::leases::of_pool(
            c.state,
            c.actor_in(&self.model).await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |l| l.id, super::Lease::from))
    }
    /// The pool's applications to its parent entity's commons fund, oldest
    /// first (its members and the parent's stewards and auditors).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn fund_applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only applications with this status.")] status: Option<
            super::FundApplicationStatus,
        >,
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
    ) -> Result<Conn<super::FundApplication>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = crate::services::commons::fund::of_pool(
            c.state,
            c.actor_in(&self.model).await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |a| a.id, super::FundApplication::from))
    }
    /// The member the admins named to cast the pool's votes in its parent
    /// entity's assembly, if any; its admins may always cast them.
    async fn assembly_delegate(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let c = Ctx::of(ctx)?;
        Ok(crate::services::commons::fund::assembly::delegate_of(
            c.state,
            c.actor_in(&self.model).await?,
            &self.model,
        )
        .await?
        .map(Member::from))
    }
    /// Each member's confirmed contributions made from `from` to `to`
    /// (both days included; either may be left open): hours by kind,
    /// quantities, values and the labour shares they give, one account per
    /// member who has any, in the order members joined. For its members and
    /// the parent's stewards and auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "a connection's four arguments beside two filters"
    )]
    async fn contribution_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first day counted.")] from: Option<Date>,
        #[graphql(desc = "The last day counted; not before `from`.")] to: Option<Date>,
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
    ) -> Result<Conn<ContributionAccount>> {
        let page = PageArgs::new(first, after, last, before);
        contribution_account_list(ctx, &self.model, from, to, page).await
    }
    /// What the pool's rules say of contributions of work, care and kind.
    async fn work_contribution_rules(&self) -> Result<WorkContributionRulesInForce> {
        let g = services::rules::governance_of(&self.model)?;
        Ok(WorkContributionRulesInForce::of(g.work_contributions))
    }
    /// The pool's accounts for `[from, to)`: balances at both ends, income
    /// and spending by kind and category, per currency. For its members and
    /// the parent's stewards and auditors.
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The start of the period (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "The end of the period (exclusive); later than `from`.")] to: DateTime<
            Utc,
        >,
    ) -> Result<super::PoolAccounts> {
        let c = Ctx::of(ctx)?;
        let period = services::reports::Period::parse(from, to)?;
        let currencies =
            services::reports::accounts::of_pool(c.state, c.actor().await?, &self.model, period)
                .await?;
        Ok(super::PoolAccounts {
            from,
            to,
            currencies: currencies.into_iter().map(Into::into).collect(),
        })
    }
    /// Applications to join, for the pool's admins and the parent's overseers.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn applications(
        &self,
        ctx: &Context<'_>,
        status: Option<ApplicationStatus>,
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
    ) -> Result<Conn<MembershipApplication>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::membership::applications::list(
            c.state,
            c.actor().await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |a| a.id, MembershipApplication::from))
    }
    /// The pool's own sliding scale (groups may have their own).
    async fn sliding_scale(&self, ctx: &Context<'_>) -> Result<Option<SlidingScale>> {
        current_scale(ctx, self.model.id, None).await
    }
    /// Every contribution, for admins and the parent's overseers.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn contributions(
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
    ) -> Result<Conn<Contribution>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page =
            services::contributions::of_pool(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |x| x.id, Contribution::from))
    }
    /// The last finished payment reconciliation and its findings in this
    /// pool: for its admins and the parent's stewards and auditors.
    async fn payment_reconciliation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::PaymentReconciliation>> {
        let c = Ctx::of(ctx)?;
        let last = services::contributions::reconcile::last_for_pool(
            c.state,
            c.actor().await?,
            &self.model,
        )
        .await?;
        Ok(last.map(|r| {
            super::PaymentReconciliation::new(
                r,
                services::contributions::reconcile::Scope::Pool(self.model.id),
            )
        }))
    }
    /// Your live contribution to this pool.
    async fn my_contribution(&self, ctx: &Context<'_>) -> Result<Option<Contribution>> {
        let c = Ctx::of(ctx)?;
        Ok(
            services::contributions::mine(c.state, c.actor().await?, self.model.id)
                .await?
                .map(Contribution::from),
        )
    }
    /// How paying above the suggestion covers those below it, per currency.
    async fn solidarity(&self, ctx: &Context<'_>) -> Result<Vec<Solidarity>> {
        let c = Ctx::of(ctx)?;
        let report =
            services::contributions::solidarity::report(c.state, c.actor().await?, &self.model)
                .await?;
        Ok(report.into_iter().map(Solidarity::from).collect())
    }
    /// Your current membership of this pool, if any.
    async fn my_membership(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        Ok(
            services::membership::active_membership(&c.state.db, self.model.id, actor.user_id)
                .await?
                .map(Member::from),
        )
    }
    /// The pool's rules (Markdown), with the template's citation.
    async fn rules_document(&self) -> &str {
        &self.model.rules_document
    }
    /// The governance settings the rules describe.
    async fn governance(&self) -> Result<PoolGovernance> {
        let g = services::rules::governance_of(&self.model)?;
        let (expense_quorum_percent, expense_pass_threshold_percent) = g.expense_bars();
        Ok(PoolGovernance {
            voting_rule: g.voting_rule,
            default_quorum_percent: g.default_quorum_percent,
            default_pass_threshold_percent: g.default_pass_threshold_percent,
            rules_change_threshold_percent: g.rules_change_threshold_percent,
            distributes_surplus: g.distributes_surplus,
            asset_lock: g.asset_lock,
            minimum_voting_days: g.voting_period.minimum_days,
            default_voting_days: g.voting_period.default_days,
            expense_quorum_percent,
            expense_pass_threshold_percent,
            contribution_bounds: g.contribution_bounds.map(|b| ContributionBounds {
                interval: b.interval.into(),
                minimum: Money::new(b.minimum, g.currency.clone()),
                maximum: Money::new(b.maximum, g.currency.clone()),
            }),
        })
    }
    /// The code of conduct the pool's rules carry, if any: new members
    /// accept its version when they join.
    async fn code_of_conduct(&self) -> Option<CodeOfConduct> {
        services::membership::sanctions::code_of(&self.model).map(CodeOfConduct::from)
    }
    /// The catalogue's standalone legal templates the pool could spin out
    /// under, held against its current groups, members and governance as a
    /// formation's would be: those that fit first, then best fit (for its
    /// readers).
    async fn spin_out_options(&self, ctx: &Context<'_>) -> Result<Vec<SpinOutOption>> {
        let c = Ctx::of(ctx)?;
        Ok(
            services::spin_outs::options(c.state, c.actor().await?, &self.model)
                .await?
                .into_iter()
                .map(SpinOutOption::from)
                .collect(),
        )
    }
    /// The pool's current or last spin-out, for its readers.
    async fn spin_out(&self, ctx: &Context<'_>) -> Result<Option<SpinOut>> {
        let c = Ctx::of(ctx)?;
        Ok(
            services::spin_outs::of_pool(c.state, c.actor().await?, &self.model)
                .await?
                .map(SpinOut::from),
        )
    }
    /// The pool's current or last dissolution, for its readers.
    async fn dissolution(&self, ctx: &Context<'_>) -> Result<Option<Dissolution>> {
        let c = Ctx::of(ctx)?;
        Ok(
            services::dissolutions::of_pool(c.state, c.actor().await?, &self.model)
                .await?
                .map(Dissolution::from),
        )
    }
    /// The pool's moves to other parent entities, oldest first, for its
    /// readers.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn moves(
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
    ) -> Result<Conn<PoolMove>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::pool_moves::of_pool(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |m| m.id, PoolMove::from))
    }
    /// The signed audit packs the pool's end-of-life steps produced
    /// (suspensions, reinstatements, moves, spin-out, dissolution), oldest
    /// first, for those who may read its audit trail.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn life_packs(
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
    ) -> Result<Conn<LifePack>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::life_packs::of_pool(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |p| p.id, LifePack::from))
    }
    /// The rules in force and every version adopted, for the pool's
    /// readers.
    async fn rules(&self) -> PoolRules {
        PoolRules {
            pool: self.model.clone(),
        }
    }
}

/// Which relations of each member a page's selection shows.
#[derive(Clone, Copy)]
struct MemberFields {
    group: bool,
    account: bool,
    given: bool,
    received: bool,
}

impl MemberFields {
    fn asked(ctx: &Context<'_>) -> Self {
        Self {
            group: nodes_select(ctx.look_ahead(), "stakeholderGroup"),
            account: nodes_select(ctx.look_ahead(), "user"),
            given: nodes_select(ctx.look_ahead(), "delegationsGiven"),
            received: nodes_select(ctx.look_ahead(), "delegationsReceived"),
        }
    }
}

/// Gives each member of a page what its selection shows: the account read
/// with the page, and the group, from the pool's groups (one statement,
/// shared with `Pool.stakeholderGroups`). Handed to the members directly, a
/// page's hundred relations cost no loader lookups and no copies.
async fn with_member_relations(
    c: &Ctx<'_>,
    pool: &pool::Model,
    wants: MemberFields,
    page: services::pagination::Page<(membership::Model, Option<entities::user::Model>)>,
) -> Result<services::pagination::Page<Member>> {
    let groups: std::collections::HashMap<_, _> = if wants.group {
        c.loaders
            .groups_of_pool()
            .load_one(pool.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g.id, Arc::new(StakeholderGroup::from(g))))
            .collect()
    } else {
        Default::default()
    };
    if wants.given || wants.received {
        // The members themselves, for links back to them (a delegation's
        // other end); and their delegations, in one statement for the page
        // each, read under the same permission as the page itself.
        c.loaders
            .members()
            .feed_many(page.items.iter().map(|(m, _)| (m.id, m.clone())))
            .await;
        let ids: Vec<_> = page.items.iter().map(|(m, _)| m.id).collect();
        if wants.given {
            prime_owned(c.loaders.delegations_given(), &ids)
                .await
                .map_err(loader_error)?;
        }
        if wants.received {
            prime_owned(c.loaders.delegations_received(), &ids)
                .await
                .map_err(loader_error)?;
        }
    }
    Ok(page.map(|(member, account)| {
        let group = groups.get(&member.stakeholder_group_id).cloned();
        Member::with_relations(member, group, account.map(|a| Arc::new(User::from(a))))
    }))
}

/// Governance settings, derived from the same parameters as the rules document.
#[derive(SimpleObject)]
pub struct PoolGovernance {
    pub voting_rule: VotingRule,
    pub default_quorum_percent: i32,
    pub default_pass_threshold_percent: i32,
    pub rules_change_threshold_percent: i32,
    pub distributes_surplus: bool,
    pub asset_lock: bool,
    /// Voting stays open at least this many days; 0 for pools whose rules
    /// set no minimum (then more than a minute).
    pub minimum_voting_days: i32,
    /// How long voting stays open when a proposal does not say.
    pub default_voting_days: i32,
    pub expense_quorum_percent: i32,
    pub expense_pass_threshold_percent: i32,
    /// The range every sliding scale of the pool lies in, if the rules set one.
    pub contribution_bounds: Option<ContributionBounds>,
}

/// The range the rules set for sliding scales.
#[derive(SimpleObject)]
pub struct ContributionBounds {
    pub interval: ContributionInterval,
    pub minimum: Money,
    pub maximum: Money,
}

// A membership class of a pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct StakeholderGroup {
    pub(crate) id: ID,
    key: String,
    name: String,
    kind: StakeholderKind,
    /// Weight in multi-stakeholder votes; 0 means a non-voting group.
    voting_weight: i32,
    /// Set when a rules change retired the group: it takes no new members,
    /// and its history stays.
    retired_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: stakeholder_group::Model,
}

impl From<stakeholder_group::Model> for StakeholderGroup {
    fn from(m: stakeholder_group::Model) -> Self {
        Self {
            id: m.id.into(),
            key: m.key.clone(),
            name: m.name.clone(),
            kind: m.kind.into(),
            voting_weight: m.voting_weight,
            retired_at: m.retired_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl StakeholderGroup {
    /// Price of one share, in the pool's currency.
    async fn share_price(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let Some(amount) = self.model.share_price_minor else {
            return Ok(None);
        };
        let pool = pool_model(ctx, self.model.pool_id).await?;
        Ok(Some(Money::new(amount, pool.currency)))
    }
    async fn admission(&self) -> Admission {
        self.model.admission.into()
    }
    /// The group's own sliding scale, if it has one (else the pool's applies).
    async fn sliding_scale(&self, ctx: &Context<'_>) -> Result<Option<SlidingScale>> {
        current_scale(ctx, self.model.pool_id, Some(self.model.id)).await
    }
}

/// The current scale of a pool (`group` = `None`) or of one of its groups,
/// from the pool's scales loaded once for every group in the response.
async fn current_scale(
    ctx: &Context<'_>,
    pool_id: uuid::Uuid,
    group: Option<uuid::Uuid>,
) -> Result<Option<SlidingScale>> {
    let c = Ctx::of(ctx)?;
    let scales = c
        .loaders
        .scales_of_pool()
        .load_one(pool_id)
        .await
        .map_err(loader_error)?;
    Ok(scales
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.superseded_at.is_none() && s.stakeholder_group_id == group)
        .map(SlidingScale::from))
}

// A person's membership of a pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Member {
    pub(crate) id: ID,
    email: String,
    display_name: String,
    role: MemberRole,
    status: MembershipStatus,
    joined_via: JoinedVia,
    joined_at: Option<DateTime<Utc>>,
    left_at: Option<DateTime<Utc>>,
    shares_held: i64,
    /// Why the membership ended; a removal's recorded reason.
    end_reason: Option<String>,
    /// The version of the pool's code of conduct the member accepted.
    conduct_version: Option<i32>,
    conduct_accepted_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: MemberKeys,
    /// The group and account, when they were read with the member; else
    /// the fields below ask the request's loaders. Made once for the page
    /// (a group once for all its members) and handed out shared.
    #[graphql(skip)]
    group: Option<Arc<StakeholderGroup>>,
    #[graphql(skip)]
    account: Option<Arc<User>>,
}

/// What a member's relations are found by.
struct MemberKeys {
    id: uuid::Uuid,
    pool_id: uuid::Uuid,
    user_id: Option<uuid::Uuid>,
    stakeholder_group_id: uuid::Uuid,
}

impl From<membership::Model> for Member {
    fn from(m: membership::Model) -> Self {
        Self::with_relations(m, None, None)
    }
}

impl Member {
    fn with_relations(
        m: membership::Model,
        group: Option<Arc<StakeholderGroup>>,
        account: Option<Arc<User>>,
    ) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            display_name: m.display_name,
            role: m.role.into(),
            status: m.status.into(),
            joined_via: m.joined_via.into(),
            joined_at: m.joined_at,
            left_at: m.left_at,
            shares_held: m.shares_held,
            end_reason: m.end_reason,
            conduct_version: m.conduct_version,
            conduct_accepted_at: m.conduct_accepted_at,
            model: MemberKeys {
                id: m.id,
                pool_id: m.pool_id,
                user_id: m.user_id,
                stakeholder_group_id: m.stakeholder_group_id,
            },
            group,
            account,
        }
    }
}

// The account, the group and the pool load through the request's loaders.
#[ComplexObject]
impl Member {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The suspension in force now, if any: the member neither votes nor
    /// proposes until it ends.
    async fn suspension(&self, ctx: &Context<'_>) -> Result<Option<MemberSuspension>> {
        suspension_now(ctx, self.model.pool_id, self.model.id).await
    }
    /// Every suspension of this membership, oldest first, as the register
    /// keeps them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn suspensions(
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
    ) -> Result<Conn<MemberSuspension>> {
        let page = PageArgs::new(first, after, last, before);
        suspension_list(ctx, self.model.pool_id, self.model.id, page).await
    }
    /// The contributions of work, care and kind this member recorded,
    /// oldest first; as the pool's `workContributions`.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn work_contributions(
        &self,
        ctx: &Context<'_>,
        status: Option<WorkContributionStatus>,
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
    ) -> Result<Conn<WorkContribution>> {
        let pool = pool_model(ctx, self.model.pool_id).await?;
        let filter = WorkFilter {
            membership_id: Some(self.model.id),
            status: status.map(Into::into),
        };
        let page = PageArgs::new(first, after, last, before);
        work_contribution_list(ctx, &pool, filter, page).await
    }
    /// The live delegations this member gave (one per proposal, and a
    /// standing one), for the pool's members and the parent's stewards and
    /// auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn delegations_given(
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
            DelegationList::Given(self.model.id),
            page,
        )
        .await
    }
    /// The live delegations other members gave this one; as
    /// `delegationsGiven`.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn delegations_received(
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
            DelegationList::Received(self.model.id),
            page,
        )
        .await
    }
    /// The account, once the person has one.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<Arc<User>>> {
        let Some(user_id) = self.model.user_id else {
            return Ok(None);
        };
        if let Some(account) = &self.account {
            return Ok(Some(Arc::clone(account)));
        }
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .users()
            .load_one(user_id)
            .await
            .map_err(loader_error)?
            .map(|account| Arc::new(User::from(account))))
    }
    async fn stakeholder_group(&self, ctx: &Context<'_>) -> Result<Arc<StakeholderGroup>> {
        if let Some(group) = &self.group {
            return Ok(Arc::clone(group));
        }
        let c = Ctx::of(ctx)?;
        let group = c
            .loaders
            .stakeholder_groups()
            .load_one(self.model.stakeholder_group_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("member {} has no group", self.model.id))
            })?;
        Ok(Arc::new(StakeholderGroup::from(group)))
    }
}

// An app selected for a pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PoolApp {
    pub(crate) id: ID,
    app_id: String,
    app_version: String,
    settings: Json,
    /// `{"admins": role, "groups": {groupKey: role}}`.
    role_mapping: Json,
    provisioning_state: ProvisioningState,
    /// Where the app lives, once READY.
    url: Option<String>,
    /// Why the app is where it is: waiting for a provisioner, the last failure.
    status_message: Option<String>,
    #[graphql(skip)]
    model: pool_app::Model,
}

impl From<pool_app::Model> for PoolApp {
    fn from(m: pool_app::Model) -> Self {
        Self {
            id: m.id.into(),
            app_id: m.app_id.clone(),
            app_version: m.app_version.clone(),
            settings: Json(m.settings.clone()),
            role_mapping: Json(m.role_mapping.clone()),
            provisioning_state: m.provisioning_state.into(),
            url: m.url.clone(),
            status_message: m.status_message.clone(),
            model: m,
        }
    }
}

// The catalogue entry, and the hand-over only the pool's admins may read.
#[ComplexObject]
impl PoolApp {
    async fn app(&self, ctx: &Context<'_>) -> Result<Option<App>> {
        let c = Ctx::of(ctx)?;
        Ok(c.state
            .catalogue
            .app(&self.model.app_id)
            .map(|a| App::from(a.manifest.clone())))
    }
    /// What the operator handed over for the pool's admins (first login,
    /// support contact), once READY: for the pool's admins and the
    /// parent's stewards and auditors.
    async fn handover(&self, ctx: &Context<'_>) -> Result<Option<Json>> {
        let Some(handover) = &self.model.handover else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        let pool = services::membership::find_pool(&c.state.db, self.model.pool_id).await?;
        services::membership::require_admin_reader(
            &c.state.db,
            &pool,
            actor.user_id,
            "only the pool's admins see an app's hand-over",
        )
        .await?;
        Ok(Some(Json(
            serde_json::from_str(handover).unwrap_or_default(),
        )))
    }
}

/// The model of a pool by id, through the request's loader: what a row
/// inside a pool links to (pools are public).
pub(crate) async fn pool_model(ctx: &Context<'_>, id: uuid::Uuid) -> Result<pool::Model> {
    let c = Ctx::of(ctx)?;
    Ok(c.loaders
        .pools()
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool {id} missing")))?)
}

/// A pool by id, through the request's loader.
pub(crate) async fn load_pool(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Pool> {
    Ok(Pool::from(pool_model(ctx, id).await?))
}

/// A member by membership id, through the request's loader.
pub(crate) async fn load_member(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Member> {
    let c = Ctx::of(ctx)?;
    let m = c
        .loaders
        .members()
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("member {id} missing")))?;
    Ok(Member::from(m))
}
