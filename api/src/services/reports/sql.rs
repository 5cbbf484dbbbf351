//! A few lines of SQL with numbered parameters, run the same on PostgreSQL
//! and SQLite (both read `$1`, `$2`… and reuse a number as one value).

use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};
use uuid::Uuid;

use crate::error::AppResult;

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

/// A summed column, as a BIGINT on both databases (PostgreSQL would
/// answer NUMERIC) and 0 for no rows.
pub fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

/// Like [`sum`], over the rows that meet `condition` only.
pub fn sum_where(expr: &str, condition: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}) FILTER (WHERE {condition}), 0) AS BIGINT)")
}
