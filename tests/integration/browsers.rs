//! What a web frontend on another origin meets: CORS on `/graphql` and
//! `/exports`, and the `Origin` check on the WebSocket upgrade.

use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::{
    events::next_message,
    helpers::{TestApp, error_code},
};

const APP: &str = "https://app.example.org";
const EVIL: &str = "https://evil.example";

on_both_databases!(
    settings: &[("CORS_ALLOWED_ORIGINS", "https://app.example.org, https://admin.example.org")];
    preflights_answer_allowed_origins_only,
    cross_origin_answers_carry_the_origin_only_when_allowed,
    websocket_upgrades_check_the_origin,
);

on_both_databases!(
    settings: &[
        ("APP_ENV", "production"),
        ("AUTH_SECRET", "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl"),
        ("PACK_SIGNING_KEY", "gfDrZ//VswLkcoBxLh4M/W6y92pDhru6pd3dICP4BqI="),
    ];
    production_allows_no_origin_by_default,
);

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header<'r>(res: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn preflights_answer_allowed_origins_only(app: TestApp) {
    // A listed origin, and in development a frontend's dev server.
    for origin in [APP, "http://localhost:3000", "http://127.0.0.1:5173"] {
        let res = preflight(&app, "/graphql", origin).await;
        assert!(res.status().is_success(), "{origin}: {}", res.status());
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some(origin),
            "{origin}"
        );
        let methods = header(&res, "access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = header(&res, "access-control-allow-headers").unwrap();
        for needed in [
            "authorization",
            "content-type",
            "x-request-id",
            "apollo-require-preflight",
        ] {
            assert!(headers.contains(needed), "{needed} in {headers}");
        }
        assert_eq!(header(&res, "access-control-max-age"), Some("600"));
        assert!(header(&res, "access-control-allow-credentials").is_none());
        assert!(header(&res, "vary").unwrap().contains("origin"));
    }
    let res = preflight(&app, "/exports/parent-entities/x/register.csv", APP).await;
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));

    for refused in [EVIL, "https://app.example.org.evil.example", "null"] {
        let res = preflight(&app, "/graphql", refused).await;
        assert!(
            header(&res, "access-control-allow-origin").is_none(),
            "{refused} was allowed"
        );
    }
}

async fn cross_origin_answers_carry_the_origin_only_when_allowed(app: TestApp) {
    let post = |origin: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("origin", origin)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
    };
    let allowed = post(APP).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(APP));
    let exposed = header(&allowed, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    assert_eq!(
        allowed.json::<Value>().await.unwrap()["data"]["__typename"],
        "Query"
    );
    let refused = post(EVIL).await.unwrap();
    assert!(header(&refused, "access-control-allow-origin").is_none());

    let (token, _) = app.sign_up("steward@example.org").await;
    let parent = app.register_parent(&token, "B-1").await;
    let export = |origin: &'static str| {
        app.client
            .get(app.url(&format!("/exports/parent-entities/{parent}/register.csv")))
            .bearer_auth(&token)
            .header("origin", origin)
            .send()
    };
    let allowed = export("https://admin.example.org").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://admin.example.org")
    );
    let refused = export(EVIL).await.unwrap();
    assert_eq!(refused.status(), 200);
    assert!(header(&refused, "access-control-allow-origin").is_none());
}

/// Opens `/graphql/ws` with `origin`, if any: the init's ack, or the
/// refusal's status and body.
async fn upgrade(app: &TestApp, origin: Option<&str>) -> Result<(), (u16, Value)> {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    if let Some(origin) = origin {
        headers.insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut ws, _)) => {
            ws.send(Message::text(
                json!({ "type": "connection_init", "payload": {} }).to_string(),
            ))
            .await
            .unwrap();
            assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
            Ok(())
        }
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Err((
                response.status().as_u16(),
                serde_json::from_slice(&body).unwrap(),
            ))
        }
        Err(other) => panic!("the upgrade failed otherwise: {other}"),
    }
}

async fn websocket_upgrades_check_the_origin(app: TestApp) {
    // Not a browser; an allowed page; a page this server served itself.
    let own = app.base_url.clone();
    for origin in [
        None,
        Some(APP),
        Some("http://localhost:3000"),
        Some(own.as_str()),
    ] {
        upgrade(&app, origin)
            .await
            .unwrap_or_else(|e| panic!("{origin:?} was refused: {e:?}"));
    }
    let (status, body) = upgrade(&app, Some(EVIL)).await.unwrap_err();
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CORS_ALLOWED_ORIGINS")
    );
}

async fn production_allows_no_origin_by_default(app: TestApp) {
    let res = preflight(&app, "/graphql", "http://localhost:3000").await;
    assert!(header(&res, "access-control-allow-origin").is_none());
    let (status, _) = upgrade(&app, Some("http://localhost:3000"))
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    upgrade(&app, None).await.unwrap();
}
