//! Contribution accounts: each member's confirmed contributions over a
//! period, summed by kind, unit and currency, and the labour shares their
//! hours give where the pool's rules make them count. Sums saturate
//! instead of overflowing (values are summed in 128 bits).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use entities::{
    pool,
    work_contribution::{self, WorkContributionKind, WorkContributionStatus},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::MoneyTotal,
    error::{AppError, AppResult},
    services::{
        formations::governance::WorkContributionRules,
        membership::require_reader_as,
        pagination::{Page, PageArgs, page_in_memory},
    },
    state::AppState,
};

/// Hours of one kind (and label, for the pool's own kinds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindHours {
    pub kind: WorkContributionKind,
    pub label: Option<String>,
    pub quarter_hours: i64,
}

/// A member's contribution account over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub membership_id: Uuid,
    /// Confirmed contributions counted.
    pub count: i64,
    pub hours: Vec<KindHours>,
    /// Unit → quantity given in kind.
    pub quantities: BTreeMap<String, i64>,
    /// Currency → the values stated.
    pub values: BTreeMap<String, MoneyTotal>,
    /// Every hour counted, of any kind.
    pub quarter_hours: i64,
    pub labour_shares: i64,
}

/// One confirmed contribution, as an account counts it.
#[derive(Clone, Debug)]
pub struct Counted {
    pub membership_id: Uuid,
    pub kind: WorkContributionKind,
    pub label: Option<String>,
    pub quarter_hours: Option<i32>,
    pub quantity: Option<i64>,
    pub unit: Option<String>,
    pub value_minor: Option<i64>,
    pub currency: Option<String>,
}

/// The accounts of the members `rows` name, in the order of their ids.
pub fn tally(
    rows: impl IntoIterator<Item = Counted>,
    rules: &WorkContributionRules,
) -> Vec<Account> {
    let mut by_member: BTreeMap<Uuid, Account> = BTreeMap::new();
    for row in rows {
        let a = by_member
            .entry(row.membership_id)
            .or_insert_with(|| Account {
                membership_id: row.membership_id,
                ..Account::default()
            });
        a.count = a.count.saturating_add(1);
        if let Some(q) = row.quarter_hours {
            let q = i64::from(q);
            a.quarter_hours = a.quarter_hours.saturating_add(q);
            match a
                .hours
                .iter_mut()
                .find(|h| h.kind == row.kind && h.label == row.label)
            {
                Some(h) => h.quarter_hours = h.quarter_hours.saturating_add(q),
                None => a.hours.push(KindHours {
                    kind: row.kind,
                    label: row.label.clone(),
                    quarter_hours: q,
                }),
            }
        }
        if let (Some(q), Some(unit)) = (row.quantity, row.unit) {
            let total = a.quantities.entry(unit).or_default();
            *total = total.saturating_add(q);
        }
        if let (Some(v), Some(currency)) = (row.value_minor, row.currency) {
            *a.values.entry(currency).or_default() += MoneyTotal::from(v);
        }
    }
    by_member
        .into_values()
        .map(|mut a| {
            a.labour_shares = rules.labour_shares(a.quarter_hours);
            a
        })
        .collect()
}

/// The pool's accounts for contributions made from `from` to `to` (each
/// included, either open), for the pool's readers: a page of members.
pub async fn accounts(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: PageArgs,
) -> AppResult<Page<Account>> {
    require_reader_as(&state.db, pool, actor).await?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::invalid("to", "must not be before `from`"));
    }
    let page = page.parse()?;
    let rules = super::rules_of(pool)?;
    let rows = confirmed(&state.db, pool.id, from, to).await?;
    Ok(page_in_memory(
        tally(rows, &rules),
        |a| a.membership_id,
        &page,
    ))
}

/// The pool's confirmed contributions in the period.
pub async fn confirmed(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Vec<Counted>> {
    use work_contribution::Column as C;
    let mut select = work_contribution::Entity::find()
        .select_only()
        .columns([
            C::MembershipId,
            C::Kind,
            C::Label,
            C::QuarterHours,
            C::Quantity,
            C::Unit,
            C::ValueMinor,
            C::Currency,
        ])
        .filter(C::PoolId.eq(pool_id))
        .filter(C::Status.eq(WorkContributionStatus::Confirmed));
    if let Some(f) = from {
        select = select.filter(C::OccurredOn.gte(f));
    }
    if let Some(t) = to {
        select = select.filter(C::OccurredOn.lte(t));
    }
    type Row = (
        Uuid,
        WorkContributionKind,
        Option<String>,
        Option<i32>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    Ok(select
        .into_tuple::<Row>()
        .all(db)
        .await?
        .into_iter()
        .map(
            |(membership_id, kind, label, quarter_hours, quantity, unit, value_minor, currency)| {
                Counted {
                    membership_id,
                    kind,
                    label,
                    quarter_hours,
                    quantity,
                    unit,
                    value_minor,
                    currency,
                }
            },
        )
        .collect())
}

/// Membership id → labour shares, for the members of `members` who have
/// any under the pool's rules (every confirmed hour so far counts). Empty
/// when the rules give contributions no such meaning.
pub async fn labour_shares(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    rules: &WorkContributionRules,
) -> AppResult<HashMap<Uuid, i64>> {
    if rules.labour_shares(i64::MAX) == 0 {
        return Ok(HashMap::new());
    }
    let rows = confirmed(db, pool_id, None, None).await?;
    Ok(tally(rows, rules)
        .into_iter()
        .filter(|a| a.labour_shares > 0)
        .map(|a| (a.membership_id, a.labour_shares))
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::services::formations::governance::ContributionMeaning;

    fn work(member: Uuid, quarter_hours: i32) -> Counted {
        Counted {
            membership_id: member,
            kind: WorkContributionKind::Work,
            label: None,
            quarter_hours: Some(quarter_hours),
            quantity: None,
            unit: None,
            value_minor: None,
            currency: None,
        }
    }

    #[test]
    fn an_account_sums_by_kind_unit_and_currency() {
        let m = Uuid::now_v7();
        let rules = WorkContributionRules {
            meaning: ContributionMeaning::LabourShares,
            hours_per_share: 2,
            ..WorkContributionRules::default()
        };
        let mut care = work(m, 4);
        care.kind = WorkContributionKind::Care;
        care.value_minor = Some(1_500);
        care.currency = Some("EUR".into());
        let mut bread = work(m, 0);
        bread.kind = WorkContributionKind::InKind;
        bread.quarter_hours = None;
        bread.quantity = Some(3);
        bread.unit = Some("loaves".into());
        let accounts = tally([work(m, 8), work(m, 6), care, bread.clone(), bread], &rules);
        assert_eq!(accounts.len(), 1);
        let a = &accounts[0];
        assert_eq!(a.count, 5);
        assert_eq!(a.quarter_hours, 18);
        assert_eq!(a.hours.len(), 2);
        assert_eq!(a.hours[0].quarter_hours, 14);
        assert_eq!(a.quantities["loaves"], 6);
        assert_eq!(a.values["EUR"], MoneyTotal(1_500));
        assert_eq!(a.labour_shares, 2, "4.5 hours at 2 hours a share");
    }

    proptest! {
        #[test]
        fn sums_are_exact_or_saturate_and_never_overflow(
            values in prop::collection::vec(any::<i64>(), 0..50),
            quantities in prop::collection::vec(any::<i64>(), 0..50),
        ) {
            let m = Uuid::now_v7();
            let rows = values.iter().map(|v| Counted {
                value_minor: Some(*v),
                currency: Some("EUR".into()),
                ..work(m, i32::MAX)
            }).chain(quantities.iter().map(|q| Counted {
                kind: WorkContributionKind::InKind,
                quarter_hours: None,
                quantity: Some(*q),
                unit: Some("kg".into()),
                ..work(m, 0)
            }));
            let accounts = tally(rows, &WorkContributionRules::default());
            if let Some(a) = accounts.first() {
                let exact: i128 = values.iter().map(|v| i128::from(*v)).sum();
                if !values.is_empty() {
                    prop_assert_eq!(a.values["EUR"], MoneyTotal(exact));
                }
                prop_assert_eq!(a.count, (values.len() + quantities.len()) as i64);
                let hours = i128::from(i32::MAX) * values.len() as i128;
                prop_assert_eq!(i128::from(a.quarter_hours), hours.min(i128::from(i64::MAX)));
            }
        }
    }
}
