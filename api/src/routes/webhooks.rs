//! `POST /webhooks/stripe`: Stripe's events about subscriptions and invoices.

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

use crate::{
    error::AppError,
    services::contributions::webhook::{self, Outcome, Rejection},
    state::AppState,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/stripe", post(stripe))
        .with_state(state)
}

async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhook::handle(&state, signature, &body).await {
        Ok(outcome) => {
            let status = match outcome {
                Outcome::Applied => "applied",
                Outcome::Duplicate => "duplicate",
                Outcome::Ignored => "ignored",
                Outcome::Waiting => "waiting",
            };
            (
                StatusCode::OK,
                Json(json!({ "received": true, "status": status })),
            )
                .into_response()
        }
        Err(rejection) => refusal(rejection).into_response(),
    }
}

/// What Stripe is answered for an event not taken.
fn refusal(rejection: Rejection) -> AppError {
    match rejection {
        Rejection::NotConfigured => AppError::PaymentProvider(
            "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)".to_owned(),
        ),
        Rejection::Signature(e) => AppError::BadRequest(e.message().to_owned()),
        Rejection::Malformed(m) => AppError::BadRequest(m),
        // Whatever went wrong, Stripe is told 500 and retries later, so
        // nothing is lost.
        Rejection::Internal(e) => {
            AppError::internal(anyhow::anyhow!("processing a Stripe webhook failed: {e:?}"))
        }
    }
}
