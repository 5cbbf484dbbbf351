use async_graphql::{ComplexObject, Context, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::ActiveEnum;
use uuid::Uuid;

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{LedgerEntryKind, Pool, PoolStatus, Saturation, StakeholderKind},
    },
    services::{
        self,
        pagination::PageRequest,
        reports::{self, Figures, Period, accounts::CurrencyAccount},
    },
};

fn stakeholder_kind(stored: &str) -> Option<StakeholderKind> {
    entities::stakeholder_group::StakeholderKind::try_from_value(&stored.to_owned())
        .ok()
        .map(Into::into)
}

// A parent entity's figures for `[from, to)`: in total, and per pool.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ParentEntityReport {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Every pool together; members are grouped by stakeholder kind.
    totals: ReportFigures,
    /// Pools that existed before `to`, by their current status.
    pools_by_status: Vec<PoolStatusCount>,
    /// Formations not yet decided, and how long the oldest have waited.
    open_formations: OpenFormations,
    #[graphql(skip)]
    parent_entity_id: Uuid,
    #[graphql(skip)]
    period: Period,
}

impl ParentEntityReport {
    /// The report of a parent entity's totals; each pool's figures load
    /// only when asked for.
    pub fn new(parent_entity_id: Uuid, period: Period, totals: reports::ParentTotals) -> Self {
        let pools_by_status = totals
            .pools_by_status
            .iter()
            .filter_map(|(status, pools)| {
                let status = entities::pool::PoolStatus::try_from_value(status).ok()?;
                Some(PoolStatusCount {
                    status: status.into(),
                    pools: *pools,
                })
            })
            .collect();
        let f = &totals.formations;
        let age = |since: Option<DateTime<Utc>>| since.map(|s| (Utc::now() - s).num_days());
        let open_formations = OpenFormations {
            drafts: f.drafts,
            submitted: f.submitted,
            oldest_draft_since: f.oldest_draft_since,
            oldest_draft_age_days: age(f.oldest_draft_since),
            oldest_submitted_since: f.oldest_submitted_since,
            oldest_submitted_age_days: age(f.oldest_submitted_since),
        };
        Self {
            from: period.from,
            to: period.to,
            totals: ReportFigures::from(&totals.figures),
            pools_by_status,
            open_formations,
            parent_entity_id,
            period,
        }
    }
}

// Each pool's figures load a page at a time.
#[ComplexObject]
impl ParentEntityReport {
    /// The same figures for each pool, a page at a time.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn pools(
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
    ) -> Result<Conn<PoolReport>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::pools::of_parent(c.state, self.parent_entity_id, page).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|p| p.id).collect();
        let figures =
            reports::per_pool(&c.state.reads, self.parent_entity_id, &ids, self.period).await?;
        let none = Figures::default();
        Ok(connection(
            page,
            |p| p.id,
            |pool| PoolReport {
                figures: ReportFigures::from(figures.get(&pool.id).unwrap_or(&none)),
                pool: Pool::from(pool),
            },
        ))
    }
}

// One pool's figures.
#[derive(SimpleObject)]
pub struct PoolReport {
    pool: Pool,
    figures: ReportFigures,
}

/// Counts and sums for a period.
#[derive(SimpleObject)]
pub struct ReportFigures {
    /// Members at the end of the period, by stakeholder group (per pool)
    /// or kind (in total).
    pub members_by_group: Vec<GroupMemberCount>,
    pub members: i64,
    /// Memberships that began within the period.
    pub joins: i64,
    /// Memberships that ended within the period (left or removed).
    pub leaves: i64,
    /// Money per currency, in minor units.
    pub money: Vec<MoneyFigures>,
    /// Proposals and polls that closed within the period.
    pub proposals_held: i64,
    pub proposals_passed: i64,
}

impl From<&Figures> for ReportFigures {
    fn from(f: &Figures) -> Self {
        Self {
            members_by_group: f
                .members_by_group
                .iter()
                .map(|g| GroupMemberCount {
                    stakeholder_group_id: g.group_id.map(|id| ID(id.to_string())),
                    name: g.name.clone(),
                    kind: stakeholder_kind(&g.kind),
                    members: g.members,
                })
                .collect(),
            members: f.members,
            joins: f.joins,
            leaves: f.leaves,
            money: f
                .money
                .iter()
                .map(|m| {
                    let mut shown = Saturation::default();
                    MoneyFigures {
                        currency: m.currency.clone(),
                        contribution_income: shown.show(m.contribution_income),
                        parent_share: shown.show(m.parent_share),
                        expenses: shown.show(m.expenses),
                        rent: shown.show(m.rent),
                        funding: shown.show(m.funding),
                        repayments: shown.show(m.repayments),
                        adjustments: shown.show(m.adjustments),
                        balance: shown.show(m.balance),
                        saturated: shown.any(),
                    }
                })
                .collect(),
            proposals_held: f.proposals_held,
            proposals_passed: f.proposals_passed,
        }
    }
}

#[derive(SimpleObject)]
pub struct GroupMemberCount {
    /// The group, in a pool's figures; absent in totals.
    pub stakeholder_group_id: Option<ID>,
    /// The group's name, or the kind's in totals.
    pub name: String,
    pub kind: Option<StakeholderKind>,
    pub members: i64,
}

/// One currency's money over a period, in minor units.
#[derive(SimpleObject)]
pub struct MoneyFigures {
    pub currency: String,
    pub contribution_income: i64,
    /// Paid to the parent entity (a positive amount).
    pub parent_share: i64,
    /// Paid out (a positive amount).
    pub expenses: i64,
    /// Rent paid to the parent entity for its assets (a positive amount).
    pub rent: i64,
    /// Grants and loans received from the parent entity's fund.
    pub funding: i64,
    /// Loan instalments paid back to the fund (a positive amount).
    pub repayments: i64,
    /// Corrections and opening balances (signed).
    pub adjustments: i64,
    /// Everything before the period's end.
    pub balance: i64,
    /// A figure here lies beyond an `Int`'s range (±9223372036854775807)
    /// and is shown at the bound on its side.
    pub saturated: bool,
}

#[derive(SimpleObject)]
pub struct PoolStatusCount {
    pub status: PoolStatus,
    pub pools: i64,
}

#[derive(SimpleObject)]
pub struct OpenFormations {
    pub drafts: i64,
    pub submitted: i64,
    pub oldest_draft_since: Option<DateTime<Utc>>,
    pub oldest_draft_age_days: Option<i64>,
    /// When the longest-waiting submission was submitted.
    pub oldest_submitted_since: Option<DateTime<Utc>>,
    pub oldest_submitted_age_days: Option<i64>,
}

/// A pool's accounts for `[from, to)`, one per currency.
#[derive(SimpleObject)]
pub struct PoolAccounts {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub currencies: Vec<PoolCurrencyAccount>,
}

/// One currency's account: balances at both ends and what moved between.
#[derive(SimpleObject)]
pub struct PoolCurrencyAccount {
    pub currency: String,
    pub opening_balance: i64,
    pub closing_balance: i64,
    pub income: i64,
    /// Paid out, the parent's share included (a positive amount).
    pub spending: i64,
    pub parent_share: i64,
    /// By kind and category.
    pub lines: Vec<PoolAccountLine>,
    /// A figure of this account (its lines' included) lies beyond an
    /// `Int`'s range (±9223372036854775807) and is shown at that bound.
    pub saturated: bool,
}

#[derive(SimpleObject)]
pub struct PoolAccountLine {
    pub kind: Option<LedgerEntryKind>,
    pub category: String,
    pub income: i64,
    pub spending: i64,
    /// How many ledger entries the line sums.
    pub entries: i64,
    /// `income` or `spending` lies beyond an `Int`'s range and is shown
    /// at that bound.
    pub saturated: bool,
}

impl From<CurrencyAccount> for PoolCurrencyAccount {
    fn from(a: CurrencyAccount) -> Self {
        let mut shown = Saturation::default();
        let lines: Vec<PoolAccountLine> = a
            .lines
            .into_iter()
            .map(|l| {
                let mut line = Saturation::default();
                PoolAccountLine {
                    kind: entities::ledger_entry::LedgerKind::try_from_value(&l.kind)
                        .ok()
                        .map(Into::into),
                    category: l.category,
                    income: line.show(l.income),
                    spending: line.show(l.spending),
                    entries: l.entries,
                    saturated: line.any(),
                }
            })
            .collect();
        let lines_saturated = lines.iter().any(|l| l.saturated);
        Self {
            currency: a.currency,
            opening_balance: shown.show(a.opening_balance),
            closing_balance: shown.show(a.closing_balance),
            income: shown.show(a.income),
            spending: shown.show(a.spending),
            parent_share: shown.show(a.parent_share),
            lines,
            saturated: shown.any() || lines_saturated,
        }
    }
}
