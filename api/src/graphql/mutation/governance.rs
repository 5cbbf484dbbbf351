use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            CastVoteInput, CreateProposalInput, DelegateVoteInput, Delegation, Expense,
            LedgerEntry, MarkExpensePaidInput, Proposal, RecordLedgerAdjustmentInput,
            ReportSpinOutRegisteredInput, RevokeDelegationInput, SpinOut, SubmitExpenseInput, Vote,
        },
    },
    services::{
        self, expenses, ledger, proposals,
        spin_outs::{self, RegisteredInput},
    },
};

#[derive(Default)]
pub struct GovernanceMutation;

#[Object]
impl GovernanceMutation {
    /// Puts a proposal or poll to the members; defaults come from the pool's rules.
    async fn create_proposal(
        &self,
        ctx: &Context<'_>,
        input: CreateProposalInput,
    ) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let input = proposals::CreateInput::try_from(input)?;
        Ok(Proposal::from(
            proposals::create(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Reports the entity a pool spins out into registered (the pool's
    /// admins): in one step its funds are transferred out of the ledger,
    /// its open proposals withdrawn, and the pool becomes `SPUN_OUT`,
    /// read-only for good.
    async fn report_spin_out_registered(
        &self,
        ctx: &Context<'_>,
        input: ReportSpinOutRegisteredInput,
    ) -> Result<SpinOut> {
        let c = Ctx::of(ctx)?;
        let input = RegisteredInput::try_from(input)?;
        Ok(SpinOut::from(
            spin_outs::report_registered(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Casts or changes your vote while the proposal is open.
    async fn cast_vote(&self, ctx: &Context<'_>, input: CastVoteInput) -> Result<Vote> {
        let c = Ctx::of(ctx)?;
        let input = proposals::voting::CastInput::try_from(input)?;
        Ok(Vote::from(
            proposals::voting::cast(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Closes a proposal before its time and counts it (admins).
    async fn close_proposal(&self, ctx: &Context<'_>, proposal_id: ID) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(proposal_id)?;
        Ok(Proposal::from(
            proposals::closing::close_early(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Approves a rules change the members passed and the parent's policy
    /// holds for approval (the parent's stewards); it applies at once, or
    /// lapses if the pool's rules moved on meanwhile.
    async fn approve_rules_change(&self, ctx: &Context<'_>, proposal_id: ID) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(proposal_id)?;
        Ok(Proposal::from(
            services::rules::approve(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Declines a rules change the parent's policy holds for approval (the
    /// parent's stewards); nothing applies. `reason`: 1 to 2000 characters.
    async fn decline_rules_change(
        &self,
        ctx: &Context<'_>,
        proposal_id: ID,
        reason: String,
    ) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(proposal_id)?;
        Ok(Proposal::from(
            services::rules::decline(c.state, c.actor().await?, id, &reason).await?,
        ))
    }

    /// Hands your vote to another member of your group, for one proposal or
    /// standing; their own vote counts for you unless you vote yourself.
    async fn delegate_vote(
        &self,
        ctx: &Context<'_>,
        input: DelegateVoteInput,
    ) -> Result<Delegation> {
        let c = Ctx::of(ctx)?;
        let proposal = uuid!(input.proposal_id)?;
        let to = uuid!(input.to_member_id)?;
        Ok(Delegation::from(
            proposals::voting::delegate(c.state, c.actor().await?, proposal, to).await?,
        ))
    }

    /// Ends your delegation for a proposal, or your standing one.
    async fn revoke_delegation(
        &self,
        ctx: &Context<'_>,
        input: RevokeDelegationInput,
    ) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        let pool = uuid!(input.pool_id)?;
        let proposal = uuid!(input.proposal_id)?;
        proposals::voting::revoke(c.state, c.actor().await?, pool, proposal).await?;
        Ok(true)
    }

    /// Submits an expense; the members decide on it as a proposal.
    async fn submit_expense(
        &self,
        ctx: &Context<'_>,
        input: SubmitExpenseInput,
    ) -> Result<Expense> {
        let c = Ctx::of(ctx)?;
        let input = expenses::SubmitInput::try_from(input)?;
        Ok(Expense::from(
            expenses::submit(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Records an approved expense as paid and writes it to the ledger
    /// (admins; not the member who submitted it).
    async fn mark_expense_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkExpensePaidInput,
    ) -> Result<Expense> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.expense_id)?;
        Ok(Expense::from(
            expenses::mark_paid(c.state, c.actor().await?, id, &input.reference).await?,
        ))
    }

    /// Records a correction or opening balance in the ledger (admins).
    async fn record_ledger_adjustment(
        &self,
        ctx: &Context<'_>,
        input: RecordLedgerAdjustmentInput,
    ) -> Result<LedgerEntry> {
        let c = Ctx::of(ctx)?;
        let input = ledger::AdjustmentInput::try_from(input)?;
        Ok(LedgerEntry::from(
            ledger::adjust(c.state, c.actor().await?, input).await?,
        ))
    }
}
