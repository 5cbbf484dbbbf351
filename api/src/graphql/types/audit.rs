use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::audit_event;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::Ctx,
        ids::uuid,
        scalars::Json,
        types::{LedgerVerification, User, loader_error},
    },
    services::audit_trail::{AuditFilter, TrailVerification},
};

/// Who caused an audit event.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::audit_event::ActorKind")]
pub enum AuditActorKind {
    /// A signed-in person.
    Session,
    /// An integrator's API token (its owner is the actor).
    ApiToken,
    /// A caller without a token (signing up or in).
    Anonymous,
    /// The server itself: closing proposals, payment notifications.
    System,
}

/// Whether the operation happened.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::audit_event::Outcome")]
pub enum AuditOutcome {
    Succeeded,
    /// Refused for lack of permission; nothing changed.
    Denied,
}

// One change, or refused attempt, in the audit trail. Events are never
// changed or deleted; `hash` covers the content and `prevHash` (see the
// README for how to check the chain without the server).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuditEvent {
    pub(crate) id: ID,
    /// Position in the parent entity's chain, from 1.
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_kind: AuditActorKind,
    /// The API token or session the request came with.
    token_id: Option<ID>,
    /// `<entity>.<verb>`, such as `member.removed`; refusals are
    /// `<mutation>.denied`.
    action: String,
    outcome: AuditOutcome,
    /// The GraphQL type of the changed object (`Member`, `Pool`…).
    entity_type: String,
    entity_id: Option<ID>,
    pool_id: Option<ID>,
    parent_entity_id: Option<ID>,
    /// The request id the caller's response carried.
    request_id: Option<String>,
    client_address: Option<String>,
    hash: String,
    prev_hash: String,
    /// The hash of the same pool's previous event, for pool events.
    pool_prev_hash: Option<String>,
    /// Random per event; with `changes` and `clientAddress` it gives
    /// `contentDigest`. Gone once the event is redacted.
    content_salt: Option<String>,
    /// What `hash` covers in place of `changes` and `clientAddress`
    /// (recipe `pools-audit/2`); null for events of recipe 1.
    content_digest: Option<String>,
    /// When a deleted account's data was erased from `changes` and
    /// `clientAddress`; the digest, and so the chain, are unchanged.
    redacted_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    actor_user_id: Option<Uuid>,
    /// Parsed only when asked for: a page of events is often read without.
    #[graphql(skip)]
    changes_json: String,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(m: audit_event::Model) -> Self {
        Self {
            id: m.id.into(),
            seq: m.seq,
            occurred_at: m.occurred_at,
            actor_kind: m.actor_kind.into(),
            token_id: m.actor_token_id.map(Into::into),
            action: m.action,
            outcome: m.outcome.into(),
            entity_type: m.entity_type,
            entity_id: m.entity_id.map(Into::into),
            pool_id: m.pool_id.map(Into::into),
            parent_entity_id: m.parent_entity_id.map(Into::into),
            changes_json: m.changes,
            request_id: m.request_id,
            client_address: m.client_address,
            hash: m.hash,
            prev_hash: m.prev_hash,
            pool_prev_hash: m.pool_prev_hash,
            content_salt: m.content_salt,
            content_digest: m.content_digest,
            redacted_at: m.redacted_at,
            actor_user_id: m.actor_user_id,
        }
    }
}

// The changes, parsed when asked for, and the actor, through the loader.
#[ComplexObject]
impl AuditEvent {
    /// `{field: {before, after}}` for changed fields, `{field: {after}}`
    /// for new objects, plus facts such as a removal's reason.
    async fn changes(&self) -> Json {
        Json(serde_json::from_str(&self.changes_json).unwrap_or_default())
    }
    /// The person who acted, if any.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.actor_user_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .users()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(User::from))
    }
}

/// Which audit events to list: give exactly one of `parentEntityId` and
/// `poolId`.
#[derive(InputObject)]
pub struct AuditEventsInput {
    /// A parent entity's whole trail; give either this or `poolId`.
    pub parent_entity_id: Option<ID>,
    /// One pool's trail; give either this or `parentEntityId`.
    pub pool_id: Option<ID>,
    /// Only what this person did.
    pub actor_id: Option<ID>,
    /// Only this action, such as `member.removed`: 1 to 64 characters.
    pub action: Option<String>,
    /// Only changes to this type, such as `Member`: 1 to 32 characters.
    pub entity_type: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (exclusive); later than `from`.
    pub to: Option<DateTime<Utc>>,
}

impl TryFrom<AuditEventsInput> for AuditFilter {
    type Error = AppError;
    fn try_from(input: AuditEventsInput) -> AppResult<Self> {
        Ok(Self {
            parent_entity_id: uuid!(input.parent_entity_id)?,
            pool_id: uuid!(input.pool_id)?,
            actor_id: uuid!(input.actor_id)?,
            action: input.action,
            entity_type: input.entity_type,
            from: input.from,
            to: input.to,
        })
    }
}

/// A point of the chain verified before: `headSeq` and `headHash` from an
/// earlier verification. Walking from it checks only what came after.
#[derive(InputObject)]
pub struct AuditCheckpointInput {
    /// The number of an event, 1 or more.
    pub seq: i64,
    /// The event's hash as verification returns it: 64 lower-case hex digits.
    pub hash: String,
}

/// The result of walking a parent entity's audit chain and checking its
/// pools' ledgers against it.
#[derive(SimpleObject)]
pub struct AuditTrailVerification {
    /// Whether every link holds and every ledger entry checked matches the
    /// event that recorded it (`ledger.valid`).
    pub valid: bool,
    /// Events checked before the first break (all of them when valid),
    /// after the checkpoint when one was given.
    pub events_checked: i64,
    /// The number of the last event that checked out (the checkpoint's,
    /// if none after it did). Keep it with `headHash` as your next
    /// checkpoint.
    pub head_seq: i64,
    /// The hash of the last event that checked out.
    pub head_hash: String,
    /// The first broken link, if any.
    pub first_break: Option<AuditChainBreak>,
    /// The pools' ledgers held against the events that recorded them.
    pub ledger: LedgerVerification,
}

/// Where and why a chain stops checking out.
#[derive(SimpleObject)]
pub struct AuditChainBreak {
    /// The position of the first event that fails.
    pub seq: i64,
    /// That event, when it is stored.
    pub event_id: Option<ID>,
    pub problem: String,
}

impl From<TrailVerification> for AuditTrailVerification {
    fn from(TrailVerification { chain: v, ledger }: TrailVerification) -> Self {
        let ledger = LedgerVerification::from(ledger);
        Self {
            valid: v.first_break.is_none() && ledger.valid,
            events_checked: v.events_checked,
            head_seq: v.head_seq,
            head_hash: v.head_hash,
            first_break: v.first_break.map(|b| AuditChainBreak {
                seq: b.seq,
                event_id: b.event_id.map(|id| ID(id.to_string())),
                problem: b.problem,
            }),
            ledger,
        }
    }
}
