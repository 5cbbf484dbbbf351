//! `GET /graphql/ws`: subscriptions over WebSocket, in the
//! graphql-transport-ws protocol (and the older graphql-ws). The token goes
//! in the init payload: `{"token": "pst_…"}` or
//! `{"Authorization": "Bearer pst_…"}`; a bad token refuses the connection.
//!
//! Browsers apply no CORS to WebSockets, so the upgrade checks `Origin`
//! against the same policy (`CORS_ALLOWED_ORIGINS`) and the server's own
//! host; a client that sends no `Origin` is not a browser page and passes.
//!
//! Each connection costs the server a task and each subscription a feed, so
//! both are capped: connections per client address (at the upgrade) and per
//! person (at init), subscriptions per connection, and a connection left
//! without any subscription for `WS_IDLE_TIMEOUT_SECS` is closed.

use std::sync::Arc;

use async_graphql::{
    Data, Response as GraphqlResponse, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextSubscribe},
    futures_util::stream::BoxStream,
    http::ALL_WEBSOCKET_PROTOCOLS,
    parser::types::{ExecutableDocument, OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, close_code},
    },
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use futures::{SinkExt, StreamExt};
use serde_json::Value;

use crate::{
    auth::RequestContext,
    domain::{AllowedOrigins, same_host},
    error::{code, error_response},
    graphql::{
        http::{GraphqlServer, finalize, strip_bearer},
        loaders::Loaders,
    },
    limits::{Slot, SubscriptionSlots},
    request::{Peer, RequestId},
};

pub async fn handler(
    State(server): State<GraphqlServer>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&server.state.config.cors_allowed_origins, &headers) {
        return error_response(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "pages of this origin may not open WebSocket connections to this server; \
             its operator lists the allowed origins in CORS_ALLOWED_ORIGINS",
            &request_id,
        );
    }
    let schema = server.socket_schema.clone();
    let state = server.state.clone();
    let client = peer.client_address(state.config.trust_forwarded_for);
    let Some(address_slot) = state
        .limits
        .sockets_by_address
        .try_take(client.as_deref().unwrap_or_default())
    else {
        return error_response(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            &format!(
                "at most {} WebSocket connections per address; close one first",
                state.limits.sockets_by_address.max()
            ),
            &request_id,
        );
    };
    let subscriptions = SubscriptionSlots::new(
        state.config.ws_max_subscriptions_per_connection,
        state.metrics.subscriptions(),
    );
    let idle = state.config.ws_idle_timeout;
    let shutdown = state.shutdown.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| shutdown.clone().track(async move {
            let _open = state.metrics.websocket_connection();
            let (mut sink, stream) = socket.split();
            // The client's side ends when the connection has been idle or
            // the server shuts down: the server then closes it.
            let watched = subscriptions.clone();
            let ending = shutdown.clone();
            let stream = stream.take_until(Box::pin(async move {
                tokio::select! {
                    () = watched.idle_for(idle) => {}
                    () = ending.triggered() => {}
                }
            }));
            GraphQLWebSocket::new_with_pair(&mut sink, stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let context =
                        RequestContext::new(request_id, client, token_of(&payload), false);
                    let mut data = Data::default();
                    if context.has_credentials() {
                        let actor = context
                            .actor(&state)
                            .await
                            .map_err(|e| async_graphql::Error::new(e.message()))?;
                        if let Some(actor) = actor {
                            let slot = state
                                .limits
                                .sockets_by_user
                                .try_take(&actor.user_id.to_string())
                                .ok_or_else(|| {
                                    async_graphql::Error::new(format!(
                                        "at most {} WebSocket connections per person; close one first",
                                        state.limits.sockets_by_user.max()
                                    ))
                                })?;
                            data.insert(PersonSlot(slot));
                        }
                    }
                    data.insert(Loaders::new(&state));
                    data.insert(context);
                    data.insert(WebSocketSession);
                    data.insert(subscriptions);
                    Ok(data)
                })
                .serve()
                .await;
            if shutdown.is_triggered() {
                // "Going away": the client may reconnect to another server.
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: close_code::AWAY,
                        reason: "the server is shutting down".into(),
                    })))
                    .await;
            }
            let _ = sink.close().await;
            drop(address_slot);
        }))
}

/// No `Origin` (not a browser), an allowed one, or the server's own.
fn origin_allowed(origins: &AllowedOrigins, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    origins.allows(origin) || host.is_some_and(|host| same_host(origin, host))
}

/// The per-person connection slot a connection holds while it is open.
struct PersonSlot(#[expect(dead_code, reason = "held for its Drop")] Slot);

fn token_of(payload: &Value) -> Option<String> {
    strip_bearer(
        payload["token"]
            .as_str()
            .or_else(|| payload["Authorization"].as_str())
            .or_else(|| payload["authorization"].as_str())?,
    )
}

/// Marks the operations of a WebSocket connection.
struct WebSocketSession;

/// Gives every response sent over a WebSocket what HTTP responses get from
/// [`finalize`]: a code on each error (the library's own parse and
/// validation errors carry none) and the connection's request id, which the
/// server's logs carry too.
pub struct WebSocketErrorCodes;

impl ExtensionFactory for WebSocketErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(WebSocketErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for WebSocketErrorCodes {
    /// The socket is for subscriptions (and queries). Mutations go through
    /// `POST /graphql`, where the token's WRITE scope, the request timeout
    /// and the recording of refusals apply.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if ctx.data_opt::<WebSocketSession>().is_some()
            && document
                .operations
                .iter()
                .any(|(_, op)| op.node.ty == OperationType::Mutation)
        {
            let mut refused = ServerError::new("mutations must be sent with POST /graphql", None);
            refused
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", crate::error::code::METHOD_NOT_ALLOWED);
            return Err(refused);
        }
        Ok(document)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, GraphqlResponse>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, GraphqlResponse> {
        let request_id = ctx
            .data_opt::<RequestContext>()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let slot = match ctx
            .data_opt::<SubscriptionSlots>()
            .map(SubscriptionSlots::try_take)
        {
            Some(Err(refused)) => {
                let refused =
                    async_graphql::Error::from(refused).into_server_error(Default::default());
                let response = finalize(GraphqlResponse::from_errors(vec![refused]), &request_id);
                return futures::stream::once(async move { response }).boxed();
            }
            Some(Ok(slot)) => Some(slot),
            None => None,
        };
        next.run(ctx, stream)
            .map(move |response| {
                // The slot lives as long as the stream.
                let _held = &slot;
                finalize(response, &request_id)
            })
            .boxed()
    }
}
