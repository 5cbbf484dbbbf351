use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            AnswerLeaseInput, ApplyForFundingInput, Asset, CastAssemblyVoteInput, EndLeaseInput,
            FundApplication, Lease, OfferLeaseInput, ParentLedgerEntry, Pool,
            RecordFundDonationInput, RegisterAssetInput, RetireAssetInput,
            SetAssemblyDelegateInput, UpdateAssetInput, WithdrawFundApplicationInput, load_pool,
        },
    },
    services::commons::{assets, fund, leases},
};

#[derive(Default)]
pub struct CommonsMutation;

#[Object]
impl CommonsMutation {
    /// Registers an asset the parent entity owns (its stewards).
    async fn register_asset(&self, ctx: &Context<'_>, input: RegisterAssetInput) -> Result<Asset> {
        let c = Ctx::of(ctx)?;
        let input = assets::RegisterInput::try_from(input)?;
        Ok(Asset::from(
            assets::register(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Corrects an asset's name, description or value (its parent's stewards).
    async fn update_asset(&self, ctx: &Context<'_>, input: UpdateAssetInput) -> Result<Asset> {
        let c = Ctx::of(ctx)?;
        let input = assets::UpdateInput::try_from(input)?;
        Ok(Asset::from(
            assets::update(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Retires an asset no lease is offered or running on (its parent's
    /// stewards); it stays in the register with its leases' history.
    async fn retire_asset(&self, ctx: &Context<'_>, input: RetireAssetInput) -> Result<Asset> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.asset_id)?;
        Ok(Asset::from(
            assets::retire(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Offers an asset to one of the parent entity's pools on terms (its
    /// stewards); the pool's admins accept or decline it.
    async fn offer_lease(&self, ctx: &Context<'_>, input: OfferLeaseInput) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let input = leases::OfferInput::try_from(input)?;
        Ok(Lease::from(
            leases::offer(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Accepts a lease offered to your pool (its admins): its rent falls due
    /// at the start of each period from then on, and for the periods since
    /// its start at once.
    async fn accept_lease(&self, ctx: &Context<'_>, input: AnswerLeaseInput) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.lease_id)?;
        Ok(Lease::from(
            leases::accept(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Declines a lease offered to your pool (its admins).
    async fn decline_lease(&self, ctx: &Context<'_>, input: AnswerLeaseInput) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.lease_id)?;
        Ok(Lease::from(
            leases::decline(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Ends a lease (the parent's stewards or the pool's admins): an offer is
    /// withdrawn at once; a running lease stops on `endsOn`.
    async fn end_lease(&self, ctx: &Context<'_>, input: EndLeaseInput) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.lease_id)?;
        Ok(Lease::from(
            leases::end(c.state, c.actor().await?, id, input.ends_on.map(|d| d.0)).await?,
        ))
    }

    /// Applies to the parent entity's commons fund for a grant or a loan
    /// (the pool's admins); the assembly of its other pools decides.
    async fn apply_for_funding(
        &self,
        ctx: &Context<'_>,
        input: ApplyForFundingInput,
    ) -> Result<FundApplication> {
        let c = Ctx::of(ctx)?;
        let input = fund::applications::ApplyInput::try_from(input)?;
        Ok(FundApplication::from(
            fund::applications::apply(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Withdraws an open application (the applicant pool's admins).
    async fn withdraw_fund_application(
        &self,
        ctx: &Context<'_>,
        input: WithdrawFundApplicationInput,
    ) -> Result<FundApplication> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.fund_application_id)?;
        Ok(FundApplication::from(
            fund::applications::withdraw(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Casts or changes a pool's vote in the assembly on an open
    /// application (the pool's admins or its delegate). When every pool has
    /// voted it is decided at once, and an approval is paid out.
    async fn cast_assembly_vote(
        &self,
        ctx: &Context<'_>,
        input: CastAssemblyVoteInput,
    ) -> Result<FundApplication> {
        let c = Ctx::of(ctx)?;
        let input = fund::assembly::VoteInput {
            application_id: uuid!(input.fund_application_id)?,
            pool_id: uuid!(input.pool_id)?,
            choice: input.choice.into(),
        };
        Ok(FundApplication::from(
            fund::assembly::cast(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Names the member who casts the pool's votes in its parent entity's
    /// assembly, or clears it (the pool's admins).
    async fn set_assembly_delegate(
        &self,
        ctx: &Context<'_>,
        input: SetAssemblyDelegateInput,
    ) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let pool_id = uuid!(input.pool_id)?;
        let user_id = uuid!(input.user_id)?;
        let pool =
            fund::assembly::set_delegate(c.state, c.actor().await?, pool_id, user_id).await?;
        load_pool(ctx, pool.id).await
    }

    /// Records a donation received into the commons fund (the parent's
    /// stewards).
    async fn record_fund_donation(
        &self,
        ctx: &Context<'_>,
        input: RecordFundDonationInput,
    ) -> Result<ParentLedgerEntry> {
        let c = Ctx::of(ctx)?;
        let input = fund::donations::DonationInput {
            parent_entity_id: uuid!(input.parent_entity_id)?,
            amount: input.amount,
            currency: input.currency,
            donor: input.donor,
            description: input.description,
            received_at: input.received_at,
        };
        Ok(ParentLedgerEntry::from(
            fund::donations::record(c.state, c.actor().await?, input).await?,
        ))
    }
}
