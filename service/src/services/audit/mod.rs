//! The audit trail. Every service that changes state records a [`Change`]
//! through [`record`] inside its own transaction, so an event exists exactly
//! when its change committed. Refused attempts are recorded by the GraphQL
//! layer after the refusal (see `graphql::denials`). Reading the trail is
//! `services::audit_trail`' work; `chain` and `books` verify it, and the
//! ledgers against it.

pub mod books;
pub mod chain;
pub mod erasure;
pub mod feed;
pub mod scope;

use entities::{audit_event, ledger_binding};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

pub use crate::services::change::{Action, Author, Change, Outcome};
use crate::{
    error::{AppError, AppResult},
    services::{change::ledger::BOOKING_ACTIONS, outbox},
};

/// Appends `change` to its chain on `db`, which must be the transaction that
/// made the change. Call it last before commit: it locks the chain's head.
/// The ledger entries the change books are bound to the event here, in the
/// same transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    by: impl Into<Author>,
    change: Change,
) -> AppResult<audit_event::Model> {
    if !change.ledger_entries.is_empty() && !BOOKING_ACTIONS.contains(&change.action) {
        return Err(AppError::internal(anyhow::anyhow!(
            "{} books ledger entries but is not a booking action",
            change.action
        )));
    }
    outbox::after_change(db, &change).await?;
    let entries: Vec<_> = change.ledger_entries.iter().map(|b| b.id).collect();
    let event = chain::append(db, &by.into(), change).await?;
    if !entries.is_empty() {
        ledger_binding::Entity::insert_many(entries.into_iter().map(|id| {
            ledger_binding::ActiveModel {
                ledger_entry_id: Set(id),
                event_id: Set(Some(event.id)),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(event)
}
