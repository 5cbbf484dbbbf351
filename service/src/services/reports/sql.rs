//! A few lines of SQL with numbered parameters, run the same on PostgreSQL
//! and SQLite (both read `$1`, `$2`… and reuse a number as one value).

use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, Value};
use uuid::Uuid;

use crate::{domain::MoneyTotal, error::AppResult};

#[derive(Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Adds a value and returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// `column IN ($n, …)` for a list of ids.
    pub fn in_ids(&mut self, column: &str, ids: &[Uuid]) -> String {
        if ids.is_empty() {
            return "1 = 0".to_owned();
        }
        let placeholders: Vec<String> = ids.iter().map(|id| self.bind(*id)).collect();
        format!("{column} IN ({})", placeholders.join(", "))
    }

    pub async fn all(self, db: &impl ConnectionTrait) -> AppResult<Vec<QueryResult>> {
        let stmt =
            Statement::from_sql_and_values(db.get_database_backend(), self.text, self.values);
        Ok(db.query_all_raw(stmt).await?)
    }
}

/// A summed count (of 0s and 1s), as a BIGINT on both databases
/// (PostgreSQL would answer NUMERIC) and 0 for no rows. Not for money:
/// see [`money_sum`].
pub fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

/// The exact sum of a BIGINT money expression, whatever is stored: the
/// columns `{alias}_hi` and `{alias}_lo` (read them with [`money_total`])
/// sum the upper 32 bits (arithmetic shift) and the lower 32 bits of each
/// value apart. SQLite's `SUM` fails with "integer overflow" past
/// `i64::MAX` and PostgreSQL's cast back to BIGINT would too; these halves
/// cannot overflow below 2^31 rows, on either database, and the total is
/// put together in 128 bits.
pub fn money_sum(expr: &str, alias: &str) -> String {
    money_sum_filtered(expr, "", alias)
}

/// Like [`money_sum`], over the rows that meet `condition` only.
pub fn money_sum_where(expr: &str, condition: &str, alias: &str) -> String {
    money_sum_filtered(expr, &format!(" FILTER (WHERE {condition})"), alias)
}

fn money_sum_filtered(expr: &str, filter: &str, alias: &str) -> String {
    format!(
        "CAST(COALESCE(SUM(({expr}) >> 32){filter}, 0) AS BIGINT) AS {alias}_hi, \
         CAST(COALESCE(SUM(({expr}) & 4294967295){filter}, 0) AS BIGINT) AS {alias}_lo"
    )
}

/// The total that [`money_sum`] selected as `alias`.
pub fn money_total(row: &QueryResult, alias: &str) -> Result<MoneyTotal, DbErr> {
    let hi: i64 = row.try_get("", &format!("{alias}_hi"))?;
    let lo: i64 = row.try_get("", &format!("{alias}_lo"))?;
    Ok(MoneyTotal((i128::from(hi) << 32) + i128::from(lo)))
}
