//! Liveness and readiness probes for load balancers and orchestrators.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::{
    error::{UNAVAILABLE_RETRY_AFTER_SECS, set_retry_after},
    state::AppState,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The process is alive.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Longest the readiness check waits for the database, well under the
/// second that probes usually allow.
const READINESS_TIMEOUT: Duration = Duration::from_millis(800);

/// The process can serve: its database answers, within
/// [`READINESS_TIMEOUT`]. Each check asks afresh, so it turns ready again as
/// soon as the database is back.
async fn readyz(State(state): State<AppState>) -> Response {
    let reason = match tokio::time::timeout(READINESS_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => return (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            "database unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer in time");
            "database did not answer in time"
        }
    };
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
        .into_response();
    set_retry_after(&mut response, UNAVAILABLE_RETRY_AFTER_SECS);
    response
}
