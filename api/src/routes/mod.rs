//! The HTTP surface: the router, its layers, and non-GraphQL routes.

mod callbacks;
mod cors;
mod exports;
mod health;
pub mod metrics;
pub mod security;
mod unsubscribe;
mod webhooks;
mod well_known;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    extract::DefaultBodyLimit,
    http::{HeaderValue, Request, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{
    error::{CURRENT_REQUEST_ID, INTERNAL_MESSAGE, code, current_request_id, error_response},
    graphql::{
        self,
        http::{GraphqlServer, MAX_BODY_BYTES},
        persisted::PersistedQueries,
    },
    request::{REQUEST_ID, RequestId},
    state::AppState,
    trace_context,
};

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

async fn with_request_id(request: Request<Body>, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned();
    CURRENT_REQUEST_ID.scope(id, next.run(request)).await
}

/// A handler or resolver that panicked: the client gets `INTERNAL` with the
/// request id, as for any other fault of ours, and the log gets the panic.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    // Inside the request span, which carries the request id.
    tracing::error!(panic = %message, "a request panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        code::INTERNAL,
        INTERNAL_MESSAGE,
        &current_request_id(),
    )
}

pub fn router(state: AppState) -> Router {
    let server = GraphqlServer {
        schema: graphql::build_schema(state.clone()),
        diagnosis: graphql::build_diagnosis_schema(state.clone()),
        socket_schema: graphql::build_socket_schema(state.clone()),
        documents: Default::default(),
        persisted: std::sync::Arc::new(PersistedQueries::new(
            state.config.apq_max_queries,
            state.config.apq_max_query_bytes,
        )),
        state: state.clone(),
    };
    let cors = cors::layer(&state.config.cors_allowed_origins);
    let graphql_routes = Router::new()
        .route(
            "/graphql",
            get(graphql::http::get)
                .post(graphql::http::post)
                // The answer depends on `Accept` (GraphiQL or an answer, its
                // media type and status): a cache must keep them apart.
                .layer(SetResponseHeaderLayer::appending(
                    header::VARY,
                    HeaderValue::from_static("accept"),
                )),
        )
        .route("/graphql/ws", get(graphql::ws::handler))
        .with_state(server)
        .route(
            graphql::graphiql::ASSET_ROUTE,
            get(graphql::graphiql::asset).with_state(state.clone()),
        )
        // Before the CORS layer, so that it answers preflights (`OPTIONS`,
        // a method these routes do not take) ahead of the fallback.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors.clone());
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown");
            // The fields after `path` are filled in only when traces are
            // exported (see `trace_context`); the logs show them then.
            let span = tracing::info_span!(
                "request",
                request_id = %id,
                method = %req.method(),
                path = %req.uri().path(),
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                graphql.operation.name = tracing::field::Empty,
                outcome = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
            );
            if trace_context::enabled() {
                // GraphQL renames it after its operation; a path is no name
                // (a client chooses it).
                span.record("otel.name", req.method().as_str());
                span.record("otel.kind", "server");
                let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
                if let Some(parent) = header(trace_context::TRACEPARENT) {
                    trace_context::set_remote_parent(
                        &span,
                        parent,
                        header(trace_context::TRACESTATE),
                    );
                }
            }
            span
        })
        .on_response(|res: &Response, latency: Duration, span: &tracing::Span| {
            tracing::info!(
                status = res.status().as_u16(),
                latency_ms = latency.as_millis() as u64,
                "response"
            );
            if trace_context::enabled() {
                span.record("http.response.status_code", res.status().as_u16());
                if res.status().is_server_error() {
                    span.record("otel.status_code", "ERROR");
                }
            }
        });
    let https = state.public_url.starts_with("https://");
    let router = Router::new()
        .merge(graphql_routes)
        .merge(health::routes(state.clone()))
        .merge(
            exports::routes(state.clone())
                .method_not_allowed_fallback(method_not_allowed)
                .layer(cors),
        )
        .merge(callbacks::routes(state.clone()))
        .merge(unsubscribe::routes(state.clone()))
        .merge(well_known::routes(state.clone()))
        .merge(webhooks::routes(state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    security::layer(router, https).layer(
        ServiceBuilder::new()
            .map_request(drop_unsafe_request_id)
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeUuidV7))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn(with_request_id))
            .layer(CatchPanicLayer::custom(answer_panic)),
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
