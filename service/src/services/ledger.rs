//! The pool's money, open to every member: balances per currency and the
//! entries behind them. Entries are only ever added, each bound into the
//! audit event that records it (`Change::books`).

use chrono::{SubsecRound, Utc};
use entities::{
    ledger_entry::{self, LedgerKind},
    pool,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{Check, Currency, MinorAmount, MoneyTotal, SingleLineText},
    error::{AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        begin_write,
        membership::{find_pool, require_admin, require_reader_as},
        pagination::{Page, PageRequest, paginate},
        reports::sql::{Sql, money_sum, money_total},
    },
    state::AppState,
};

/// Balance per currency, summed in the database without overflow (see
/// [`money_sum`]).
pub async fn balances(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    require_reader_as(&state.db, pool, actor).await?;
    balances_of(&state.db, pool.id).await
}

/// Balance per currency, for callers that have already decided who may
/// know it (the pool's dissolution draws up its final accounts from it).
pub async fn balances_of(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    let mut q = Sql::default();
    let pool_param = q.bind(pool_id);
    q.push(&format!(
        "SELECT currency, {balance} FROM ledger_entries WHERE pool_id = {pool_param}
         GROUP BY currency ORDER BY currency",
        balance = money_sum("amount_minor", "balance"),
    ));
    let rows = q.all(db).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("", "currency")?, money_total(r, "balance")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

pub async fn entries(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageRequest,
) -> AppResult<Page<ledger_entry::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let select = ledger_entry::Entity::find().filter(ledger_entry::Column::PoolId.eq(pool.id));
    paginate(&state.db, select, ledger_entry::Column::Id, page).await
}

pub struct AdjustmentInput {
    pub pool_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub description: String,
    pub category: Option<String>,
}

/// Records a correction or an opening balance (admins only).
pub async fn adjust(
    state: &AppState,
    actor: &Actor,
    input: AdjustmentInput,
) -> AppResult<ledger_entry::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    require_admin(&txn, &pool, actor.user_id).await?;
    let mut check = Check::default();
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    let reference = check.field(SingleLineText::<1, 200>::parse(
        &input.reference,
        "input.reference",
    ));
    let description = check.field(SingleLineText::<3, 2000>::parse(
        &input.description,
        "input.description",
    ));
    let amount = check.field(
        MinorAmount::parse(input.amount, "input.amount").and_then(|a| {
            if a.get() == 0 {
                Err(FieldError::new("input.amount", "must not be zero"))
            } else {
                Ok(a)
            }
        }),
    );
    let category = check.field(parse_category(
        input.category.as_deref(),
        "adjustment",
        "input.category",
    ));
    let (Some(currency), Some(reference), Some(description), Some(amount), Some(category)) =
        (currency, reference, description, amount, category)
    else {
        return Err(check.into_error());
    };
    // Stored with microseconds on both databases, so digested the same way.
    let now = Utc::now().trunc_subsecs(6);
    let entry = ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        kind: Set(LedgerKind::Adjustment),
        amount_minor: Set(amount.get()),
        currency: Set(currency.into_inner()),
        reference: Set(reference.into_inner()),
        description: Set(description.into_inner()),
        expense_id: Set(None),
        recorded_by: Set(Some(actor.user_id)),
        occurred_at: Set(now),
        created_at: Set(now),
        category: Set(category),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::LedgerAdjusted, "LedgerEntry", entry.id)
            .in_pool(&pool)
            .created(&entry)
            .books(&entry),
    )
    .await?;
    txn.commit().await?;
    Ok(entry)
}

/// A ledger category: trimmed, lower-case, 1 to 64 characters; `default`
/// when not given.
pub fn parse_category(raw: Option<&str>, default: &str, path: &str) -> Result<String, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default.to_owned()),
        Some(raw) => {
            SingleLineText::<1, 64>::parse(raw, path).map(|c| c.into_inner().to_lowercase())
        }
    }
}
