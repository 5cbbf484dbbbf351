//! `GET /graphql/ws`: subscriptions over WebSocket, in the
//! graphql-transport-ws protocol (and the older graphql-ws). The token goes
//! in the init payload: `{"token": "pst_…"}` or
//! `{"Authorization": "Bearer pst_…"}`; a bad token refuses the connection.

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
    extract::{State, WebSocketUpgrade},
    response::Response,
};
use serde_json::Value;

use crate::{
    auth::RequestContext,
    graphql::{
        http::{GraphqlServer, finalize, strip_bearer},
        loaders::Loaders,
    },
    routes::{Peer, RequestId},
};

pub async fn handler(
    State(server): State<GraphqlServer>,
    RequestId(request_id): RequestId,
    peer: Peer,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = server.schema.clone();
    let state = server.state.clone();
    let client = peer.client_address(state.config.trust_forwarded_for);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let context =
                        RequestContext::new(request_id, client, token_of(&payload), false);
                    if context.has_credentials() {
                        context
                            .actor(&state)
                            .await
                            .map_err(|e| async_graphql::Error::new(e.message()))?;
                    }
                    let mut data = Data::default();
                    data.insert(Loaders::new(&state));
                    data.insert(context);
                    data.insert(WebSocketSession);
                    Ok(data)
                })
                .serve()
        })
}

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
        use futures::StreamExt;
        let request_id = ctx
            .data_opt::<RequestContext>()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        next.run(ctx, stream)
            .map(move |response| finalize(response, &request_id))
            .boxed()
    }
}
