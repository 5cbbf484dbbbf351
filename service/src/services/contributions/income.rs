//! Writing contribution income to the ledger: the contribution, and the
//! parent entity's share of it, once per payment reference.

use chrono::{DateTime, SubsecRound, Utc};
use entities::{
    ledger_entry::{self, LedgerKind},
    parent_entity, pool,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::error::AppResult;

/// The parent's share of `amount` at `basis_points` (1/100 of a percent),
/// rounded down so a pool is never charged more than the policy says.
pub fn parent_share(amount: i64, basis_points: i32) -> i64 {
    // In 128 bits, then back: the share is never more than the amount.
    let share = i128::from(amount) * i128::from(basis_points.clamp(0, 10_000)) / 10_000;
    i64::try_from(share).unwrap_or(amount)
}

/// One payment received for a pool.
pub struct Payment<'a> {
    /// Minor units.
    pub amount: i64,
    pub currency: &'a str,
    /// The invoice id or bank reference; each is recorded once.
    pub reference: &'a str,
    pub description: &'a str,
    pub recorded_by: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// Records a paid contribution: the entries written (the contribution, and
/// the parent's share if any), which the caller books into the event that
/// records the payment; `None` when this reference was already recorded (a
/// retried webhook, a second click).
pub async fn record(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    payment: Payment<'_>,
) -> AppResult<Option<Vec<ledger_entry::Model>>> {
    let Payment {
        amount,
        currency,
        reference,
        description,
        recorded_by,
        occurred_at,
    } = payment;
    let exists = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::PoolId.eq(pool.id))
        .filter(ledger_entry::Column::Kind.eq(LedgerKind::Contribution))
        .filter(ledger_entry::Column::Reference.eq(reference))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(None);
    }
    let basis_points = parent_entity::Entity::find_by_id(pool.parent_entity_id)
        .one(db)
        .await?
        .map_or(0, |p| p.parent_share_basis_points);
    let share = parent_share(amount, basis_points);
    // Stored with microseconds on both databases, so digested the same way.
    let now = Utc::now().trunc_subsecs(6);
    let occurred_at = occurred_at.trunc_subsecs(6);
    let entry = |kind, amount, description: String| ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        kind: Set(kind),
        amount_minor: Set(amount),
        currency: Set(currency.to_owned()),
        reference: Set(reference.to_owned()),
        description: Set(description),
        expense_id: Set(None),
        recorded_by: Set(recorded_by),
        occurred_at: Set(occurred_at),
        created_at: Set(now),
        category: Set(match kind {
            LedgerKind::ParentShare => "parent share",
            _ => "contributions",
        }
        .to_owned()),
    };
    let mut entries = vec![
        entry(LedgerKind::Contribution, amount, description.to_owned())
            .insert(db)
            .await?,
    ];
    if share > 0 {
        let share = entry(
            LedgerKind::ParentShare,
            -share,
            format!(
                "parent entity's share ({}.{:02} %)",
                basis_points / 100,
                basis_points % 100
            ),
        )
        .insert(db)
        .await?;
        crate::services::commons::ledger::credit_share(db, pool, &share).await?;
        entries.push(share);
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down() {
        assert_eq!(parent_share(1000, 250), 25);
        assert_eq!(parent_share(999, 250), 24);
        assert_eq!(parent_share(1000, 0), 0);
        assert_eq!(
            parent_share(1000, 20_000),
            1000,
            "never more than the whole"
        );
    }
}
