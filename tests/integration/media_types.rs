//! `application/graphql-response+json` (GraphQL over HTTP): request errors
//! get 400 and no `data`, answers with data stay 200, and `application/json`
//! keeps answering 200 with the errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_databases!(
    request_errors_are_400_under_the_new_type,
    answers_with_data_stay_200,
    unacceptable_accepts_are_406,
);

const NEW_TYPE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Status, content type, `Vary` and body.
async fn parts(res: reqwest::Response) -> (u16, String, String, Value) {
    let status = res.status().as_u16();
    let header = |name| {
        res.headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (content_type, vary) = (header("content-type"), header("vary"));
    (status, content_type, vary, res.json().await.unwrap())
}

async fn request_errors_are_400_under_the_new_type(app: TestApp) {
    let cases = [
        (json!({ "query": "{ me { id " }), "BAD_REQUEST"),
        (json!({ "query": "{ me { nickname } }" }), "BAD_REQUEST"),
        (
            json!({ "query": "query A { __typename }", "operationName": "B" }),
            "BAD_REQUEST",
        ),
        (
            json!({ "query": "{ parentEntities(first: 100) { edges { node {
                roles(first: 100) { edges { node { user { id email displayName createdAt } } } } } } } }" }),
            "QUERY_TOO_COMPLEX",
        ),
    ];
    for (body, code) in cases {
        let (status, content_type, vary, res) =
            parts(post(&app, NEW_TYPE, body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {res:#}");
        assert!(content_type.starts_with(NEW_TYPE), "{content_type}");
        assert!(vary.contains("accept"), "{vary}");
        assert_eq!(error_code(&res), code, "{body}");
        assert!(
            res.get("data").is_none(),
            "a request error has no data: {res:#}"
        );

        // The same request as before: 200, JSON, `data: null`.
        let (status, content_type, _, res) =
            parts(post(&app, "application/json", body.clone()).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "application/json");
        assert_eq!(error_code(&res), code);
        assert!(res["data"].is_null());
    }
    // Over GET, and with the Accept Apollo Client sends.
    let res = app
        .client
        .get(app.url("/graphql"))
        .header(
            "accept",
            "application/graphql-response+json,application/json;q=0.9",
        )
        .query(&[("query", "{ nothing }")])
        .send()
        .await
        .unwrap();
    let (status, content_type, _, res) = parts(res).await;
    assert_eq!(status, 400);
    assert!(content_type.starts_with(NEW_TYPE));
    assert_eq!(error_code(&res), "BAD_REQUEST");
}

async fn answers_with_data_stay_200(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    app.register_parent(&token, "M-1").await;
    let (status, content_type, _, res) =
        parts(post(&app, NEW_TYPE, json!({ "query": "{ __typename }" })).await).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with(NEW_TYPE));
    assert_eq!(res["data"]["__typename"], "Query");

    // Partial data: the reconciliation is for stewards, asked by nobody.
    let partial =
        "{ parentEntities(first: 1) { edges { node { id paymentReconciliation { status } } } } }";
    let (status, _, _, res) = parts(post(&app, NEW_TYPE, json!({ "query": partial })).await).await;
    assert_eq!(status, 200, "{res:#}");
    assert!(
        res["data"]["parentEntities"]["edges"][0]["node"]["id"].is_string(),
        "{res:#}"
    );
    assert!(!res["errors"][0]["path"].as_array().unwrap().is_empty());

    // A field error that nulls all of `data` ran all the same: 200.
    let (status, _, _, res) =
        parts(post(&app, NEW_TYPE, json!({ "query": "{ me { id } }" })).await).await;
    assert_eq!(status, 200, "{res:#}");
    assert_eq!(error_code(&res), "UNAUTHENTICATED");
    assert!(res.get("data").is_some());

    // A batch has no one status.
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ nothing }" }]);
    let (status, _, _, res) = parts(post(&app, NEW_TYPE, batch).await).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&res[1]), "BAD_REQUEST");
    assert!(res[1].get("data").is_none());
}

async fn unacceptable_accepts_are_406(app: TestApp) {
    for accept in [
        "text/plain",
        "application/xml, text/html;q=0.5",
        "application/json;q=0",
    ] {
        let (status, _, vary, res) =
            parts(post(&app, accept, json!({ "query": "{ __typename }" })).await).await;
        assert_eq!(status, 406, "{accept}");
        assert_eq!(error_code(&res), "NOT_ACCEPTABLE");
        assert!(vary.contains("accept"));
        assert!(res["errors"][0]["extensions"]["requestId"].is_string());
    }
    let res = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "application/xml")
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    // Wildcards and no Accept keep JSON.
    for accept in ["*/*", "application/*"] {
        let (status, content_type, _, _) =
            parts(post(&app, accept, json!({ "query": "{ __typename }" })).await).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
    }
}
