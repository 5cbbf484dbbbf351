use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            CancelContributionInput, ChangeContributionInput, Contribution, ContributionPayload,
            MarkContributionPaidInput, SetSlidingScaleInput, SlidingScale, StartContributionInput,
        },
    },
    services::contributions::{self, scales},
};

#[derive(Default)]
pub struct ContributionMutation;

#[Object]
impl ContributionMutation {
    /// Sets the pool's sliding scale, or a group's own (admins).
    async fn set_sliding_scale(
        &self,
        ctx: &Context<'_>,
        input: SetSlidingScaleInput,
    ) -> Result<SlidingScale> {
        let c = Ctx::of(ctx)?;
        let input = scales::ScaleInput::try_from(input)?;
        Ok(SlidingScale::from(
            scales::set(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Starts your contribution to a pool: through Stripe when the server has
    /// it, as a pledge otherwise; 0 is a solidarity membership where allowed.
    async fn start_contribution(
        &self,
        ctx: &Context<'_>,
        input: StartContributionInput,
    ) -> Result<ContributionPayload> {
        let c = Ctx::of(ctx)?;
        let input = contributions::StartInput::try_from(input)?;
        let started = contributions::start(c.state, c.actor().await?, input).await?;
        Ok(ContributionPayload {
            contribution: Contribution::from(started.contribution),
            client_secret: started.client_secret,
        })
    }

    /// Changes your contribution's amount; Stripe prorates the current period.
    async fn change_contribution(
        &self,
        ctx: &Context<'_>,
        input: ChangeContributionInput,
    ) -> Result<Contribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.contribution_id)?;
        Ok(Contribution::from(
            contributions::change(c.state, c.actor().await?, id, input.amount).await?,
        ))
    }

    /// Cancels your contribution, now or at the end of the paid period.
    async fn cancel_contribution(
        &self,
        ctx: &Context<'_>,
        input: CancelContributionInput,
    ) -> Result<Contribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.contribution_id)?;
        Ok(Contribution::from(
            contributions::cancel(c.state, c.actor().await?, id, input.at_period_end).await?,
        ))
    }

    /// Records a pledge's bank transfer (admins); it enters the ledger with
    /// the parent's share.
    async fn mark_contribution_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkContributionPaidInput,
    ) -> Result<Contribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.contribution_id)?;
        Ok(Contribution::from(
            contributions::mark_paid(c.state, c.actor().await?, id, &input.reference).await?,
        ))
    }
}
