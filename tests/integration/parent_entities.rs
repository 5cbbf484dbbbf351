//! Parent entities, their stewards and auditors, and the last-steward rule.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_paths};

const GRANT: &str = "mutation($i: GrantParentEntityRoleInput!) {
    grantParentEntityRole(input: $i) { id role revokedAt user { email } parentEntity { id } }
}";
const REVOKE: &str = "mutation($i: RevokeParentEntityRoleInput!) {
    revokeParentEntityRole(input: $i) { id role revokedAt }
}";
const ROLES: &str = "query($id: ID!, $all: Boolean) {
    parentEntity(id: $id) { name roles(includeRevoked: $all) { edges { node { role user { email } revokedAt } } } }
}";

on_both_databases!(
    register_and_read_a_parent_entity,
    stewards_grant_and_revoke_roles,
    the_last_steward_stays,
    auditors_and_outsiders_cannot_manage_roles,
    registration_numbers_are_unique_per_jurisdiction,
    parent_entities_page_through,
);

fn role_input(parent: &str, email: &str, role: &str) -> Value {
    json!({ "i": { "parentEntityId": parent, "email": email, "role": role } })
}

async fn register_and_read_a_parent_entity(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    let data = app
        .ok(
            Some(&token),
            "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) {
                id name jurisdiction legalForm registrationNumber approvalPolicy } }",
            json!({ "i": { "name": "  Smart  Coop ", "jurisdiction": "be", "legalForm": "société coopérative",
                            "registrationNumber": "0896.755.397", "approvalPolicy": "AUTOMATIC" } }),
        )
        .await;
    let parent = &data["registerParentEntity"];
    assert_eq!(parent["name"], "Smart Coop");
    assert_eq!(parent["jurisdiction"], "BE");
    assert_eq!(parent["approvalPolicy"], "AUTOMATIC");
    let id = parent["id"].as_str().unwrap();

    // Anyone may read the public profile; the roles are for its own people.
    let public = app
        .ok(
            None,
            "query($id: ID!) { parentEntity(id: $id) { name registrationNumber } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(public["parentEntity"]["registrationNumber"], "0896.755.397");
    let roles = app.ok(Some(&token), ROLES, json!({ "id": id })).await;
    let edges = roles["parentEntity"]["roles"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["role"], "STEWARD");
    assert_eq!(edges[0]["node"]["user"]["email"], "steward@example.org");

    // The steward sees the role among their own.
    let mine = app
        .ok(
            Some(&token),
            "{ me { parentEntityRoles { edges { node { role parentEntity { id name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["me"]["parentEntityRoles"]["edges"][0]["node"]["parentEntity"]["id"],
        id
    );

    let missing = app
        .gql(
            None,
            "query($id: ID!) { parentEntity(id: $id) { name } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let malformed = app
        .gql(None, "{ parentEntity(id: \"42\") { name } }", json!({}))
        .await;
    assert_eq!(error_paths(&malformed), vec!["id"]);

    let invalid = app
        .gql(
            Some(&token),
            "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
            json!({ "i": { "name": "X", "jurisdiction": "Spain", "legalForm": "", "registrationNumber": "1" } }),
        )
        .await;
    assert_eq!(
        error_paths(&invalid),
        vec!["input.name", "input.jurisdiction", "input.legalForm"]
    );
}

async fn stewards_grant_and_revoke_roles(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    app.sign_up("auditor@example.org").await;
    app.sign_up("second@example.org").await;
    let parent = app.register_parent(&steward, "F-100").await;

    let granted = app
        .ok(
            Some(&steward),
            GRANT,
            role_input(&parent, "Auditor@Example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(granted["grantParentEntityRole"]["role"], "AUDITOR");
    assert_eq!(
        granted["grantParentEntityRole"]["user"]["email"],
        "auditor@example.org"
    );
    assert_eq!(
        granted["grantParentEntityRole"]["parentEntity"]["id"],
        parent.as_str()
    );
    app.ok(
        Some(&steward),
        GRANT,
        role_input(&parent, "second@example.org", "STEWARD"),
    )
    .await;

    // One role per person: an auditor does not also steward.
    let twice = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "auditor@example.org", "STEWARD"),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let unknown = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "nobody@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    let revoked = app
        .ok(
            Some(&steward),
            REVOKE,
            role_input(&parent, "auditor@example.org", "AUDITOR"),
        )
        .await;
    assert!(revoked["revokeParentEntityRole"]["revokedAt"].is_string());

    let current = app.ok(Some(&steward), ROLES, json!({ "id": parent })).await;
    let emails: Vec<&str> = current["parentEntity"]["roles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["steward@example.org", "second@example.org"]);
    // The revoked role stays as history.
    let history = app
        .ok(Some(&steward), ROLES, json!({ "id": parent, "all": true }))
        .await;
    let edges = history["parentEntity"]["roles"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 3);
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["role"] == "AUDITOR" && e["node"]["revokedAt"].is_string())
    );
}

async fn the_last_steward_stays(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (second, _) = app.sign_up("second@example.org").await;
    let parent = app.register_parent(&steward, "L-1").await;
    let last = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "steward@example.org", "STEWARD"),
        )
        .await;
    assert_eq!(error_code(&last), "CONFLICT");
    assert!(
        last["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("last steward")
    );

    app.ok(
        Some(&steward),
        GRANT,
        role_input(&parent, "second@example.org", "STEWARD"),
    )
    .await;
    // Both stewards try to remove each other at once: one must remain.
    let (a, b) = tokio::join!(
        app.gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "second@example.org", "STEWARD")
        ),
        app.gql(
            Some(&second),
            REVOKE,
            role_input(&parent, "steward@example.org", "STEWARD")
        ),
    );
    let succeeded = [&a, &b]
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(succeeded, 1, "exactly one revocation wins: {a:#} {b:#}");
    let remaining = app
        .ok(
            Some(if a.get("errors").is_none() {
                &steward
            } else {
                &second
            }),
            ROLES,
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(
        remaining["parentEntity"]["roles"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn auditors_and_outsiders_cannot_manage_roles(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (auditor, _) = app.sign_up("auditor@example.org").await;
    let (outsider, _) = app.sign_up("outsider@example.org").await;
    let parent = app.register_parent(&steward, "A-1").await;
    app.ok(
        Some(&steward),
        GRANT,
        role_input(&parent, "auditor@example.org", "AUDITOR"),
    )
    .await;

    // The auditor reads the roles, and changes nothing.
    app.ok(Some(&auditor), ROLES, json!({ "id": parent })).await;
    for (query, input) in [
        (
            GRANT,
            role_input(&parent, "outsider@example.org", "STEWARD"),
        ),
        (
            REVOKE,
            role_input(&parent, "steward@example.org", "STEWARD"),
        ),
    ] {
        assert_eq!(
            error_code(&app.gql(Some(&auditor), query, input.clone()).await),
            "FORBIDDEN"
        );
        assert_eq!(
            error_code(&app.gql(Some(&outsider), query, input.clone()).await),
            "FORBIDDEN"
        );
        assert_eq!(
            error_code(&app.gql(None, query, input).await),
            "UNAUTHENTICATED"
        );
    }
    let hidden = app
        .gql(Some(&outsider), ROLES, json!({ "id": parent }))
        .await;
    assert_eq!(error_code(&hidden), "FORBIDDEN");
    // Even a steward cannot list another person's roles elsewhere.
    let nosy = app
        .gql(
            Some(&steward),
            "query($id: ID!) { parentEntity(id: $id) { roles { edges { node { role user { parentEntityRoles { edges { node { id } } } } } } } } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(error_code(&nosy), "FORBIDDEN");
}

async fn registration_numbers_are_unique_per_jurisdiction(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    app.register_parent(&token, "X-1").await;
    let dup = app
        .gql(
            Some(&token),
            "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
            json!({ "i": { "name": "Copy", "jurisdiction": "ES", "legalForm": "cooperativa", "registrationNumber": "X-1" } }),
        )
        .await;
    assert_eq!(error_code(&dup), "CONFLICT");
    // The same number elsewhere is another entity.
    app.ok(
        Some(&token),
        "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
        json!({ "i": { "name": "Other", "jurisdiction": "FR", "legalForm": "SCIC", "registrationNumber": "X-1" } }),
    )
    .await;
}

async fn parent_entities_page_through(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.register_parent(&token, &format!("P-{n}")).await);
    }
    let query = "query($first: Int, $after: String, $last: Int, $before: String) {
        parentEntities(first: $first, after: $after, last: $last, before: $before) {
            edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(None, query, json!({ "first": 2, "after": after }))
            .await;
        let conn = &page["parentEntities"];
        for edge in conn["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ids, "every entity once, oldest first");

    let tail = app.ok(None, query, json!({ "last": 2 })).await;
    let tail_ids: Vec<&str> = tail["parentEntities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(tail_ids, vec![ids[3].as_str(), ids[4].as_str()]);
    assert_eq!(tail["parentEntities"]["pageInfo"]["hasPreviousPage"], true);

    for (vars, path) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "last": 500 }), "last"),
        (json!({ "after": "bogus" }), "after"),
    ] {
        let res = app.gql(None, query, vars).await;
        assert_eq!(error_code(&res), "VALIDATION");
        assert_eq!(error_paths(&res), vec![path]);
    }
}
