use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            AnswerLeaseInput, Asset, EndLeaseInput, Lease, OfferLeaseInput, RegisterAssetInput,
            RetireAssetInput, UpdateAssetInput,
        },
    },
    services::commons::{assets, leases},
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
}
