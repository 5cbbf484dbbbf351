use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            ConfirmDistributionPaidInput, Dissolution, Distribution, GrantParentEntityRoleInput,
            ParentEntity, ParentEntityRole, Pool, PoolMove, RegisterParentEntityInput,
            RevokeParentEntityRoleInput, RevokeParentEntityVerificationInput,
            SetParentEntityPolicyInput, VerifyParentEntityInput,
        },
    },
    services::{
        dissolutions,
        parent_entities::{self, PolicyInput, RegisterInput, RoleInput},
        pool_moves::{self, Side},
        pool_standing::{self, Standing},
        spin_outs,
    },
};

#[derive(Default)]
pub struct ParentEntityMutation;

#[Object]
impl ParentEntityMutation {
    /// Registers a parent entity; you become its first steward. With
    /// `spunOutFrom`, the entity a pool spun out into registers (that
    /// pool's admins, once the spin-out is reported registered, with the
    /// number reported) and is linked to it.
    async fn register_parent_entity(
        &self,
        ctx: &Context<'_>,
        input: RegisterParentEntityInput,
    ) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let (input, spun_out_from) = <(RegisterInput, _)>::try_from(input)?;
        let actor = c.actor().await?;
        Ok(ParentEntity::from(match spun_out_from {
            Some(id) => spin_outs::register_parent(c.state, actor, id, input).await?,
            None => parent_entities::register(c.state, actor, input).await?,
        }))
    }

    /// Invites an email to a role at the parent entity. Stewards only. The
    /// answer is the PENDING role, the same whether or not the email has an
    /// account; the person accepts it with `acceptParentEntityRole`.
    async fn grant_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        input: GrantParentEntityRoleInput,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let input = RoleInput::try_from(input)?;
        Ok(ParentEntityRole::from(
            parent_entities::grant_role(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Ends a role, or withdraws an invitation, held by an email. Stewards
    /// only; the last active steward cannot be removed.
    async fn revoke_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        input: RevokeParentEntityRoleInput,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let input = RoleInput::try_from(input)?;
        Ok(ParentEntityRole::from(
            parent_entities::revoke_role(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Accepts an invitation sent to your email: you then hold the role.
    async fn accept_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(ParentEntityRole::from(
            parent_entities::accept_role(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Declines an invitation sent to your email.
    async fn decline_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(ParentEntityRole::from(
            parent_entities::decline_role(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Suspends a pool under this parent (its stewards), with a reason its
    /// members are told: it stays readable, its members may leave and stop
    /// paying, but it takes no new members, proposals, votes, expenses or
    /// payments until reinstated. `reason`: 1 to 2000 characters.
    async fn suspend_pool(&self, ctx: &Context<'_>, pool_id: ID, reason: String) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(pool_id)?;
        Ok(Pool::from(
            pool_standing::change(c.state, c.actor().await?, id, Standing::Suspend, &reason)
                .await?,
        ))
    }

    /// Reinstates a suspended pool (the parent's stewards), with a reason
    /// its members are told. `reason`: 1 to 2000 characters.
    async fn reinstate_pool(&self, ctx: &Context<'_>, pool_id: ID, reason: String) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(pool_id)?;
        Ok(Pool::from(
            pool_standing::change(c.state, c.actor().await?, id, Standing::Reinstate, &reason)
                .await?,
        ))
    }

    /// Accepts a pool the members voted to move here (the receiving
    /// parent's stewards). Once the releasing parent has released it too,
    /// the pool moves.
    async fn accept_pool_move(&self, ctx: &Context<'_>, move_id: ID) -> Result<PoolMove> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(move_id)?;
        Ok(PoolMove::from(
            pool_moves::agree(c.state, c.actor().await?, id, Side::Accept).await?,
        ))
    }

    /// Releases a pool the members voted to move away (the releasing
    /// parent's stewards). Once the receiving parent has accepted it too,
    /// the pool moves.
    async fn release_pool_move(&self, ctx: &Context<'_>, move_id: ID) -> Result<PoolMove> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(move_id)?;
        Ok(PoolMove::from(
            pool_moves::agree(c.state, c.actor().await?, id, Side::Release).await?,
        ))
    }

    /// Consents to a dissolution the members decided, where the parent's
    /// policy asks for it (the parent's stewards): the pool winds up now.
    async fn consent_to_dissolution(
        &self,
        ctx: &Context<'_>,
        dissolution_id: ID,
    ) -> Result<Dissolution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(dissolution_id)?;
        Ok(Dissolution::from(
            dissolutions::consent(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Refuses a dissolution that waits for consent (the parent's
    /// stewards), saying why: 1 to 2000 characters. The pool goes on.
    async fn refuse_dissolution(
        &self,
        ctx: &Context<'_>,
        dissolution_id: ID,
        reason: String,
    ) -> Result<Dissolution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(dissolution_id)?;
        Ok(Dissolution::from(
            dissolutions::refuse(c.state, c.actor().await?, id, &reason).await?,
        ))
    }

    /// Confirms a distribution of a dissolving pool's remaining funds paid
    /// (the parent's stewards): it is booked in the pool's ledger as a
    /// `DISTRIBUTION` entry.
    async fn confirm_distribution_paid(
        &self,
        ctx: &Context<'_>,
        input: ConfirmDistributionPaidInput,
    ) -> Result<Distribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.distribution_id)?;
        Ok(Distribution::from(
            dissolutions::confirm_paid(c.state, c.actor().await?, id, &input.reference).await?,
        ))
    }

    /// Completes a dissolution once nothing is outstanding (the parent's
    /// stewards): the pool is `DISSOLVED`. `CONFLICT` names what still is
    /// (see `Dissolution.outstanding`).
    async fn complete_dissolution(
        &self,
        ctx: &Context<'_>,
        dissolution_id: ID,
    ) -> Result<Dissolution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(dissolution_id)?;
        Ok(Dissolution::from(
            dissolutions::complete(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Declines a pending move (stewards of either parent), saying why: 1 to
    /// 2000 characters.
    async fn decline_pool_move(
        &self,
        ctx: &Context<'_>,
        move_id: ID,
        reason: String,
    ) -> Result<PoolMove> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(move_id)?;
        Ok(PoolMove::from(
            pool_moves::decline(c.state, c.actor().await?, id, &reason).await?,
        ))
    }

    /// Marks a parent entity verified: it is the legal entity it names.
    /// Platform admins only, signed in with a session.
    async fn verify_parent_entity(
        &self,
        ctx: &Context<'_>,
        input: VerifyParentEntityInput,
    ) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.parent_entity_id)?;
        Ok(ParentEntity::from(
            parent_entities::verify(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Withdraws a parent entity's verification, giving the reason. Platform
    /// admins only, signed in with a session.
    async fn revoke_parent_entity_verification(
        &self,
        ctx: &Context<'_>,
        input: RevokeParentEntityVerificationInput,
    ) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.parent_entity_id)?;
        Ok(ParentEntity::from(
            parent_entities::revoke_verification(c.state, c.actor().await?, id, &input.reason)
                .await?,
        ))
    }

    /// Sets which templates and apps the parent's pools may use, and whether
    /// a pool may depart from an ICA principle. Stewards only.
    async fn set_parent_entity_policy(
        &self,
        ctx: &Context<'_>,
        input: SetParentEntityPolicyInput,
    ) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let input = PolicyInput::try_from(input)?;
        Ok(ParentEntity::from(
            parent_entities::set_policy(c.state, c.actor().await?, input).await?,
        ))
    }
}
