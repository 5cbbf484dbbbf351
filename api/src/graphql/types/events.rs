use async_graphql::{Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{app_provisioner, audit_event, webhook_delivery, webhook_endpoint};

use crate::{
    error::{AppError, AppResult},
    graphql::{ids::uuid, scalars::Json},
    services::webhooks,
};

// An integrator's URL that hears about events.
#[derive(SimpleObject)]
pub struct WebhookEndpoint {
    pub(crate) id: ID,
    /// Set for a parent entity's endpoint (it hears every pool's events).
    parent_entity_id: Option<ID>,
    /// Set for one pool's endpoint.
    pool_id: Option<ID>,
    url: String,
    /// The event types it receives.
    events: Vec<String>,
    created_at: DateTime<Utc>,
    /// When it was deleted; nothing is delivered to it after.
    deleted_at: Option<DateTime<Utc>>,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(m: webhook_endpoint::Model) -> Self {
        Self {
            id: m.id.into(),
            parent_entity_id: m.parent_entity_id.map(Into::into),
            pool_id: m.pool_id.map(Into::into),
            url: m.url,
            events: serde_json::from_str(&m.events).unwrap_or_default(),
            created_at: m.created_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// The endpoint and its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedWebhookEndpoint {
    pub endpoint: WebhookEndpoint,
    /// Verify `X-Pools-Signature` with it (see the README).
    pub secret: String,
}

/// How a delivery stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::webhook_delivery::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
}

// One event on its way to one endpoint.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    pub(crate) id: ID,
    /// The event's id, the same on every attempt (`X-Pools-Event-Id`).
    event_id: ID,
    status: WebhookDeliveryStatus,
    attempts: i32,
    /// The HTTP status of the last answer, if one came.
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(m: webhook_delivery::Model) -> Self {
        Self {
            id: m.id.into(),
            event_id: m.event_id.into(),
            status: m.status.into(),
            attempts: m.attempts,
            last_status_code: m.last_status_code,
            last_error: m.last_error,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// For every pool under a parent entity (its stewards); give either
    /// this or `poolId`.
    pub parent_entity_id: Option<ID>,
    /// For one pool (its admins); give either this or `parentEntityId`.
    pub pool_id: Option<ID>,
    /// Where to POST events: an `http` or `https` URL (only `https` in
    /// production) of at most 2048 characters, naming a host on a public
    /// address, with no user name or password.
    pub url: String,
    /// Event types, at least one: formation.submitted, pool.created,
    /// member.joined, member.left, proposal.closed, contribution.changed,
    /// expense.paid, app.ready.
    pub events: Vec<String>,
}

impl TryFrom<CreateWebhookEndpointInput> for webhooks::CreateInput {
    type Error = AppError;
    fn try_from(input: CreateWebhookEndpointInput) -> AppResult<Self> {
        Ok(Self {
            parent_entity_id: uuid!(input.parent_entity_id)?,
            pool_id: uuid!(input.pool_id)?,
            url: input.url,
            events: input.events,
        })
    }
}

// Where a parent entity's operators provision one app.
#[derive(SimpleObject)]
pub struct AppProvisioner {
    pub(crate) id: ID,
    parent_entity_id: ID,
    app_id: String,
    url: String,
    updated_at: DateTime<Utc>,
}

impl From<app_provisioner::Model> for AppProvisioner {
    fn from(m: app_provisioner::Model) -> Self {
        Self {
            id: m.id.into(),
            parent_entity_id: m.parent_entity_id.into(),
            app_id: m.app_id,
            url: m.url,
            updated_at: m.updated_at,
        }
    }
}

#[derive(InputObject)]
pub struct SetAppProvisionerInput {
    pub parent_entity_id: ID,
    pub app_id: ID,
    /// The operator's endpoint; requests are signed (see the README). An
    /// `http` or `https` URL (only `https` in production) of at most 2048
    /// characters, naming a host on a public address, with no user name or
    /// password.
    pub url: String,
}

/// The provisioner and the secret that signs requests to it and the
/// operator's callbacks, shown this once.
#[derive(SimpleObject)]
pub struct AppProvisionerPayload {
    pub provisioner: AppProvisioner,
    pub secret: String,
}

// Something that happened in a pool, as live subscribers see it.
#[derive(SimpleObject)]
pub struct PoolEvent {
    /// The event's id: pass it as `after` to resume after it.
    id: ID,
    /// Such as `member.joined` or `proposal.closed`.
    action: String,
    entity_type: String,
    entity_id: Option<ID>,
    occurred_at: DateTime<Utc>,
}

impl From<audit_event::Model> for PoolEvent {
    fn from(m: audit_event::Model) -> Self {
        Self {
            id: m.id.into(),
            action: m.action,
            entity_type: m.entity_type,
            entity_id: m.entity_id.map(Into::into),
            occurred_at: m.occurred_at,
        }
    }
}

// A formation changed; fetch it again for the details.
#[derive(SimpleObject)]
pub struct FormationUpdate {
    /// The event's id: pass it as `after` to resume after it.
    id: ID,
    formation_id: Option<ID>,
    /// Such as `formation.named` or `formation.approved`.
    action: String,
    /// The fields that changed, before and after.
    changes: Json,
    occurred_at: DateTime<Utc>,
}

impl From<audit_event::Model> for FormationUpdate {
    fn from(m: audit_event::Model) -> Self {
        Self {
            id: m.id.into(),
            formation_id: m.entity_id.map(Into::into),
            action: m.action,
            changes: Json(serde_json::from_str(&m.changes).unwrap_or_default()),
            occurred_at: m.occurred_at,
        }
    }
}
