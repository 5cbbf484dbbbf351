//! The hash chain: each event's hash covers its content and the previous
//! event's hash in the same parent entity's chain, so changing, removing or
//! reordering any stored event breaks every link after it.
//!
//! The hash is SHA-256, in lower-case hex, over the compact JSON array
//! `["pools-audit/2", id, chainKey, seq, prevHash, poolPrevHash, occurredAt,
//! actorKind, actorUserId, actorTokenId, action, outcome, entityType,
//! entityId, poolId, parentEntityId, contentDigest, requestId]`, where
//! `contentDigest` is SHA-256 over `[contentSalt, changes, clientAddress]`,
//! `occurredAt` is RFC 3339 in UTC with microseconds, absent values are
//! `null` and `changes` is the stored JSON text as a string. Covering a
//! salted digest of the two values that can hold personal data lets them be
//! erased (`redact`) without breaking the chain. Events written before
//! that have no digest and follow recipe 1, with `changes` and
//! `clientAddress` in place of `contentDigest`. The README shows how to
//! check both without the server.

use chrono::{SubsecRound, Utc};
use entities::{audit_chain_head, audit_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::OnConflict,
};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::services::change::{Action, Author, Change, json_sha256, ledger};
pub use crate::services::change::{chain_key, timestamp};

/// The `prevHash` of a chain's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash an event must carry, recomputed from its stored fields.
pub fn event_hash(e: &audit_event::Model) -> String {
    json_sha256(&Canonical(e))
}

/// What an event's hash covers in place of its changes and client address
/// (recipe 2).
pub fn content_digest(salt: &str, changes: &str, client_address: Option<&str>) -> String {
    json_sha256(&(salt, changes, client_address))
}

/// Whether an unredacted event's values still match its digest (always
/// true for recipe 1, whose hash covers the values themselves).
pub fn content_intact(e: &audit_event::Model) -> bool {
    match (&e.content_digest, &e.content_salt, e.redacted_at) {
        (None, _, _) | (Some(_), _, Some(_)) => true,
        (Some(digest), Some(salt), None) => {
            *digest == content_digest(salt, &e.changes, e.client_address.as_deref())
        }
        (Some(_), None, None) => false,
    }
}

/// An event as the array the hash covers (see the module's documentation).
struct Canonical<'a>(&'a audit_event::Model);

impl serde::Serialize for Canonical<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let e = self.0;
        let mut seq = serializer.serialize_seq(Some(19))?;
        seq.serialize_element(if e.content_digest.is_some() {
            "pools-audit/2"
        } else {
            "pools-audit/1"
        })?;
        seq.serialize_element(&e.id)?;
        seq.serialize_element(&e.chain_key)?;
        seq.serialize_element(&e.seq)?;
        seq.serialize_element(&e.prev_hash)?;
        seq.serialize_element(&e.pool_prev_hash)?;
        seq.serialize_element(&timestamp(e.occurred_at))?;
        seq.serialize_element(&e.actor_kind)?;
        seq.serialize_element(&e.actor_user_id)?;
        seq.serialize_element(&e.actor_token_id)?;
        seq.serialize_element(&e.action)?;
        seq.serialize_element(&e.outcome)?;
        seq.serialize_element(&e.entity_type)?;
        seq.serialize_element(&e.entity_id)?;
        seq.serialize_element(&e.pool_id)?;
        seq.serialize_element(&e.parent_entity_id)?;
        match &e.content_digest {
            Some(digest) => {
                seq.serialize_element(digest)?;
                seq.serialize_element(&e.request_id)?;
            }
            None => {
                seq.serialize_element(&e.changes)?;
                seq.serialize_element(&e.request_id)?;
                seq.serialize_element(&e.client_address)?;
            }
        }
        seq.end()
    }
}

/// Appends one event under the chain head's row lock (SQLite's write
/// transactions are already exclusive).
pub(super) async fn append(
    db: &impl ConnectionTrait,
    by: &Author,
    change: Change,
) -> AppResult<audit_event::Model> {
    let key = chain_key(change.parent_entity_id);
    let head = match lock_head(db, &key).await? {
        Some(head) => head,
        // The chain's first event makes its head; a writer that made it
        // meanwhile wins, and this one waits for it like any other.
        None => {
            audit_chain_head::Entity::insert(audit_chain_head::ActiveModel {
                chain_key: Set(key.clone()),
                seq: Set(0),
                hash: Set(GENESIS.to_owned()),
            })
            .on_conflict(
                OnConflict::column(audit_chain_head::Column::ChainKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            lock_head(db, &key).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("audit chain head {key} vanished"))
            })?
        }
    };
    let mut changes = change.changes;
    if !change.ledger_entries.is_empty() {
        changes.insert(
            ledger::FIELD.to_owned(),
            serde_json::to_value(&change.ledger_entries).map_err(AppError::internal)?,
        );
    }
    // A pool's events are in the chain of the parent it is under; the
    // first one after a move links back into the chain it left.
    let pool_chain = change
        .arrives_from
        .map_or_else(|| key.clone(), |from| chain_key(Some(from)));
    let pool_prev_hash = match change.pool_id {
        Some(pool_id) => Some(
            last_pool_hash(db, pool_id, &pool_chain)
                .await?
                .unwrap_or(GENESIS.to_owned()),
        ),
        None => None,
    };
    let mut event = audit_event::Model {
        id: Uuid::now_v7(),
        chain_key: key,
        seq: head.seq + 1,
        prev_hash: head.hash.clone(),
        pool_prev_hash,
        hash: String::new(),
        // Stored with microseconds on both databases, so hashed the same way.
        occurred_at: Utc::now().trunc_subsecs(6),
        actor_kind: by.kind,
        actor_user_id: by.user_id,
        actor_token_id: by.token_id,
        action: change.action.as_str().to_owned(),
        outcome: change.outcome,
        entity_type: change.entity_type.to_owned(),
        entity_id: change.entity_id,
        pool_id: change.pool_id,
        parent_entity_id: change.parent_entity_id,
        changes: Value::Object(changes).to_string(),
        request_id: by.origin.request_id.clone(),
        client_address: by.origin.client_address.clone(),
        content_salt: Some(hex::encode(rand::random::<[u8; 16]>())),
        content_digest: None,
        redacted_at: None,
    };
    event.content_digest = event
        .content_salt
        .as_deref()
        .map(|salt| content_digest(salt, &event.changes, event.client_address.as_deref()));
    event.hash = event_hash(&event);
    let mut head: audit_chain_head::ActiveModel = head.into();
    head.seq = Set(event.seq);
    head.hash = Set(event.hash.clone());
    head.update(db).await?;
    audit_event::Entity::insert(audit_event::ActiveModel::from(event.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(event)
}

/// The chain's head, locked until the transaction ends: every writer of the
/// chain queues here, so it is read once per event.
async fn lock_head(
    db: &impl ConnectionTrait,
    key: &str,
) -> AppResult<Option<audit_chain_head::Model>> {
    Ok(audit_chain_head::Entity::find_by_id(key.to_owned())
        .lock_exclusive()
        .one(db)
        .await?)
}

/// The pool's last event in one chain. Within a chain a pool's events are
/// in `seq` order; a pool that moved away and back has earlier events in
/// the chain, but the ones since its return come after them.
async fn last_pool_hash(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    chain: &str,
) -> AppResult<Option<String>> {
    Ok(audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Hash)
        .filter(audit_event::Column::PoolId.eq(pool_id))
        .filter(audit_event::Column::ChainKey.eq(chain))
        .order_by_desc(audit_event::Column::Seq)
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await?)
}

/// The first link that does not hold, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub event_id: Option<Uuid>,
    pub problem: String,
}

/// The result of walking a chain.
#[derive(Clone, Debug)]
pub struct Verification {
    pub events_checked: i64,
    /// The last event that checked out (or the checkpoint, if none after
    /// it did): record both to verify from here next time.
    pub head_seq: i64,
    pub head_hash: String,
    pub first_break: Option<Break>,
}

/// A point of a chain that someone verified before: the number and hash
/// of the last event then. A walk from it trusts what came before and
/// checks everything after, so a long chain is verified in parts.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
}

/// Events read per query while verifying.
const VERIFY_BATCH: u64 = 1000;

/// Walks a chain in order, from its start or from a checkpoint, and
/// reports the first broken link: a hash that does not match the content,
/// a link to the wrong predecessor, a gap in the numbering, or a head that
/// points past the last stored event. The next batch is read while the
/// current one is hashed, so the database and the hashing run side by side.
pub async fn verify(
    db: &impl ConnectionTrait,
    key: &str,
    since: Option<&Checkpoint>,
) -> AppResult<Verification> {
    let head = audit_chain_head::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?;
    let mut walk = match since {
        None => Walk {
            start_seq: 0,
            expected_seq: 1,
            prev: GENESIS.to_owned(),
            pool_heads: HashMap::new(),
            crossings: HashMap::new(),
        },
        Some(checkpoint) => match start_at(db, key, checkpoint).await? {
            Ok(walk) => walk,
            Err(first_break) => {
                return Ok(Verification {
                    events_checked: 0,
                    head_seq: checkpoint.seq,
                    head_hash: checkpoint.hash.clone(),
                    first_break: Some(first_break),
                });
            }
        },
    };
    let mut batch = verify_batch(db, key, walk.expected_seq).await?;
    loop {
        if since.is_some() {
            walk.load_pool_heads(db, key, &batch).await?;
        }
        walk.load_crossings(db, key, &batch).await?;
        let done = (batch.len() as u64) < VERIFY_BATCH;
        let next_seq = batch.last().map_or(walk.expected_seq, |e| e.seq + 1);
        let (next, outcome) = tokio::join!(
            async {
                if done {
                    Ok(Vec::new())
                } else {
                    verify_batch(db, key, next_seq).await
                }
            },
            async { walk.check(&batch) },
        );
        if let Some(first_break) = outcome {
            return Ok(walk.result(Some(first_break)));
        }
        if done {
            break;
        }
        batch = next?;
    }
    let checked = walk.expected_seq - 1;
    let first_break = match head {
        Some(h) if h.seq != checked || h.hash != walk.prev => Some(Break {
            seq: checked + 1,
            event_id: None,
            problem: format!(
                "the chain's head records {} events ending in {}, but the stored events end at {checked}",
                h.seq, h.hash
            ),
        }),
        _ => None,
    };
    Ok(walk.result(first_break))
}

/// A walk that starts after the checkpoint's event, or the break if that
/// event is not the one the checkpoint recorded.
async fn start_at(
    db: &impl ConnectionTrait,
    key: &str,
    checkpoint: &Checkpoint,
) -> AppResult<Result<Walk, Break>> {
    let event = audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq(key))
        .filter(audit_event::Column::Seq.eq(checkpoint.seq))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "since.seq",
                format!("this chain has no event number {}", checkpoint.seq),
            )
        })?;
    if event.hash != checkpoint.hash {
        return Ok(Err(Break {
            seq: event.seq,
            event_id: Some(event.id),
            problem: "its stored hash is not the one in your checkpoint: the trail up to it changed after you recorded it".to_owned(),
        }));
    }
    Ok(Ok(Walk {
        start_seq: checkpoint.seq,
        expected_seq: checkpoint.seq + 1,
        prev: checkpoint.hash.clone(),
        pool_heads: HashMap::new(),
        crossings: HashMap::new(),
    }))
}

async fn verify_batch(
    db: &impl ConnectionTrait,
    key: &str,
    from_seq: i64,
) -> AppResult<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq(key))
        .filter(audit_event::Column::Seq.gte(from_seq))
        .order_by_asc(audit_event::Column::Seq)
        .limit(VERIFY_BATCH)
        .all(db)
        .await?)
}

/// Where a walk along a chain has got to.
struct Walk {
    /// The checkpoint it started after (0: the chain's start).
    start_seq: i64,
    expected_seq: i64,
    prev: String,
    /// Each pool's last hash so far, to check the pools' own links.
    pool_heads: HashMap<Uuid, String>,
    /// For the batch's `pool.moved` events, the event each links back to
    /// in another chain: its hash, pool and chain.
    crossings: HashMap<String, (Option<Uuid>, String)>,
}

impl Walk {
    fn result(self, first_break: Option<Break>) -> Verification {
        let head_seq = self.expected_seq - 1;
        Verification {
            events_checked: head_seq - self.start_seq,
            head_seq,
            head_hash: self.prev,
            first_break,
        }
    }

    /// A walk from a checkpoint meets pools whose earlier events it did not
    /// walk: their last hash at the checkpoint is read, one query a batch.
    /// Those events are covered by the checkpoint's hash; a changed one
    /// shows as a broken pool link here.
    async fn load_pool_heads(
        &mut self,
        db: &impl ConnectionTrait,
        key: &str,
        batch: &[audit_event::Model],
    ) -> AppResult<()> {
        let unknown: std::collections::BTreeSet<Uuid> = batch
            .iter()
            .filter_map(|e| e.pool_id)
            .filter(|id| !self.pool_heads.contains_key(id))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let backend = db.get_database_backend();
        let placeholders = (0..unknown.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        // One probe of the (pool_id, seq) index per pool.
        let sql = format!(
            "SELECT p.id AS pool_id,
                    (SELECT e.hash FROM audit_events e
                     WHERE e.pool_id = p.id AND e.chain_key = $2 AND e.seq <= $1
                     ORDER BY e.seq DESC LIMIT 1) AS hash
             FROM pools p WHERE p.id IN ({placeholders})"
        );
        let mut values: Vec<sea_orm::Value> = vec![self.start_seq.into(), key.into()];
        values.extend(unknown.iter().map(|id| sea_orm::Value::from(*id)));
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend, sql, values,
            ))
            .await?;
        for id in &unknown {
            self.pool_heads.insert(*id, GENESIS.to_owned());
        }
        for row in rows {
            let pool_id: Uuid = row.try_get("", "pool_id")?;
            if let Some(hash) = row.try_get::<Option<String>>("", "hash")? {
                self.pool_heads.insert(pool_id, hash);
            }
        }
        Ok(())
    }

    /// A pool that moved into this chain links its first event here back
    /// to its last one in the chain it left: those events are read, one
    /// query a batch, so that the link can be held to an event of the same
    /// pool elsewhere. That event's own chain vouches for it.
    async fn load_crossings(
        &mut self,
        db: &impl ConnectionTrait,
        key: &str,
        batch: &[audit_event::Model],
    ) -> AppResult<()> {
        self.crossings.clear();
        let links: Vec<&str> = batch
            .iter()
            .filter(|e| e.action == Action::PoolMoved.as_str())
            .filter_map(|e| e.pool_prev_hash.as_deref())
            .collect();
        if links.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, Option<Uuid>, String)> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Hash)
            .column(audit_event::Column::PoolId)
            .column(audit_event::Column::ChainKey)
            .filter(audit_event::Column::Hash.is_in(links))
            .filter(audit_event::Column::ChainKey.ne(key))
            .into_tuple()
            .all(db)
            .await?;
        self.crossings = rows
            .into_iter()
            .map(|(hash, pool, chain)| (hash, (pool, chain)))
            .collect();
        Ok(())
    }

    /// Whether `e`, a pool's event, links to the pool's previous one: in
    /// this chain, or for the event that recorded its arrival, in the chain
    /// it came from.
    fn pool_link_holds(&self, pool_id: Uuid, e: &audit_event::Model) -> bool {
        let expected = self
            .pool_heads
            .get(&pool_id)
            .map_or(GENESIS, String::as_str);
        let Some(link) = e.pool_prev_hash.as_deref() else {
            return false;
        };
        link == expected
            || (e.action == Action::PoolMoved.as_str()
                && self
                    .crossings
                    .get(link)
                    .is_some_and(|(pool, _)| *pool == Some(pool_id)))
    }

    /// Checks the next events in order; the first that fails, if any.
    fn check(&mut self, batch: &[audit_event::Model]) -> Option<Break> {
        for e in batch {
            let problem = if e.seq != self.expected_seq {
                Some(format!(
                    "event {} is missing: the next stored event is number {}",
                    self.expected_seq, e.seq
                ))
            } else if e.prev_hash != self.prev {
                Some("its link does not match the previous event's hash".to_owned())
            } else if !content_intact(e) {
                Some(
                    "its changes or client address do not match their digest: they were altered after they were written"
                        .to_owned(),
                )
            } else if event_hash(e) != e.hash {
                Some(
                    "its content does not match its hash: it was altered after it was written"
                        .to_owned(),
                )
            } else if let Some(pool_id) = e.pool_id {
                (!self.pool_link_holds(pool_id, e))
                    .then(|| "its link to the pool's previous event does not match".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Some(Break {
                    seq: e.seq,
                    event_id: Some(e.id),
                    problem,
                });
            }
            if let Some(pool_id) = e.pool_id {
                self.pool_heads.insert(pool_id, e.hash.clone());
            }
            self.prev = e.hash.clone();
            self.expected_seq += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sha2::{Digest, Sha256};

    /// The recipes as the README states them, built the plain way.
    fn reference_hash(e: &audit_event::Model) -> String {
        let id = |v: Option<Uuid>| v.map(|u| u.to_string());
        let sha = |v: serde_json::Value| hex::encode(Sha256::digest(v.to_string().as_bytes()));
        let mut canonical = vec![
            serde_json::json!(if e.content_digest.is_some() {
                "pools-audit/2"
            } else {
                "pools-audit/1"
            }),
            e.id.to_string().into(),
            e.chain_key.clone().into(),
            e.seq.into(),
            e.prev_hash.clone().into(),
            serde_json::json!(e.pool_prev_hash),
            timestamp(e.occurred_at).into(),
            serde_json::json!(e.actor_kind),
            serde_json::json!(id(e.actor_user_id)),
            serde_json::json!(id(e.actor_token_id)),
            e.action.clone().into(),
            serde_json::json!(e.outcome),
            e.entity_type.clone().into(),
            serde_json::json!(id(e.entity_id)),
            serde_json::json!(id(e.pool_id)),
            serde_json::json!(id(e.parent_entity_id)),
        ];
        match &e.content_salt {
            Some(salt) => {
                let digest = sha(serde_json::json!([salt, e.changes, e.client_address]));
                assert_eq!(e.content_digest.as_ref(), Some(&digest));
                canonical.extend([digest.into(), serde_json::json!(e.request_id)]);
            }
            None => canonical.extend([
                e.changes.clone().into(),
                serde_json::json!(e.request_id),
                serde_json::json!(e.client_address),
            ]),
        }
        sha(serde_json::Value::Array(canonical))
    }

    fn event(with_optionals: bool) -> audit_event::Model {
        fn some<T>(on: bool, v: T) -> Option<T> {
            on.then_some(v)
        }
        let o = with_optionals;
        audit_event::Model {
            id: Uuid::now_v7(),
            chain_key: Uuid::now_v7().to_string(),
            seq: 42,
            prev_hash: GENESIS.to_owned(),
            pool_prev_hash: some(o, "ab".repeat(32)),
            hash: String::new(),
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 22, 23, 49, 10).unwrap()
                + chrono::Duration::microseconds(123_456),
            actor_kind: audit_event::ActorKind::Session,
            actor_user_id: some(o, Uuid::now_v7()),
            actor_token_id: some(o, Uuid::now_v7()),
            action: "pool.renamed".into(),
            outcome: audit_event::Outcome::Succeeded,
            entity_type: "Pool".into(),
            entity_id: some(o, Uuid::now_v7()),
            pool_id: some(o, Uuid::now_v7()),
            parent_entity_id: some(o, Uuid::now_v7()),
            changes: r#"{"name":{"before":"Café \"Ciclos\"","after":"Ciclos\n€ ✓"}}"#.into(),
            request_id: some(o, "req-1".into()),
            client_address: some(o, "192.0.2.1".into()),
            content_salt: None,
            content_digest: None,
            redacted_at: None,
        }
    }

    /// The same event as written today (recipe 2).
    fn salted(with_optionals: bool) -> audit_event::Model {
        let mut e = event(with_optionals);
        let salt = "00112233445566778899aabbccddeeff".to_owned();
        e.content_digest = Some(content_digest(
            &salt,
            &e.changes,
            e.client_address.as_deref(),
        ));
        e.content_salt = Some(salt);
        e
    }

    #[test]
    fn the_streamed_hash_follows_the_published_recipes() {
        for with_optionals in [true, false] {
            for e in [event(with_optionals), salted(with_optionals)] {
                assert_eq!(
                    event_hash(&e),
                    reference_hash(&e),
                    "optionals: {with_optionals}, salted: {}",
                    e.content_salt.is_some()
                );
            }
        }
    }

    #[test]
    fn redacting_keeps_the_hash_and_altering_does_not() {
        let e = salted(true);
        let hash = event_hash(&e);
        assert!(content_intact(&e));

        let mut altered = e.clone();
        altered.changes = r#"{"name":{"after":"something else"}}"#.into();
        assert!(
            !content_intact(&altered),
            "a changed value no longer matches its digest"
        );
        assert_eq!(event_hash(&altered), hash, "the digest alone is hashed");

        let mut redacted = altered;
        redacted.content_salt = None;
        redacted.client_address = None;
        redacted.redacted_at = Some(Utc::now());
        assert!(content_intact(&redacted));
        assert_eq!(event_hash(&redacted), hash);

        let mut unsalted = e.clone();
        unsalted.content_salt = None;
        assert!(
            !content_intact(&unsalted),
            "a digest without its salt and no redaction is a break"
        );
    }

    #[test]
    fn timestamps_always_carry_six_fractional_digits() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp(t), "2026-01-02T03:04:05.000000Z");
    }
}
