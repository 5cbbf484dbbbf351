//! The connection the services run on: the pool, and behind a transaction
//! pooler a commit that a statement outside a transaction waits for.
//!
//! Behind PgBouncer in transaction mode every checkout from the pool runs
//! in one server transaction, committed when the connection goes back to
//! the pool (see the `api` crate's `db`), which happens after the statement
//! has returned. A read does not mind. A write would not yet be seen by the
//! next statement, on another connection: a count just after an insert
//! (the sign-in failures) would miss it. So there a write outside a
//! transaction runs in one of its own, committed before it returns.

use std::ops::Deref;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionError, TransactionTrait,
};

#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// Writes outside a transaction commit before they return.
    commit_writes: bool,
}

impl Db {
    /// `behind_transaction_pooler`: `DATABASE_POOLER=transaction`.
    pub fn new(conn: DatabaseConnection, behind_transaction_pooler: bool) -> Self {
        Self {
            conn,
            commit_writes: behind_transaction_pooler,
        }
    }

    /// Whether `sql` outside a transaction must commit before it returns:
    /// anything but a read. A `SELECT` that notifies is heard at the commit,
    /// and one that locks holds the lock until then: a moment later, which
    /// is soon enough.
    fn commits_first(&self, sql: &str) -> bool {
        self.commit_writes
            && !sql
                .trim_start()
                .get(..6)
                .is_some_and(|verb| verb.eq_ignore_ascii_case("SELECT"))
    }
}

/// Transactions, the pool's statistics and the like are the pool's own.
impl Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

/// `$call` on the pool, or for a write behind a transaction pooler in a
/// transaction of its own, committed before it returns.
macro_rules! commit_first {
    ($db:expr, $sql:expr, |$conn:ident| $call:expr) => {
        if $db.commits_first($sql) {
            committed(
                $db.conn
                    .transaction(|$conn| Box::pin(async move { $call.await }))
                    .await,
            )
        } else {
            let $conn = &$db.conn;
            $call.await
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        commit_first!(self, &stmt.sql, |conn| conn.execute_raw(stmt))
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        // The transaction's future outlives the borrow.
        let sql = sql.to_owned();
        commit_first!(self, &sql, |conn| conn.execute_unprepared(&sql))
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        commit_first!(self, &stmt.sql, |conn| conn.query_one_raw(stmt))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        commit_first!(self, &stmt.sql, |conn| conn.query_all_raw(stmt))
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.conn.is_mock_connection()
    }
}

/// The statement's own error, whether it failed or its commit did.
fn committed<T>(result: Result<T, TransactionError<DbErr>>) -> Result<T, DbErr> {
    result.map_err(|e| match e {
        TransactionError::Connection(e) | TransactionError::Transaction(e) => e,
    })
}
