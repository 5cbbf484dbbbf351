use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entities::{parent_entity, parent_entity_role, parent_entity_role::RoleStatus};

use crate::{
    error::AppError,
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{Formation, FormationStatus, Pool, User, loader_error},
    },
    services::{self, pagination::PageRequest},
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

/// A registered legal entity that hosts pools.
pub struct ParentEntity(pub parent_entity::Model);

#[Object]
impl ParentEntity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn jurisdiction(&self) -> &str {
        &self.0.jurisdiction
    }
    async fn legal_form(&self) -> &str {
        &self.0.legal_form
    }
    async fn registration_number(&self) -> &str {
        &self.0.registration_number
    }
    async fn approval_policy(&self) -> ApprovalPolicy {
        self.0.approval_policy.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether a platform admin vouches that this is the legal entity it
    /// names. Unverified parents work alike; founders may want to check.
    async fn verified(&self) -> bool {
        self.0.verified_at.is_some()
    }
    /// Since when it is verified; `null` while unverified.
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }
    async fn policy(&self) -> ParentEntityPolicy {
        let p = crate::services::policy::ParentPolicy::of(&self.0);
        ParentEntityPolicy {
            allowed_template_ids: p.allowed_template_ids,
            allowed_app_ids: p.allowed_app_ids,
            allows_principle_exceptions: p.allows_principle_exceptions,
            expense_approval_above: self.0.expense_approval_above_minor,
            expense_min_approvals: self.0.expense_min_approvals,
            parent_share_basis_points: self.0.parent_share_basis_points,
        }
    }

    /// Figures for `[from, to)` across every pool, and per pool (stewards
    /// and auditors).
    async fn report(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<super::ParentEntityReport> {
        let c = Ctx::of(ctx)?;
        let period = services::reports::Period::parse(from, to)?;
        services::reports::authorize(c.state, c.actor().await?, self.0.id).await?;
        let totals = services::reports::totals(&c.state.db, self.0.id, period).await?;
        Ok(super::ParentEntityReport {
            parent_entity_id: self.0.id,
            period,
            totals,
        })
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
            self.0.id,
        )
        .await?;
        Ok(last.map(|r| {
            super::PaymentReconciliation::new(
                r,
                services::contributions::reconcile::Scope::Parent(self.0.id),
            )
        }))
    }

    /// The pools under this parent entity.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn pools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Pool>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::pools::of_parent(c.state, self.0.id, page).await?;
        Ok(connection(page, |p| p.id, Pool::from))
    }

    /// Formations submitted to this parent entity (drafts stay private), for
    /// its stewards and auditors.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn formations(
        &self,
        ctx: &Context<'_>,
        status: Option<FormationStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Formation>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::formations::of_parent(
            c.state,
            c.actor().await?,
            self.0.id,
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
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::parent_entities::roles(
            c.state,
            c.actor().await?,
            self.0.id,
            include_revoked.unwrap_or(false),
            page,
        )
        .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole))
    }
}

/// What a parent entity allows its pools.
#[derive(async_graphql::SimpleObject)]
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
}

/// A role at a parent entity, from the invitation on: current or past.
pub struct ParentEntityRole(pub parent_entity_role::Model);

#[Object]
impl ParentEntityRole {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn role(&self) -> ParentEntityRoleKind {
        self.0.role.into()
    }
    /// A pending invitation past `expiresAt` reads as `EXPIRED`.
    async fn status(&self) -> ParentEntityRoleStatus {
        match self.0.status {
            RoleStatus::Pending if self.0.expires_at.is_none_or(|at| at <= Utc::now()) => {
                ParentEntityRoleStatus::Expired
            }
            status => status.into(),
        }
    }
    /// The email the role was granted to.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The person, once they accepted; `null` before (an invitation says
    /// nothing about whether the email has an account).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(user_id) = self.0.user_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        let user = c
            .loaders
            .users
            .load_one(user_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("role {} has no user", self.0.id)))?;
        Ok(Some(User(user)))
    }
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let parent = c
            .loaders
            .parent_entities
            .load_one(self.0.parent_entity_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("role {} has no parent", self.0.id))
            })?;
        Ok(ParentEntity(parent))
    }
    /// When the role was granted (the invitation sent).
    async fn granted_at(&self) -> DateTime<Utc> {
        self.0.granted_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    async fn declined_at(&self) -> Option<DateTime<Utc>> {
        self.0.declined_at
    }
    /// When an invitation lapses unanswered; `null` for a role given
    /// without one (the registrant's).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// Set once a steward ended the role or withdrew the invitation.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(InputObject)]
pub struct RegisterParentEntityInput {
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, such as DE, ES or GB.
    pub jurisdiction: String,
    /// The legal form, such as "eingetragene Genossenschaft (eG)".
    pub legal_form: String,
    /// The number the registering authority gave the entity.
    pub registration_number: String,
    #[graphql(default_with = "ApprovalPolicy::Manual")]
    pub approval_policy: ApprovalPolicy,
}

#[derive(InputObject)]
pub struct GrantParentEntityRoleInput {
    pub parent_entity_id: ID,
    /// Who to invite; they need not have an account yet.
    pub email: String,
    pub role: ParentEntityRoleKind,
}

#[derive(InputObject)]
pub struct RevokeParentEntityRoleInput {
    pub parent_entity_id: ID,
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
    /// Expenses above this amount (minor units) need `expenseMinApprovals` agreeing votes.
    pub expense_approval_above: Option<i64>,
    pub expense_min_approvals: Option<i32>,
    /// The parent's share of every contribution, in basis points (0 to 10000).
    #[graphql(default = 0)]
    pub parent_share_basis_points: i32,
}

#[derive(InputObject)]
pub struct VerifyParentEntityInput {
    pub parent_entity_id: ID,
}

#[derive(InputObject)]
pub struct RevokeParentEntityVerificationInput {
    pub parent_entity_id: ID,
    /// Why, for the audit trail.
    pub reason: String,
}
