use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::audit_event;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{User, loader_error},
    },
    services::{audit::chain::Verification, audit_trail::AuditFilter},
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

/// One change, or refused attempt, in the audit trail. Events are never
/// changed or deleted; `hash` covers the content and `prevHash` (see the
/// README for how to check the chain without the server).
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Position in the parent entity's chain, from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn actor_kind(&self) -> AuditActorKind {
        self.0.actor_kind.into()
    }
    /// The person who acted, if any.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.actor_user_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .users
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(User))
    }
    /// The API token or session the request came with.
    async fn token_id(&self) -> Option<ID> {
        self.0.actor_token_id.map(|id| ID(id.to_string()))
    }
    /// `<entity>.<verb>`, such as `member.removed`; refusals are
    /// `<mutation>.denied`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn outcome(&self) -> AuditOutcome {
        self.0.outcome.into()
    }
    /// The GraphQL type of the changed object (`Member`, `Pool`…).
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ID(id.to_string()))
    }
    async fn pool_id(&self) -> Option<ID> {
        self.0.pool_id.map(|id| ID(id.to_string()))
    }
    async fn parent_entity_id(&self) -> Option<ID> {
        self.0.parent_entity_id.map(|id| ID(id.to_string()))
    }
    /// `{field: {before, after}}` for changed fields, `{field: {after}}`
    /// for new objects, plus facts such as a removal's reason.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or_default())
    }
    /// The request id the caller's response carried.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    async fn client_address(&self) -> Option<&str> {
        self.0.client_address.as_deref()
    }
    async fn hash(&self) -> &str {
        &self.0.hash
    }
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
    /// The hash of the same pool's previous event, for pool events.
    async fn pool_prev_hash(&self) -> Option<&str> {
        self.0.pool_prev_hash.as_deref()
    }
}

/// Which audit events to list: give exactly one of `parentEntityId` and
/// `poolId`.
#[derive(InputObject)]
pub struct AuditEventsInput {
    pub parent_entity_id: Option<ID>,
    pub pool_id: Option<ID>,
    /// Only what this person did.
    pub actor_id: Option<ID>,
    /// Only this action, such as `member.removed`.
    pub action: Option<String>,
    /// Only changes to this type, such as `Member`.
    pub entity_type: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (exclusive).
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
    pub seq: i64,
    pub hash: String,
}

/// The result of walking a parent entity's audit chain.
#[derive(SimpleObject)]
pub struct AuditTrailVerification {
    /// Whether every link holds.
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

impl From<Verification> for AuditTrailVerification {
    fn from(v: Verification) -> Self {
        Self {
            valid: v.first_break.is_none(),
            events_checked: v.events_checked,
            head_seq: v.head_seq,
            head_hash: v.head_hash,
            first_break: v.first_break.map(|b| AuditChainBreak {
                seq: b.seq,
                event_id: b.event_id.map(|id| ID(id.to_string())),
                problem: b.problem,
            }),
        }
    }
}
