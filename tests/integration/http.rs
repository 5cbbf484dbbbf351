//! The HTTP surface: probes, GraphQL over HTTP, protections, request ids and
//! error codes.

use entities::parent_entity_role;
use sea_orm::{ConnectionTrait, EntityName};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_databases!(
    probes_answer,
    request_id_is_in_header_and_errors,
    get_runs_queries_but_not_mutations,
    bodies_must_be_small_json,
    depth_and_complexity_are_limited,
    batches_are_capped,
    graphiql_is_served_to_browsers,
    internal_errors_leak_nothing,
    unknown_routes_are_coded,
);

on_both_databases!(
    settings: &[("TEST_PANIC_OPERATION", "Boom")];
    panics_answer_internal_with_the_request_id,
);

async fn probes_answer(app: TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

async fn request_id_is_in_header_and_errors(app: TestApp) {
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        header.as_str()
    );
}

async fn get_runs_queries_but_not_mutations(app: TestApp) {
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ parentEntities { edges { node { id } } } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["data"]["parentEntities"]["edges"].is_array());

    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { signOut }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "METHOD_NOT_ALLOWED"
    );
}

async fn bodies_must_be_small_json(app: TestApp) {
    let not_json = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body("{ me { id } }")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(
        error_code(&not_json.json::<Value>().await.unwrap()),
        "UNSUPPORTED_MEDIA_TYPE"
    );

    let huge = format!(
        "{{\"query\": \"{{ me {{ id }} }}\", \"padding\": \"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let too_large = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    assert_eq!(
        error_code(&too_large.json::<Value>().await.unwrap()),
        "PAYLOAD_TOO_LARGE"
    );

    let broken = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert_eq!(
        error_code(&broken.json::<Value>().await.unwrap()),
        "BAD_REQUEST"
    );

    let syntax = app.gql(None, "{ me { id ", json!({})).await;
    assert_eq!(error_code(&syntax), "BAD_REQUEST");
    let unknown_field = app.gql(None, "{ me { nickname } }", json!({})).await;
    assert_eq!(error_code(&unknown_field), "BAD_REQUEST");
    assert!(
        !unknown_field["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "field suggestions are off"
    );
}

async fn depth_and_complexity_are_limited(app: TestApp) {
    let mut deep = String::from("{ __schema { types { fields { type ");
    for _ in 0..16 {
        deep.push_str("{ ofType ");
    }
    deep.push_str("{ name }");
    for _ in 0..16 {
        deep.push_str(" }");
    }
    deep.push_str(" } } } }");
    let res = app.gql(None, &deep, json!({})).await;
    assert_eq!(error_code(&res), "QUERY_TOO_COMPLEX");
    assert!(res["data"].is_null());

    let wide = "{ parentEntities(first: 100) { edges { node {
        roles(first: 100) { edges { node { user { id email displayName createdAt } } } } } } } }";
    let res = app.gql(None, wide, json!({})).await;
    assert_eq!(error_code(&res), "QUERY_TOO_COMPLEX");
}

async fn batches_are_capped(app: TestApp) {
    let op = json!({ "query": "{ parentEntities { edges { node { id } } } }" });
    let ok = app
        .client
        .post(app.url("/graphql"))
        .json(&vec![op.clone(); 2])
        .send()
        .await
        .unwrap();
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert!(body[1]["data"]["parentEntities"].is_object());

    let too_many = app
        .client
        .post(app.url("/graphql"))
        .json(&vec![op; 11])
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), 400);
    assert_eq!(
        error_code(&too_many.json::<Value>().await.unwrap()),
        "BAD_REQUEST"
    );
}

async fn graphiql_is_served_to_browsers(app: TestApp) {
    let res = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !csp.contains("https:"),
        "the page loads from no other host: {csp}"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("graphiql"));
    assert!(page.contains("subscriptionUrl: at(\"/graphql/ws\", true)"));
    // Every asset the page names is served here, and kept by browsers.
    let assets: Vec<&str> = page
        .split('"')
        .filter(|s| s.starts_with("/graphiql/"))
        .collect();
    assert_eq!(assets.len(), 4, "{assets:?}");
    for asset in assets {
        let res = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        let media_type = res.headers()["content-type"].to_str().unwrap();
        assert!(
            media_type.starts_with("text/javascript") || media_type.starts_with("text/css"),
            "{asset}: {media_type}"
        );
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(res.bytes().await.unwrap().len() > 1000, "{asset}");
    }
    let missing = app
        .client
        .get(app.url("/graphiql/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

async fn internal_errors_leak_nothing(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    let parent = app.register_parent(&token, "I-1").await;
    // Break the database under the server: the roles table disappears.
    app.db
        .execute_unprepared(&format!(
            "DROP TABLE {}",
            parent_entity_role::Entity.table_name()
        ))
        .await
        .unwrap();
    let res = app
        .gql(
            Some(&token),
            "query($id: ID!) { parentEntity(id: $id) { roles { edges { node { id } } } } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(error_code(&res), "INTERNAL");
    let message = res["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.to_lowercase().contains("parent_entity_roles"),
        "no SQL in: {message}"
    );
    assert!(!message.contains("relation"), "no SQL in: {message}");
    assert!(res["errors"][0]["extensions"]["requestId"].is_string());
}

async fn unknown_routes_are_coded(app: TestApp) {
    let res = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(error_code(&res.json::<Value>().await.unwrap()), "NOT_FOUND");
}

/// `TEST_PANIC_OPERATION` makes the operation named `Boom` panic while it
/// runs, as a resolver with a bug would.
async fn panics_answer_internal_with_the_request_id(app: TestApp) {
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "query Boom { __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "application/json");
    let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "INTERNAL", "{body:#}");
    assert_eq!(body["errors"][0]["message"], api::error::INTERNAL_MESSAGE);
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        header.as_str()
    );

    // The server goes on serving, other operations included.
    let ok = app.gql(None, "query Fine { __typename }", json!({})).await;
    assert_eq!(ok["data"]["__typename"], "Query", "{ok:#}");
}
