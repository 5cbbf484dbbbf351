//! A pool's own accounts for a period: the analytical account that a
//! member activity keeps, and what members read to trust their money.

use entities::pool;

use super::{
    Period,
    sql::{Sql, sum},
};
use crate::{auth::Actor, error::AppResult, services::membership::require_reader, state::AppState};

/// Income and spending of one kind and category within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLine {
    /// CONTRIBUTION, PARENT_SHARE, EXPENSE or ADJUSTMENT.
    pub kind: String,
    pub category: String,
    pub income: i64,
    /// A positive magnitude.
    pub spending: i64,
    pub entries: i64,
}

/// One currency's account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrencyAccount {
    pub currency: String,
    pub opening_balance: i64,
    pub closing_balance: i64,
    pub income: i64,
    pub spending: i64,
    pub parent_share: i64,
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
    require_reader(&state.db, pool, actor.user_id).await?;

    let mut q = Sql::default();
    let pool_param = q.bind(pool.id);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, {opening} AS opening, {closing} AS closing
         FROM ledger_entries WHERE pool_id = {pool_param} AND occurred_at < {to}
         GROUP BY currency ORDER BY currency",
        opening = sum(&format!(
            "CASE WHEN occurred_at < {from} THEN amount_minor ELSE 0 END"
        )),
        closing = sum("amount_minor"),
    ));
    let mut accounts: Vec<CurrencyAccount> = Vec::new();
    for r in q.all(&state.db).await? {
        accounts.push(CurrencyAccount {
            currency: r.try_get("", "currency")?,
            opening_balance: r.try_get("", "opening")?,
            closing_balance: r.try_get("", "closing")?,
            ..Default::default()
        });
    }

    let mut q = Sql::default();
    let pool_param = q.bind(pool.id);
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT currency, kind, category, {income} AS income, {spending} AS spending, COUNT(*) AS entries
         FROM ledger_entries
         WHERE pool_id = {pool_param} AND occurred_at >= {from} AND occurred_at < {to}
         GROUP BY currency, kind, category
         ORDER BY currency, kind, category",
        income = sum("CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END"),
        spending = sum("CASE WHEN amount_minor < 0 THEN -amount_minor ELSE 0 END"),
    ));
    for r in q.all(&state.db).await? {
        let currency: String = r.try_get("", "currency")?;
        let line = AccountLine {
            kind: r.try_get("", "kind")?,
            category: r.try_get("", "category")?,
            income: r.try_get("", "income")?,
            spending: r.try_get("", "spending")?,
            entries: r.try_get("", "entries")?,
        };
        let Some(account) = accounts.iter_mut().find(|a| a.currency == currency) else {
            continue;
        };
        account.income += line.income;
        account.spending += line.spending;
        if line.kind == "PARENT_SHARE" {
            account.parent_share += line.spending - line.income;
        }
        account.lines.push(line);
    }
    Ok(accounts)
}
