//! The operator's answer to one provisioning request, on
//! `POST /callbacks/provisioning/{jobId}`: signed over the job id, fresh,
//! answered once, and only while the app waits for that request.

use chrono::{TimeZone, Utc};
use entities::{job, pool_app, pool_app::ProvisioningState, provisioning_callback};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::{ProvisionApp, find_app, find_provisioner, secret_for, state_name};
use crate::{
    error::AppError,
    outbound::check_shown_url,
    payments::signature,
    services::{
        OnConflict,
        audit::{self, Action, Author, Change},
        begin_write,
        jobs::{self, Job},
        membership::find_pool,
    },
    state::AppState,
};

/// Why a callback was refused.
#[derive(Debug)]
pub enum CallbackError {
    NotFound,
    Signature(signature::SignatureError),
    Malformed(String),
    /// Already answered, or not the answer the app waits for.
    Conflict(String),
    Internal(AppError),
}

impl From<AppError> for CallbackError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Conflict(message) => Self::Conflict(message),
            other => Self::Internal(other),
        }
    }
}

impl From<sea_orm::DbErr> for CallbackError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

/// What the signature covers after `"<t>."`: `"<jobId>.<body>"`, so an
/// answer signed for one request means nothing on another's URL.
pub fn signed_message(job_id: Uuid, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{job_id}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// What the operator said.
enum Answer {
    Ready {
        url: String,
        handover: Option<String>,
    },
    Failed {
        reason: String,
    },
}

impl Answer {
    fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        let answer: Value = serde_json::from_slice(body)
            .map_err(|e| CallbackError::Malformed(format!("the body is not JSON: {e}")))?;
        match answer["status"].as_str() {
            Some("READY") => {
                // Only shown to people, never fetched: not looked up.
                let url = answer["url"]
                    .as_str()
                    .filter(|u| check_shown_url(u).is_ok())
                    .ok_or_else(|| {
                        CallbackError::Malformed(
                            "READY needs the app's http(s) `url`, without a user name or password"
                                .into(),
                        )
                    })?;
                Ok(Self::Ready {
                    url: url.to_owned(),
                    handover: answer
                        .get("handover")
                        .filter(|h| !h.is_null())
                        .map(Value::to_string),
                })
            }
            Some("FAILED") => Ok(Self::Failed {
                reason: answer["reason"]
                    .as_str()
                    .unwrap_or("the operator gave no reason")
                    .chars()
                    .take(2000)
                    .collect(),
            }),
            _ => Err(CallbackError::Malformed(
                "`status` must be READY or FAILED".into(),
            )),
        }
    }

    fn state(&self) -> ProvisioningState {
        match self {
            Self::Ready { .. } => ProvisioningState::Ready,
            Self::Failed { .. } => ProvisioningState::Failed,
        }
    }
}

/// The operator's answer: `{"status": "READY", "url": …, "handover": {…}}`
/// or `{"status": "FAILED", "reason": …}`, with `X-Pools-Signature:
/// t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<jobId>.<body>">` under the
/// provisioner's secret, `t` within five minutes of now.
pub async fn callback(
    state: &AppState,
    job_id: Uuid,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<pool_app::Model, CallbackError> {
    let job = jobs::find(&state.db, job_id)
        .await?
        .filter(|j| j.kind == ProvisionApp::KIND.as_str())
        .ok_or(CallbackError::NotFound)?;
    let app_id = jobs::payload::<ProvisionApp>(&job)
        .map_err(|_| CallbackError::NotFound)?
        .pool_app_id;
    let app = find_app(&state.db, app_id)
        .await
        .map_err(|_| CallbackError::NotFound)?;
    let pool = find_pool(&state.db, app.pool_id).await?;
    let provisioner = find_provisioner(&state.db, pool.parent_entity_id, &app.app_id)
        .await?
        .ok_or(CallbackError::NotFound)?;
    let signed_at = signature::verify(
        &secret_for(state, provisioner.id),
        signature_header,
        &signed_message(job_id, body),
        Utc::now().timestamp(),
    )
    .map_err(CallbackError::Signature)?;
    let answer = Answer::parse(body)?;

    let txn = begin_write(&state.db).await?;
    // One answer per request. The job's key is taken first, inside the
    // transaction: of two answers at once, the second waits for the first
    // and then finds the key taken (or free, if the first was refused).
    let now = Utc::now();
    provisioning_callback::ActiveModel {
        job_id: Set(job_id),
        pool_app_id: Set(app.id),
        status: Set(match answer {
            Answer::Ready { .. } => "READY".to_owned(),
            Answer::Failed { .. } => "FAILED".to_owned(),
        }),
        signed_at: Set(Utc.timestamp_opt(signed_at, 0).single().unwrap_or(now)),
        received_at: Set(now),
    }
    .insert(&txn)
    .await
    .on_conflict(|| "this provisioning request was already answered".into())?;
    let app = lock_app(&txn, app.id).await?;
    if !matches!(
        app.provisioning_state,
        ProvisioningState::Requested | ProvisioningState::Provisioning
    ) {
        return Err(CallbackError::Conflict(format!(
            "the app is {}; only an app being provisioned takes an answer",
            state_name(app.provisioning_state)
        )));
    }
    if current_request(&txn, app.id).await? != Some(job_id) {
        return Err(CallbackError::Conflict(
            "a newer provisioning request replaced this one; answer that one".into(),
        ));
    }
    let mut active: pool_app::ActiveModel = app.clone().into();
    active.provisioning_state = Set(answer.state());
    active.updated_at = Set(now);
    let action = match answer {
        Answer::Ready { url, handover } => {
            active.url = Set(Some(url));
            active.handover = Set(handover);
            active.status_message = Set(None);
            Action::AppReady
        }
        Answer::Failed { reason } => {
            active.status_message = Set(Some(reason));
            Action::AppFailed
        }
    };
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        Author::system(),
        Change::new(action, "PoolApp", updated.id)
            .in_pool(&pool)
            .diff(&app, &updated),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// The app, its row locked until the transaction ends (PostgreSQL; SQLite's
/// write transaction already excludes other writers), so a retry cannot
/// queue a new request between the checks and the update.
async fn lock_app(db: &impl ConnectionTrait, id: Uuid) -> Result<pool_app::Model, CallbackError> {
    let mut query = pool_app::Entity::find_by_id(id);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or(CallbackError::NotFound)
}

/// The app's newest provisioning request: the only one it takes an answer to.
async fn current_request(
    db: &impl ConnectionTrait,
    app_id: Uuid,
) -> Result<Option<Uuid>, CallbackError> {
    Ok(job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Kind.eq(ProvisionApp::KIND.as_str()))
        .filter(job::Column::Payload.eq(jobs::encode(&ProvisionApp {
            pool_app_id: app_id,
        })))
        .order_by_desc(job::Column::CreatedAt)
        .order_by_desc(job::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_the_job_id_and_the_body() {
        let (job, other) = (Uuid::now_v7(), Uuid::now_v7());
        let body = br#"{"status":"READY"}"#;
        let t = 1_000;
        // Exactly the string the README tells operators to sign.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"prsec_x").unwrap();
        mac.update(format!("{t}.{job}.{{\"status\":\"READY\"}}").as_bytes());
        let v1 = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            signature::sign("prsec_x", t, &signed_message(job, body)),
            v1
        );
        let header = format!("t={t},v1={v1}");
        assert_eq!(
            signature::verify("prsec_x", Some(&header), &signed_message(job, body), t),
            Ok(t)
        );
        assert_eq!(
            signature::verify("prsec_x", Some(&header), &signed_message(other, body), t),
            Err(signature::SignatureError::Mismatch)
        );
        assert_eq!(
            signature::verify("prsec_x", Some(&header), body, t),
            Err(signature::SignatureError::Mismatch)
        );
    }
}
