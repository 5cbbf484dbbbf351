use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::invitation;

use crate::graphql::{
    context::Ctx,
    types::{Member, StakeholderGroup, User, load_member, loader_error},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::application::ApplicationStatus")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
}

/// An invitation to join a pool.
pub struct Invitation(pub invitation::Model);

#[Object]
impl Invitation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.0.membership_id).await
    }
}

/// A new invitation and the token for its link, shown this once.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    pub invitation: Invitation,
    /// Give it to the invitee; they accept with `acceptInvitation(token)`.
    pub token: String,
}

/// An application to join a pool.
pub struct MembershipApplication(pub entities::application::Model);

#[Object]
impl MembershipApplication {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> ApplicationStatus {
        self.0.status.into()
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn applicant(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .users
            .load_one(self.0.user_id)
            .await
            .map_err(loader_error)?
            .map(User))
    }
    async fn stakeholder_group(&self, ctx: &Context<'_>) -> Result<Option<StakeholderGroup>> {
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .stakeholder_groups
            .load_one(self.0.stakeholder_group_id)
            .await
            .map_err(loader_error)?
            .map(StakeholderGroup::from))
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The membership an approval created.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        match self.0.membership_id {
            Some(id) => Ok(Some(load_member(ctx, id).await?)),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
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
    pub email: String,
    pub stakeholder_group_id: ID,
    #[graphql(default_with = "super::MemberRole::Member")]
    pub role: super::MemberRole,
}

#[derive(InputObject)]
pub struct ApplyForMembershipInput {
    pub pool_id: ID,
    pub stakeholder_group_id: ID,
    #[graphql(default)]
    pub message: String,
}

#[derive(InputObject)]
pub struct DecideMembershipApplicationInput {
    pub application_id: ID,
    pub decision: ApplicationDecision,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub member_id: ID,
    /// Recorded in the register.
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
