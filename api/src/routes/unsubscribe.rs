//! `GET /unsubscribe?user=…&topic=…&signature=…`: the page an optional
//! message's link opens, asking whether to stop that kind of message.
//! `POST` to the same address (its button, or a mail client's RFC 8058
//! one-click request) stops it. No session: the signature is the
//! credential, and it names one person and one kind.

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use crate::{
    auth::Origin,
    request::{Peer, RequestId},
    services::notifications::unsubscribe::{self, Link},
    state::AppState,
};

/// The page's own policy: its inline styles and a form posting to itself.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/unsubscribe", get(page).post(page))
        .with_state(state)
}

/// `POST` whatever its body says (the form's is empty, a one-click
/// request's is `List-Unsubscribe=One-Click`): the signed address is what
/// counts. `GET` only asks.
async fn page(
    State(state): State<AppState>,
    method: Method,
    RequestId(id): RequestId,
    peer: Peer,
    Query(link): Query<Link>,
) -> Response {
    answer(&state, id, &peer, &link, method == Method::POST).await
}

async fn answer(state: &AppState, id: String, peer: &Peer, link: &Link, confirm: bool) -> Response {
    let origin = Origin {
        request_id: Some(id),
        client_address: peer.client_address(state.config.trust_forwarded_for),
        user_agent: None,
    };
    let answer = match unsubscribe::follow(state, &origin, link, confirm).await {
        Ok(answer) => answer,
        Err(e) => return e.into_response(),
    };
    let html = match answer.page.render() {
        Ok(html) => html,
        Err(e) => {
            return crate::error::AppError::internal(anyhow::anyhow!("unsubscribe page: {e}"))
                .into_response();
        }
    };
    let status = if answer.valid {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
