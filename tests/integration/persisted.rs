//! Automatic persisted queries, spoken as Apollo's link speaks them: a hash
//! alone, `PersistedQueryNotFound`, the query with its hash, then the hash
//! alone again, by POST and by GET.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, error_code};

on_both_databases!(
    unknown_hashes_ask_for_the_query,
    registered_queries_run_by_hash_over_post_and_get,
    wrong_hashes_and_versions_are_refused,
);

on_both_databases!(
    settings: &[("APQ_MAX_QUERIES", "2"), ("APQ_MAX_QUERY_BYTES", "1024")];
    the_store_is_bounded,
);

const ENTITIES: &str = "query Types { __typename } \
    query Entities($first: Int) { parentEntities(first: $first) { edges { node { id } } } }";

fn sha256(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn by_hash(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/graphql"))
        .header(
            "accept",
            "application/graphql-response+json, application/json;q=0.9",
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn get(app: &TestApp, params: &[(&str, String)]) -> (u16, Value) {
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(params)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn unknown_hashes_ask_for_the_query(app: TestApp) {
    let hash = sha256("{ __typename }");
    // 200 even under the new media type: Apollo's link reads the error.
    let (status, res) = post(&app, json!({ "extensions": by_hash(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(res["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(error_code(&res), "PERSISTED_QUERY_NOT_FOUND");
    assert!(res["errors"][0]["extensions"]["requestId"].is_string());

    let (status, res) = get(&app, &[("extensions", by_hash(&hash).to_string())]).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&res), "PERSISTED_QUERY_NOT_FOUND");
}

async fn registered_queries_run_by_hash_over_post_and_get(app: TestApp) {
    let hash = sha256(ENTITIES);
    let (status, res) = post(
        &app,
        json!({
            "query": ENTITIES,
            "operationName": "Entities",
            "variables": { "first": 5 },
            "extensions": by_hash(&hash),
        }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(res["data"]["parentEntities"]["edges"].is_array(), "{res:#}");

    let (status, res) = post(
        &app,
        json!({ "operationName": "Types", "extensions": by_hash(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(res["data"], json!({ "__typename": "Query" }));

    // The GET a CDN can cache, with the operation picked by name.
    let (status, res) = get(
        &app,
        &[
            ("extensions", by_hash(&hash).to_string()),
            ("variables", json!({ "first": 2 }).to_string()),
            ("operationName", "Entities".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{res:#}");
    assert!(res["data"]["parentEntities"]["edges"].is_array(), "{res:#}");
    assert!(res["data"].get("__typename").is_none());

    // A mutation is known by hash too, but GET still runs none.
    let sign_out = "mutation Out { signOut }";
    post(
        &app,
        json!({ "query": sign_out, "extensions": by_hash(&sha256(sign_out)) }),
    )
    .await;
    let (status, res) = get(
        &app,
        &[("extensions", by_hash(&sha256(sign_out)).to_string())],
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(error_code(&res), "METHOD_NOT_ALLOWED");
}

async fn wrong_hashes_and_versions_are_refused(app: TestApp) {
    let other = sha256("{ me { id } }");
    let (status, res) = post(
        &app,
        json!({ "query": "{ __typename }", "extensions": by_hash(&other) }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        res["errors"][0]["message"],
        "provided sha does not match query"
    );
    assert_eq!(error_code(&res), "BAD_REQUEST");
    // Nothing was kept under the wrong hash.
    let (_, res) = post(&app, json!({ "extensions": by_hash(&other) })).await;
    assert_eq!(error_code(&res), "PERSISTED_QUERY_NOT_FOUND");

    // Under application/json, as every error there, 200.
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({
            "query": "{ __typename }",
            "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256("{ __typename }") } },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res: Value = res.json().await.unwrap();
    assert_eq!(error_code(&res), "BAD_REQUEST");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("version 1"),
        "{res:#}"
    );
    let (status, res) = post(
        &app,
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "x" } } }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&res), "BAD_REQUEST");
}

async fn the_store_is_bounded(app: TestApp) {
    let queries = [
        "{ a: __typename }",
        "{ b: __typename }",
        "{ c: __typename }",
    ];
    for query in queries {
        let (_, res) = post(
            &app,
            json!({ "query": query, "extensions": by_hash(&sha256(query)) }),
        )
        .await;
        assert!(res.get("errors").is_none(), "{res:#}");
    }
    // Two are kept: the oldest is forgotten, and the client asked again.
    let (_, res) = post(&app, json!({ "extensions": by_hash(&sha256(queries[0])) })).await;
    assert_eq!(error_code(&res), "PERSISTED_QUERY_NOT_FOUND");
    let (_, res) = post(&app, json!({ "extensions": by_hash(&sha256(queries[2])) })).await;
    assert_eq!(res["data"]["c"], "Query", "{res:#}");

    // A query longer than APQ_MAX_QUERY_BYTES runs but is not kept.
    let long = format!("{{ __typename {} }}", "x: __typename ".repeat(80));
    assert!(long.len() > 1024);
    let (_, res) = post(
        &app,
        json!({ "query": long, "extensions": by_hash(&sha256(&long)) }),
    )
    .await;
    assert_eq!(res["data"]["x"], "Query", "{res:#}");
    let (_, res) = post(&app, json!({ "extensions": by_hash(&sha256(&long)) })).await;
    assert_eq!(error_code(&res), "PERSISTED_QUERY_NOT_FOUND");
}
