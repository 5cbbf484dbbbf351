use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{pool_dissolution, pool_distribution};

use crate::{
    domain::MoneyTotal,
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{
            Member, Money, ParentEntity, Pool, Proposal, load_member, load_parent, load_pool,
            load_proposal,
        },
    },
    services::{self, pagination::PageArgs, proposals::dissolution as decided},
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_dissolution::Recipient")]
pub enum AssetRecipient {
    /// The parent entity, as the standard rules say.
    Parent,
    /// Another co-op the members chose (`coop`).
    Coop,
    /// The members, in equal shares; refused where the rules lock the
    /// pool's assets.
    Members,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_dissolution::DissolutionStatus")]
pub enum DissolutionStatus {
    /// The members decided; the parent's stewards consent or refuse.
    AwaitingConsent,
    /// A steward of the parent refused; the pool goes on.
    Refused,
    /// The pool is `DISSOLVING`: contributions canceled, apps taken down,
    /// the remaining funds waiting to be confirmed paid.
    WindingUp,
    /// The pool is `DISSOLVED`.
    Completed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_distribution::DistributionStatus")]
pub enum DistributionStatus {
    /// Drawn up; waiting for a steward to confirm it paid.
    Pending,
    /// Paid, and booked in the ledger as a `DISTRIBUTION` entry.
    Paid,
}

/// The co-op a dissolving pool's remaining funds go to.
#[derive(SimpleObject, Clone)]
pub struct RecipientCoop {
    pub name: String,
    pub registration_number: String,
    /// ISO 3166-1 alpha-2.
    pub jurisdiction: String,
}

/// What a `DISSOLUTION` proposal decided about the remaining funds.
#[derive(SimpleObject)]
pub struct ProposedDissolution {
    pub recipient: AssetRecipient,
    /// For `COOP`: the co-op.
    pub coop: Option<RecipientCoop>,
}

impl From<decided::DissolutionChoice> for ProposedDissolution {
    fn from(c: decided::DissolutionChoice) -> Self {
        Self {
            recipient: c.recipient.into(),
            coop: c.coop.map(|c| RecipientCoop {
                name: c.name,
                registration_number: c.registration_number,
                jurisdiction: c.jurisdiction,
            }),
        }
    }
}

/// For `DISSOLUTION` proposals: where the remaining funds go.
#[derive(InputObject)]
pub struct DissolutionInput {
    /// `MEMBERS` is refused where the pool's rules lock its assets.
    pub recipient: AssetRecipient,
    /// For `COOP` only: the co-op the funds go to.
    pub coop: Option<RecipientCoopInput>,
}

#[derive(InputObject)]
pub struct RecipientCoopInput {
    /// 1 to 200 characters on one line.
    pub name: String,
    /// 1 to 64 characters on one line.
    pub registration_number: String,
    /// ISO 3166-1 alpha-2, such as DE.
    pub jurisdiction: String,
}

impl From<DissolutionInput> for decided::DissolutionChoice {
    fn from(input: DissolutionInput) -> Self {
        Self {
            recipient: input.recipient.into(),
            coop: input.coop.map(|c| decided::Coop {
                name: c.name,
                registration_number: c.registration_number,
                jurisdiction: c.jurisdiction,
            }),
        }
    }
}

// A pool's dissolution, from its members' decision to its end.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Dissolution {
    pub(crate) id: ID,
    status: DissolutionStatus,
    recipient: AssetRecipient,
    /// For `COOP`: the co-op the funds go to.
    coop: Option<RecipientCoop>,
    /// Whether the parent's policy asked for its consent.
    needs_consent: bool,
    /// When a steward consented or refused.
    decided_at: Option<DateTime<Utc>>,
    /// Why a steward refused.
    refusal_reason: Option<String>,
    /// When the pool began winding up.
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub(crate) model: pool_dissolution::Model,
}

impl From<pool_dissolution::Model> for Dissolution {
    fn from(m: pool_dissolution::Model) -> Self {
        let coop = match (
            &m.coop_name,
            &m.coop_registration_number,
            &m.coop_jurisdiction,
        ) {
            (Some(name), Some(number), Some(jurisdiction)) => Some(RecipientCoop {
                name: name.clone(),
                registration_number: number.clone(),
                jurisdiction: jurisdiction.clone(),
            }),
            _ => None,
        };
        Self {
            id: m.id.into(),
            status: m.status.into(),
            recipient: m.recipient.into(),
            coop,
            needs_consent: m.needs_consent,
            decided_at: m.decided_at,
            refusal_reason: m.refusal_reason.clone(),
            started_at: m.started_at,
            completed_at: m.completed_at,
            created_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Dissolution {
    /// The members' proposal that decided it.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        Ok(Proposal::from(
            load_proposal(ctx, self.model.proposal_id).await?,
        ))
    }
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The parent the pool was under when its members decided.
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(
            load_parent(ctx, self.model.parent_entity_id).await?,
        ))
    }
    /// The final accounts: the pool's balance per currency when it began
    /// winding up (empty before).
    async fn final_balances(&self) -> Vec<Money> {
        let Some(rows) = self
            .model
            .final_balances
            .as_ref()
            .and_then(|v| v.as_array())
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(|r| {
                let amount = r["amountMinor"].as_str()?.parse::<i128>().ok()?;
                let currency = r["currency"].as_str()?.to_owned();
                Some(Money::total(MoneyTotal(amount), currency))
            })
            .collect()
    }
    /// What still stands between the pool and its dissolution, each said
    /// so that a person can act on it; empty when a steward may complete
    /// it (and before it winds up).
    async fn outstanding(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let c = Ctx::of(ctx)?;
        Ok(services::dissolutions::outstanding(&c.state.db, &self.model).await?)
    }
    /// The payments of the remaining funds, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn distributions(
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
    ) -> Result<Conn<Distribution>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::dissolutions::distributions(c.state, c.actor().await?, &self.model, page)
                .await?;
        Ok(connection(page, |d| d.id, Distribution::from))
    }
}

// One payment of a dissolving pool's remaining funds, in one currency.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Distribution {
    pub(crate) id: ID,
    amount: Money,
    recipient: AssetRecipient,
    /// The parent's or co-op's name, or the member's display name.
    recipient_name: String,
    status: DistributionStatus,
    /// The payment's reference, once confirmed paid.
    reference: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: pool_distribution::Model,
}

impl From<pool_distribution::Model> for Distribution {
    fn from(m: pool_distribution::Model) -> Self {
        Self {
            id: m.id.into(),
            amount: Money::new(m.amount_minor, m.currency.clone()),
            recipient: m.recipient_kind.into(),
            recipient_name: m.recipient_name.clone(),
            status: m.status.into(),
            reference: m.reference.clone(),
            paid_at: m.paid_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Distribution {
    /// For `MEMBERS`: the member paid.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        match self.model.membership_id {
            Some(id) => Ok(Some(load_member(ctx, id).await?)),
            None => Ok(None),
        }
    }
}

#[derive(InputObject)]
pub struct ConfirmDistributionPaidInput {
    pub distribution_id: ID,
    /// The payment's reference (a bank transfer id): 1 to 200 characters
    /// on one line.
    pub reference: String,
}
