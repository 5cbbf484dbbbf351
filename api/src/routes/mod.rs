//! The HTTP surface: the router, its layers, and non-GraphQL routes.

mod callbacks;
mod exports;
mod health;
pub mod security;
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

/// Longest request id taken from a client.
const MAX_CLIENT_REQUEST_ID: usize = 64;

/// A client's `X-Request-Id` is kept (so its logs and ours line up) only if
/// it is short and made of safe characters; the trail stores it, so anything
/// else is dropped and the server makes its own.
fn acceptable_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CLIENT_REQUEST_ID
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn drop_unsafe_request_id<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get_all(&REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(i, v)| i > 0 || !acceptable_request_id(v.as_bytes()))
    {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

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
        crate::error::AppError::Unavailable {
            retry_after_secs, ..
        } => {
            let mut response = crate::graphql::http::error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                e.code(),
                &e.message(),
                request_id,
            );
            crate::graphql::http::set_retry_after(&mut response, *retry_after_secs);
            return response;
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
    let https = state.public_url.starts_with("https://");
    let router = Router::new()
        .merge(graphql_routes)
        .merge(health::routes(state.clone()))
        .merge(exports::routes(state.clone()))
        .merge(callbacks::routes(state.clone()))
        .merge(webhooks::routes(state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    security::layer(router, https).layer(
        ServiceBuilder::new()
            .map_request(drop_unsafe_request_id)
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

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(acceptable_request_id(b"abc-123_x.y:z"));
        assert!(acceptable_request_id(
            uuid::Uuid::now_v7().to_string().as_bytes()
        ));
        assert!(!acceptable_request_id(b""));
        assert!(!acceptable_request_id("x".repeat(65).as_bytes()));
        assert!(!acceptable_request_id(b"a b"));
        assert!(!acceptable_request_id(b"<script>"));
        assert!(!acceptable_request_id("caf\u{e9}".as_bytes()));
    }
}
