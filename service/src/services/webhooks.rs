//! Webhooks for integrators: endpoints subscribe to a parent entity's or a
//! pool's events; each event is written with its deliveries and their jobs
//! in the transaction of the change (by the outbox, see
//! [`outbox::webhook_events`]), then delivered at least once, signed, with
//! retries. Order across events is not promised.

use chrono::Utc;
use entities::{
    job,
    webhook_delivery::{self, DeliveryStatus},
    webhook_endpoint, webhook_event,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    error::{AppError, AppResult, FieldError},
    metrics::DeliveryOutcome,
    outbound::{self, Failure, GuardedClient, Refusal},
    payments::signature,
    services::{
        audit::{self, Action, Change},
        begin_write,
        jobs::{JobError, JobResult},
        lock,
        membership::{find_pool, require_admin, require_admin_reader},
        outbox::webhook_events::{DeliverWebhook, EVENT_TYPES},
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

/// The signing secret of an endpoint: derived from the server's secret and
/// the endpoint's id, so it is never stored and is shown once at creation.
pub fn secret_for(state: &AppState, endpoint_id: Uuid) -> String {
    derived_secret(state, "whsec_", "webhook-endpoint", endpoint_id)
}

pub fn derived_secret(state: &AppState, prefix: &str, purpose: &str, id: Uuid) -> String {
    let key = crate::auth::tokens::hash_token(
        state.config.auth_secret.expose(),
        &format!("{purpose}:{id}"),
    );
    format!("{prefix}{key}")
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs.
pub fn signature_header(secret: &str, body: &[u8]) -> String {
    let t = Utc::now().timestamp();
    format!("t={t},v1={}", signature::sign(secret, t, body))
}

/// A signed POST that was not accepted: the status code, if any answer
/// came, why, as a person reads it, and whether trying again can help.
pub struct Refused {
    pub status: Option<u16>,
    pub reason: String,
    /// Refused by policy (the URL or its addresses): never retried.
    pub permanent: bool,
}

impl Refused {
    /// The job's outcome: a policy refusal is final, the rest retried.
    pub fn into_job_error(self) -> JobError {
        if self.permanent {
            JobError::Permanent(self.reason)
        } else {
            JobError::Retry(self.reason)
        }
    }
}

/// POSTs a JSON body signed with `secret` (as [`signature_header`]) to
/// `url` through the guarded client; `who` names the other side in the
/// reasons (`the endpoint`). The status code of a 2xx answer, or why not.
pub async fn post_signed(
    client: &GuardedClient,
    url: &str,
    secret: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    who: &str,
) -> Result<u16, Refused> {
    let mut all = vec![
        ("content-type", "application/json".to_owned()),
        ("x-pools-signature", signature_header(secret, &body)),
    ];
    all.extend(headers.iter().map(|(name, value)| (*name, value.clone())));
    let failure = match client.post(url, &all, body).await {
        Ok(status) => return Ok(status),
        Err(failure) => failure,
    };
    let (status, reason, permanent) = match failure {
        Failure::Refused(refusal) if refusal.is_policy() => {
            (None, format!("refused by policy: {refusal}"), true)
        }
        Failure::Refused(refusal) => (
            None,
            format!("{who} could not be reached: {refusal}"),
            false,
        ),
        Failure::Redirect(code) => (
            Some(code),
            format!("{who} answered with a redirect (HTTP {code}), which is not followed"),
            false,
        ),
        Failure::Status(code) => (Some(code), format!("{who} answered HTTP {code}"), false),
        Failure::Timeout => (None, format!("{who} did not answer in time"), false),
        Failure::Unreachable => (None, format!("{who} could not be reached"), false),
    };
    Err(Refused {
        status,
        reason,
        permanent,
    })
}

/// At registration, before any permission check: the checks of a URL
/// that need no lookup. The message for a `VALIDATION` error.
pub fn check_registered_url(state: &AppState, url: &str) -> Result<(), String> {
    outbound::check_url(url, &state.http.policy())
        .map(|_| ())
        .map_err(refusal_message)
}

/// At registration, once the caller may register: the URL of an endpoint
/// or provisioner is refused as a call to it would be (the host name is
/// looked up now). The message for a `VALIDATION` error.
pub async fn check_target(state: &AppState, url: &str) -> Result<(), String> {
    state
        .http
        .check_target(url)
        .await
        .map(|_| ())
        .map_err(refusal_message)
}

fn refusal_message(refusal: Refusal) -> String {
    match refusal {
        Refusal::Url(message) | Refusal::Unresolved(message) => message,
        Refusal::Address(message) => {
            format!("is refused by policy: {message}; only public addresses are reachable")
        }
    }
}

pub struct CreateInput {
    pub parent_entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub url: String,
    pub events: Vec<String>,
}

/// Which endpoints: a parent's or a pool's.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    Parent(Uuid),
    Pool(Uuid),
}

impl Owner {
    pub fn of(parent_entity_id: Option<Uuid>, pool_id: Option<Uuid>) -> AppResult<Self> {
        match (parent_entity_id, pool_id) {
            (Some(p), None) => Ok(Self::Parent(p)),
            (None, Some(p)) => Ok(Self::Pool(p)),
            _ => Err(AppError::invalid(
                "input.parentEntityId",
                "give either parentEntityId or poolId",
            )),
        }
    }
}

/// Stewards manage a parent's endpoints, admins a pool's. Returns the
/// change to record, scoped to the endpoint's owner.
async fn require_manager(
    db: &impl ConnectionTrait,
    actor: &Actor,
    owner: Owner,
    change: Change,
) -> AppResult<Change> {
    match owner {
        Owner::Parent(id) => {
            permissions::require_steward(db, id, actor.user_id).await?;
            Ok(change.in_parent(id))
        }
        Owner::Pool(id) => {
            let pool = find_pool(db, id).await?;
            require_admin(db, &pool, actor.user_id).await?;
            Ok(change.in_pool(&pool))
        }
    }
}

/// Stewards and auditors read a parent's endpoints; a pool's admins, and
/// its parent's stewards and auditors, read the pool's.
async fn require_reader(db: &impl ConnectionTrait, actor: &Actor, owner: Owner) -> AppResult<()> {
    match owner {
        Owner::Parent(id) => permissions::require_steward_or_auditor(db, id, actor.user_id)
            .await
            .map(|_| ()),
        Owner::Pool(id) => {
            let pool = find_pool(db, id).await?;
            require_admin_reader(
                db,
                &pool,
                actor.user_id,
                "only admins of this pool may see its webhooks",
            )
            .await
        }
    }
}

/// Whether `actor` reads `endpoint` and its deliveries, as
/// `webhookEndpoints` and `webhookDeliveries` decide; a refusal is `false`.
pub async fn sees_endpoint(
    db: &impl ConnectionTrait,
    actor: &Actor,
    endpoint: &webhook_endpoint::Model,
) -> AppResult<bool> {
    match require_reader(db, actor, owner_of(endpoint)?).await {
        Ok(()) => Ok(true),
        Err(AppError::Forbidden(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Creates an endpoint and returns it with its signing secret (shown once).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: CreateInput,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let owner = Owner::of(input.parent_entity_id, input.pool_id)?;
    // Only someone who may register has the input checked, and makes this
    // server look a name up (outside the write transaction).
    let id = Uuid::now_v7();
    let change = || Change::new(Action::WebhookEndpointCreated, "WebhookEndpoint", id);
    require_manager(&state.db, actor, owner, change()).await?;
    let mut errors = Vec::new();
    let url = input.url.trim().to_owned();
    if let Err(message) = check_registered_url(state, &url) {
        errors.push(FieldError::new("input.url", message));
    }
    if input.events.is_empty() {
        errors.push(FieldError::new(
            "input.events",
            format!("choose at least one of: {}", EVENT_TYPES.join(", ")),
        ));
    }
    for (i, e) in input.events.iter().enumerate() {
        if !EVENT_TYPES.contains(&e.as_str()) {
            errors.push(FieldError::new(
                format!("input.events[{i}]"),
                format!(
                    "`{e}` is not an event; choose from {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut events = input.events;
    events.sort();
    events.dedup();
    check_target(state, &url)
        .await
        .map_err(|message| AppError::invalid("input.url", message))?;
    let txn = begin_write(&state.db).await?;
    let change = require_manager(&txn, actor, owner, change()).await?;
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(id),
        parent_entity_id: Set(match owner {
            Owner::Parent(id) => Some(id),
            Owner::Pool(_) => None,
        }),
        pool_id: Set(match owner {
            Owner::Pool(id) => Some(id),
            Owner::Parent(_) => None,
        }),
        url: Set(url),
        events: Set(Value::from(events).to_string()),
        created_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, actor, change.created(&endpoint)).await?;
    txn.commit().await?;
    let secret = secret_for(state, endpoint.id);
    Ok((endpoint, secret))
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    owner: Owner,
    page: PageRequest,
) -> AppResult<Page<webhook_endpoint::Model>> {
    require_reader(&state.db, actor, owner).await?;
    let select =
        webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::DeletedAt.is_null());
    let select = match owner {
        Owner::Parent(id) => select.filter(webhook_endpoint::Column::ParentEntityId.eq(id)),
        Owner::Pool(id) => select.filter(webhook_endpoint::Column::PoolId.eq(id)),
    };
    paginate(&state.db, select, webhook_endpoint::Column::Id, page).await
}

fn owner_of(endpoint: &webhook_endpoint::Model) -> AppResult<Owner> {
    Owner::of(endpoint.parent_entity_id, endpoint.pool_id)
}

async fn find_endpoint(db: &impl ConnectionTrait, id: Uuid) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("webhook endpoint", id))
}

/// Stops deliveries to an endpoint; it and its deliveries stay as history.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<webhook_endpoint::Model> {
    let txn = begin_write(&state.db).await?;
    // Locked: of two deletions at once, the second sees the first's.
    let endpoint = lock::<webhook_endpoint::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found("webhook endpoint", id))?;
    let owner = owner_of(&endpoint)?;
    let manager = require_manager(
        &txn,
        actor,
        owner,
        Change::new(Action::WebhookEndpointDeleted, "WebhookEndpoint", id),
    )
    .await;
    let change = access::unless_seen(
        manager,
        "webhook endpoint",
        id,
        async || match require_reader(&txn, actor, owner).await {
            Ok(()) => Ok(true),
            Err(AppError::Forbidden(_)) => Ok(false),
            Err(other) => Err(other),
        },
    )
    .await?;
    if endpoint.deleted_at.is_some() {
        return Ok(endpoint);
    }
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    active.deleted_at = Set(Some(Utc::now()));
    let deleted = active.update(&txn).await?;
    audit::record(&txn, actor, change.diff(&endpoint, &deleted)).await?;
    txn.commit().await?;
    Ok(deleted)
}

pub async fn deliveries(
    state: &AppState,
    actor: &Actor,
    endpoint_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<webhook_delivery::Model>> {
    let endpoint = find_endpoint(&state.db, endpoint_id).await?;
    // Reading the endpoint is seeing it: a refusal says it does not exist.
    let reader = require_reader(&state.db, actor, owner_of(&endpoint)?).await;
    access::unless_seen(reader, "webhook endpoint", endpoint_id, async || Ok(false)).await?;
    let select = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id));
    paginate(&state.db, select, webhook_delivery::Column::Id, page).await
}

pub async fn event(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<webhook_event::Model>> {
    Ok(webhook_event::Entity::find_by_id(id).one(db).await?)
}

/// Runs one delivery attempt (the `deliver_webhook` job `run`).
pub async fn deliver(state: &AppState, run: &job::Model, job: DeliverWebhook) -> JobResult {
    let id = job.delivery_id;
    let Some(delivery) = webhook_delivery::Entity::find_by_id(id)
        .one(&state.db)
        .await?
    else {
        return Err(JobError::Permanent("the delivery is gone".into()));
    };
    if delivery.status == DeliveryStatus::Delivered {
        return Ok(());
    }
    let endpoint = find_endpoint(&state.db, delivery.endpoint_id).await?;
    if endpoint.deleted_at.is_some() {
        return Err(JobError::Permanent("the endpoint was deleted".into()));
    }
    let Some(event) = event(&state.db, delivery.event_id).await? else {
        return Err(JobError::Permanent("the event is gone".into()));
    };
    let sent = post_signed(
        &state.http,
        &endpoint.url,
        &secret_for(state, endpoint.id),
        event.payload.clone().into_bytes(),
        &[
            ("x-pools-event-id", event.id.to_string()),
            ("x-pools-event-type", event.kind.clone()),
        ],
        "the endpoint",
    )
    .await;
    let now = Utc::now();
    let mut active: webhook_delivery::ActiveModel = delivery.clone().into();
    active.attempts = Set(delivery.attempts + 1);
    active.updated_at = Set(now);
    let result = match sent {
        Ok(status) => {
            state.metrics.webhook_delivery(DeliveryOutcome::Delivered);
            active.status = Set(DeliveryStatus::Delivered);
            active.last_status_code = Set(Some(i32::from(status)));
            active.last_error = Set(None);
            active.delivered_at = Set(Some(now));
            Ok(())
        }
        Err(refused) => {
            // As the worker will judge it: its last attempt fails for good.
            state.metrics.webhook_delivery(if refused.permanent {
                DeliveryOutcome::Refused
            } else if run.attempts >= run.max_attempts {
                DeliveryOutcome::Dead
            } else {
                DeliveryOutcome::Retried
            });
            active.last_status_code = Set(refused.status.map(i32::from));
            active.last_error = Set(Some(refused.reason.clone()));
            Err(refused.into_job_error())
        }
    };
    active.update(&state.db).await?;
    result
}

/// After the last attempt: the delivery failed for good.
pub async fn give_up(state: &AppState, job: DeliverWebhook, error: &str) -> AppResult<()> {
    let id = job.delivery_id;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            DeliveryStatus::Failed.into(),
        )
        .col_expr(webhook_delivery::Column::LastError, error.into())
        .col_expr(webhook_delivery::Column::UpdatedAt, Utc::now().into())
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.ne(DeliveryStatus::Delivered))
        .exec(&state.db)
        .await?;
    Ok(())
}
