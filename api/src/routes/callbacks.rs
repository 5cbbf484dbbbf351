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
    error::code,
    graphql::http::error_response,
    routes::{RequestId, app_error_response},
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
    RequestId(request_id): RequestId,
    Path(job_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let not_found = || {
        error_response(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            "no provisioning request has this id",
            &request_id,
        )
    };
    let Ok(job_id) = Uuid::parse_str(&job_id) else {
        return not_found();
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
        Err(CallbackError::NotFound) => not_found(),
        Err(CallbackError::Signature(_)) => error_response(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "X-Pools-Signature is missing, stale, or does not match this request and body",
            &request_id,
        ),
        Err(CallbackError::Conflict(message)) => {
            error_response(StatusCode::CONFLICT, code::CONFLICT, &message, &request_id)
        }
        Err(CallbackError::Malformed(message)) => error_response(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            &message,
            &request_id,
        ),
        Err(CallbackError::Internal(e)) => {
            app_error_response(e, &request_id, "provisioning callback failed")
        }
    }
}
