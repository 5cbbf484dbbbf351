//! The HTTP surface: the router, its layers, and non-GraphQL routes.

mod callbacks;
mod exports;
mod health;
mod webhooks;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts},
    http::{HeaderName, Request, StatusCode, request::Parts},
    response::Response,
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    error::code,
    graphql::{
        self,
        http::{GraphqlServer, MAX_BODY_BYTES, error_response},
    },
    state::AppState,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids are UUIDv7, so they sort by time in logs.
#[derive(Clone, Copy)]
struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<tower_http::request_id::RequestId> {
        uuid::Uuid::now_v7()
            .to_string()
            .parse()
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The request id of the current request, as set by the id layer.
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown")
                .to_owned(),
        ))
    }
}

/// The connection's peer and what a proxy says the client was; which one is
/// believed depends on `TRUST_FORWARDED_FOR`.
pub struct Peer {
    socket: Option<SocketAddr>,
    forwarded_for: Option<String>,
}

impl Peer {
    pub fn client_address(&self, trust_forwarded_for: bool) -> Option<String> {
        let forwarded = self
            .forwarded_for
            .as_deref()
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().chars().take(64).collect::<String>())
            .filter(|v| !v.is_empty());
        match forwarded {
            Some(client) if trust_forwarded_for => Some(client),
            _ => self.socket.map(|s| s.ip().to_string()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            socket: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            forwarded_for: parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// An error of a non-GraphQL route as JSON with its code and an HTTP
/// status to match; an internal cause is logged (as `what`), never sent.
pub(crate) fn app_error_response(
    e: crate::error::AppError,
    request_id: &str,
    what: &str,
) -> Response {
    let status = match &e {
        crate::error::AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        crate::error::AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        crate::error::AppError::NotFound(_) => StatusCode::NOT_FOUND,
        crate::error::AppError::Validation(_) | crate::error::AppError::BadRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        crate::error::AppError::Internal(cause) => {
            tracing::error!(request_id = %request_id, error = ?cause, "{what}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::CONFLICT,
    };
    crate::graphql::http::error_response(status, e.code(), &e.message(), request_id)
}

pub fn router(state: AppState) -> Router {
    let server = GraphqlServer {
        schema: graphql::build_schema(state.clone()),
        state: state.clone(),
    };
    let graphql_routes = Router::new()
        .route(
            "/graphql",
            get(graphql::http::get).post(graphql::http::post),
        )
        .route("/graphql/ws", get(graphql::ws::handler))
        .with_state(server);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
            tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis() as u64, "response");
        });
    Router::new()
        .merge(graphql_routes)
        .merge(health::routes(state.clone()))
        .merge(exports::routes(state.clone()))
        .merge(callbacks::routes(state.clone()))
        .merge(webhooks::routes(state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeUuidV7))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

async fn not_found(RequestId(id): RequestId) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "no such route; GraphQL is at /graphql",
        &id,
    )
}

async fn method_not_allowed(RequestId(id): RequestId) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "this route does not take that method",
        &id,
    )
}
