//! Binding ledger entries into the events that record them.
//!
//! A change that writes a ledger entry names it, and its event's changes
//! carry `"ledgerEntries": [{"id": …, "digest": …}]`. The digest is
//! SHA-256, in lower-case hex, over the compact JSON array
//! `["pools-ledger/1", id, poolId, kind, amountMinor, currency, reference,
//! description, expenseId, recordedBy, occurredAt, createdAt, category]`:
//! ids as lower-case hyphenated UUIDs, `amountMinor` a JSON integer, absent
//! values `null`, times RFC 3339 in UTC with microseconds. The event's hash
//! covers its changes (through their digest, recipe 2), so it covers every
//! column of the entries it wrote: an edit shows as a digest that no longer
//! matches, a deletion as a binding without its row, an insertion as a row
//! that no event binds.

use entities::ledger_entry;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Action, json_sha256, timestamp};

/// The name of the digest recipe, the array's first element.
pub const RECIPE: &str = "pools-ledger/1";

/// Where an event's changes carry its bindings.
pub const FIELD: &str = "ledgerEntries";

/// The actions that write ledger entries, and so the only ones whose events
/// bind any. Verification reads these events to find bindings whose entry
/// is gone; recording a binding under any other action is refused.
pub const BOOKING_ACTIONS: &[Action] = &[
    Action::ContributionPaid,
    Action::ExpensePaid,
    Action::LedgerAdjusted,
    Action::PoolSpunOut,
    Action::PoolDistributionPaid,
    Action::RentCharged,
    Action::FundApplicationPaid,
    Action::LoanRepaymentCollected,
];

/// One entry as its event records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub id: Uuid,
    pub digest: String,
}

impl Binding {
    pub fn of(entry: &ledger_entry::Model) -> Self {
        Self {
            id: entry.id,
            digest: digest(entry),
        }
    }
}

/// The digest of an entry's columns (see the module's documentation).
pub fn digest(e: &ledger_entry::Model) -> String {
    json_sha256(&(
        RECIPE,
        e.id,
        e.pool_id,
        e.kind,
        e.amount_minor,
        &e.currency,
        &e.reference,
        &e.description,
        e.expense_id,
        e.recorded_by,
        timestamp(e.occurred_at),
        timestamp(e.created_at),
        &e.category,
    ))
}

/// The bindings an event's stored changes carry (none when the changes are
/// not JSON or carry none).
pub fn bindings_in(changes: &str) -> Vec<Binding> {
    #[derive(Deserialize)]
    struct Bound {
        #[serde(rename = "ledgerEntries", default)]
        ledger_entries: Vec<Binding>,
    }
    serde_json::from_str::<Bound>(changes)
        .map(|b| b.ledger_entries)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use entities::ledger_entry::LedgerKind;
    use sha2::{Digest, Sha256};

    fn entry(with_optionals: bool) -> ledger_entry::Model {
        let at = Utc.with_ymd_and_hms(2026, 12, 9, 10, 11, 12).unwrap()
            + chrono::Duration::microseconds(7);
        ledger_entry::Model {
            id: Uuid::now_v7(),
            pool_id: Uuid::now_v7(),
            kind: LedgerKind::ParentShare,
            amount_minor: -1_234,
            currency: "EUR".into(),
            reference: "in_1\"x\"".into(),
            description: "parent entity's share (5.00 %)\n€ ✓".into(),
            expense_id: with_optionals.then(Uuid::now_v7),
            recorded_by: with_optionals.then(Uuid::now_v7),
            occurred_at: at,
            created_at: at + chrono::Duration::seconds(1),
            category: "parent share".into(),
        }
    }

    /// The recipe as the README states it, built the plain way.
    fn reference_digest(e: &ledger_entry::Model) -> String {
        let id = |v: Option<Uuid>| v.map(|u| u.to_string());
        let canonical = serde_json::json!([
            "pools-ledger/1",
            e.id.to_string(),
            e.pool_id.to_string(),
            "PARENT_SHARE",
            e.amount_minor,
            e.currency,
            e.reference,
            e.description,
            id(e.expense_id),
            id(e.recorded_by),
            timestamp(e.occurred_at),
            timestamp(e.created_at),
            e.category,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    #[test]
    fn the_digest_follows_the_published_recipe() {
        for with_optionals in [true, false] {
            let e = entry(with_optionals);
            assert_eq!(digest(&e), reference_digest(&e), "{with_optionals}");
        }
    }

    #[test]
    fn every_column_counts() {
        let e = entry(true);
        let d = digest(&e);
        let mut other = e.clone();
        other.amount_minor -= 1;
        assert_ne!(digest(&other), d);
        let mut other = e.clone();
        other.pool_id = Uuid::now_v7();
        assert_ne!(digest(&other), d);
        let mut other = e;
        other.created_at += chrono::Duration::microseconds(1);
        assert_ne!(digest(&other), d);
    }

    #[test]
    fn bindings_are_read_back_from_stored_changes() {
        let e = entry(false);
        let changes = serde_json::json!({
            "amount": 1000,
            "ledgerEntries": [Binding::of(&e)],
        })
        .to_string();
        assert_eq!(bindings_in(&changes), vec![Binding::of(&e)]);
        assert!(bindings_in(r#"{"amount": 1}"#).is_empty());
        assert!(bindings_in("[erased]").is_empty());
    }
}
