//! The business rules, one module per domain. Public functions check
//! permissions, own their transaction, and return entity models.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod audit_trail;
pub mod change;
pub mod commons;
pub mod contributions;
pub mod dissolutions;
pub mod erasure;
pub mod expenses;
pub mod exports;
pub mod formations;
pub mod jobs;
pub mod ledger;
pub mod life_packs;
pub mod membership;
pub mod nodes;
pub mod notifications;
pub mod outbox;
pub mod pagination;
pub mod parent_entities;
pub mod policy;
pub mod pool_moves;
pub mod pool_standing;
pub mod pools;
pub mod proposals;
pub mod provisioning;
pub mod reports;
pub mod rules;
pub mod runners;
pub mod signals;
pub mod spin_outs;
pub mod webhooks;
pub mod work_contributions;

use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    PrimaryKeyTrait, QuerySelect, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, PgFunc, SimpleExpr},
};
use uuid::Uuid;

/// `column` is one of `keys`. On PostgreSQL as `= ANY($1)` with one array
/// parameter: one prepared statement for every batch size, where `IN (…)`
/// makes a statement per size and plans slower. SQLite has no arrays.
pub fn one_of<C: ColumnTrait>(backend: DatabaseBackend, column: C, keys: &[Uuid]) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::col((column.entity_name(), column)).eq(PgFunc::any(Expr::val(keys.to_vec())))
        }
        _ => column.is_in(keys.iter().copied()),
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`), so concurrent writers queue instead of one
/// failing when its read snapshot goes stale; PostgreSQL ignores the option.
///
/// The `BEGIN` runs on a task of its own, so a caller that goes away while it
/// waits for the answer (a client that hung up, a request past its timeout)
/// cannot cut it off halfway. The driver counts a transaction only once that
/// answer is in: cut off before, it would hand the connection back to the
/// pool inside a transaction nobody ends, and every later statement on it
/// would run uncommitted, holding its locks. Finished on its task instead,
/// the transaction nobody took is dropped there and rolled back.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let db = db.clone();
    tokio::spawn(async move {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    })
    .await
    .map_err(|e| DbErr::Custom(format!("beginning a transaction stopped: {e}")))?
}

/// Reads one row for a read-modify-write and holds it until the transaction
/// ends: `SELECT … FOR UPDATE` on PostgreSQL; on SQLite `begin_write` already
/// holds the database's write lock, and the lock clause is left out. Taking a
/// transaction, not any connection, keeps the read inside it; the state read
/// here is also the audit trail's "before".
pub async fn lock<E: EntityTrait>(
    txn: &DatabaseTransaction,
    id: impl Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
) -> Result<Option<E::Model>, DbErr> {
    E::find_by_id(id).lock_exclusive().one(txn).await
}

use crate::error::AppError;

/// Maps a unique-constraint violation to `CONFLICT` with a message a person
/// can act on; any other database error stays internal.
pub trait OnConflict<T> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, AppError>;
}

impl<T> OnConflict<T> for Result<T, DbErr> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, AppError> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(message()),
            _ => err.into(),
        })
    }
}
