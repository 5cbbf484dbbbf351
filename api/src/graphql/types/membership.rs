use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{application, invitation};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{Member, Pool, StakeholderGroup, User, load_member, load_pool, loader_error},
    },
    services::membership::{self, applications, invitations},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::application::ApplicationStatus")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
    /// The applicant's account was deleted before a decision.
    Withdrawn,
}

// An invitation to join a pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Invitation {
    pub(crate) id: ID,
    email: String,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    membership_id: Uuid,
    #[graphql(skip)]
    pool_id: Uuid,
}

impl From<invitation::Model> for Invitation {
    fn from(m: invitation::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            expires_at: m.expires_at,
            accepted_at: m.accepted_at,
            membership_id: m.membership_id,
            pool_id: m.pool_id,
        }
    }
}

#[ComplexObject]
impl Invitation {
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.membership_id).await
    }
    /// The pool it invites to (pools are public).
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.pool_id).await
    }
}

/// A new invitation and the token for its link, shown this once.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    pub invitation: Invitation,
    /// Give it to the invitee; they accept with `acceptInvitation(token)`.
    pub token: String,
}

// An application to join a pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MembershipApplication {
    pub(crate) id: ID,
    status: ApplicationStatus,
    message: String,
    reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    user_id: Uuid,
    #[graphql(skip)]
    stakeholder_group_id: Uuid,
    #[graphql(skip)]
    membership_id: Option<Uuid>,
}

impl From<application::Model> for MembershipApplication {
    fn from(m: application::Model) -> Self {
        Self {
            id: m.id.into(),
            status: m.status.into(),
            message: m.message,
            reason: m.reason,
            decided_at: m.decided_at,
            created_at: m.created_at,
            user_id: m.user_id,
            stakeholder_group_id: m.stakeholder_group_id,
            membership_id: m.membership_id,
        }
    }
}

// The applicant, the group and the membership load through the request's loaders.
#[ComplexObject]
impl MembershipApplication {
    async fn applicant(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .users()
            .load_one(self.user_id)
            .await
            .map_err(loader_error)?
            .map(User::from))
    }
    async fn stakeholder_group(&self, ctx: &Context<'_>) -> Result<Option<StakeholderGroup>> {
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .stakeholder_groups()
            .load_one(self.stakeholder_group_id)
            .await
            .map_err(loader_error)?
            .map(StakeholderGroup::from))
    }
    /// The membership an approval created.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        match self.membership_id {
            Some(id) => Ok(Some(load_member(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationDecision {
    Approve,
    Reject,
}

#[derive(InputObject)]
pub struct InviteMemberInput {
    pub pool_id: ID,
    /// The invitee's email address, at most 320 characters.
    pub email: String,
    pub stakeholder_group_id: ID,
    #[graphql(default_with = "super::MemberRole::Member")]
    pub role: super::MemberRole,
}

#[derive(InputObject)]
pub struct ApplyForMembershipInput {
    pub pool_id: ID,
    pub stakeholder_group_id: ID,
    /// To the pool's admins: at most 2000 characters.
    #[graphql(default)]
    pub message: String,
    /// Where the pool's rules have a code of conduct: the version you accept
    /// (`pool.codeOfConduct.version`); joining needs it.
    pub accept_code_of_conduct: Option<i32>,
}

#[derive(InputObject)]
pub struct DecideMembershipApplicationInput {
    pub application_id: ID,
    pub decision: ApplicationDecision,
    /// Told to the applicant: 1 to 2000 characters.
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub member_id: ID,
    /// Recorded in the register: 3 to 2000 characters.
    pub reason: String,
}

#[derive(InputObject)]
pub struct ChangeMemberRoleInput {
    pub member_id: ID,
    pub role: super::MemberRole,
}

#[derive(InputObject)]
pub struct RegisterFilter {
    pub status: Option<super::MembershipStatus>,
    pub stakeholder_group_id: Option<ID>,
}

impl TryFrom<InviteMemberInput> for invitations::InviteInput {
    type Error = AppError;
    fn try_from(input: InviteMemberInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            email: input.email,
            stakeholder_group_id: uuid!(input.stakeholder_group_id)?,
            role: input.role.into(),
        })
    }
}

impl TryFrom<ApplyForMembershipInput> for applications::ApplyInput {
    type Error = AppError;
    fn try_from(input: ApplyForMembershipInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            stakeholder_group_id: uuid!(input.stakeholder_group_id)?,
            message: input.message,
            accept_code_of_conduct: input.accept_code_of_conduct,
        })
    }
}

impl TryFrom<DecideMembershipApplicationInput> for applications::DecideInput {
    type Error = AppError;
    fn try_from(input: DecideMembershipApplicationInput) -> AppResult<Self> {
        Ok(Self {
            application_id: uuid!(input.application_id)?,
            approve: input.decision == ApplicationDecision::Approve,
            reason: input.reason,
        })
    }
}

impl TryFrom<RegisterFilter> for membership::RegisterFilter {
    type Error = AppError;
    fn try_from(filter: RegisterFilter) -> AppResult<Self> {
        Ok(Self {
            status: filter.status.map(Into::into),
            stakeholder_group_id: uuid!(filter.stakeholder_group_id)?,
        })
    }
}
