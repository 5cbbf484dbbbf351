//! The GraphiQL page, with a Content-Security-Policy that allows exactly
//! its own scripts.

use std::sync::LazyLock;

use async_graphql::http::GraphiQLSource;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The GraphiQL page and its policy: scripts and styles from the CDN the
/// page names, its inline script by hash, requests only to this server.
pub static GRAPHIQL: LazyLock<(String, String)> = LazyLock::new(|| {
    let page = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .finish();
    let hashes: Vec<String> = inline_scripts(&page)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let csp = format!(
        "default-src 'none'; script-src https://unpkg.com {}; style-src https://unpkg.com 'unsafe-inline'; \
         img-src https://graphql.org data:; font-src https://unpkg.com data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        hashes.join(" ")
    );
    (page, csp)
});

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
        assert!(!scripts.is_empty());
        assert_eq!(csp.matches("'sha256-").count(), scripts.len());
        assert!(!csp.contains("'unsafe-inline'; img-src") || csp.contains("style-src"));
        assert!(!csp.contains("script-src 'unsafe-inline'"));
    }
}
