//! The parent entity's commons, by id: for its readers, and `NOT_FOUND`
//! for everyone else.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{Asset, FundApplication, Lease},
    },
    services::commons::{assets, fund, leases},
};

#[derive(Default)]
pub struct CommonsQuery;

#[Object]
impl CommonsQuery {
    /// One of a parent entity's assets, for its stewards and auditors and
    /// the members of its pools.
    async fn asset(&self, ctx: &Context<'_>, id: ID) -> Result<Asset> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(Asset::from(
            assets::get(c.state, c.actor().await?, id).await?,
        ))
    }

    /// A lease, for the pool's readers and the commons' readers.
    async fn lease(&self, ctx: &Context<'_>, id: ID) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(Lease::from(
            leases::get(c.state, c.actor().await?, id).await?,
        ))
    }

    /// An application to a parent entity's commons fund, for the commons'
    /// readers and the applicant pool's.
    async fn fund_application(&self, ctx: &Context<'_>, id: ID) -> Result<FundApplication> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(FundApplication::from(
            fund::get(c.state, c.actor().await?, id).await?,
        ))
    }
}
