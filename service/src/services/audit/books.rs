//! Checking the books against the trail. Every ledger entry of a parent
//! entity's pools is held against the event that binds it (its digest, see
//! `change::ledger`), and every event that booked entries against the
//! ledger, so that an entry edited, inserted or deleted in the database is
//! reported at its row:
//!
//! - **edited**: its columns no longer match the digest its event recorded
//!   (or it was moved to another pool);
//! - **inserted**: no event binds it;
//! - **deleted**: an event binds it and the row is gone.
//!
//! Entries written before binding existed are counted as unbound: the
//! trail cannot vouch for them, and they are no finding.
//!
//! The work is bounded: pools are checked whole, in id order, a page of
//! entries or events at a time, until [`ENTRIES_PER_CALL`] entries are
//! checked; the answer then says after which pool to go on.

use std::collections::{BTreeSet, HashMap};

use entities::{audit_event, ledger_binding, ledger_entry, pool};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::chain::{content_intact, event_hash};
use crate::{
    error::AppResult,
    services::change::ledger::{BOOKING_ACTIONS, Binding, bindings_in, digest},
};

/// Rows read per query.
const PAGE: u64 = 1000;

/// Pools read per query.
const POOL_PAGE: u64 = 100;

/// Entries checked per call, at most (a pool is always checked whole).
pub const ENTRIES_PER_CALL: i64 = 100_000;

/// Findings reported in full; the rest are counted.
pub const MAX_FINDINGS: usize = 100;

/// What is wrong with one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    Edited,
    Inserted,
    Deleted,
}

/// One entry that does not match the trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub entry_id: Uuid,
    /// The pool whose ledger was checked.
    pub pool_id: Uuid,
    /// The event that binds the entry, when there is one.
    pub event_id: Option<Uuid>,
    pub seq: Option<i64>,
    pub problem: String,
}

/// The result of checking ledgers against the trail.
#[derive(Clone, Debug, Default)]
pub struct LedgerCheck {
    pub pools_checked: i64,
    pub entries_checked: i64,
    /// Entries that match the digest their event recorded.
    pub entries_bound: i64,
    /// Entries written before binding existed.
    pub entries_unbound: i64,
    /// The first [`MAX_FINDINGS`] findings, in pool order.
    pub findings: Vec<Finding>,
    pub finding_count: i64,
    /// The last pool checked, when pools remain after it.
    pub resume_after: Option<Uuid>,
}

impl LedgerCheck {
    fn found(&mut self, finding: Finding) {
        self.finding_count += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(finding);
        }
    }
}

/// Checks the ledgers of a parent entity's pools, those after `after_pool`
/// (a pool id, in id order) when given.
pub async fn verify(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    after_pool: Option<Uuid>,
) -> AppResult<LedgerCheck> {
    let mut check = LedgerCheck::default();
    let mut cursor = after_pool;
    loop {
        let mut select = pool::Entity::find()
            .select_only()
            .column(pool::Column::Id)
            .filter(pool::Column::ParentEntityId.eq(parent_entity_id))
            .order_by_asc(pool::Column::Id)
            .limit(POOL_PAGE);
        if let Some(after) = cursor {
            select = select.filter(pool::Column::Id.gt(after));
        }
        let pools: Vec<Uuid> = select.into_tuple().all(db).await?;
        for &pool_id in &pools {
            if check.entries_checked >= ENTRIES_PER_CALL {
                check.resume_after = cursor;
                return Ok(check);
            }
            check_entries(db, pool_id, &mut check).await?;
            check_events(db, pool_id, &mut check).await?;
            check.pools_checked += 1;
            cursor = Some(pool_id);
        }
        if (pools.len() as u64) < POOL_PAGE {
            return Ok(check);
        }
    }
}

/// Each entry of the pool against the event its binding names.
async fn check_entries(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    check: &mut LedgerCheck,
) -> AppResult<()> {
    let mut after: Option<Uuid> = None;
    loop {
        let entries = page_after(
            db,
            ledger_entry::Entity::find().filter(ledger_entry::Column::PoolId.eq(pool_id)),
            ledger_entry::Column::Id,
            after,
        )
        .await?;
        let Some(last) = entries.last() else {
            return Ok(());
        };
        after = Some(last.id);
        let bindings: HashMap<Uuid, Option<Uuid>> = ledger_binding::Entity::find()
            .filter(ledger_binding::Column::LedgerEntryId.is_in(entries.iter().map(|e| e.id)))
            .all(db)
            .await?
            .into_iter()
            .map(|b| (b.ledger_entry_id, b.event_id))
            .collect();
        let event_ids: BTreeSet<Uuid> = bindings.values().flatten().copied().collect();
        let events: HashMap<Uuid, audit_event::Model> = audit_event::Entity::find()
            .filter(audit_event::Column::Id.is_in(event_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        for entry in &entries {
            check.entries_checked += 1;
            let event = match bindings.get(&entry.id) {
                None => {
                    check.found(finding(
                        FindingKind::Inserted,
                        entry.id,
                        pool_id,
                        None,
                        "no audit event records this entry: it was written into the ledger outside the server".to_owned(),
                    ));
                    continue;
                }
                Some(None) => {
                    check.entries_unbound += 1;
                    continue;
                }
                Some(Some(event_id)) => {
                    match events.get(event_id) {
                        Some(event) => event,
                        None => {
                            check.found(finding(
                            FindingKind::Inserted,
                            entry.id,
                            pool_id,
                            None,
                            format!("its binding names the event {event_id}, which is not in the trail"),
                        ));
                            continue;
                        }
                    }
                }
            };
            match against(entry, event) {
                Some((kind, problem)) => {
                    check.found(finding(kind, entry.id, pool_id, Some(event), problem));
                }
                None => check.entries_bound += 1,
            }
        }
        if (entries.len() as u64) < PAGE {
            return Ok(());
        }
    }
}

/// What is wrong with an entry, held against the event that binds it.
fn against(
    entry: &ledger_entry::Model,
    event: &audit_event::Model,
) -> Option<(FindingKind, String)> {
    let seq = event.seq;
    if !content_intact(event) || event_hash(event) != event.hash {
        return Some((
            FindingKind::Edited,
            format!(
                "the event that records it (number {seq}) no longer matches its own hash, so the entry cannot be checked against it"
            ),
        ));
    }
    let bound = bindings_in(&event.changes);
    match bound.iter().find(|b| b.id == entry.id) {
        None => Some((
            FindingKind::Inserted,
            format!("the event its binding names (number {seq}) does not record this entry"),
        )),
        Some(Binding {
            digest: recorded, ..
        }) if *recorded != digest(entry) => Some((
            FindingKind::Edited,
            format!(
                "its columns no longer match the digest event {seq} recorded: it was changed after it was written"
            ),
        )),
        Some(_) => None,
    }
}

/// Each entry the pool's booking events recorded, against the ledger.
async fn check_events(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    check: &mut LedgerCheck,
) -> AppResult<()> {
    let actions: Vec<&str> = BOOKING_ACTIONS.iter().map(|a| a.as_str()).collect();
    let mut after: Option<Uuid> = None;
    loop {
        let events = page_after(
            db,
            audit_event::Entity::find()
                .filter(audit_event::Column::PoolId.eq(pool_id))
                .filter(audit_event::Column::Action.is_in(actions.iter().copied())),
            audit_event::Column::Id,
            after,
        )
        .await?;
        let Some(last) = events.last() else {
            return Ok(());
        };
        after = Some(last.id);
        let bound: Vec<(Binding, &audit_event::Model)> = events
            .iter()
            .flat_map(|e| bindings_in(&e.changes).into_iter().map(move |b| (b, e)))
            .collect();
        let mut stored: HashMap<Uuid, Uuid> = HashMap::new();
        for ids in bound.chunks(PAGE as usize) {
            let rows: Vec<(Uuid, Uuid)> = ledger_entry::Entity::find()
                .select_only()
                .column(ledger_entry::Column::Id)
                .column(ledger_entry::Column::PoolId)
                .filter(ledger_entry::Column::Id.is_in(ids.iter().map(|(b, _)| b.id)))
                .into_tuple()
                .all(db)
                .await?;
            stored.extend(rows);
        }
        for (binding, event) in &bound {
            let seq = event.seq;
            let (kind, problem) = match stored.get(&binding.id) {
                None => (
                    FindingKind::Deleted,
                    format!("event {seq} recorded this entry, and it is no longer in the ledger"),
                ),
                Some(now_in) if *now_in != pool_id => (
                    FindingKind::Edited,
                    format!(
                        "event {seq} recorded this entry in this pool; it is now in the pool {now_in}"
                    ),
                ),
                Some(_) => continue,
            };
            check.found(finding(kind, binding.id, pool_id, Some(event), problem));
        }
        if (events.len() as u64) < PAGE {
            return Ok(());
        }
    }
}

/// The next [`PAGE`] rows of `select` in `id` order, after `after`.
async fn page_after<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: impl ColumnTrait,
    after: Option<Uuid>,
) -> AppResult<Vec<E::Model>> {
    let mut select = select.order_by_asc(id).limit(PAGE);
    if let Some(after) = after {
        select = select.filter(id.gt(after));
    }
    Ok(select.all(db).await?)
}

fn finding(
    kind: FindingKind,
    entry_id: Uuid,
    pool_id: Uuid,
    event: Option<&audit_event::Model>,
    problem: String,
) -> Finding {
    Finding {
        kind,
        entry_id,
        pool_id,
        event_id: event.map(|e| e.id),
        seq: event.map(|e| e.seq),
        problem,
    }
}
