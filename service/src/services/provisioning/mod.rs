//! App provisioning: each app selected for a pool moves REQUESTED →
//! PROVISIONING → READY | FAILED. A parent's operators register one
//! provisioner per app (an HTTPS endpoint); a job POSTs it a signed request,
//! and the operator answers later with a signed callback. App accounts then
//! follow membership: a job per READY app adds, removes or changes a
//! member's account with the role the app's mapping gives their group.
//! When the pool dissolves, each app moves on to DEPROVISIONING →
//! DEPROVISIONED: a job POSTs the operator a signed `deprovision` request,
//! retried with backoff until the operator answers 2xx.

use async_trait::async_trait;
use chrono::Utc;
use entities::{
    app_provisioner, job, membership,
    pool::{self},
    pool_app::{self, ProvisioningState},
    stakeholder_group,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

mod callback;

pub use callback::{CallbackError, callback};

use crate::{
    auth::{Actor, permissions},
    error::{AppError, AppResult},
    outbound::GuardedClient,
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job, JobError, JobResult, Kind},
        lock,
        membership::{find_pool, require_admin},
        outbox::app_accounts::SyncAppAccount,
        webhooks::{Refused, check_registered_url, check_target, derived_secret, post_signed},
    },
    state::AppState,
};

/// What is asked of an app's operator. One implementation per kind of
/// app may exist; [`HttpProvisioner`] serves any app with an endpoint.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Asks for the app to be set up; the answer comes by callback.
    async fn provision(&self, request: &Value) -> Result<(), JobError>;
    /// Adds, removes or changes one person's account in a READY app.
    async fn sync_account(&self, request: &Value) -> Result<(), JobError>;
    /// Asks for the app to be taken down for good; a 2xx answer means done.
    async fn deprovision(&self, request: &Value) -> Result<(), JobError>;
}

/// POSTs signed JSON to the endpoint the parent's operators configured.
pub struct HttpProvisioner<'a> {
    pub client: &'a GuardedClient,
    pub url: String,
    pub secret: String,
}

impl HttpProvisioner<'_> {
    async fn post(&self, body: &Value) -> Result<(), JobError> {
        let body = body.to_string().into_bytes();
        post_signed(
            self.client,
            &self.url,
            &self.secret,
            body,
            &[],
            "the provisioner",
        )
        .await
        .map(|_| ())
        .map_err(Refused::into_job_error)
    }
}

#[async_trait]
impl Provisioner for HttpProvisioner<'_> {
    async fn provision(&self, request: &Value) -> Result<(), JobError> {
        self.post(request).await
    }

    async fn sync_account(&self, request: &Value) -> Result<(), JobError> {
        self.post(request).await
    }

    async fn deprovision(&self, request: &Value) -> Result<(), JobError> {
        self.post(request).await
    }
}

pub fn secret_for(state: &AppState, provisioner_id: Uuid) -> String {
    derived_secret(state, "prsec_", "app-provisioner", provisioner_id)
}

/// Registers (or moves) the provisioner of one app for a parent's pools
/// (stewards). Apps waiting for it are requested again. Returns it with
/// its signing secret, shown this once.
pub async fn set_provisioner(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    app_id: &str,
    url: &str,
) -> AppResult<(app_provisioner::Model, String)> {
    // Only a steward has the input checked and makes this server look a
    // name up, outside the write transaction.
    permissions::require_steward(&state.db, parent_entity_id, actor.user_id).await?;
    let url = url.trim();
    check_registered_url(state, url).map_err(|m| AppError::invalid("input.url", m))?;
    if state.catalogue.app(app_id).is_none() {
        return Err(AppError::invalid(
            "input.appId",
            format!("there is no app `{app_id}` in the catalogue"),
        ));
    }
    check_target(state, url)
        .await
        .map_err(|m| AppError::invalid("input.url", m))?;
    let txn = begin_write(&state.db).await?;
    permissions::require_steward(&txn, parent_entity_id, actor.user_id).await?;
    let now = Utc::now();
    app_provisioner::Entity::insert(app_provisioner::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(parent_entity_id),
        app_id: Set(app_id.to_owned()),
        url: Set(url.to_owned()),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            app_provisioner::Column::ParentEntityId,
            app_provisioner::Column::AppId,
        ])
        .update_columns([
            app_provisioner::Column::Url,
            app_provisioner::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let provisioner = find_provisioner(&txn, parent_entity_id, app_id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("provisioner vanished")))?;
    // Apps of this kind that waited for a provisioner are requested now,
    // unless a request still waits to be claimed: it will see this one.
    let waiting = pool_app::Entity::find()
        .filter(pool_app::Column::AppId.eq(app_id))
        .filter(pool_app::Column::ProvisioningState.eq(ProvisioningState::Requested))
        .filter(
            pool_app::Column::PoolId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(pool::Column::Id)
                    .from(pool::Entity)
                    .and_where(pool::Column::ParentEntityId.eq(parent_entity_id))
                    .to_owned(),
            ),
        )
        .all(&txn)
        .await?;
    let requests: Vec<ProvisionApp> = waiting
        .iter()
        .map(|app| ProvisionApp {
            pool_app_id: app.id,
        })
        .collect();
    let queued = jobs::lock_waiting(&txn, &requests).await?;
    jobs::enqueue_many(
        &txn,
        requests
            .into_iter()
            .filter(|request| !queued.contains(&jobs::encode(request))),
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AppProvisionerSet, "AppProvisioner", provisioner.id)
            .in_parent(parent_entity_id)
            .created(&provisioner)
            .with("appsRequested", waiting.len() as i64),
    )
    .await?;
    txn.commit().await?;
    let secret = secret_for(state, provisioner.id);
    Ok((provisioner, secret))
}

async fn find_provisioner(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    app_id: &str,
) -> AppResult<Option<app_provisioner::Model>> {
    Ok(app_provisioner::Entity::find()
        .filter(app_provisioner::Column::ParentEntityId.eq(parent_entity_id))
        .filter(app_provisioner::Column::AppId.eq(app_id))
        .one(db)
        .await?)
}

/// The `provision_app` job: ask the app's operator to set it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionApp {
    pub pool_app_id: Uuid,
}

impl Job for ProvisionApp {
    const KIND: Kind = Kind::ProvisionApp;
}

/// Queues the provisioning of one pool app (in the caller's transaction).
pub async fn request(db: &impl ConnectionTrait, pool_app_id: Uuid) -> AppResult<()> {
    jobs::enqueue(db, &ProvisionApp { pool_app_id }, Utc::now()).await?;
    Ok(())
}

/// Queues every app of a new pool (in the pool's creation transaction).
pub async fn request_for_pool(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<()> {
    let apps = pool_app::Entity::find()
        .filter(pool_app::Column::PoolId.eq(pool_id))
        .all(db)
        .await?;
    jobs::enqueue_many(
        db,
        apps.iter().map(|app| ProvisionApp {
            pool_app_id: app.id,
        }),
        Utc::now(),
    )
    .await
}

/// Asks for another try after a failure (the pool's admins).
pub async fn retry(
    state: &AppState,
    actor: &Actor,
    pool_app_id: Uuid,
) -> AppResult<pool_app::Model> {
    let txn = begin_write(&state.db).await?;
    // Locked: two retries at once queue one request.
    let app = lock_app(&txn, pool_app_id).await?;
    let pool = find_pool(&txn, app.pool_id).await?;
    require_admin(&txn, &pool, actor.user_id).await?;
    if app.provisioning_state == ProvisioningState::Deprovisioning {
        // Its operator could not be reached before the job gave up: ask again.
        deprovision_request(&txn, app.id).await?;
        return Ok(app);
    }
    if !matches!(
        app.provisioning_state,
        ProvisioningState::Failed | ProvisioningState::Requested
    ) {
        return Err(AppError::Conflict(format!(
            "the app is {}; only a failed or waiting app is retried",
            state_name(app.provisioning_state)
        )));
    }
    let mut active: pool_app::ActiveModel = app.clone().into();
    active.provisioning_state = Set(ProvisioningState::Requested);
    active.status_message = Set(Some("provisioning requested again".into()));
    active.updated_at = Set(Utc::now());
    let retried = active.update(&txn).await?;
    request(&txn, retried.id).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AppProvisioningRetried, "PoolApp", retried.id)
            .in_pool(&pool)
            .diff(&app, &retried),
    )
    .await?;
    txn.commit().await?;
    Ok(retried)
}

/// The app, locked for the write transaction (see `services::lock`).
async fn lock_app(txn: &DatabaseTransaction, id: Uuid) -> AppResult<pool_app::Model> {
    lock::<pool_app::Entity>(txn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pool app has id {id}")))
}

pub async fn find_app(db: &impl ConnectionTrait, id: Uuid) -> AppResult<pool_app::Model> {
    pool_app::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pool app has id {id}")))
}

fn state_name(state: ProvisioningState) -> &'static str {
    match state {
        ProvisioningState::Requested => "requested",
        ProvisioningState::Provisioning => "being provisioned",
        ProvisioningState::Ready => "ready",
        ProvisioningState::Failed => "failed",
        ProvisioningState::Deprovisioning => "being taken down",
        ProvisioningState::Deprovisioned => "taken down",
    }
}

/// Moves the app on from the state it was read in, unless it has moved
/// meanwhile: an operator may call back (READY or FAILED) while the worker
/// is still recording that it asked, and the callback's word stands. The
/// app as it now is, or `None` if it had moved.
async fn set_state(
    db: &impl ConnectionTrait,
    app: &pool_app::Model,
    state: ProvisioningState,
    message: Option<String>,
) -> AppResult<Option<pool_app::Model>> {
    let moved = pool_app::Entity::update_many()
        .col_expr(pool_app::Column::ProvisioningState, Expr::value(state))
        .col_expr(pool_app::Column::StatusMessage, Expr::value(message))
        .col_expr(pool_app::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(pool_app::Column::Id.eq(app.id))
        .filter(pool_app::Column::ProvisioningState.eq(app.provisioning_state))
        .exec(db)
        .await?;
    if moved.rows_affected == 0 {
        return Ok(None);
    }
    Ok(Some(find_app(db, app.id).await?))
}

/// Runs a `provision_app` job: ask the operator.
pub async fn run_provision(state: &AppState, job: &job::Model, args: ProvisionApp) -> JobResult {
    let app = find_app(&state.db, args.pool_app_id).await?;
    if matches!(
        app.provisioning_state,
        ProvisioningState::Ready
            | ProvisioningState::Provisioning
            | ProvisioningState::Deprovisioning
            | ProvisioningState::Deprovisioned
    ) {
        return Ok(());
    }
    let pool = find_pool(&state.db, app.pool_id).await?;
    let Some(provisioner) = find_provisioner(&state.db, pool.parent_entity_id, &app.app_id).await?
    else {
        set_state(
            &state.db,
            &app,
            ProvisioningState::Requested,
            Some(format!(
                "waiting: the parent entity has no provisioner for {} yet",
                app.app_id
            )),
        )
        .await?;
        return Ok(());
    };
    let request = json!({
        "type": "provision",
        "jobId": job.id,
        "poolAppId": app.id,
        "app": { "id": app.app_id, "version": app.app_version },
        "pool": { "id": pool.id, "name": pool.name, "slug": pool.slug, "parentEntityId": pool.parent_entity_id },
        "settings": app.settings,
        "roleMapping": app.role_mapping,
        "callbackUrl": format!("{}/callbacks/provisioning/{}", state.public_url, job.id),
    });
    http(state, &provisioner).provision(&request).await?;
    set_state(
        &state.db,
        &app,
        ProvisioningState::Provisioning,
        Some("the operator is setting it up".into()),
    )
    .await?;
    Ok(())
}

fn http<'a>(state: &'a AppState, provisioner: &app_provisioner::Model) -> HttpProvisioner<'a> {
    HttpProvisioner {
        client: &state.http,
        url: provisioner.url.clone(),
        secret: secret_for(state, provisioner.id),
    }
}

/// After the last attempt: the app failed, with the last error.
pub async fn give_up(state: &AppState, job: ProvisionApp, error: &str) -> AppResult<()> {
    let id = job.pool_app_id;
    let txn = begin_write(&state.db).await?;
    let app = lock_app(&txn, id).await?;
    if app.provisioning_state == ProvisioningState::Ready {
        return Ok(());
    }
    let pool = find_pool(&txn, app.pool_id).await?;
    let Some(failed) = set_state(
        &txn,
        &app,
        ProvisioningState::Failed,
        Some(error.to_owned()),
    )
    .await?
    else {
        return Ok(()); // the operator answered meanwhile
    };
    audit::record(
        &txn,
        Author::system(),
        Change::new(Action::AppFailed, "PoolApp", failed.id)
            .in_pool(&pool)
            .diff(&app, &failed),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The `deprovision_app` job: ask the app's operator to take it down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeprovisionApp {
    pub pool_app_id: Uuid,
}

impl Job for DeprovisionApp {
    const KIND: Kind = Kind::DeprovisionApp;
}

async fn deprovision_request(db: &impl ConnectionTrait, pool_app_id: Uuid) -> AppResult<()> {
    jobs::enqueue(db, &DeprovisionApp { pool_app_id }, Utc::now()).await?;
    Ok(())
}

/// Every app of a dissolving pool is to be taken down, in the transaction
/// that winds the pool up: each is DEPROVISIONING, with a job that asks its
/// operator after the commit. Answers how many.
pub async fn deprovision_pool(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<usize> {
    let apps = pool_app::Entity::find()
        .filter(pool_app::Column::PoolId.eq(pool_id))
        .filter(pool_app::Column::ProvisioningState.ne(ProvisioningState::Deprovisioned))
        .all(db)
        .await?;
    if apps.is_empty() {
        return Ok(0);
    }
    pool_app::Entity::update_many()
        .col_expr(
            pool_app::Column::ProvisioningState,
            Expr::value(ProvisioningState::Deprovisioning),
        )
        .col_expr(
            pool_app::Column::StatusMessage,
            Expr::value("the pool is dissolving: its operator is asked to take the app down"),
        )
        .col_expr(pool_app::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(pool_app::Column::Id.is_in(apps.iter().map(|a| a.id)))
        .exec(db)
        .await?;
    jobs::enqueue_many(
        db,
        apps.iter().map(|app| DeprovisionApp {
            pool_app_id: app.id,
        }),
        Utc::now(),
    )
    .await?;
    Ok(apps.len())
}

/// How many of a pool's apps are not taken down yet.
pub async fn still_provisioned(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(pool_app::Entity::find()
        .filter(pool_app::Column::PoolId.eq(pool_id))
        .filter(pool_app::Column::ProvisioningState.ne(ProvisioningState::Deprovisioned))
        .count(db)
        .await?)
}

/// Runs a `deprovision_app` job: asks the operator, signed as every
/// request to it is; its 2xx answer takes the app down. An app whose
/// parent never had a provisioner for it was never set up: it is down.
pub async fn run_deprovision(
    state: &AppState,
    job: &job::Model,
    args: DeprovisionApp,
) -> JobResult {
    let app = find_app(&state.db, args.pool_app_id).await?;
    if app.provisioning_state != ProvisioningState::Deprovisioning {
        return Ok(());
    }
    let pool = find_pool(&state.db, app.pool_id).await?;
    let provisioner = find_provisioner(&state.db, pool.parent_entity_id, &app.app_id).await?;
    let message = match provisioner {
        None => "nothing to take down: no operator ever set it up".to_owned(),
        Some(provisioner) => {
            let request = json!({
                "type": "deprovision",
                "jobId": job.id,
                "poolAppId": app.id,
                "app": { "id": app.app_id, "version": app.app_version },
                "pool": { "id": pool.id, "name": pool.name, "slug": pool.slug, "parentEntityId": pool.parent_entity_id },
                "reason": "the pool is dissolving",
            });
            http(state, &provisioner).deprovision(&request).await?;
            "the operator took it down".to_owned()
        }
    };
    let txn = begin_write(&state.db).await?;
    let Some(down) = set_state(&txn, &app, ProvisioningState::Deprovisioned, Some(message)).await?
    else {
        return Ok(());
    };
    audit::record(
        &txn,
        Author::system(),
        Change::new(Action::AppDeprovisioned, "PoolApp", down.id)
            .in_pool(&pool)
            .diff(&app, &down),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// After the last attempt: the app stays DEPROVISIONING, saying why; the
/// pool's admins may ask again (`retryAppProvisioning`).
pub async fn give_up_deprovision(
    state: &AppState,
    job: DeprovisionApp,
    error: &str,
) -> AppResult<()> {
    pool_app::Entity::update_many()
        .col_expr(
            pool_app::Column::StatusMessage,
            Expr::value(format!(
                "the operator could not take it down: {error}; ask again with retryAppProvisioning"
            )),
        )
        .col_expr(pool_app::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(pool_app::Column::Id.eq(job.pool_app_id))
        .filter(pool_app::Column::ProvisioningState.eq(ProvisioningState::Deprovisioning))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The role an app's mapping gives a member: admins get the admin role,
/// others their group's.
pub fn role_for(mapping: &Value, member: &membership::Model, group_key: &str) -> Option<String> {
    if member.role == membership::MemberRole::Admin
        && let Some(role) = mapping["admins"].as_str()
    {
        return Some(role.to_owned());
    }
    mapping["groups"][group_key].as_str().map(str::to_owned)
}

/// Runs a `sync_app_account` job.
pub async fn run_account_sync(
    state: &AppState,
    job: &job::Model,
    args: SyncAppAccount,
) -> JobResult {
    let app = find_app(&state.db, args.pool_app_id).await?;
    if app.provisioning_state != ProvisioningState::Ready {
        return Ok(());
    }
    let member = membership::Entity::find_by_id(args.membership_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| JobError::Permanent("the membership is gone".into()))?;
    let group = stakeholder_group::Entity::find_by_id(member.stakeholder_group_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| JobError::Permanent("the membership has no group".into()))?;
    let pool = find_pool(&state.db, app.pool_id).await?;
    let Some(provisioner) = find_provisioner(&state.db, pool.parent_entity_id, &app.app_id).await?
    else {
        return Err(JobError::Permanent(
            "the app's provisioner was removed".into(),
        ));
    };
    let request = json!({
        "type": "account",
        "jobId": job.id,
        "action": args.action,
        "poolAppId": app.id,
        "app": { "id": app.app_id, "url": app.url },
        "person": { "membershipId": member.id, "email": member.email, "displayName": member.display_name },
        "role": role_for(&app.role_mapping, &member, &group.key),
    });
    http(state, &provisioner).sync_account(&request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_get_the_admin_role_and_others_their_groups() {
        let mapping =
            json!({ "admins": "owner", "groups": { "workers": "editor", "users": "viewer" } });
        let now = Utc::now();
        let mut m = membership::Model {
            id: Uuid::now_v7(),
            pool_id: Uuid::now_v7(),
            user_id: None,
            email: "a@example.org".into(),
            display_name: "A".into(),
            stakeholder_group_id: Uuid::now_v7(),
            role: membership::MemberRole::Member,
            status: membership::MembershipStatus::Active,
            joined_via: membership::JoinedVia::Open,
            joined_at: Some(now),
            left_at: None,
            created_at: now,
            updated_at: now,
            shares_held: 0,
            end_reason: None,
            ended_by: None,
            conduct_version: None,
            conduct_accepted_at: None,
        };
        assert_eq!(role_for(&mapping, &m, "users").as_deref(), Some("viewer"));
        m.role = membership::MemberRole::Admin;
        assert_eq!(role_for(&mapping, &m, "users").as_deref(), Some("owner"));
        assert_eq!(role_for(&json!({}), &m, "users"), None);
    }

    #[test]
    fn provisioning_jobs_are_stored_as_before() {
        let pool_app_id = Uuid::now_v7();
        jobs::assert_stored_as(
            ProvisionApp { pool_app_id },
            json!({ "poolAppId": pool_app_id }),
        );
    }
}
