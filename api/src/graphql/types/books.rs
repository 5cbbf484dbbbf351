//! A parent's ledgers held against its audit trail (see
//! `services::audit::books`).

use async_graphql::{Enum, ID, SimpleObject};

use crate::services::audit::books::{Finding, FindingKind, LedgerCheck};

/// How a parent entity's ledger entries compare with the audit events that
/// recorded them. Each event that writes an entry carries the entry's id
/// and a digest of its columns (`pools-ledger/1`, see the README), which
/// the event's hash covers.
#[derive(SimpleObject)]
pub struct LedgerVerification {
    /// Whether every entry checked matches the event that recorded it, and
    /// every entry those events recorded is still there.
    pub valid: bool,
    /// Pools whose ledgers were checked, in id order.
    pub pools_checked: i64,
    pub entries_checked: i64,
    /// Entries that match the digest their event recorded.
    pub entries_bound: i64,
    /// Entries written before ledger entries were bound into the trail:
    /// unbound (before binding). The trail cannot vouch for them; they are
    /// no finding.
    pub entries_unbound: i64,
    /// The first 100 findings, pool by pool.
    pub findings: Vec<LedgerFinding>,
    /// All the findings, those listed and the rest.
    pub finding_count: i64,
    /// Set when this answer's share of the work (100,000 entries, whole
    /// pools) ran out before the last pool: pass it as `ledgerAfter` to
    /// check the pools after it. Null once the last pool was checked.
    pub resume_after: Option<ID>,
}

/// An entry that does not match the trail, at its row.
#[derive(SimpleObject)]
pub struct LedgerFinding {
    pub kind: LedgerFindingKind,
    /// The ledger entry (the row's id).
    pub entry_id: ID,
    /// The pool whose ledger was checked.
    pub pool_id: ID,
    /// The audit event that binds the entry, when there is one.
    pub event_id: Option<ID>,
    /// That event's number in the chain.
    pub seq: Option<i64>,
    pub problem: String,
}

/// What is wrong with an entry.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LedgerFindingKind {
    /// Its columns differ from the digest its event recorded, or it was
    /// moved to another pool.
    Edited,
    /// No event records it.
    Inserted,
    /// An event records it, and the row is gone.
    Deleted,
}

impl From<LedgerCheck> for LedgerVerification {
    fn from(c: LedgerCheck) -> Self {
        Self {
            valid: c.finding_count == 0,
            pools_checked: c.pools_checked,
            entries_checked: c.entries_checked,
            entries_bound: c.entries_bound,
            entries_unbound: c.entries_unbound,
            findings: c.findings.into_iter().map(LedgerFinding::from).collect(),
            finding_count: c.finding_count,
            resume_after: c.resume_after.map(|id| ID(id.to_string())),
        }
    }
}

impl From<Finding> for LedgerFinding {
    fn from(f: Finding) -> Self {
        Self {
            kind: match f.kind {
                FindingKind::Edited => LedgerFindingKind::Edited,
                FindingKind::Inserted => LedgerFindingKind::Inserted,
                FindingKind::Deleted => LedgerFindingKind::Deleted,
            },
            entry_id: ID(f.entry_id.to_string()),
            pool_id: ID(f.pool_id.to_string()),
            event_id: f.event_id.map(|id| ID(id.to_string())),
            seq: f.seq,
            problem: f.problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::services::audit::books;

    #[test]
    fn the_descriptions_state_the_bounds() {
        // `findings` and `resumeAfter` name these numbers.
        assert_eq!(books::MAX_FINDINGS, 100);
        assert_eq!(books::ENTRIES_PER_CALL, 100_000);
    }
}
