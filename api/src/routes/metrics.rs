//! `GET /metrics` in the Prometheus text format, on `METRICS_LISTEN_ADDR`
//! only (never on the public router): the operator's Prometheus scrapes it.

use std::time::Duration;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    metrics::{self, Scrape},
    services::jobs,
    state::AppState,
};

/// Longest a scrape waits for the queue's figures, under Prometheus's
/// default scrape timeout (10 s); without them it still answers.
const QUEUE_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The metrics listener's router: this one route, everything else 404.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let due = jobs::due(&state.db, chrono::Utc::now());
    let jobs = match tokio::time::timeout(QUEUE_READ_TIMEOUT, due).await {
        Ok(Ok(due)) => Some(due),
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "metrics: reading the job queue failed");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the job queue did not answer in time");
            None
        }
    };
    let scrape = Scrape {
        pool: metrics::pool_stats(&state.db),
        jobs,
    };
    match state.metrics.render(&scrape) {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics: rendering failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
