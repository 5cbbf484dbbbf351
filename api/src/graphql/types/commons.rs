//! The parent entity's commons: its fund's ledger, and what it owns and
//! lends to its pools.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{asset, lease, parent_ledger_entry, rent_charge};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        scalars::Date,
        types::{
            LedgerEntryKind, Money, ParentEntity, Pool, PoolCurrencyAccount, load_parent,
            load_pool, loader_error,
        },
    },
    services::{self, commons, pagination::PageArgs},
};

/// One movement of the parent entity's own money. Where a pool is on the
/// other side, its ledger has the opposite entry.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ParentLedgerEntry {
    pub(crate) id: async_graphql::ID,
    kind: LedgerEntryKind,
    /// Groups it in the fund's accounts.
    category: String,
    /// Into the fund positive, out of it negative.
    amount: Money,
    reference: String,
    description: String,
    occurred_at: DateTime<Utc>,
    #[graphql(skip)]
    pool_id: Option<Uuid>,
}

impl From<parent_ledger_entry::Model> for ParentLedgerEntry {
    fn from(m: parent_ledger_entry::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            category: m.category,
            amount: Money::new(m.amount_minor, m.currency),
            reference: m.reference,
            description: m.description,
            occurred_at: m.occurred_at,
            pool_id: m.pool_id,
        }
    }
}

#[ComplexObject]
impl ParentLedgerEntry {
    /// The pool on the other side of it, if any.
    async fn pool(&self, ctx: &Context<'_>) -> Result<Option<Pool>> {
        match self.pool_id {
            Some(id) => Ok(Some(load_pool(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

/// The parent entity's commons fund: its stewards and auditors read it.
pub struct ParentLedger(pub Uuid);

#[Object]
impl ParentLedger {
    /// Balance per currency (`saturated` if beyond an `Int`'s range).
    async fn balances(&self, ctx: &Context<'_>) -> Result<Vec<Money>> {
        let c = Ctx::of(ctx)?;
        let rows = services::commons::ledger::balances(c.state, c.actor().await?, self.0).await?;
        Ok(rows
            .into_iter()
            .map(|(currency, total)| Money::total(total, currency))
            .collect())
    }
    /// Its entries, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn entries(
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
    ) -> Result<Conn<ParentLedgerEntry>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::commons::ledger::entries(c.state, c.actor().await?, self.0, page).await?;
        Ok(connection(page, |e| e.id, ParentLedgerEntry::from))
    }
    /// The fund's accounts for `[from, to)`: balances at both ends, what
    /// came in and went out by kind and category, per currency.
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The start of the period (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "The end of the period (exclusive); later than `from`.")] to: DateTime<
            Utc,
        >,
    ) -> Result<FundAccounts> {
        let c = Ctx::of(ctx)?;
        let period = services::reports::Period::parse(from, to)?;
        let currencies =
            services::reports::accounts::of_fund(c.state, c.actor().await?, self.0, period).await?;
        Ok(FundAccounts {
            from,
            to,
            currencies: currencies.into_iter().map(Into::into).collect(),
        })
    }
}

/// The fund's accounts over a period. In each currency's account,
/// `parentShare` is the share of contributions the fund received.
#[derive(SimpleObject)]
pub struct FundAccounts {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub currencies: Vec<PoolCurrencyAccount>,
}

/// How often something falls due: an asset's rent, a loan's instalments.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::billing_period::BillingPeriod")]
pub enum BillingPeriod {
    Month,
    Quarter,
    Year,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::asset::AssetKind")]
pub enum AssetKind {
    Equipment,
    Premises,
    Server,
    SoftwareLicence,
    Brand,
    Other,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::asset::AssetStatus")]
pub enum AssetStatus {
    Active,
    /// No longer leased out; kept with its leases' history.
    Retired,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::lease::LeaseStatus")]
pub enum LeaseStatus {
    /// Offered by a steward, waiting for the pool's admins.
    Offered,
    /// Accepted: rent falls due at the start of each period.
    Active,
    Declined,
    /// Withdrawn before an answer, or ended: a running lease stops on its
    /// `endsOn`, and periods that began before it are still charged.
    Ended,
}

/// Something the parent entity owns for its pools to use.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Asset {
    pub(crate) id: ID,
    name: String,
    kind: AssetKind,
    description: String,
    /// What it is worth.
    value: Money,
    status: AssetStatus,
    retired_at: Option<DateTime<Utc>>,
    registered_at: DateTime<Utc>,
    #[graphql(skip)]
    model: asset::Model,
}

impl From<asset::Model> for Asset {
    fn from(m: asset::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name.clone(),
            kind: m.kind.into(),
            description: m.description.clone(),
            value: Money::new(m.value_minor, m.currency.clone()),
            status: m.status.into(),
            retired_at: m.retired_at,
            registered_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Asset {
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(
            load_parent(ctx, self.model.parent_entity_id).await?,
        ))
    }
    /// Its leases, oldest first; `status: ACTIVE` gives who uses it now.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn leases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only leases with this status.")] status: Option<LeaseStatus>,
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
    ) -> Result<Conn<Lease>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = commons::leases::of_asset(
            c.state,
            c.actor().await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        Ok(connection(page, |l| l.id, Lease::from))
    }
}

/// The terms on which a pool uses one of the parent entity's assets.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Lease {
    pub(crate) id: ID,
    status: LeaseStatus,
    /// Per period, in the pool's currency.
    rent: Money,
    period: BillingPeriod,
    starts_on: Date,
    /// The first day it no longer runs; absent: until ended.
    ends_on: Option<Date>,
    terms: String,
    /// Periods charged so far.
    periods_charged: i32,
    /// When the next period falls due, if one still will.
    next_charge_on: Option<Date>,
    offered_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: lease::Model,
}

impl From<lease::Model> for Lease {
    fn from(m: lease::Model) -> Self {
        Self {
            id: m.id.into(),
            status: m.status.into(),
            rent: Money::new(m.rent_minor, m.currency.clone()),
            period: m.period.into(),
            starts_on: Date(m.starts_on),
            ends_on: m.ends_on.map(Date),
            terms: m.terms.clone(),
            periods_charged: m.periods_charged,
            next_charge_on: commons::leases::next_charge_on(&m).map(Date),
            offered_at: m.created_at,
            answered_at: m.answered_at,
            ended_at: m.ended_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Lease {
    async fn asset(&self, ctx: &Context<'_>) -> Result<Asset> {
        let c = Ctx::of(ctx)?;
        let id = self.model.asset_id;
        let a = c
            .loaders
            .assets()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("asset {id} missing")))?;
        Ok(Asset::from(a))
    }
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The rent charged on it, period by period, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn charges(
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
    ) -> Result<Conn<RentCharge>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = commons::leases::charges(c.state, c.actor().await?, &self.model, page).await?;
        Ok(connection(page, |r| r.id, RentCharge::from))
    }
}

/// One period's rent, charged to the pool's ledger and credited to the
/// parent entity's fund together.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RentCharge {
    pub(crate) id: ID,
    /// 0 for the lease's first period.
    period_number: i32,
    period_start: Date,
    /// Exclusive; earlier than a whole period's end where the lease ended
    /// within it (and the amount is then in proportion to its days).
    period_end: Date,
    amount: Money,
    charged_at: DateTime<Utc>,
    #[graphql(skip)]
    lease_id: Uuid,
}

impl From<rent_charge::Model> for RentCharge {
    fn from(m: rent_charge::Model) -> Self {
        Self {
            id: m.id.into(),
            period_number: m.period_number,
            period_start: Date(m.period_start),
            period_end: Date(m.period_end),
            amount: Money::new(m.amount_minor, m.currency),
            charged_at: m.created_at,
            lease_id: m.lease_id,
        }
    }
}

#[ComplexObject]
impl RentCharge {
    async fn lease(&self, ctx: &Context<'_>) -> Result<Lease> {
        let c = Ctx::of(ctx)?;
        let id = self.lease_id;
        let l = c
            .loaders
            .leases()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lease {id} missing")))?;
        Ok(Lease::from(l))
    }
}

#[derive(InputObject)]
pub struct RegisterAssetInput {
    pub parent_entity_id: ID,
    /// 1 to 200 characters on one line.
    pub name: String,
    pub kind: AssetKind,
    /// At most 2000 characters.
    #[graphql(default)]
    pub description: String,
    /// What it is worth, in minor units: 0 to 10^13.
    pub value: i64,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
}

impl TryFrom<RegisterAssetInput> for commons::assets::RegisterInput {
    type Error = AppError;
    fn try_from(input: RegisterAssetInput) -> AppResult<Self> {
        Ok(Self {
            parent_entity_id: uuid!(input.parent_entity_id)?,
            name: input.name,
            kind: input.kind.into(),
            description: input.description,
            value: input.value,
            currency: input.currency,
        })
    }
}

/// What to change; a field left out stays as it is.
#[derive(InputObject)]
pub struct UpdateAssetInput {
    pub asset_id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<i64>,
    pub currency: Option<String>,
}

impl TryFrom<UpdateAssetInput> for commons::assets::UpdateInput {
    type Error = AppError;
    fn try_from(input: UpdateAssetInput) -> AppResult<Self> {
        Ok(Self {
            asset_id: uuid!(input.asset_id)?,
            name: input.name,
            description: input.description,
            value: input.value,
            currency: input.currency,
        })
    }
}

#[derive(InputObject)]
pub struct RetireAssetInput {
    pub asset_id: ID,
}

#[derive(InputObject)]
pub struct OfferLeaseInput {
    pub asset_id: ID,
    /// A pool under the parent entity that owns the asset.
    pub pool_id: ID,
    /// Rent per period in minor units: above 0 and at most 10^13.
    pub rent: i64,
    /// The pool's currency, which rent is always charged in; it may be left
    /// out.
    pub currency: Option<String>,
    pub period: BillingPeriod,
    /// From 366 days ago (its periods since then fall due on acceptance) to
    /// 732 days ahead.
    pub starts_on: Date,
    /// The first day it no longer runs: after `startsOn`, within 50 years.
    pub ends_on: Option<Date>,
    /// At most 2000 characters.
    #[graphql(default)]
    pub terms: String,
}

impl TryFrom<OfferLeaseInput> for commons::leases::OfferInput {
    type Error = AppError;
    fn try_from(input: OfferLeaseInput) -> AppResult<Self> {
        Ok(Self {
            asset_id: uuid!(input.asset_id)?,
            pool_id: uuid!(input.pool_id)?,
            rent: input.rent,
            currency: input.currency,
            period: input.period.into(),
            starts_on: input.starts_on.0,
            ends_on: input.ends_on.map(|d| d.0),
            terms: input.terms,
        })
    }
}

#[derive(InputObject)]
pub struct AnswerLeaseInput {
    pub lease_id: ID,
}

#[derive(InputObject)]
pub struct EndLeaseInput {
    pub lease_id: ID,
    /// The first day it no longer runs: today when left out; never in the
    /// past nor later than its agreed end. An offer is withdrawn at once.
    pub ends_on: Option<Date>,
}
