use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{app_provisioner, audit_event, webhook_delivery, webhook_endpoint};

/// An integrator's URL that hears about events.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Set for a parent entity's endpoint (it hears every pool's events).
    async fn parent_entity_id(&self) -> Option<ID> {
        self.0.parent_entity_id.map(|id| ID(id.to_string()))
    }
    /// Set for one pool's endpoint.
    async fn pool_id(&self) -> Option<ID> {
        self.0.pool_id.map(|id| ID(id.to_string()))
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The event types it receives.
    async fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.0.events).unwrap_or_default()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was deleted; nothing is delivered to it after.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
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
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
}

/// One event on its way to one endpoint.
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The event's id, the same on every attempt (`X-Pools-Event-Id`).
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        match self.0.status.as_str() {
            "DELIVERED" => WebhookDeliveryStatus::Delivered,
            "FAILED" => WebhookDeliveryStatus::Failed,
            _ => WebhookDeliveryStatus::Pending,
        }
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last answer, if one came.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// For every pool under a parent entity (its stewards); or
    pub parent_entity_id: Option<ID>,
    /// for one pool (its admins).
    pub pool_id: Option<ID>,
    /// Where to POST events (http or https).
    pub url: String,
    /// Event types: formation.submitted, pool.created, member.joined,
    /// member.left, proposal.closed, contribution.changed, expense.paid,
    /// app.ready.
    pub events: Vec<String>,
}

/// Where a parent entity's operators provision one app.
pub struct AppProvisioner(pub app_provisioner::Model);

#[Object]
impl AppProvisioner {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn parent_entity_id(&self) -> ID {
        ID(self.0.parent_entity_id.to_string())
    }
    async fn app_id(&self) -> &str {
        &self.0.app_id
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct SetAppProvisionerInput {
    pub parent_entity_id: ID,
    pub app_id: ID,
    /// The operator's endpoint; requests are signed (see the README).
    pub url: String,
}

/// The provisioner and the secret that signs requests to it and the
/// operator's callbacks, shown this once.
#[derive(SimpleObject)]
pub struct AppProvisionerPayload {
    pub provisioner: AppProvisioner,
    pub secret: String,
}

/// Something that happened in a pool, as live subscribers see it.
pub struct PoolEvent(pub audit_event::Model);

#[Object]
impl PoolEvent {
    /// The event's id: pass it as `after` to resume after it.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Such as `member.joined` or `proposal.closed`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ID(id.to_string()))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// A formation changed; fetch it again for the details.
pub struct FormationUpdate(pub audit_event::Model);

#[Object]
impl FormationUpdate {
    /// The event's id: pass it as `after` to resume after it.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn formation_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ID(id.to_string()))
    }
    /// Such as `formation.named` or `formation.approved`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The fields that changed, before and after.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or_default())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}
