use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            ConfirmWorkContributionInput, RecordWorkContributionInput, RefuseWorkContributionInput,
            WithdrawWorkContributionInput, WorkContribution,
        },
    },
    services::work_contributions::{self, RecordInput},
};

#[derive(Default)]
pub struct WorkContributionMutation;

#[Object]
impl WorkContributionMutation {
    /// Records a contribution of work, care or kind you gave the pool (its
    /// active members); it waits for the confirmations the pool's rules ask.
    async fn record_work_contribution(
        &self,
        ctx: &Context<'_>,
        input: RecordWorkContributionInput,
    ) -> Result<WorkContribution> {
        let c = Ctx::of(ctx)?;
        let input = RecordInput::try_from(input)?;
        Ok(WorkContribution::from(
            work_contributions::record(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Confirms another member's contribution, as the pool's rules let
    /// members (or only admins) do; once it has the confirmations it needs,
    /// it counts in the member's contribution account.
    async fn confirm_work_contribution(
        &self,
        ctx: &Context<'_>,
        input: ConfirmWorkContributionInput,
    ) -> Result<WorkContribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.work_contribution_id)?;
        Ok(WorkContribution::from(
            work_contributions::confirm(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Refuses a pending contribution, saying why (those who may confirm it).
    async fn refuse_work_contribution(
        &self,
        ctx: &Context<'_>,
        input: RefuseWorkContributionInput,
    ) -> Result<WorkContribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.work_contribution_id)?;
        Ok(WorkContribution::from(
            work_contributions::refuse(c.state, c.actor().await?, id, &input.reason).await?,
        ))
    }

    /// Withdraws a contribution you recorded while it is still pending.
    async fn withdraw_work_contribution(
        &self,
        ctx: &Context<'_>,
        input: WithdrawWorkContributionInput,
    ) -> Result<WorkContribution> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.work_contribution_id)?;
        Ok(WorkContribution::from(
            work_contributions::withdraw(c.state, c.actor().await?, id).await?,
        ))
    }
}
