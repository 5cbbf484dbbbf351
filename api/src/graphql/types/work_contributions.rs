//! Contributions of work, care and kind, the accounts they form, and the
//! rules that say what they need and mean.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{pool, work_contribution};
use uuid::Uuid;

use crate::{
    error::AppResult,
    graphql::{
        connection::{Conn, connection},
        context::Ctx,
        ids::uuid,
        scalars::Date,
        types::{Member, Money, load_member, loader_error},
    },
    services::{
        pagination::PageArgs,
        work_contributions::{self, RecordInput, accounts::Account, reads::Filter},
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::work_contribution::WorkContributionKind")]
pub enum WorkContributionKind {
    Work,
    Care,
    /// Goods or use of things, as a quantity of a unit.
    InKind,
    /// A kind the pool's rules define, named by its `label`.
    Other,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::work_contribution::WorkContributionStatus")]
pub enum WorkContributionStatus {
    /// Waiting for the confirmations the rules ask for.
    Pending,
    /// Counted in the member's contribution account.
    Confirmed,
    Refused,
    /// Taken back by the member who recorded it.
    Withdrawn,
}

/// A contribution of work, care or kind a member gave the pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct WorkContribution {
    pub(crate) id: ID,
    kind: WorkContributionKind,
    /// For `OTHER`: which of the pool's own kinds.
    label: Option<String>,
    occurred_on: Date,
    /// Hours of work, care or another kind, in quarter hours (4 = an hour).
    quarter_hours: Option<i32>,
    /// For `IN_KIND`: how many of `unit`.
    quantity: Option<i64>,
    unit: Option<String>,
    description: String,
    /// The value stated, where the pool's rules allow one.
    value: Option<Money>,
    status: WorkContributionStatus,
    confirmations: i32,
    /// As the rules said when it was recorded.
    confirmations_required: i32,
    refusal_reason: Option<String>,
    /// When it was confirmed, refused or withdrawn.
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    uuid: Uuid,
    #[graphql(skip)]
    membership_id: Uuid,
    #[graphql(skip)]
    refused_by: Option<Uuid>,
}

impl From<work_contribution::Model> for WorkContribution {
    fn from(m: work_contribution::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            label: m.label,
            occurred_on: Date(m.occurred_on),
            quarter_hours: m.quarter_hours,
            quantity: m.quantity,
            unit: m.unit,
            description: m.description,
            value: m
                .value_minor
                .zip(m.currency)
                .map(|(amount, currency)| Money::new(amount, currency)),
            status: m.status.into(),
            confirmations: m.confirmations,
            confirmations_required: m.confirmations_required,
            refusal_reason: m.refusal_reason,
            decided_at: m.decided_at,
            created_at: m.created_at,
            uuid: m.id,
            membership_id: m.membership_id,
            refused_by: m.refused_by_membership_id,
        }
    }
}

#[ComplexObject]
impl WorkContribution {
    /// The member who gave it and recorded it.
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.membership_id).await
    }
    /// The members who confirmed it, earliest first.
    async fn confirmed_by(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let c = Ctx::of(ctx)?;
        let rows = c
            .loaders
            .confirmations_of_work_contribution()
            .load_one(self.uuid)
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.membership_id).collect();
        let mut members = c
            .loaders
            .members()
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
        Ok(ids
            .iter()
            .filter_map(|id| members.remove(id))
            .map(Member::from)
            .collect())
    }
    /// The member who refused it.
    async fn refused_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        match self.refused_by {
            Some(id) => Ok(Some(load_member(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

/// Hours of one kind in an account.
#[derive(SimpleObject)]
pub struct WorkContributionHours {
    kind: WorkContributionKind,
    label: Option<String>,
    /// In quarter hours (4 = an hour).
    quarter_hours: i64,
}

/// A quantity given in kind, by unit.
#[derive(SimpleObject)]
pub struct WorkContributionQuantity {
    unit: String,
    quantity: i64,
}

/// A member's confirmed contributions over a period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ContributionAccount {
    /// Confirmed contributions counted.
    count: i64,
    /// Hours by kind (and by label, for the pool's own kinds).
    hours: Vec<WorkContributionHours>,
    /// Every hour counted, in quarter hours.
    quarter_hours: i64,
    quantities: Vec<WorkContributionQuantity>,
    /// The values stated, one total per currency.
    values: Vec<Money>,
    /// The labour shares these hours give under the rules in force: 0 when
    /// contributions are a recognition only. Votes count every confirmed
    /// hour so far, as an account with no `from` or `to` does.
    labour_shares: i64,
    #[graphql(skip)]
    membership_id: Uuid,
}

impl From<Account> for ContributionAccount {
    fn from(a: Account) -> Self {
        Self {
            count: a.count,
            hours: a
                .hours
                .into_iter()
                .map(|h| WorkContributionHours {
                    kind: h.kind.into(),
                    label: h.label,
                    quarter_hours: h.quarter_hours,
                })
                .collect(),
            quarter_hours: a.quarter_hours,
            quantities: a
                .quantities
                .into_iter()
                .map(|(unit, quantity)| WorkContributionQuantity { unit, quantity })
                .collect(),
            values: a
                .values
                .into_iter()
                .map(|(currency, total)| Money::total(total, currency))
                .collect(),
            labour_shares: a.labour_shares,
            membership_id: a.membership_id,
        }
    }
}

#[ComplexObject]
impl ContributionAccount {
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.membership_id).await
    }
}

#[derive(InputObject)]
pub struct RecordWorkContributionInput {
    pub pool_id: ID,
    pub kind: WorkContributionKind,
    /// For `OTHER`: one of the labels the pool's rules define.
    pub label: Option<String>,
    /// Not after today (a day's grace for time zones), at most 366 days ago.
    pub occurred_on: Date,
    /// For work, care and other kinds: 1 to 96 quarter hours (a day at most).
    pub quarter_hours: Option<i32>,
    /// For `IN_KIND`: 1 to 1000000 of `unit`.
    pub quantity: Option<i64>,
    /// For `IN_KIND`: what the quantity counts (kg, meals…), 1 to 40 characters.
    pub unit: Option<String>,
    /// 1 to 2000 characters.
    pub description: String,
    /// Minor units of the pool's currency, above 0, where the rules allow a value.
    pub value: Option<i64>,
}

impl TryFrom<RecordWorkContributionInput> for RecordInput {
    type Error = crate::error::AppError;
    fn try_from(input: RecordWorkContributionInput) -> AppResult<Self> {
        Ok(Self {
            pool_id: uuid!(input.pool_id)?,
            kind: input.kind.into(),
            label: input.label,
            occurred_on: input.occurred_on.0,
            quarter_hours: input.quarter_hours,
            quantity: input.quantity,
            unit: input.unit,
            description: input.description,
            value: input.value,
        })
    }
}

#[derive(InputObject)]
pub struct ConfirmWorkContributionInput {
    pub work_contribution_id: ID,
}

#[derive(InputObject)]
pub struct RefuseWorkContributionInput {
    pub work_contribution_id: ID,
    /// 1 to 2000 characters.
    pub reason: String,
}

#[derive(InputObject)]
pub struct WithdrawWorkContributionInput {
    pub work_contribution_id: ID,
}

/// A pool's (or one member's) contributions, as a connection.
pub(crate) async fn work_contribution_list(
    ctx: &Context<'_>,
    pool: &pool::Model,
    filter: Filter,
    page: PageArgs,
) -> Result<Conn<WorkContribution>> {
    let c = Ctx::of(ctx)?;
    let actor = c.actor_in(pool).await?;
    let page = work_contributions::reads::list(c.state, actor, pool, filter, page).await?;
    Ok(connection(page, |w| w.id, WorkContribution::from))
}

/// The pool's contribution accounts, as a connection of members.
pub(crate) async fn contribution_account_list(
    ctx: &Context<'_>,
    pool: &pool::Model,
    from: Option<Date>,
    to: Option<Date>,
    page: PageArgs,
) -> Result<Conn<ContributionAccount>> {
    let c = Ctx::of(ctx)?;
    let actor = c.actor_in(pool).await?;
    let page = work_contributions::accounts::accounts(
        c.state,
        actor,
        pool,
        from.map(|d| d.0),
        to.map(|d| d.0),
        page,
    )
    .await?;
    Ok(connection(
        page,
        |a| a.membership_id,
        ContributionAccount::from,
    ))
}
