//! CORS for what browser pages call: `/graphql` (and its WebSocket, whose
//! upgrade checks `Origin` itself, `graphql::ws`) and `/exports`. Tokens
//! travel in `Authorization`, never in cookies, so no credentials mode.

use std::time::Duration;

use axum::http::{HeaderName, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{domain::AllowedOrigins, request::REQUEST_ID};

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The policy of `CORS_ALLOWED_ORIGINS`: the methods and headers the API
/// takes, the headers a page may read back.
pub fn layer(origins: &AllowedOrigins) -> CorsLayer {
    let origins = origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|o| origins.allows(o))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            REQUEST_ID,
            // Apollo Client: the header its CSRF protection asks for, and
            // the client's name and version it may send.
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
        ])
        .expose_headers([
            REQUEST_ID,
            header::RETRY_AFTER,
            // A frontend that downloads an audit pack keeps its signature.
            HeaderName::from_static(crate::signing::SIGNATURE_HEADER),
            HeaderName::from_static(crate::signing::KEY_ID_HEADER),
        ])
        .max_age(PREFLIGHT_MAX_AGE)
}
