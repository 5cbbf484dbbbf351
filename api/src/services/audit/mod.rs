//! The audit trail. Every service that changes state records a [`Change`]
//! through [`record`] inside its own transaction, so an event exists exactly
//! when its change committed. Refused attempts are recorded by the GraphQL
//! layer after the refusal (see `graphql::denials`).

mod action;
pub mod chain;
mod diff;
pub mod feed;
pub mod query;
pub mod scope;

use entities::{audit_event, pool};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{Actor, Origin},
    error::AppResult,
};

pub use action::Action;
use diff::field_changes;

/// Who caused a change.
#[derive(Clone, Debug)]
pub struct Author {
    /// SESSION, API_TOKEN, ANONYMOUS or SYSTEM.
    pub kind: &'static str,
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub origin: Origin,
}

impl Author {
    /// Work the server does on its own (closing proposals, payment webhooks).
    pub fn system() -> Self {
        Self {
            kind: "SYSTEM",
            user_id: None,
            token_id: None,
            origin: Origin::default(),
        }
    }

    /// A caller without a token (signing up or in).
    pub fn anonymous(origin: &Origin) -> Self {
        Self {
            kind: "ANONYMOUS",
            user_id: None,
            token_id: None,
            origin: origin.clone(),
        }
    }

    /// Names the person an anonymous call turned out to be (signUp, signIn).
    pub fn identified(mut self, user_id: Uuid) -> Self {
        self.user_id = Some(user_id);
        self
    }
}

impl From<&Actor> for Author {
    fn from(actor: &Actor) -> Self {
        Self {
            kind: if actor.is_api_token() {
                "API_TOKEN"
            } else {
                "SESSION"
            },
            user_id: Some(actor.user_id),
            token_id: Some(actor.token_id),
            origin: actor.origin.clone(),
        }
    }
}

/// Whether the operation happened or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Denied => "DENIED",
        }
    }
}

/// One change, described by the service that made it.
#[derive(Clone, Debug)]
pub struct Change {
    pub action: Action,
    pub entity_type: &'static str,
    pub entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub parent_entity_id: Option<Uuid>,
    pub outcome: Outcome,
    /// `{field: {before, after}}` for updates, `{field: {after}}` for
    /// creations, or other facts under their own names.
    pub changes: serde_json::Map<String, Value>,
}

impl Change {
    pub fn new(action: Action, entity_type: &'static str, entity_id: Uuid) -> Self {
        Self {
            action,
            entity_type,
            entity_id: Some(entity_id),
            pool_id: None,
            parent_entity_id: None,
            outcome: Outcome::Succeeded,
            changes: Default::default(),
        }
    }

    /// The change happened in this pool (and so under its parent).
    pub fn in_pool(mut self, pool: &pool::Model) -> Self {
        self.pool_id = Some(pool.id);
        self.parent_entity_id = Some(pool.parent_entity_id);
        self
    }

    /// The change happened under this parent entity, outside any pool.
    pub fn in_parent(mut self, parent_entity_id: Uuid) -> Self {
        self.parent_entity_id = Some(parent_entity_id);
        self
    }

    /// The fields that differ between two states of a row.
    pub fn diff<T: Serialize>(mut self, before: &T, after: &T) -> Self {
        self.changes
            .extend(field_changes(Some(before), Some(after)));
        self
    }

    /// Every field of a new row.
    pub fn created<T: Serialize>(mut self, after: &T) -> Self {
        self.changes.extend(field_changes(None, Some(after)));
        self
    }

    /// A fact that is not a field of the row (a reason, a count).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.changes.insert(name.to_owned(), value.into());
        self
    }
}

/// Appends `change` to its chain on `db`, which must be the transaction that
/// made the change. Call it last before commit: it locks the chain's head.
pub async fn record(
    db: &impl ConnectionTrait,
    by: impl Into<Author>,
    change: Change,
) -> AppResult<audit_event::Model> {
    crate::services::outbox::after_change(db, &change).await?;
    chain::append(db, &by.into(), change).await
}
