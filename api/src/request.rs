//! What every request carries, as extractors for the REST routes and the
//! GraphQL endpoints alike: its id and where it came from.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderName, request::Parts},
};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
