//! The GraphiQL page and its assets, served by this server: GraphiQL and
//! React as their npm packages ship them (copied into `api/assets/graphiql`
//! by `scripts/vendor_graphiql`, embedded in the binary), so the page works
//! offline and its Content-Security-Policy names no other host.

use std::sync::LazyLock;

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::{
    error::{code, error_response},
    request::RequestId,
    state::AppState,
};

/// Where the assets are served; their names carry their versions, so a
/// browser may keep them for good.
pub const ASSET_ROUTE: &str = "/graphiql/{file}";

/// Name, media type and content of each asset.
const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql-3.9.0.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql-3.9.0.min.js"),
    ),
    (
        "graphiql-3.9.0.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql-3.9.0.min.css"),
    ),
    (
        "react-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-18.3.1.production.min.js"),
    ),
    (
        "react-dom-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom-18.3.1.production.min.js"),
    ),
];

/// Queries go to `/graphql`, subscriptions to `/graphql/ws` over ws: or
/// wss:, whichever matches the page's own scheme.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL</title>
<style>body { height: 100%; margin: 0; width: 100%; overflow: hidden; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="/graphiql/graphiql-3.9.0.min.css">
<script src="/graphiql/react-18.3.1.production.min.js"></script>
<script src="/graphiql/react-dom-18.3.1.production.min.js"></script>
<script src="/graphiql/graphiql-3.9.0.min.js"></script>
</head>
<body>
<div id="graphiql">Loading…</div>
<script>
(function () {
  var page = window.location;
  function at(path, socket) {
    var url = new URL(path, page.origin);
    if (socket) url.protocol = page.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({
        url: at("/graphql", false),
        subscriptionUrl: at("/graphql/ws", true),
      }),
      defaultEditorToolsVisibility: true,
    })
  );
})();
</script>
</body>
</html>
"#;

/// The page and its policy: scripts and styles from this server, its
/// inline script by hash, GraphiQL's inline styles, fonts and images as
/// data, requests (WebSockets included) only to this server.
pub static GRAPHIQL: LazyLock<(String, String)> = LazyLock::new(|| {
    let hashes: Vec<String> = inline_scripts(PAGE)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let csp = format!(
        "default-src 'none'; script-src 'self' {}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        hashes.join(" ")
    );
    (PAGE.to_owned(), csp)
});

/// The page, with its own policy in place of the API's.
pub fn page() -> Response {
    let (page, csp) = &*GRAPHIQL;
    let mut page = Html(page.clone()).into_response();
    if let Ok(csp) = HeaderValue::from_str(csp) {
        page.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    page
}

/// `GET /graphiql/{file}`: one of the page's assets, while GraphiQL is on.
pub async fn asset(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    Path(file): Path<String>,
) -> Response {
    let found = FILES.iter().find(|(name, _, _)| *name == file);
    match found {
        Some((_, media_type, bytes)) if state.config.graphiql => (
            [
                (header::CONTENT_TYPE, *media_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *bytes,
        )
            .into_response(),
        _ => error_response(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            "no such route; GraphQL is at /graphql",
            &request_id,
        ),
    }
}

/// The bodies of `<script>` elements without a `src`.
fn inline_scripts(page: &str) -> impl Iterator<Item = &str> {
    page.split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split("</script>").next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graphiql_policy_names_each_inline_script() {
        let (page, csp) = &*GRAPHIQL;
        let scripts: Vec<_> = inline_scripts(page).collect();
        assert_eq!(scripts.len(), 1);
        assert_eq!(csp.matches("'sha256-").count(), scripts.len());
        assert!(!csp.contains("script-src 'unsafe-inline'"));
        assert!(!csp.contains("https:"), "no other host: {csp}");
    }

    #[test]
    fn the_page_loads_only_served_assets() {
        for src in PAGE
            .split(['"'])
            .filter(|s| s.starts_with('/') && s.contains('.'))
        {
            let name = src.strip_prefix("/graphiql/").unwrap_or(src);
            assert!(
                FILES.iter().any(|(file, _, _)| *file == name),
                "{src} is not served"
            );
        }
        assert!(!PAGE.contains("//unpkg") && !PAGE.contains("https://"));
    }
}
