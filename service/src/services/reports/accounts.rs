//! A pool's own accounts for a period: the analytical account that a
//! member activity keeps, and what members read to trust their money.

use entities::pool;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    Period,
    sql::{Sql, money_sum, money_total},
};
use crate::{
    auth::{Actor, permissions},
    domain::MoneyTotal,
    error::AppResult,
    services::membership::require_reader_as,
    state::AppState,
};

/// Income and spending of one kind and category within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLine {
    /// The entries' kind: CONTRIBUTION, PARENT_SHARE, EXPENSE, RENT…
    pub kind: String,
    pub category: String,
    pub income: MoneyTotal,
    /// A positive magnitude.
    pub spending: MoneyTotal,
    pub entries: i64,
}

/// One currency's account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrencyAccount {
    pub currency: String,
    pub opening_balance: MoneyTotal,
    pub closing_balance: MoneyTotal,
    pub income: MoneyTotal,
    pub spending: MoneyTotal,
    pub parent_share: MoneyTotal,
    pub lines: Vec<AccountLine>,
}

/// The pool's accounts per currency; its members and the parent's
/// stewards and auditors read them.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    period: Period,
) -> AppResult<Vec<CurrencyAccount>> {
    // Who may read is decided on the primary; the figures come from the
    // replica (see `AppState::reads`).
    require_reader_as(&state.db, pool, actor).await?;
    accounts(&state.reads, Books::Pool(pool.id), period).await
}

/// The parent entity's fund accounts per currency, for its stewards and
/// auditors: what came in (its share of contributions, rent, repayments,
/// gifts) and what went out (grants, loans).
pub async fn of_fund(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    period: Period,
) -> AppResult<Vec<CurrencyAccount>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    accounts(&state.reads, Books::Fund(parent_entity_id), period).await
}

/// Whose ledger the accounts are drawn from.
#[derive(Clone, Copy)]
enum Books {
    Pool(Uuid),
    Fund(Uuid),
}

impl Books {
    fn table_and_owner(self) -> (&'static str, &'static str, Uuid) {
        match self {
            Self::Pool(id) => ("ledger_entries", "pool_id", id),
            Self::Fund(id) => ("parent_ledger_entries", "parent_entity_id", id),
        }
    }
}

async fn accounts(
    db: &impl ConnectionTrait,
    books: Books,
    period: Period,
) -> AppResult<Vec<CurrencyAccount>> {
    let (table, owner_column, owner) = books.table_and_owner();
    let mut q = Sql::default();
    let owner_param = q.bind(owner);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, {opening}, {closing}
         FROM {table} WHERE {owner_column} = {owner_param} AND occurred_at < {to}
         GROUP BY currency ORDER BY currency",
        opening = money_sum(
            &format!("CASE WHEN occurred_at < {from} THEN amount_minor ELSE 0 END"),
            "opening"
        ),
        closing = money_sum("amount_minor", "closing"),
    ));
    let mut accounts: Vec<CurrencyAccount> = Vec::new();
    for r in q.all(db).await? {
        accounts.push(CurrencyAccount {
            currency: r.try_get("", "currency")?,
            opening_balance: money_total(&r, "opening")?,
            closing_balance: money_total(&r, "closing")?,
            ..Default::default()
        });
    }

    let mut q = Sql::default();
    let owner_param = q.bind(owner);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, kind, category, {income}, {spent}, COUNT(*) AS entries
         FROM {table}
         WHERE {owner_column} = {owner_param} AND occurred_at >= {from} AND occurred_at < {to}
         GROUP BY currency, kind, category
         ORDER BY currency, kind, category",
        income = money_sum(
            "CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END",
            "income"
        ),
        // Negated after summing: `-amount_minor` fails on i64::MIN.
        spent = money_sum(
            "CASE WHEN amount_minor < 0 THEN amount_minor ELSE 0 END",
            "spent"
        ),
    ));
    for r in q.all(db).await? {
        let currency: String = r.try_get("", "currency")?;
        let line = AccountLine {
            kind: r.try_get("", "kind")?,
            category: r.try_get("", "category")?,
            income: money_total(&r, "income")?,
            spending: -money_total(&r, "spent")?,
            entries: r.try_get("", "entries")?,
        };
        let Some(account) = accounts.iter_mut().find(|a| a.currency == currency) else {
            continue;
        };
        account.income += line.income;
        account.spending += line.spending;
        if line.kind == "PARENT_SHARE" {
            // Paid by a pool, received by the fund: a positive amount either way.
            match books {
                Books::Pool(_) => {
                    account.parent_share += line.spending;
                    account.parent_share -= line.income;
                }
                Books::Fund(_) => {
                    account.parent_share += line.income;
                    account.parent_share -= line.spending;
                }
            }
        }
        account.lines.push(line);
    }
    Ok(accounts)
}
