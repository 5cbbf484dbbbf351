//! How paying-it-forward covers members below the suggested amount.

use std::collections::BTreeMap;

use entities::contribution::{self, ContributionStatus, Interval};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    auth::Actor, domain::MoneyTotal, error::AppResult, services::membership::require_reader_as,
    state::AppState,
};

/// Per currency, in monthly terms (yearly amounts divided by 12).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Solidarity {
    pub currency: String,
    /// Income above the suggested amounts.
    pub above_suggested: MoneyTotal,
    /// What members below the suggested amount (or at zero) leave uncovered.
    pub below_suggested: MoneyTotal,
    pub members_above: i64,
    pub members_below: i64,
    pub members_at_zero: i64,
}

pub async fn report(
    state: &AppState,
    actor: &Actor,
    pool: &entities::pool::Model,
) -> AppResult<Vec<Solidarity>> {
    require_reader_as(&state.db, pool, actor).await?;
    let live = contribution::Entity::find()
        .filter(contribution::Column::PoolId.eq(pool.id))
        .filter(
            contribution::Column::Status
                .is_in([ContributionStatus::Active, ContributionStatus::PastDue]),
        )
        .all(&state.db)
        .await?;
    let mut by_currency: BTreeMap<String, Solidarity> = BTreeMap::new();
    for c in live {
        // In 128 bits: stored amounts may predate the bound on inputs.
        let monthly = |v: i64| {
            MoneyTotal(if c.interval == Interval::Year {
                i128::from(v) / 12
            } else {
                i128::from(v)
            })
        };
        let s = by_currency
            .entry(c.currency.clone())
            .or_insert_with(|| Solidarity {
                currency: c.currency.clone(),
                ..Default::default()
            });
        let (amount, suggested) = (monthly(c.amount), monthly(c.suggested_at_start));
        if amount > suggested {
            s.above_suggested += MoneyTotal(amount.0 - suggested.0);
            s.members_above += 1;
        } else if amount < suggested {
            s.below_suggested += MoneyTotal(suggested.0 - amount.0);
            s.members_below += 1;
        }
        if c.amount == 0 {
            s.members_at_zero += 1;
        }
    }
    Ok(by_currency.into_values().collect())
}
