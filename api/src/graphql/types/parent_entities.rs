use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{parent_entity, parent_entity_role, parent_entity_role::RoleStatus};

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, nodes_select, page_complexity},
        context::Ctx,
        ids::uuid,
        loaders::prime_owned,
        types::{
            AssemblyWeighting, Dissolution, Formation, FormationStatus, LifePack, Pool, PoolMove,
            SpinOut, User, loader_error,
        },
    },
    services::{
        self,
        pagination::PageRequest,
        parent_entities::{PolicyInput, RegisterInput, RoleInput},
        policy::{RuleChangeKind, RulesChangePolicy},
    },
};

/// How a parent entity decides on new pools.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::parent_entity::ApprovalPolicy")]
pub enum ApprovalPolicy {
    /// A steward approves each submitted formation.
    Manual,
    /// Submitted formations are approved at once.
    Automatic,
}

/// A role at a parent entity.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::parent_entity_role::RoleKind")]
pub enum ParentEntityRoleKind {
    /// Runs the parent entity: approves pools, sets policies, grants roles.
    Steward,
    /// Reads everything under the parent entity and changes nothing.
    Auditor,
}

/// Where a role at a parent entity stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::parent_entity_role::RoleStatus")]
pub enum ParentEntityRoleStatus {
    /// Invited; waiting for the person to accept or decline.
    Pending,
    /// Accepted: the person holds the role.
    Active,
    /// The person declined the invitation.
    Declined,
    /// A steward ended the role or withdrew the invitation.
    Revoked,
    /// The invitation lapsed unanswered (after `INVITATION_TTL_DAYS`).
    Expired,
}

// A registered legal entity that hosts pools.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ParentEntity {
    pub(crate) id: ID,
    name: String,
    /// The URL form of the name, unique among parent entities: with a
    /// pool's slug it makes the pool's address (`poolBySlug`).
    slug: String,
    /// ISO 3166-1 alpha-2 country code.
    jurisdiction: String,
    legal_form: String,
    registration_number: String,
    approval_policy: ApprovalPolicy,
    created_at: DateTime<Utc>,
    /// Whether a platform admin vouches that this is the legal entity it
    /// names. Unverified parents work alike; founders may want to check.
    verified: bool,
    /// Since when it is verified; `null` while unverified.
    verified_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: parent_entity::Model,
}

impl From<parent_entity::Model> for ParentEntity {
    fn from(m: parent_entity::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name.clone(),
            slug: m.slug.clone(),
            jurisdiction: m.jurisdiction.clone(),
            legal_form: m.legal_form.clone(),
            registration_number: m.registration_number.clone(),
            approval_policy: m.approval_policy.into(),
            created_at: m.created_at,
            verified: m.verified_at.is_some(),
            verified_at: m.verified_at,
            model: m,
        }
    }
}

// The policy, and relations and permission-checked fields, after the plain ones.
#[ComplexObject]
impl ParentEntity {
    async fn policy(&self) -> ParentEntityPolicy {
        let p = crate::services::policy::ParentPolicy::of(&self.model);
        ParentEntityPolicy {
            allowed_template_ids: p.allowed_template_ids,
            allowed_app_ids: p.allowed_app_ids,
            allows_principle_exceptions: p.allows_principle_exceptions,
            expense_approval_above: self.model.expense_approval_above_minor,
            expense_min_approvals: self.model.expense_min_approvals,
            parent_share_basis_points: self.model.parent_share_basis_points,
            rules_changes_forbidden: p.rules_changes.forbidden,
            rules_changes_needing_approval: p.rules_changes.needs_approval,
            dissolutions_need_consent: self.model.dissolutions_need_consent,
            assembly_weighting: self.model.assembly_weighting.into(),
        }
    }

    /// The dissolutions of this parent entity's pools, oldest first (its
    /// stewards and auditors).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn dissolutions(
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
    ) -> Result<Conn<Dissolution>> {
        let c = Ctx::of(ctx)?;
        let page = crate::services::pagination::PageArgs::new(first, after, last, before);
        let page =
            services::dissolutions::of_parent(c.state, c.actor().await?, self.model.id, page)
                .await?;
        Ok(connection(page, |d| d.id, Dissolution::from))
    }

    /// Its pools' applications to its commons fund, oldest first (its
    /// stewards and auditors, and the members of its pools, who vote on
    /// them).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn fund_applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only applications with this status.")] status: Option<
            crate::graphql::types::FundApplicationStatus,
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
    ) -> Result<Conn<crate::graphql::types::FundApplication>> {
        let c = Ctx::of(ctx)?;
        let page = services::pagination::PageArgs::new(first, after, last, before);
        let page = services::commons::fund::of_parent(
            c.state,
            c.actor().await?,
            self.model.id,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(
            page,
            |a| a.id,
            crate::graphql::types::FundApplication::from,
        ))
    }
    /// The assets the parent entity owns for its pools, oldest first (its
    /// stewards and auditors, and the members of its pools).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn assets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only assets with this status.")] status: Option<super::AssetStatus>,
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
    ) -> Result<Conn<super::Asset>> {
        let c = Ctx::of(ctx)?;
        let page = crate::services::pagination::PageArgs::new(first, after, last, before);
        let page = services::commons::assets::of_parent(
            c.state,
            c.actor().await?,
            self.model.id,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |a| a.id, super::Asset::from))
    }

    /// The parent entity's commons fund: its own ledger, apart from its
    /// pools' (stewards and auditors).
    async fn ledger(&self) -> super::ParentLedger {
        super::ParentLedger(self.model.id)
    }

    /// Figures for `[from, to)` across every pool, and per pool (stewards
    /// and auditors).
    async fn report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The start of the period (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "The end of the period (exclusive); later than `from`.")] to: DateTime<
            Utc,
        >,
    ) -> Result<super::ParentEntityReport> {
        let c = Ctx::of(ctx)?;
        let period = services::reports::Period::parse(from, to)?;
        services::reports::authorize(c.state, c.actor().await?, self.model.id).await?;
        let totals = services::reports::totals(&c.state.reads, self.model.id, period).await?;
        Ok(super::ParentEntityReport::new(
            self.model.id,
            period,
            totals,
        ))
    }

    /// The last finished payment reconciliation and its findings under this
    /// parent entity: for its stewards and auditors.
    async fn payment_reconciliation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::PaymentReconciliation>> {
        let c = Ctx::of(ctx)?;
        let last = services::contributions::reconcile::last_for_parent(
            c.state,
            c.actor().await?,
            self.model.id,
        )
        .await?;
        Ok(last.map(|r| {
            super::PaymentReconciliation::new(
                r,
                services::contributions::reconcile::Scope::Parent(self.model.id),
            )
        }))
    }

    /// Pools moving into or out of this parent entity, oldest first (its
    /// stewards and auditors).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn pool_moves(
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
        let page = crate::services::pagination::PageArgs::new(first, after, last, before);
        let page =
            services::pool_moves::of_parent(c.state, c.actor().await?, self.model.id, page).await?;
        Ok(connection(page, |m| m.id, PoolMove::from))
    }

    /// The signed audit packs of end-of-life steps taken while pools were
    /// under this parent entity, those that moved away included, oldest
    /// first (its stewards and auditors).
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
        let page = crate::services::pagination::PageArgs::new(first, after, last, before);
        let page =
            services::life_packs::of_parent(c.state, c.actor().await?, self.model.id, page).await?;
        Ok(connection(page, |p| p.id, LifePack::from))
    }

    /// The spin-outs of this parent entity's pools into entities of their
    /// own, oldest first (its stewards and auditors).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn spin_outs(
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
    ) -> Result<Conn<SpinOut>> {
        let c = Ctx::of(ctx)?;
        let page = crate::services::pagination::PageArgs::new(first, after, last, before);
        let page =
            services::spin_outs::of_parent(c.state, c.actor().await?, self.model.id, page).await?;
        Ok(connection(page, |s| s.id, SpinOut::from))
    }

    /// The spin-out this parent entity registered from, when it is a pool
    /// that became an entity of its own; `null` otherwise, and for those
    /// who may not read that pool.
    async fn spun_out_from(&self, ctx: &Context<'_>) -> Result<Option<SpinOut>> {
        let c = Ctx::of(ctx)?;
        let Some(s) = services::spin_outs::of_new_parent(&c.state.db, self.model.id).await? else {
            return Ok(None);
        };
        let actor = c.actor().await?;
        Ok(services::spin_outs::visible(&c.state.db, actor, &s)
            .await
            .ok()
            .map(|_| SpinOut::from(s)))
    }

    /// The pools under this parent entity.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn pools(
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
    ) -> Result<Conn<Pool>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::pools::of_parent(c.state, self.model.id, page).await?;
        if nodes_select(ctx.look_ahead(), "stakeholderGroups") {
            let ids: Vec<_> = page.items.iter().map(|p| p.id).collect();
            prime_owned(c.loaders.groups_of_pool(), &ids)
                .await
                .map_err(loader_error)?;
        }
        Ok(connection(page, |p| p.id, Pool::from))
    }

    /// Formations submitted to this parent entity (drafts stay private), for
    /// its stewards and auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn formations(
        &self,
        ctx: &Context<'_>,
        status: Option<FormationStatus>,
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
    ) -> Result<Conn<Formation>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::formations::of_parent(
            c.state,
            c.actor().await?,
            self.model.id,
            status.map(Into::into),
            page,
        )
        .await?;
        Formation::prime(ctx, &page.items).await?;
        Ok(connection(page, |d| d.formation.id, Formation::new))
    }

    /// Stewards and auditors, and the people invited to be, for the
    /// parent's own stewards and auditors. Ended roles and invitations
    /// (declined, revoked, expired) are history and appear with
    /// `includeRevoked: true`.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn roles(
        &self,
        ctx: &Context<'_>,
        include_revoked: Option<bool>,
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
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::parent_entities::roles(
            c.state,
            c.actor().await?,
            self.model.id,
            include_revoked.unwrap_or(false),
            page,
        )
        .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole::from))
    }
}

/// What a parent entity allows its pools.
#[derive(SimpleObject)]
pub struct ParentEntityPolicy {
    /// Template ids pools may use; `null`: every template.
    pub allowed_template_ids: Option<Vec<String>>,
    /// App ids pools may use; `null`: every app.
    pub allowed_app_ids: Option<Vec<String>>,
    /// Whether a pool may depart from an ICA principle, with a warning.
    pub allows_principle_exceptions: bool,
    /// Expenses above this amount (minor units, the pool's currency) need
    /// at least `expenseMinApprovals` agreeing votes.
    pub expense_approval_above: Option<i64>,
    pub expense_min_approvals: Option<i32>,
    /// The parent's share of every contribution, in basis points (250 = 2.5 %).
    pub parent_share_basis_points: i32,
    /// Kinds of rules change its pools may not propose.
    pub rules_changes_forbidden: Vec<RuleChangeKind>,
    /// Kinds of rules change that, once the members pass them, wait for a
    /// steward's approval.
    pub rules_changes_needing_approval: Vec<RuleChangeKind>,
    /// Whether a pool's dissolution, once its members decided it, waits
    /// for a steward's consent (`consentToDissolution`).
    pub dissolutions_need_consent: bool,
    /// How the assembly of its pools weighs each pool's vote on the fund.
    pub assembly_weighting: AssemblyWeighting,
}

// A role at a parent entity, from the invitation on: current or past.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ParentEntityRole {
    pub(crate) id: ID,
    role: ParentEntityRoleKind,
    /// The email the role was granted to.
    email: String,
    /// When the role was granted (the invitation sent).
    granted_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    declined_at: Option<DateTime<Utc>>,
    /// When an invitation lapses unanswered; `null` for a role given
    /// without one (the registrant's).
    expires_at: Option<DateTime<Utc>>,
    /// Set once a steward ended the role or withdrew the invitation.
    revoked_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: parent_entity_role::Model,
}

impl From<parent_entity_role::Model> for ParentEntityRole {
    fn from(m: parent_entity_role::Model) -> Self {
        Self {
            id: m.id.into(),
            role: m.role.into(),
            email: m.email.clone(),
            granted_at: m.granted_at,
            accepted_at: m.accepted_at,
            declined_at: m.declined_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            model: m,
        }
    }
}

// The status as of now, and the person and the parent through the request's loaders.
#[ComplexObject]
impl ParentEntityRole {
    /// A pending invitation past `expiresAt` reads as `EXPIRED`.
    async fn status(&self) -> ParentEntityRoleStatus {
        match self.model.status {
            RoleStatus::Pending if self.model.expires_at.is_none_or(|at| at <= Utc::now()) => {
                ParentEntityRoleStatus::Expired
            }
            status => status.into(),
        }
    }
    /// The person, once they accepted; `null` before (an invitation says
    /// nothing about whether the email has an account).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(user_id) = self.model.user_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        let user = c
            .loaders
            .users()
            .load_one(user_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("role {} has no user", self.model.id))
            })?;
        Ok(Some(User::from(user)))
    }
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let parent = c
            .loaders
            .parent_entities()
            .load_one(self.model.parent_entity_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("role {} has no parent", self.model.id))
            })?;
        Ok(ParentEntity::from(parent))
    }
}

#[derive(InputObject)]
pub struct RegisterParentEntityInput {
    /// 2 to 200 characters on one line.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, such as DE, ES or GB.
    pub jurisdiction: String,
    /// The legal form, such as "eingetragene Genossenschaft (eG)": 2 to 200
    /// characters on one line.
    pub legal_form: String,
    /// The number the registering authority gave the entity: 1 to 100
    /// characters on one line.
    pub registration_number: String,
    #[graphql(default_with = "ApprovalPolicy::Manual")]
    pub approval_policy: ApprovalPolicy,
    /// A spin-out reported registered, when the entity registering is the
    /// pool that spun out (its admins only): the entity is linked to it,
    /// and `registrationNumber` must be the one reported.
    pub spun_out_from: Option<ID>,
}

#[derive(InputObject)]
pub struct GrantParentEntityRoleInput {
    pub parent_entity_id: ID,
    /// Who to invite, at most 320 characters; they need not have an account
    /// yet.
    pub email: String,
    pub role: ParentEntityRoleKind,
}

#[derive(InputObject)]
pub struct RevokeParentEntityRoleInput {
    pub parent_entity_id: ID,
    /// The email the role was granted to, at most 320 characters.
    pub email: String,
    pub role: ParentEntityRoleKind,
}

#[derive(InputObject)]
pub struct SetParentEntityPolicyInput {
    pub parent_entity_id: ID,
    /// Template ids pools may use; `null`: every template.
    pub allowed_template_ids: Option<Vec<ID>>,
    /// App ids pools may use; `null`: every app.
    pub allowed_app_ids: Option<Vec<ID>>,
    #[graphql(default = false)]
    pub allows_principle_exceptions: bool,
    /// Expenses above this amount (minor units, 0 to 10^13) need
    /// `expenseMinApprovals` agreeing votes; give both or neither.
    pub expense_approval_above: Option<i64>,
    /// Agreeing votes an expense above `expenseApprovalAbove` needs: 1 to
    /// 1000; give both or neither.
    pub expense_min_approvals: Option<i32>,
    /// The parent's share of every contribution, in basis points (0 to 10000).
    #[graphql(default = 0)]
    pub parent_share_basis_points: i32,
    /// Kinds of rules change its pools may not propose.
    #[graphql(default)]
    pub rules_changes_forbidden: Vec<RuleChangeKind>,
    /// Kinds of rules change that, once the members pass them, wait for a
    /// steward's approval (for example `SET_ASSET_LOCK`).
    #[graphql(default)]
    pub rules_changes_needing_approval: Vec<RuleChangeKind>,
    /// Whether a pool's dissolution, once its members decided it, waits
    /// for a steward's consent.
    #[graphql(default = false)]
    pub dissolutions_need_consent: bool,
    /// How the assembly of its pools weighs each pool's vote on an
    /// application to the fund.
    #[graphql(default_with = "AssemblyWeighting::OnePoolOneVote")]
    pub assembly_weighting: AssemblyWeighting,
}

#[derive(InputObject)]
pub struct VerifyParentEntityInput {
    pub parent_entity_id: ID,
}

#[derive(InputObject)]
pub struct RevokeParentEntityVerificationInput {
    pub parent_entity_id: ID,
    /// Why, for the audit trail: 1 to 1000 characters.
    pub reason: String,
}

/// The registration, and the spin-out it comes from when it does.
impl TryFrom<RegisterParentEntityInput> for (RegisterInput, Option<uuid::Uuid>) {
    type Error = AppError;
    fn try_from(input: RegisterParentEntityInput) -> AppResult<Self> {
        Ok((
            RegisterInput {
                name: input.name,
                jurisdiction: input.jurisdiction,
                legal_form: input.legal_form,
                registration_number: input.registration_number,
                approval_policy: input.approval_policy.into(),
            },
            uuid!(input.spun_out_from)?,
        ))
    }
}

// Granting and revoking name a role by the same three fields.
macro_rules! role_input_from {
    ($($input:ty),+) => {$(
        impl TryFrom<$input> for RoleInput {
            type Error = AppError;
            fn try_from(input: $input) -> AppResult<Self> {
                Ok(Self {
                    parent_entity_id: uuid!(input.parent_entity_id)?,
                    email: input.email,
                    role: input.role.into(),
                })
            }
        }
    )+};
}
role_input_from!(GrantParentEntityRoleInput, RevokeParentEntityRoleInput);

impl TryFrom<SetParentEntityPolicyInput> for PolicyInput {
    type Error = AppError;
    fn try_from(input: SetParentEntityPolicyInput) -> AppResult<Self> {
        // Catalogue ids, not UUIDs: the service checks them against the catalogue.
        let ids = |ids: Vec<ID>| -> Vec<String> { ids.into_iter().map(|i| i.0).collect() };
        Ok(Self {
            parent_entity_id: uuid!(input.parent_entity_id)?,
            allowed_template_ids: input.allowed_template_ids.map(ids),
            allowed_app_ids: input.allowed_app_ids.map(ids),
            allows_principle_exceptions: input.allows_principle_exceptions,
            expense_approval_above: input.expense_approval_above,
            expense_min_approvals: input.expense_min_approvals,
            parent_share_basis_points: input.parent_share_basis_points,
            rules_change_policy: RulesChangePolicy {
                forbidden: input.rules_changes_forbidden,
                needs_approval: input.rules_changes_needing_approval,
            },
            dissolutions_need_consent: input.dissolutions_need_consent,
            assembly_weighting: input.assembly_weighting.into(),
        })
    }
}
