//! The pool's money, open to every member: balances per currency and the
//! entries behind them. Entries are only ever added.

use chrono::Utc;
use entities::{
    ledger_entry::{self, LedgerKind},
    pool,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, Func},
};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{BoundedText, Check, Currency},
    error::{AppResult, FieldError},
    services::{
        audit::{self, Change},
        begin_write,
        membership::{find_pool, require_admin, require_reader},
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

/// Balance per currency, summed in the database.
pub async fn balances(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Vec<(String, i64)>> {
    require_reader(&state.db, pool, actor.user_id).await?;
    let rows: Vec<(String, Option<i64>)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Currency)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(ledger_entry::Column::AmountMinor)),
                "BIGINT",
            )),
            "balance",
        )
        .filter(ledger_entry::Column::PoolId.eq(pool.id))
        .group_by(ledger_entry::Column::Currency)
        .order_by_asc(ledger_entry::Column::Currency)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|(c, b)| (c, b.unwrap_or(0))).collect())
}

pub async fn entries(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageRequest,
) -> AppResult<Page<ledger_entry::Model>> {
    require_reader(&state.db, pool, actor.user_id).await?;
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
    let mut check = Check::default();
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    let reference = check.field(BoundedText::<1, 200>::parse(
        &input.reference,
        "input.reference",
    ));
    let description = check.field(BoundedText::<3, 2000>::parse(
        &input.description,
        "input.description",
    ));
    if input.amount == 0 {
        check.field::<()>(Err(FieldError::new("input.amount", "must not be zero")));
    }
    let category = check.field(parse_category(
        input.category.as_deref(),
        "adjustment",
        "input.category",
    ));
    let (Some(currency), Some(reference), Some(description), Some(category)) =
        (currency, reference, description, category)
    else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    require_admin(&txn, &pool, actor.user_id).await?;
    let now = Utc::now();
    let entry = ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        kind: Set(LedgerKind::Adjustment),
        amount_minor: Set(input.amount),
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
        Change::new("ledger.adjusted", "LedgerEntry", entry.id)
            .in_pool(&pool)
            .created(&entry),
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
        Some(raw) => BoundedText::<1, 64>::parse(raw, path).map(|c| c.into_inner().to_lowercase()),
    }
}
