//! The one rule for refusing a caller, so that a refusal never tells what
//! exists.
//!
//! - A caller who may not see an object is told it does not exist: the same
//!   `NOT_FOUND`, word for word, as for an id that names nothing.
//! - A caller who may see it, but not do this, gets `FORBIDDEN` saying what
//!   it would take.
//!
//! Who sees what: parent entities, pools and what a pool shows the public
//! (its groups and apps) are seen by everyone signed in. What is inside a
//! pool (members, applications, proposals, expenses, contributions, webhook
//! endpoints) is seen by its members and by the parent's stewards and
//! auditors. A formation is seen by its founder, its founding members and,
//! once submitted, the parent's stewards and auditors. An invitation is seen
//! by the person it was sent to.
//!
//! Permission comes before input: a service decides whether the caller may
//! act on the object before it looks at what they ask to change, so nobody
//! learns the rules of a form they may not submit.

use std::{
    collections::HashMap,
    fmt::Display,
    sync::{Arc, Mutex},
};

use entities::{membership, parent_entity_role::RoleKind};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// How the caller relates to a pool, for reads.
#[derive(Clone, Debug)]
pub enum Viewer {
    /// An active member.
    Member(Box<membership::Model>),
    /// A steward or auditor of the parent entity.
    Overseer(RoleKind),
}

/// Who may read which pool, as found earlier in the same query: a page that
/// shows members and balances asks once, not once per field, even when its
/// fields ask at the same moment. Only queries over HTTP get one; a
/// mutation may change membership halfway, and a subscription outlives any
/// answer.
#[derive(Clone, Debug, Default)]
pub struct ReadMemo(Arc<Mutex<HashMap<Uuid, Arc<PoolReads>>>>);

/// What the memo knows of one pool.
#[derive(Debug, Default)]
struct PoolReads {
    /// The caller's active membership, when it was read with their token.
    membership: std::sync::OnceLock<Option<membership::Model>>,
    viewer: OnceCell<Viewer>,
}

impl ReadMemo {
    fn pool(&self, pool_id: Uuid) -> Arc<PoolReads> {
        let mut pools = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(pools.entry(pool_id).or_default())
    }

    /// The caller's standing in the pool, from `check` the first time only;
    /// `check` is given their membership if it is known already. A refusal
    /// is not remembered: it is an error the query reports.
    pub async fn viewer<F>(
        &self,
        pool_id: Uuid,
        check: impl FnOnce(Option<Option<membership::Model>>) -> F,
    ) -> AppResult<Viewer>
    where
        F: Future<Output = AppResult<Viewer>>,
    {
        let pool = self.pool(pool_id);
        let known = pool.membership.get().cloned();
        pool.viewer.get_or_try_init(|| check(known)).await.cloned()
    }

    /// The caller's active membership of the pool (or that they have none),
    /// read with their token.
    pub fn remember_membership(&self, pool_id: Uuid, membership: Option<membership::Model>) {
        // Already known means read by the same query moments ago.
        let _ = self.pool(pool_id).membership.set(membership);
    }
}

/// `NOT_FOUND` for the `kind` of object with `id`: the answer both for an
/// id that names nothing and for an object the caller may not see.
pub fn not_found(kind: &str, id: impl Display) -> AppError {
    AppError::NotFound(format!("no {kind} has id {id}"))
}

/// What a caller is told when refused: [`not_found`] if they cannot see the
/// object, otherwise `FORBIDDEN` with `why`.
pub fn refuse(sees: bool, kind: &str, id: impl Display, why: impl Into<String>) -> AppError {
    if sees {
        AppError::Forbidden(why.into())
    } else {
        not_found(kind, id)
    }
}

/// Applies the rule to a permission check made elsewhere: a `FORBIDDEN`
/// from `checked` becomes [`not_found`] unless the caller sees the object.
/// `sees` is asked only when there is a refusal to phrase.
pub async fn unless_seen<T, F>(
    checked: AppResult<T>,
    kind: &str,
    id: impl Display,
    sees: F,
) -> AppResult<T>
where
    F: AsyncFnOnce() -> AppResult<bool>,
{
    match checked {
        Err(AppError::Forbidden(why)) => Err(refuse(sees().await?, kind, id, why)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: AppError) -> &'static str {
        err.code()
    }

    #[test]
    fn hidden_objects_answer_as_missing_ones() {
        let missing = not_found("proposal", "01");
        let hidden = refuse(false, "proposal", "01", "only members vote");
        assert_eq!(code(hidden), "NOT_FOUND");
        assert_eq!(
            refuse(false, "proposal", "01", "x").message(),
            missing.message()
        );
        assert_eq!(code(refuse(true, "proposal", "01", "x")), "FORBIDDEN");
    }

    #[tokio::test]
    async fn only_refusals_are_rephrased() {
        let ok: AppResult<u8> = Ok(1);
        assert_eq!(
            unless_seen(ok, "pool", 1, async || Ok(false))
                .await
                .unwrap_or_default(),
            1
        );
        let conflict: AppResult<u8> = Err(AppError::Conflict("busy".into()));
        let still = unless_seen(conflict, "pool", 1, async || Ok(false)).await;
        assert!(matches!(still, Err(AppError::Conflict(_))));
        let refused: AppResult<u8> = Err(AppError::Forbidden("admins only".into()));
        let hidden = unless_seen(refused, "expense", 7, async || Ok(false)).await;
        assert!(matches!(hidden, Err(AppError::NotFound(m)) if m == "no expense has id 7"));
    }
}
