//! Webhooks for integrators: endpoints subscribe to a parent entity's or a
//! pool's events; each event is written with its deliveries and their jobs
//! in the transaction of the change (see [`emit`]), then delivered at least
//! once, signed, with retries. Order across events is not promised.

use chrono::Utc;
use entities::{
    contribution, expense, formation, job, membership, pool, pool_app, proposal, webhook_delivery,
    webhook_endpoint, webhook_event,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::Condition,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    error::{AppError, AppResult, FieldError},
    outbound::{self, Failure, GuardedClient, Refusal},
    payments::signature,
    services::{
        audit::{self, Action, Change},
        begin_write,
        jobs::{
            self, Kind,
            worker::{JobError, JobResult},
        },
        lock,
        membership::{find_pool, require_admin, require_admin_reader},
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

/// The events an endpoint may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "formation.submitted",
    "pool.created",
    "member.joined",
    "member.left",
    "proposal.closed",
    "contribution.changed",
    "expense.paid",
    "app.ready",
];

/// The webhook event an audited action raises, if any. Exhaustive on
/// purpose: a new action has to decide whether integrators hear of it.
pub fn event_type_of(action: &Action) -> Option<&'static str> {
    use Action as A;
    Some(match action {
        A::FormationSubmitted => "formation.submitted",
        A::PoolCreated => "pool.created",
        A::MemberJoined => "member.joined",
        A::MemberLeft | A::MemberRemoved => "member.left",
        A::ProposalClosed => "proposal.closed",
        A::ExpensePaid => "expense.paid",
        A::AppReady => "app.ready",
        A::ContributionCanceled
        | A::ContributionChanged
        | A::ContributionPaid
        | A::ContributionPaymentFailed
        | A::ContributionPaymentPending
        | A::ContributionPaymentSetUp
        | A::ContributionReconciled
        | A::ContributionStarted
        | A::ContributionStatusChanged => "contribution.changed",
        A::AccountCreated
        | A::ApiTokenCreated
        | A::ApiTokenRevoked
        | A::AppFailed
        | A::AppProvisioningRetried
        | A::AppProvisionerSet
        | A::ApplicationApproved
        | A::ApplicationRejected
        | A::ApplicationSubmitted
        | A::DelegationCreated
        | A::DelegationRevoked
        | A::ExpenseSubmitted
        | A::FormationAppConfigured
        | A::FormationApproved
        | A::FormationAppsSelected
        | A::FormationFinancialProfileSet
        | A::FormationFoundingMembersSet
        | A::FormationLegalTemplateChosen
        | A::FormationNamed
        | A::FormationRejected
        | A::FormationStakeholderGroupsSet
        | A::FormationStarted
        | A::FormationWithdrawn
        | A::LedgerAdjusted
        | A::MemberInvited
        | A::MemberRoleChanged
        | A::ParentEntityPolicyChanged
        | A::ParentEntityRegistered
        | A::ParentEntityVerificationRevoked
        | A::ParentEntityVerified
        | A::ParentEntityRoleAccepted
        | A::ParentEntityRoleDeclined
        | A::ParentEntityRoleGranted
        | A::ParentEntityRoleRevoked
        | A::ProposalCreated
        | A::SessionClosed
        | A::SessionOpened
        | A::SlidingScaleSet
        | A::VoteCast
        | A::VoteChanged
        | A::WebhookEndpointCreated
        | A::WebhookEndpointDeleted
        | A::Denied(_) => return None,
    })
}

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

/// Inside the change's transaction: writes the webhook event raised by an
/// audit event, with a delivery and a job per subscribed endpoint.
pub async fn emit(db: &impl ConnectionTrait, kind: &str, event: &Change) -> AppResult<()> {
    let mut scope = Condition::any();
    if let Some(parent) = event.parent_entity_id {
        scope = scope.add(webhook_endpoint::Column::ParentEntityId.eq(parent));
    }
    if let Some(pool) = event.pool_id {
        scope = scope.add(webhook_endpoint::Column::PoolId.eq(pool));
    }
    if event.parent_entity_id.is_none() && event.pool_id.is_none() {
        return Ok(());
    }
    let endpoints: Vec<webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .filter(scope)
        .all(db)
        .await?
        .into_iter()
        .filter(|e| {
            serde_json::from_str::<Vec<String>>(&e.events)
                .is_ok_and(|events| events.iter().any(|k| k == kind))
        })
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let id = Uuid::now_v7();
    let now = Utc::now();
    let payload = json!({
        "id": id,
        "type": kind,
        "createdAt": crate::services::audit::chain::timestamp(now),
        "parentEntityId": event.parent_entity_id,
        "poolId": event.pool_id,
        "data": object_of(db, event.entity_type, event.entity_id).await?,
    });
    webhook_event::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        pool_id: Set(event.pool_id),
        parent_entity_id: Set(event.parent_entity_id),
        payload: Set(payload.to_string()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let delivery_ids: Vec<Uuid> = endpoints.iter().map(|_| Uuid::now_v7()).collect();
    let deliveries = endpoints
        .iter()
        .zip(&delivery_ids)
        .map(|(endpoint, delivery_id)| webhook_delivery::ActiveModel {
            id: Set(*delivery_id),
            endpoint_id: Set(endpoint.id),
            event_id: Set(id),
            status: Set("PENDING".to_owned()),
            attempts: Set(0),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            delivered_at: Set(None),
        });
    webhook_delivery::Entity::insert_many(deliveries)
        .exec_without_returning(db)
        .await?;
    jobs::enqueue_many(
        db,
        Kind::DeliverWebhook,
        delivery_ids.iter().map(|d| json!({ "deliveryId": d })),
        now,
    )
    .await?;
    Ok(())
}

/// The changed object as the event's `data`.
async fn object_of(
    db: &impl ConnectionTrait,
    entity_type: &str,
    id: Option<Uuid>,
) -> AppResult<Value> {
    let Some(id) = id else {
        return Ok(Value::Null);
    };
    let value = match entity_type {
        "Member" => to_json(membership::Entity::find_by_id(id).one(db).await?),
        "Pool" => to_json(pool::Entity::find_by_id(id).one(db).await?),
        "Formation" => to_json(formation::Entity::find_by_id(id).one(db).await?),
        "Proposal" => to_json(proposal::Entity::find_by_id(id).one(db).await?),
        "Contribution" => to_json(contribution::Entity::find_by_id(id).one(db).await?),
        "Expense" => to_json(expense::Entity::find_by_id(id).one(db).await?),
        "PoolApp" => to_json(pool_app::Entity::find_by_id(id).one(db).await?),
        _ => json!({ "id": id }),
    };
    Ok(value)
}

fn to_json<T: serde::Serialize>(model: Option<T>) -> Value {
    model
        .and_then(|m| serde_json::to_value(m).ok())
        .unwrap_or(Value::Null)
}

/// Runs one delivery attempt.
pub async fn deliver(state: &AppState, job: &job::Model) -> JobResult {
    let id = jobs::payload_id(job, "deliveryId")?;
    let Some(delivery) = webhook_delivery::Entity::find_by_id(id)
        .one(&state.db)
        .await?
    else {
        return Err(JobError::Permanent("the delivery is gone".into()));
    };
    if delivery.status == "DELIVERED" {
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
            active.status = Set("DELIVERED".to_owned());
            active.last_status_code = Set(Some(i32::from(status)));
            active.last_error = Set(None);
            active.delivered_at = Set(Some(now));
            Ok(())
        }
        Err(refused) => {
            active.last_status_code = Set(refused.status.map(i32::from));
            active.last_error = Set(Some(refused.reason.clone()));
            Err(refused.into_job_error())
        }
    };
    active.update(&state.db).await?;
    result
}

/// After the last attempt: the delivery failed for good.
pub async fn give_up(state: &AppState, job: &job::Model, error: &str) -> AppResult<()> {
    let Ok(id) = jobs::payload_id(job, "deliveryId") else {
        return Ok(());
    };
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, "FAILED".into())
        .col_expr(webhook_delivery::Column::LastError, error.into())
        .col_expr(webhook_delivery::Column::UpdatedAt, Utc::now().into())
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.ne("DELIVERED"))
        .exec(&state.db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn actions_raise_exactly_the_subscribable_events() {
        let raised: BTreeSet<&str> = Action::RECORDED.iter().filter_map(event_type_of).collect();
        let offered: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
        // An event nobody raises, or one nobody can subscribe to, is a slip.
        assert_eq!(raised, offered);
    }

    #[test]
    fn actions_keep_their_events() {
        for (action, event) in [
            (Action::MemberRemoved, Some("member.left")),
            (Action::MemberLeft, Some("member.left")),
            (
                Action::ContributionStatusChanged,
                Some("contribution.changed"),
            ),
            (Action::ContributionPaid, Some("contribution.changed")),
            (Action::AppFailed, None),
            (Action::FormationApproved, None),
            (Action::denied("createPool"), None),
        ] {
            assert_eq!(event_type_of(&action), event, "{action}");
        }
    }
}
