//! The audit trail. Every service that changes state records a [`Change`]
//! through [`record`] inside its own transaction, so an event exists exactly
//! when its change committed. Refused attempts are recorded by the GraphQL
//! layer after the refusal (see `graphql::denials`). Reading the trail is
//! `services::audit_trail`' work.

pub mod chain;
pub mod erasure;
pub mod feed;
pub mod scope;

use entities::audit_event;
use sea_orm::ConnectionTrait;

pub use crate::services::change::{Action, Author, Change, Outcome};
use crate::{error::AppResult, services::outbox};

/// Appends `change` to its chain on `db`, which must be the transaction that
/// made the change. Call it last before commit: it locks the chain's head.
pub async fn record(
    db: &impl ConnectionTrait,
    by: impl Into<Author>,
    change: Change,
) -> AppResult<audit_event::Model> {
    outbox::after_change(db, &change).await?;
    chain::append(db, &by.into(), change).await
}
