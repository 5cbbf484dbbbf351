//! The commons fund's ledger: the parent entity's own money. Entries are
//! only ever added. A movement between the fund and a pool is two entries,
//! one on each side, of opposite sign, written together by [`book`]; the
//! pool's entry is then bound into the audit event as any pool entry is
//! (`Change::books`).

use chrono::{DateTime, SubsecRound, Utc};
use entities::{
    ledger_entry::{self, LedgerKind},
    parent_ledger_entry, pool,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::MoneyTotal,
    error::AppResult,
    services::{
        pagination::{Page, PageArgs, paginate},
        reports::sql::{Sql, money_sum, money_total},
    },
    state::AppState,
};

/// The fund's balance per currency, for its stewards and auditors.
pub async fn balances(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    balances_of(&state.db, parent_entity_id).await
}

/// The fund's balance per currency, summed in the database without
/// overflow, for callers that have decided who may know it (or that hold
/// the parent's lock and must know whether a payment out is covered).
pub async fn balances_of(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    let mut q = Sql::default();
    let parent = q.bind(parent_entity_id);
    q.push(&format!(
        "SELECT currency, {balance} FROM parent_ledger_entries WHERE parent_entity_id = {parent}
         GROUP BY currency ORDER BY currency",
        balance = money_sum("amount_minor", "balance"),
    ));
    let rows = q.all(db).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("", "currency")?, money_total(r, "balance")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// The fund's entries, oldest first, for its stewards and auditors.
pub async fn entries(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<parent_ledger_entry::Model>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let select = parent_ledger_entry::Entity::find()
        .filter(parent_ledger_entry::Column::ParentEntityId.eq(parent_entity_id));
    paginate(&state.db, select, parent_ledger_entry::Column::Id, page).await
}

/// One movement of money into (positive) or out of (negative) the fund.
pub struct Movement<'a> {
    pub parent_entity_id: Uuid,
    /// The pool on the other side, whose ledger gets the opposite entry.
    pub pool: Option<&'a pool::Model>,
    pub kind: LedgerKind,
    /// Into the fund positive; the pool's entry is its negation.
    pub amount_minor: i64,
    pub currency: String,
    pub category: String,
    pub reference: String,
    pub description: String,
    pub recorded_by: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// What [`book`] wrote: the fund's entry and the pool's, if a pool was on
/// the other side.
pub struct Booked {
    pub parent: parent_ledger_entry::Model,
    pub pool: Option<ledger_entry::Model>,
}

/// Writes a movement on both sides in `db`, which must be the transaction
/// of the change that causes it. Amounts are bounded by the callers'
/// domain types, so the negation cannot overflow.
pub async fn book(db: &impl ConnectionTrait, m: Movement<'_>) -> AppResult<Booked> {
    // Stored with microseconds on both databases, so digested the same way.
    let now = Utc::now().trunc_subsecs(6);
    let occurred_at = m.occurred_at.trunc_subsecs(6);
    let pool_entry = match m.pool {
        Some(pool) => Some(
            ledger_entry::ActiveModel {
                id: Set(Uuid::now_v7()),
                pool_id: Set(pool.id),
                kind: Set(m.kind),
                amount_minor: Set(-m.amount_minor),
                currency: Set(m.currency.clone()),
                reference: Set(m.reference.clone()),
                description: Set(m.description.clone()),
                expense_id: Set(None),
                recorded_by: Set(m.recorded_by),
                occurred_at: Set(occurred_at),
                created_at: Set(now),
                category: Set(m.category.clone()),
            }
            .insert(db)
            .await?,
        ),
        None => None,
    };
    let parent = parent_ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(m.parent_entity_id),
        kind: Set(m.kind),
        amount_minor: Set(m.amount_minor),
        currency: Set(m.currency),
        category: Set(m.category),
        reference: Set(m.reference),
        description: Set(m.description),
        pool_id: Set(m.pool.map(|p| p.id)),
        pool_ledger_entry_id: Set(pool_entry.as_ref().map(|e| e.id)),
        recorded_by: Set(m.recorded_by),
        occurred_at: Set(occurred_at),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(Booked {
        parent,
        pool: pool_entry,
    })
}

/// Credits the fund with the parent's share of a contribution, the pool's
/// entry `share` (negative, out of the pool) already written in `db`.
pub async fn credit_share(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    share: &ledger_entry::Model,
) -> AppResult<parent_ledger_entry::Model> {
    Ok(parent_ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(pool.parent_entity_id),
        kind: Set(LedgerKind::ParentShare),
        amount_minor: Set(share.amount_minor.saturating_neg()),
        currency: Set(share.currency.clone()),
        category: Set("parent share".into()),
        reference: Set(share.reference.clone()),
        description: Set(format!("Share of a contribution to {}", pool.name)),
        pool_id: Set(Some(pool.id)),
        pool_ledger_entry_id: Set(Some(share.id)),
        recorded_by: Set(share.recorded_by),
        occurred_at: Set(share.occurred_at),
        created_at: Set(share.created_at),
    }
    .insert(db)
    .await?)
}
