//! Integrators' API tokens: scopes, listing, revocation.

use serde_json::json;

use crate::helpers::{TestApp, error_code, error_paths};

const CREATE: &str = "mutation($i: CreateApiTokenInput!) {
    createApiToken(input: $i) { token apiToken { id name scopes expiresAt revokedAt } }
}";
const REGISTER: &str =
    "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }";

on_both_databases!(
    read_token_queries_but_never_mutates,
    write_token_mutates,
    revoked_token_stops_working,
    tokens_are_listed_for_their_owner_only,
    token_input_is_validated,
);

async fn create(app: &TestApp, session: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let data = app
        .ok(
            Some(session),
            CREATE,
            json!({ "i": { "name": name, "scopes": scopes } }),
        )
        .await;
    let created = &data["createApiToken"];
    assert!(created["token"].as_str().unwrap().starts_with("pat_"));
    assert_eq!(created["apiToken"]["name"], name);
    assert!(created["apiToken"]["revokedAt"].is_null());
    (
        created["token"].as_str().unwrap().to_owned(),
        created["apiToken"]["id"].as_str().unwrap().to_owned(),
    )
}

fn parent_input(number: &str) -> serde_json::Value {
    json!({ "i": { "name": "Fairbnb Coop", "jurisdiction": "IT", "legalForm": "società cooperativa", "registrationNumber": number } })
}

async fn read_token_queries_but_never_mutates(app: TestApp) {
    let (session, user_id) = app.sign_up("integrator@example.org").await;
    let (read, _) = create(&app, &session, "dashboard", &["READ"]).await;

    let me = app.ok(Some(&read), "{ me { id } }", json!({})).await;
    assert_eq!(me["me"]["id"], user_id.as_str());

    let refused = app.gql(Some(&read), REGISTER, parent_input("R-1")).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    assert!(refused["data"].is_null());
    // Even mutations that need no sign-in are refused to a read-only token.
    let sign_up = app
        .gql(
            Some(&read),
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "x@example.org", "password": "correct horse battery", "displayName": "X" } }),
        )
        .await;
    assert_eq!(error_code(&sign_up), "FORBIDDEN");
    let parents = app
        .ok(
            None,
            "{ parentEntities { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        parents["parentEntities"]["edges"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
}

async fn write_token_mutates(app: TestApp) {
    let (session, _) = app.sign_up("integrator@example.org").await;
    let (write, _) = create(&app, &session, "sync job", &["READ", "WRITE"]).await;
    let data = app.ok(Some(&write), REGISTER, parent_input("W-1")).await;
    assert!(data["registerParentEntity"]["id"].is_string());
    // Tokens cannot mint tokens: that needs the person.
    let res = app
        .gql(
            Some(&write),
            CREATE,
            json!({ "i": { "name": "child", "scopes": ["READ"] } }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN");
}

async fn revoked_token_stops_working(app: TestApp) {
    let (session, _) = app.sign_up("integrator@example.org").await;
    let (token, id) = create(&app, &session, "old", &["READ"]).await;
    app.ok(Some(&token), "{ me { id } }", json!({})).await;
    let revoked = app
        .ok(
            Some(&session),
            "mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(revoked["revokeApiToken"]["revokedAt"].is_string());
    let res = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&res), "UNAUTHENTICATED");
}

async fn tokens_are_listed_for_their_owner_only(app: TestApp) {
    let (ada, _) = app.sign_up("ada@example.org").await;
    let (grace, _) = app.sign_up("grace@example.org").await;
    let (_, first_id) = create(&app, &ada, "one", &["READ"]).await;
    create(&app, &ada, "two", &["WRITE"]).await;
    create(&app, &grace, "grace's", &["READ"]).await;

    let page = app
        .ok(Some(&ada), "{ apiTokens(first: 1) { edges { node { name } } pageInfo { hasNextPage endCursor } } }", json!({}))
        .await;
    assert_eq!(page["apiTokens"]["edges"][0]["node"]["name"], "one");
    assert_eq!(page["apiTokens"]["pageInfo"]["hasNextPage"], true);
    let cursor = page["apiTokens"]["pageInfo"]["endCursor"].as_str().unwrap();
    let next = app
        .ok(
            Some(&ada),
            "query($after: String) { apiTokens(first: 5, after: $after) { edges { node { name scopes } } pageInfo { hasNextPage } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(next["apiTokens"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(next["apiTokens"]["edges"][0]["node"]["name"], "two");
    assert_eq!(
        next["apiTokens"]["edges"][0]["node"]["scopes"],
        json!(["WRITE"])
    );
    assert_eq!(next["apiTokens"]["pageInfo"]["hasNextPage"], false);

    // Grace cannot revoke Ada's token: to her it does not exist.
    let res = app
        .gql(
            Some(&grace),
            "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
            json!({ "id": first_id }),
        )
        .await;
    assert_eq!(error_code(&res), "NOT_FOUND");
}

async fn token_input_is_validated(app: TestApp) {
    let (session, _) = app.sign_up("ada@example.org").await;
    let res = app
        .gql(
            Some(&session),
            CREATE,
            json!({ "i": { "name": "", "scopes": [], "expiresInDays": 9999 } }),
        )
        .await;
    assert_eq!(error_code(&res), "VALIDATION");
    assert_eq!(
        error_paths(&res),
        vec!["input.name", "input.scopes", "input.expiresInDays"]
    );
}
