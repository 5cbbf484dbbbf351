//! What a change is, as the service that made it describes it: its action,
//! its author, its scope and what changed. Both the audit trail (which
//! stores it) and the outbox (which reacts to it) read this; neither is
//! needed to describe one.

mod action;
mod diff;
pub mod ledger;

use chrono::{DateTime, SecondsFormat, Utc};
pub use entities::audit_event::{ActorKind, Outcome};
use entities::{ledger_entry, pool};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Actor, Origin};

pub use action::Action;
use diff::field_changes;

/// The chain for events outside any parent entity (accounts, tokens).
const PLATFORM_CHAIN: &str = "platform";

/// The chain a change's event goes to: its parent entity's, or the
/// platform's. Live subscriptions are woken by this key too.
pub fn chain_key(parent_entity_id: Option<Uuid>) -> String {
    parent_entity_id.map_or_else(|| PLATFORM_CHAIN.to_owned(), |id| id.to_string())
}

/// How the trail and the events write a time: RFC 3339, microseconds, UTC.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256, in lower-case hex, of `value` as compact JSON. The JSON is
/// written straight into the hasher: verifying a chain hashes every event,
/// and building a JSON value for each cost more than the hashing itself.
pub fn json_sha256(value: &impl Serialize) -> String {
    let mut hasher = HashWriter(Sha256::new());
    serde_json::to_writer(&mut hasher, value)
        .unwrap_or_else(|_| unreachable!("writing into a hasher cannot fail"));
    hex::encode(hasher.0.finalize())
}

/// Bytes written are hashed (sha2 0.11 hashers are no `io::Write` themselves).
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Who caused a change.
#[derive(Clone, Debug)]
pub struct Author {
    pub kind: ActorKind,
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub origin: Origin,
}

impl Author {
    /// Work the server does on its own (closing proposals, payment webhooks).
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            user_id: None,
            token_id: None,
            origin: Origin::default(),
        }
    }

    /// A caller without a token (signing up or in).
    pub fn anonymous(origin: &Origin) -> Self {
        Self {
            kind: ActorKind::Anonymous,
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
                ActorKind::ApiToken
            } else {
                ActorKind::Session
            },
            user_id: Some(actor.user_id),
            token_id: Some(actor.token_id),
            origin: actor.origin.clone(),
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
    /// The ledger entries the change wrote, bound into its event (see
    /// [`ledger`]); only the [`ledger::BOOKING_ACTIONS`] have any.
    pub ledger_entries: Vec<ledger::Binding>,
    /// For a pool's first event under a new parent entity: the parent it
    /// came from, in whose chain its previous event is.
    pub arrives_from: Option<Uuid>,
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
            ledger_entries: Vec::new(),
            arrives_from: None,
        }
    }

    /// The pool has just moved here from `parent_entity_id`: its event
    /// links to the pool's last event in that parent's chain.
    pub fn arriving_from(mut self, parent_entity_id: Uuid) -> Self {
        self.arrives_from = Some(parent_entity_id);
        self
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

    /// Binds a ledger entry the change wrote into its event: the event
    /// then carries the entry's id and the digest of its columns as stored.
    pub fn books(mut self, entry: &ledger_entry::Model) -> Self {
        self.ledger_entries.push(ledger::Binding::of(entry));
        self
    }

    /// A fact that is not a field of the row (a reason, a count).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.changes.insert(name.to_owned(), value.into());
        self
    }
}
