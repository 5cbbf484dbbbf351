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
    error::{INTERNAL_MESSAGE, code},
    graphql::http::error_response,
    routes::RequestId,
    services::contributions::webhook::{self, Outcome, Rejection},
    state::AppState,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/stripe", post(stripe))
        .with_state(state)
}

async fn stripe(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhook::handle(&state, signature, &body).await {
        Ok(outcome) => {
            let status = match outcome {
                Outcome::Applied => "applied",
                Outcome::Duplicate => "duplicate",
                Outcome::Ignored => "ignored",
            };
            (
                StatusCode::OK,
                Json(json!({ "received": true, "status": status })),
            )
                .into_response()
        }
        Err(Rejection::NotConfigured) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            code::PAYMENT_PROVIDER,
            "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)",
            &id,
        ),
        Err(Rejection::Signature(e)) => {
            error_response(StatusCode::BAD_REQUEST, code::BAD_REQUEST, e.message(), &id)
        }
        Err(Rejection::Malformed(m)) => {
            error_response(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &m, &id)
        }
        Err(Rejection::Internal(e)) => {
            tracing::error!(error = ?e, "processing a Stripe webhook failed");
            // Stripe retries on a 5xx, so nothing is lost.
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                INTERNAL_MESSAGE,
                &id,
            )
        }
    }
}
