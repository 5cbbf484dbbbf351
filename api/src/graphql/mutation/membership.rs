use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            ApplyForMembershipInput, ChangeMemberRoleInput, DecideMembershipApplicationInput,
            Invitation, InvitationPayload, InviteMemberInput, Member, MemberSuspension,
            MembershipApplication, Proposal, RemoveMemberInput, SuspendMemberInput,
        },
    },
    services::membership::{applications, changes, invitations, sanctions},
};

#[derive(Default)]
pub struct MembershipMutation;

#[Object]
impl MembershipMutation {
    /// Invites an email into a stakeholder group (admins). Returns the token
    /// for the invitation link, shown this once; inviting again issues a new one.
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> Result<InvitationPayload> {
        let c = Ctx::of(ctx)?;
        let input = invitations::InviteInput::try_from(input)?;
        let (invitation, token) = invitations::invite(c.state, c.actor().await?, input).await?;
        Ok(InvitationPayload {
            invitation: Invitation::from(invitation),
            token,
        })
    }

    /// Accepts an invitation sent to your email, before it expires. Where
    /// the pool's rules have a code of conduct, `acceptCodeOfConduct` gives
    /// the version you accept (`pool.codeOfConduct.version`).
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        accept_code_of_conduct: Option<i32>,
    ) -> Result<Member> {
        let c = Ctx::of(ctx)?;
        Ok(Member::from(
            invitations::accept(c.state, c.actor().await?, &token, accept_code_of_conduct).await?,
        ))
    }

    /// Accepts the current version of a pool's code of conduct, as a
    /// member (for members who joined before it).
    async fn accept_code_of_conduct(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        version: i32,
    ) -> Result<Member> {
        let c = Ctx::of(ctx)?;
        let pool_id = uuid!(pool_id)?;
        Ok(Member::from(
            sanctions::accept_code(c.state, c.actor().await?, pool_id, version).await?,
        ))
    }

    /// Suspends another member until `endsAt`, with a reason (admins): they
    /// keep their membership but neither vote nor propose until it ends.
    async fn suspend_member(
        &self,
        ctx: &Context<'_>,
        input: SuspendMemberInput,
    ) -> Result<MemberSuspension> {
        let c = Ctx::of(ctx)?;
        let input = sanctions::SuspendInput::try_from(input)?;
        Ok(MemberSuspension::from(
            sanctions::suspend(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Ends a suspension early, saying why (admins): 1 to 2000 characters.
    async fn lift_suspension(
        &self,
        ctx: &Context<'_>,
        suspension_id: ID,
        reason: String,
    ) -> Result<MemberSuspension> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(suspension_id)?;
        Ok(MemberSuspension::from(
            sanctions::lift(c.state, c.actor().await?, id, &reason).await?,
        ))
    }

    /// Appeals your suspension, once: the appeal goes to the members as a
    /// proposal, and if it passes the suspension ends. `statement`: 1 to
    /// 10000 characters.
    async fn appeal_suspension(
        &self,
        ctx: &Context<'_>,
        suspension_id: ID,
        statement: String,
    ) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(suspension_id)?;
        Ok(Proposal::from(
            crate::services::proposals::appeals::appeal(c.state, c.actor().await?, id, &statement)
                .await?,
        ))
    }

    /// Applies to join a stakeholder group: OPEN groups admit at once,
    /// APPLICATION groups wait for the admins, INVITATION groups refuse.
    async fn apply_for_membership(
        &self,
        ctx: &Context<'_>,
        input: ApplyForMembershipInput,
    ) -> Result<MembershipApplication> {
        let c = Ctx::of(ctx)?;
        let input = applications::ApplyInput::try_from(input)?;
        Ok(MembershipApplication::from(
            applications::apply(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Approves or rejects a pending application (admins).
    async fn decide_membership_application(
        &self,
        ctx: &Context<'_>,
        input: DecideMembershipApplicationInput,
    ) -> Result<MembershipApplication> {
        let c = Ctx::of(ctx)?;
        let input = applications::DecideInput::try_from(input)?;
        Ok(MembershipApplication::from(
            applications::decide(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Leaves a pool; the register keeps the membership with its dates.
    async fn leave_pool(&self, ctx: &Context<'_>, pool_id: ID) -> Result<Member> {
        let c = Ctx::of(ctx)?;
        let pool_id = uuid!(pool_id)?;
        Ok(Member::from(
            changes::leave(c.state, c.actor().await?, pool_id).await?,
        ))
    }

    /// Removes a member with a recorded reason (admins).
    async fn remove_member(&self, ctx: &Context<'_>, input: RemoveMemberInput) -> Result<Member> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.member_id)?;
        Ok(Member::from(
            changes::remove(c.state, c.actor().await?, id, &input.reason).await?,
        ))
    }

    /// Makes a member an admin or a plain member (admins); the last admin stays.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeMemberRoleInput,
    ) -> Result<Member> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.member_id)?;
        Ok(Member::from(
            changes::change_role(c.state, c.actor().await?, id, input.role.into()).await?,
        ))
    }
}
