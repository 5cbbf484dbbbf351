//! Safe in public: what one caller can cost others. Refusals that cannot
//! flood another tenant's trail, request ids that cannot poison it,
//! bounded password hashing and sign-in attempts, capped WebSockets, and
//! the headers and modes a public server needs.

use std::time::Duration;

use entities::audit_event;
use futures::{SinkExt, StreamExt};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    events::{POOL_EVENTS, next_message, subscribe, ws_connect},
    helpers::{PASSWORD, TestApp, error_code},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    a_huge_refusal_adds_little_and_repeats_are_counted,
    an_outsiders_refusals_stay_out_of_the_victims_trail,
    client_request_ids_are_kept_only_when_safe,
    security_headers_are_on_every_response,
);
on_both_databases!(
    settings: &[("PASSWORD_HASH_CONCURRENCY", "2"), ("TRUST_FORWARDED_FOR", "true")];
    concurrent_sign_ins_are_answered_with_known_codes,
);
on_both_databases!(
    settings: &[("TRUST_FORWARDED_FOR", "true"), ("SIGN_IN_MAX_FAILURES", "5")];
    concurrent_guesses_count_and_spare_the_owner_elsewhere,
);
on_both_databases!(
    settings: &[("TRUST_FORWARDED_FOR", "true"), ("SIGN_UP_ADDRESS_LIMIT", "3"), ("SIGN_IN_ADDRESS_LIMIT", "4")];
    sign_ups_and_sign_ins_are_limited_per_address,
    one_sign_in_per_request,
);
on_both_databases!(
    settings: &[
        ("WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", "2"),
        ("WS_MAX_CONNECTIONS_PER_USER", "2"),
        ("WS_MAX_CONNECTIONS_PER_ADDRESS", "4"),
        ("WS_IDLE_TIMEOUT_SECS", "1"),
    ];
    websockets_are_capped,
);
on_both_databases!(
    settings: &[
        ("APP_ENV", "production"),
        ("AUTH_SECRET", "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl"),
        ("PACK_SIGNING_KEY", "gfDrZ//VswLkcoBxLh4M/W6y92pDhru6pd3dICP4BqI="),
        ("PUBLIC_URL", "https://pools.example.org"),
    ];
    production_hides_the_schema_and_pins_https,
);

/// Total size of what the trail stores, and its number of events.
async fn trail_size(app: &TestApp) -> (i64, i64) {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(changes) + LENGTH(COALESCE(request_id, ''))), 0) AS bytes FROM audit_events",
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get::<i64>("", "bytes").unwrap(),
        row.try_get::<i64>("", "n").unwrap(),
    )
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.get_database_backend();
    app.db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

const REMOVE: &str = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status } }";

async fn a_huge_refusal_adds_little_and_repeats_are_counted(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (_, ann_member) = p.join("ann@example.org", "workers").await;
    let (bob, _) = p.join("bob@example.org", "users").await;
    let app = p.app();

    // One refused request of almost 1 MiB: 450 aliases, each with a
    // reason of the longest kind allowed, written out in the query.
    let (bytes_before, events_before) = trail_size(app).await;
    let reason = "x".repeat(2000);
    let aliases: String = (0..450)
        .map(|i| {
            format!(
                "a{i}: removeMember(input: {{ memberId: \"{ann_member}\", reason: \"{reason}\" }}) {{ status }} "
            )
        })
        .collect();
    let query = format!("mutation {{ {aliases} }}");
    assert!(query.len() > 900_000);
    let refused = app.gql(Some(&bob), &query, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused:#}");
    assert_eq!(refused["errors"].as_array().unwrap().len(), 450);
    let (bytes_after, events_after) = trail_size(app).await;
    assert_eq!(events_after, events_before + 1);
    assert!(
        bytes_after - bytes_before < 2048,
        "a refusal stored {} bytes",
        bytes_after - bytes_before
    );

    // A thousand more, as aliases in batches: still that one event.
    let aliases: String = (0..100)
        .map(|i| format!("a{i}: removeMember(input: $i) {{ status }} "))
        .collect();
    let operation = json!({
        "query": format!("mutation($i: RemoveMemberInput!) {{ {aliases} }}"),
        "variables": { "i": { "memberId": ann_member, "reason": "again" } },
    });
    let batch = Value::Array(vec![operation; 10]);
    let res: Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&bob)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refusals: usize = res
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["errors"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(refusals, 1000);
    let (_, events_now) = trail_size(app).await;
    // One per window: a second only if the window turned meanwhile.
    assert!(
        events_now - events_after <= 1,
        "{} events for 1,000 refusals",
        events_now - events_after
    );
    let counted = scalar(
        app,
        "SELECT CAST(SUM(refusals) AS BIGINT) AS n FROM audit_refusal_windows WHERE mutation = 'removeMember'",
    )
    .await;
    assert_eq!(counted, 1450);

    // The trail still verifies.
    let verified = app
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(verified["verifyAuditTrail"]["valid"], true);
}

async fn an_outsiders_refusals_stay_out_of_the_victims_trail(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (_, ann_member) = p.join("ann@example.org", "workers").await;
    let app = p.app();
    let (outsider, outsider_id) = app.sign_up("mallory@example.org").await;
    let in_parent = || {
        audit_event::Entity::find()
            .filter(audit_event::Column::ChainKey.eq(p.w.parent.as_str()))
            .count(&app.db)
    };
    let before = in_parent().await.unwrap();
    // Ann's membership is private to the pool: to an outsider it does not
    // exist, so there is no refusal to record anywhere.
    let removal = app
        .gql(
            Some(&outsider),
            REMOVE,
            json!({ "i": { "memberId": ann_member, "reason": "spam" } }),
        )
        .await;
    assert_eq!(error_code(&removal), "NOT_FOUND");
    // The pool is public: inviting into it is refused as such.
    for _ in 0..20 {
        let refused = app
            .gql(
                Some(&outsider),
                "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
                json!({ "i": { "poolId": p.pool, "email": "eve@example.org", "stakeholderGroupId": p.groups["workers"] } }),
            )
            .await;
        assert_eq!(error_code(&refused), "FORBIDDEN");
    }
    assert_eq!(in_parent().await.unwrap(), before);
    // The platform's chain has one event naming the target.
    let id = |s: &str| uuid::Uuid::parse_str(s).unwrap();
    let platform = audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq("platform"))
        .filter(audit_event::Column::ActorUserId.eq(id(&outsider_id)))
        .filter(audit_event::Column::Outcome.eq(audit_event::Outcome::Denied))
        .filter(audit_event::Column::PoolId.is_null())
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(platform.len(), 1, "{platform:?}");
    assert_eq!(platform[0].action, "inviteMember.denied");
    assert_eq!(platform[0].entity_id, Some(id(&p.pool)));
}

async fn client_request_ids_are_kept_only_when_safe(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    let send = |id: String| {
        let body = json!({ "query": "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
            "variables": { "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH",
                "minimum": 100, "maximum": 1000, "suggested": 500 } } });
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&p.w.founder)
            .header("x-request-id", id)
            .json(&body)
            .send()
    };
    let kept = send("client-trace-42".into()).await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "client-trace-42");
    for bad in ["x".repeat(65), "<script>alert(1)</script>".to_owned()] {
        let res = send(bad.clone()).await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let body: Value = res.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let stored = scalar(
        app,
        "SELECT COUNT(*) AS n FROM audit_events WHERE LENGTH(request_id) > 64 OR request_id LIKE '%<%'",
    )
    .await;
    assert_eq!(stored, 0);
}

async fn security_headers_are_on_every_response(app: TestApp) {
    for path in ["/graphql?query=%7B__typename%7D", "/healthz", "/nowhere"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
        // Served over plain http here: no HSTS.
        assert!(h.get("strict-transport-security").is_none());
    }
    // GraphiQL (on in development) gets a policy naming its own scripts.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(page.text().await.unwrap().contains("graphiql"));
}

async fn production_hides_the_schema_and_pins_https(app: TestApp) {
    let res = app
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(res["data"]["__schema"].is_null(), "{res:#}");
    // Ordinary queries still work.
    let ok = app.ok(None, "{ __typename }", json!({})).await;
    assert_eq!(ok["__typename"], "Query");
    // No GraphiQL page.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let body = page.text().await.unwrap();
    assert!(!body.contains("graphiql"), "{body}");
}

const SIGN_IN: &str = "mutation($i: SignInInput!) { signIn(input: $i) { token } }";

/// signIn from `address` (the server trusts X-Forwarded-For in these tests).
async fn sign_in_from(app: &TestApp, address: &str, email: &str, password: &str) -> Value {
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", address)
        .json(&json!({ "query": SIGN_IN, "variables": { "i": { "email": email, "password": password } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn concurrent_sign_ins_are_answered_with_known_codes(app: TestApp) {
    app.sign_up("ada@example.org").await;
    let app = std::sync::Arc::new(app);
    let calls = (0..200).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let address = format!("198.51.100.{}", i % 50);
            let password = if i % 2 == 0 {
                PASSWORD
            } else {
                "not the password"
            };
            sign_in_from(&app, &address, "ada@example.org", password).await
        })
    });
    let answers = futures::future::join_all(calls).await;
    let mut succeeded = 0;
    for answer in answers {
        let answer = answer.unwrap();
        match answer["errors"][0]["extensions"]["code"].as_str() {
            None => {
                assert!(answer["data"]["signIn"]["token"].is_string(), "{answer:#}");
                succeeded += 1;
            }
            Some(code) => assert!(
                ["UNAUTHENTICATED", "RATE_LIMITED"].contains(&code),
                "{answer:#}"
            ),
        }
    }
    assert!(succeeded > 0, "no sign-in went through");
    // The server is still there for the next person.
    let later = sign_in_from(&app, "203.0.113.9", "ada@example.org", PASSWORD).await;
    assert!(later["data"]["signIn"]["token"].is_string(), "{later:#}");
}

async fn concurrent_guesses_count_and_spare_the_owner_elsewhere(app: TestApp) {
    app.sign_up("ada@example.org").await;
    let app = std::sync::Arc::new(app);
    let guesses = (0..40).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            sign_in_from(
                &app,
                "192.0.2.66",
                "ada@example.org",
                &format!("guess number {i}"),
            )
            .await
        })
    });
    let answers = futures::future::join_all(guesses).await;
    let wrong = answers
        .iter()
        .filter(|a| a.as_ref().unwrap()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED")
        .count();
    assert!(
        wrong <= 5,
        "{wrong} guesses were checked, over the limit of 5"
    );
    for a in &answers {
        let code = a.as_ref().unwrap()["errors"][0]["extensions"]["code"].clone();
        assert!(
            code == "UNAUTHENTICATED" || code == "RATE_LIMITED",
            "{code}"
        );
    }
    // Guesses that found the server busy did not count: top the failures
    // up to the limit.
    let mut topped = 0;
    while sign_in_from(&app, "192.0.2.66", "ada@example.org", "one more guess").await["errors"][0]["extensions"]
        ["code"]
        == "UNAUTHENTICATED"
    {
        topped += 1;
        assert!(wrong + topped <= 5, "more than 5 failures were checked");
    }
    // Even the right password is refused from the flooding address …
    let there = sign_in_from(&app, "192.0.2.66", "ada@example.org", PASSWORD).await;
    assert_eq!(error_code(&there), "RATE_LIMITED");
    assert!(there["errors"][0]["extensions"]["retryAfterSeconds"].as_u64() > Some(0));
    // … but the owner, elsewhere, signs in.
    let home = sign_in_from(&app, "203.0.113.7", "ada@example.org", PASSWORD).await;
    assert!(home["data"]["signIn"]["token"].is_string(), "{home:#}");
}

async fn sign_ups_and_sign_ins_are_limited_per_address(app: TestApp) {
    let sign_up = |address: &'static str, email: String| {
        let body = json!({ "query": "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            "variables": { "i": { "email": email, "password": PASSWORD, "displayName": "Someone" } } });
        app.client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", address)
            .json(&body)
            .send()
    };
    for i in 0..3 {
        let res: Value = sign_up("198.51.100.1", format!("p{i}@example.org"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(res.get("errors").is_none(), "{res:#}");
    }
    let fourth: Value = sign_up("198.51.100.1", "p3@example.org".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&fourth), "RATE_LIMITED");
    assert!(fourth["errors"][0]["extensions"]["retryAfterSeconds"].as_u64() > Some(0));
    let elsewhere: Value = sign_up("198.51.100.2", "p3@example.org".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(elsewhere.get("errors").is_none(), "{elsewhere:#}");

    // Sign-in attempts per address, whatever the emails.
    for i in 0..4 {
        let res = sign_in_from(&app, "198.51.100.3", &format!("p{i}@example.org"), PASSWORD).await;
        assert!(res["data"]["signIn"]["token"].is_string(), "{res:#}");
    }
    let fifth = sign_in_from(&app, "198.51.100.3", "p0@example.org", PASSWORD).await;
    assert_eq!(error_code(&fifth), "RATE_LIMITED");
}

async fn one_sign_in_per_request(app: TestApp) {
    app.sign_up("ada@example.org").await;
    let aliases = app
        .gql(
            None,
            "mutation($i: SignInInput!) { a: signIn(input: $i) { token } b: signIn(input: $i) { token } c: signIn(input: $i) { token } }",
            json!({ "i": { "email": "ada@example.org", "password": PASSWORD } }),
        )
        .await;
    assert!(aliases["data"]["a"]["token"].is_string(), "{aliases:#}");
    let errors = aliases["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "RATE_LIMITED")
    );

    let one = json!({ "query": SIGN_IN, "variables": { "i": { "email": "ada@example.org", "password": PASSWORD } } });
    let batch: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([one, one, one]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = batch.as_array().unwrap();
    assert!(
        answers[0]["data"]["signIn"]["token"].is_string(),
        "{batch:#}"
    );
    for later in &answers[1..] {
        assert_eq!(error_code(later), "RATE_LIMITED");
    }
}

async fn websockets_are_capped(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let founder = p.w.founder.clone();
    let app = p.app();

    // A connection without subscriptions is closed once idle (1 s here).
    let mut idle = ws_connect(app, json!({})).await;
    assert!(
        close_reason(&mut idle).await.is_some(),
        "an idle connection stayed open"
    );

    // Subscriptions per connection.
    let mut first = ws_connect(app, json!({ "token": founder })).await;
    for id in ["1", "2", "3"] {
        subscribe(&mut first, id, POOL_EVENTS, json!({ "id": p.pool })).await;
    }
    let refused = next_message(&mut first).await;
    assert_eq!(refused["id"], "3", "{refused:#}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused:#}"
    );

    // Connections per person: the third init is refused, saying why.
    let mut second = ws_connect(app, json!({ "token": founder })).await;
    subscribe(&mut second, "1", POOL_EVENTS, json!({ "id": p.pool })).await;
    let mut third = raw_socket(app).await.unwrap();
    third
        .send(Message::text(
            json!({ "type": "connection_init", "payload": { "token": founder } }).to_string(),
        ))
        .await
        .unwrap();
    let reason = close_reason(&mut third).await.unwrap_or_default();
    assert!(reason.contains("connections per person"), "{reason:?}");

    // Connections per address (4): with `first` and `second` open, at most
    // two more are accepted, then the upgrade itself is refused.
    let mut held = Vec::new();
    let status = loop {
        match raw_socket(app).await {
            Ok(socket) => {
                held.push(socket);
                assert!(held.len() <= 2, "more connections than the cap");
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => break res.status().as_u16(),
            Err(other) => panic!("{other}"),
        }
    };
    assert_eq!(status, 429);
    drop((first, second));
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_socket(app: &TestApp) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// How the server closed the socket (the close frame's reason, empty if it
/// just hung up), or `None` if it stayed open for 10 s.
async fn close_reason(ws: &mut Socket) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(frame.map(|f| f.reason.to_string()).unwrap_or_default());
            }
            Ok(None | Some(Err(_))) => return Some(String::new()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}
