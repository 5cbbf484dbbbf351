//! `POST /callbacks/provisioning/{jobId}`: an app operator reports the app
//! READY (with its URL) or FAILED (with a reason), signed with the
//! provisioner's secret over the timestamp, the job id and the body. One
//! answer per request: a repeat is a 409 `CONFLICT`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::AppError,
    services::provisioning::{self, CallbackError},
    state::AppState,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/callbacks/provisioning/{job_id}", post(provisioned))
        .with_state(state)
}

async fn provisioned(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let not_found = || AppError::NotFound("no provisioning request has this id".to_owned());
    let Ok(job_id) = Uuid::parse_str(&job_id) else {
        return not_found().into_response();
    };
    let signature = headers
        .get("x-pools-signature")
        .and_then(|v| v.to_str().ok());
    match provisioning::callback(&state, job_id, signature, &body).await {
        Ok(app) => (
            StatusCode::OK,
            Json(json!({ "poolAppId": app.id, "provisioningState": app.provisioning_state })),
        )
            .into_response(),
        Err(CallbackError::NotFound) => not_found().into_response(),
        Err(CallbackError::Signature(_)) => AppError::Unauthenticated(
            "X-Pools-Signature is missing, stale, or does not match this request and body"
                .to_owned(),
        )
        .into_response(),
        Err(CallbackError::Conflict(message)) => AppError::Conflict(message).into_response(),
        Err(CallbackError::Malformed(message)) => AppError::BadRequest(message).into_response(),
        Err(CallbackError::Internal(e)) => e.into_response(),
    }
}
