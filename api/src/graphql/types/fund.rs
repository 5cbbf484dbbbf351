//! The commons fund's decisions: applications for a grant or a loan, the
//! assembly of pools voting on them, and a loan's repayments.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{assembly_vote, fund_application, loan_repayment};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        scalars::Date,
        types::{BillingPeriod, Formation, Money, Pool, load_pool, loader_error},
    },
    services::{commons::fund, pagination::PageArgs},
};

/// How the parent's assembly of pools counts a pool's vote.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::parent_entity::AssemblyWeighting")]
pub enum AssemblyWeighting {
    /// Every voting pool counts once.
    OnePoolOneVote,
    /// A pool's vote counts as many times as it has active members.
    ByMembers,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::fund_application::FundingKind")]
pub enum FundingKind {
    /// Given, not repaid.
    Grant,
    /// Repaid in instalments.
    Loan,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::fund_application::FundApplicationStatus")]
pub enum FundApplicationStatus {
    /// The assembly is voting.
    Open,
    /// Approved and paid out of the fund.
    Approved,
    /// Not approved: no quorum, not more weight for than against, or the
    /// pool left the parent meanwhile.
    Rejected,
    /// Approved, but the fund did not hold the amount when it was decided.
    Unfunded,
    Withdrawn,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::assembly_vote::AssemblyChoice")]
pub enum AssemblyChoice {
    For,
    Against,
    /// Counts towards the quorum, not the outcome.
    Abstain,
}

/// How a loan is repaid: equal instalments (the last taking the
/// remainder), one per period from `startsOn`.
#[derive(SimpleObject)]
pub struct LoanTerms {
    period: BillingPeriod,
    instalments: i32,
    /// When the first instalment falls due.
    starts_on: Date,
}

/// Where the assembly stands: live while the vote is open, as decided
/// once it is not.
#[derive(SimpleObject)]
pub struct AssemblyTally {
    /// The parent's active pools other than the applicant.
    eligible_pools: i64,
    pools_voted: i64,
    /// Pools that must vote (abstaining counts) for a decision: more than
    /// half of the eligible ones.
    quorum: i64,
    /// Votes, each weighted as the application's `weighting` says.
    weight_for: i64,
    weight_against: i64,
}

/// A pool's application to its parent entity's commons fund.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct FundApplication {
    pub(crate) id: ID,
    kind: FundingKind,
    status: FundApplicationStatus,
    /// In the pool's currency.
    amount: Money,
    purpose: String,
    /// A loan's terms; absent for a grant.
    repayment: Option<LoanTerms>,
    /// How the assembly counts each pool's vote on it (the parent's policy
    /// when it was made).
    weighting: AssemblyWeighting,
    /// When the vote closes, unless every pool has voted before.
    closes_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// A loan's instalments collected so far.
    instalments_paid: i32,
    applied_at: DateTime<Utc>,
    #[graphql(skip)]
    model: fund_application::Model,
}

impl From<fund_application::Model> for FundApplication {
    fn from(m: fund_application::Model) -> Self {
        let repayment = match (m.repayment_period, m.instalments, m.repayment_starts_on) {
            (Some(period), Some(instalments), Some(starts_on)) => Some(LoanTerms {
                period: period.into(),
                instalments,
                starts_on: Date(starts_on),
            }),
            _ => None,
        };
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            status: m.status.into(),
            amount: Money::new(m.amount_minor, m.currency.clone()),
            purpose: m.purpose.clone(),
            repayment,
            weighting: m.weighting.into(),
            closes_at: m.closes_at,
            decided_at: m.decided_at,
            instalments_paid: m.instalments_paid,
            applied_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl FundApplication {
    /// The applicant pool; for a formation's application, its pool once
    /// the formation is approved (and the money is paid to it then).
    async fn pool(&self, ctx: &Context<'_>) -> Result<Option<Pool>> {
        match self.model.pool_id {
            Some(id) => Ok(Some(load_pool(ctx, id).await?)),
            None => Ok(None),
        }
    }
    /// The applicant formation, if a formation applied, as its `formation`
    /// query shows it (`null` for those who do not see it).
    async fn formation(&self, ctx: &Context<'_>) -> Result<Option<Formation>> {
        let c = Ctx::of(ctx)?;
        let Some(id) = self.model.formation_id else {
            return Ok(None);
        };
        let actor = c.actor().await?;
        Ok(c.loaders
            .formations_seen()
            .load_one((actor.user_id, id))
            .await
            .map_err(loader_error)?
            .map(Formation::new))
    }
    async fn tally(&self, ctx: &Context<'_>) -> Result<AssemblyTally> {
        let c = Ctx::of(ctx)?;
        fund::require_application_reader(c.state, c.actor().await?, &self.model).await?;
        let t = fund::assembly::count(&c.state.db, &self.model).await?;
        Ok(AssemblyTally {
            eligible_pools: t.eligible_pools,
            pools_voted: t.pools_voted,
            quorum: t.quorum(),
            weight_for: t.weight_for,
            weight_against: t.weight_against,
        })
    }
    /// When a loan's next instalment falls due, while one is owed.
    async fn next_repayment_on(&self) -> Option<Date> {
        fund::repayments::next_due_on(&self.model).map(Date)
    }
    /// The pools' votes, in the order they were first cast.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn votes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<AssemblyVote>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = fund::votes(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |v| v.id, AssemblyVote::from))
    }
    /// A loan's instalments collected, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn repayments(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<LoanRepayment>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = fund::repayments_of(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |r| r.id, LoanRepayment::from))
    }
}

pub(crate) async fn load_application(ctx: &Context<'_>, id: Uuid) -> Result<FundApplication> {
    let c = Ctx::of(ctx)?;
    let a = c
        .loaders
        .fund_applications()
        .load_one(id)
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("fund application {id} missing")))?;
    Ok(FundApplication::from(a))
}

/// One pool's vote in the assembly.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AssemblyVote {
    pub(crate) id: ID,
    choice: AssemblyChoice,
    /// When it was last cast or changed.
    cast_at: DateTime<Utc>,
    #[graphql(skip)]
    pool_id: Uuid,
    #[graphql(skip)]
    application_id: Uuid,
}

impl From<assembly_vote::Model> for AssemblyVote {
    fn from(m: assembly_vote::Model) -> Self {
        Self {
            id: m.id.into(),
            choice: m.choice.into(),
            cast_at: m.updated_at,
            pool_id: m.pool_id,
            application_id: m.application_id,
        }
    }
}

#[ComplexObject]
impl AssemblyVote {
    /// The pool whose vote it is.
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.pool_id).await
    }
    async fn application(&self, ctx: &Context<'_>) -> Result<FundApplication> {
        load_application(ctx, self.application_id).await
    }
}

/// One instalment of a loan, collected from the pool's ledger into the
/// fund's together.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LoanRepayment {
    pub(crate) id: ID,
    /// 0 for the first instalment.
    instalment_number: i32,
    due_on: Date,
    amount: Money,
    collected_at: DateTime<Utc>,
    #[graphql(skip)]
    application_id: Uuid,
}

impl From<loan_repayment::Model> for LoanRepayment {
    fn from(m: loan_repayment::Model) -> Self {
        Self {
            id: m.id.into(),
            instalment_number: m.instalment_number,
            due_on: Date(m.due_on),
            amount: Money::new(m.amount_minor, m.currency),
            collected_at: m.created_at,
            application_id: m.application_id,
        }
    }
}

#[ComplexObject]
impl LoanRepayment {
    async fn application(&self, ctx: &Context<'_>) -> Result<FundApplication> {
        load_application(ctx, self.application_id).await
    }
}

/// How a loan is to be repaid.
#[derive(InputObject)]
pub struct LoanTermsInput {
    pub period: BillingPeriod,
    /// 1 to 120.
    pub instalments: i32,
    /// When the first instalment falls due: from today (it is collected
    /// once the loan is paid out) to 732 days ahead.
    pub starts_on: Date,
}

#[derive(InputObject)]
pub struct ApplyForFundingInput {
    /// Your pool, whose admins apply; or give `formationId`.
    pub pool_id: Option<ID>,
    /// Your formation (its founder applies), in draft or submitted, under
    /// the parent whose fund it asks; an approval is paid to its pool once
    /// the formation is approved.
    pub formation_id: Option<ID>,
    pub kind: FundingKind,
    /// In minor units: above 0 and at most 10^13.
    pub amount: i64,
    /// The pool's currency (the formation's), which the fund pays out in;
    /// it may be left out, unless the formation has chosen none yet.
    pub currency: Option<String>,
    /// What it is for: 1 to 4000 characters.
    pub purpose: String,
    /// Required for a loan; not for a grant.
    pub repayment: Option<LoanTermsInput>,
    /// How long the assembly votes: 1 to 60 days; 14 when left out.
    pub voting_days: Option<i32>,
}

impl TryFrom<ApplyForFundingInput> for fund::applications::ApplyInput {
    type Error = AppError;
    fn try_from(input: ApplyForFundingInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            formation_id: uuid!(input.formation_id)?,
            kind: input.kind.into(),
            amount: input.amount,
            currency: input.currency,
            purpose: input.purpose,
            repayment: input.repayment.map(|r| fund::applications::Repayment {
                period: r.period.into(),
                instalments: r.instalments,
                starts_on: r.starts_on.0,
            }),
            voting_days: input.voting_days,
        })
    }
}

#[derive(InputObject)]
pub struct WithdrawFundApplicationInput {
    pub fund_application_id: ID,
}

#[derive(InputObject)]
pub struct CastAssemblyVoteInput {
    pub fund_application_id: ID,
    /// The pool whose vote you cast, as its admin or its delegate.
    pub pool_id: ID,
    pub choice: AssemblyChoice,
}

#[derive(InputObject)]
pub struct SetAssemblyDelegateInput {
    pub pool_id: ID,
    /// An active member of the pool; `null` clears the delegate, leaving
    /// the vote to the admins.
    pub user_id: Option<ID>,
}

#[derive(InputObject)]
pub struct RecordFundDonationInput {
    pub parent_entity_id: ID,
    /// In minor units: above 0 and at most 10^13.
    pub amount: i64,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
    /// Who gave it, as they wish to be named: 1 to 200 characters.
    pub donor: String,
    /// At most 2000 characters.
    #[graphql(default)]
    pub description: String,
    /// When it was received; now when left out; never in the future.
    pub received_at: Option<DateTime<Utc>>,
}
