//! A pool's own accounts for a period: the analytical account that a
//! member activity keeps, and what members read to trust their money.

use entities::pool;

use super::{
    Period,
    sql::{Sql, money_sum, money_total},
};
use crate::{
    auth::Actor, domain::MoneyTotal, error::AppResult, services::membership::require_reader_as,
    state::AppState,
};

/// Income and spending of one kind and category within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLine {
    /// CONTRIBUTION, PARENT_SHARE, EXPENSE or ADJUSTMENT.
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

    let mut q = Sql::default();
    let pool_param = q.bind(pool.id);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, {opening}, {closing}
         FROM ledger_entries WHERE pool_id = {pool_param} AND occurred_at < {to}
         GROUP BY currency ORDER BY currency",
        opening = money_sum(
            &format!("CASE WHEN occurred_at < {from} THEN amount_minor ELSE 0 END"),
            "opening"
        ),
        closing = money_sum("amount_minor", "closing"),
    ));
    let mut accounts: Vec<CurrencyAccount> = Vec::new();
    for r in q.all(&state.reads).await? {
        accounts.push(CurrencyAccount {
            currency: r.try_get("", "currency")?,
            opening_balance: money_total(&r, "opening")?,
            closing_balance: money_total(&r, "closing")?,
            ..Default::default()
        });
    }

    let mut q = Sql::default();
    let pool_param = q.bind(pool.id);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, kind, category, {income}, {spent}, COUNT(*) AS entries
         FROM ledger_entries
         WHERE pool_id = {pool_param} AND occurred_at >= {from} AND occurred_at < {to}
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
    for r in q.all(&state.reads).await? {
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
            account.parent_share += line.spending;
            account.parent_share -= line.income;
        }
        account.lines.push(line);
    }
    Ok(accounts)
}
