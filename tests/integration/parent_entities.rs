//! Parent entities, their stewards and auditors (by invitation and
//! consent), the last-steward rule, and verification by platform admins.

use chrono::{Duration, Utc};
use entities::parent_entity_role;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

// A grant and a revocation ask for every field of a role.
const GRANT: &str = "mutation($i: GrantParentEntityRoleInput!) {
    grantParentEntityRole(input: $i) { id role status email grantedAt acceptedAt declinedAt expiresAt revokedAt
        user { id email displayName } parentEntity { id } }
}";
const REVOKE: &str = "mutation($i: RevokeParentEntityRoleInput!) {
    revokeParentEntityRole(input: $i) { id role status email grantedAt acceptedAt declinedAt expiresAt revokedAt
        user { id email displayName } parentEntity { id } }
}";
const ROLES: &str = "query($id: ID!, $all: Boolean) {
    parentEntity(id: $id) { name roles(includeRevoked: $all) { edges { node { role status email user { email } revokedAt } } } }
}";
const INVITATIONS: &str = "{ me { parentEntityRoleInvitations { edges { node {
    id role status email expiresAt parentEntity { id name } } } } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptParentEntityRole(id: $id) { id role status acceptedAt user { email } } }";
const DECLINE: &str = "mutation($id: ID!) { declineParentEntityRole(id: $id) { id role status declinedAt user { email } } }";
const VERIFY: &str = "mutation($i: VerifyParentEntityInput!) { verifyParentEntity(input: $i) { id verified verifiedAt } }";
const UNVERIFY: &str = "mutation($i: RevokeParentEntityVerificationInput!) {
    revokeParentEntityVerification(input: $i) { id verified verifiedAt } }";
const REGISTER: &str =
    "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id verified } }";

on_both_databases!(
    register_and_read_a_parent_entity,
    stewards_grant_and_revoke_roles,
    the_last_steward_stays,
    auditors_and_outsiders_cannot_manage_roles,
    registration_numbers_are_unique_per_jurisdiction,
    parent_entities_page_through,
    grants_answer_alike_with_or_without_an_account,
    revocations_answer_alike_with_or_without_an_account,
    the_invitee_lists_accepts_and_then_stewards,
    an_invitation_can_be_declined,
    only_the_invitee_can_answer_an_invitation,
    an_expired_invitation_cannot_be_accepted,
    a_person_who_signs_up_later_can_accept,
);

on_both_databases!(
    settings: &[("PLATFORM_ADMIN_EMAILS", "admin@example.org")];
    platform_admins_verify_parent_entities,
    a_verified_number_cannot_be_claimed_again,
);

/// Grants `role`, asserting the answer is a pending invitation; returns it.
async fn invite(app: &TestApp, steward: &str, parent: &str, email: &str, role: &str) -> Value {
    let data = app
        .ok(Some(steward), GRANT, role_input(parent, email, role))
        .await;
    let role = data["grantParentEntityRole"].clone();
    assert_eq!(role["status"], "PENDING", "{role:#}");
    assert!(
        role["user"].is_null(),
        "a pending role names nobody: {role:#}"
    );
    role
}

/// A role's answer without what differs between two calls by design: its
/// id, email and times.
fn shape(role: &Value) -> Value {
    let mut role = role.clone();
    for field in ["id", "email", "grantedAt", "expiresAt", "revokedAt"] {
        let present = !role[field].is_null();
        role[field] = Value::from(present);
    }
    role
}

/// An error without the email it names.
fn error_shape(res: &Value, email: &str) -> (String, String) {
    (
        error_code(res).to_owned(),
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(email, "EMAIL"),
    )
}

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
            "query($id: ID!) { parentEntity(id: $id) { name registrationNumber verified verifiedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(public["parentEntity"]["registrationNumber"], "0896.755.397");
    assert_eq!(public["parentEntity"]["verified"], false);
    assert!(public["parentEntity"]["verifiedAt"].is_null());
    let roles = app.ok(Some(&token), ROLES, json!({ "id": id })).await;
    let edges = roles["parentEntity"]["roles"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["role"], "STEWARD");
    assert_eq!(edges[0]["node"]["status"], "ACTIVE");
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
    let (auditor, _) = app.sign_up("auditor@example.org").await;
    let (second, _) = app.sign_up("second@example.org").await;
    let parent = app.register_parent(&steward, "F-100").await;

    let granted = invite(&app, &steward, &parent, "Auditor@Example.org", "AUDITOR").await;
    assert_eq!(granted["role"], "AUDITOR");
    assert_eq!(granted["email"], "auditor@example.org");
    assert_eq!(granted["parentEntity"]["id"], parent.as_str());
    assert!(granted["expiresAt"].is_string());
    let accepted = app
        .ok(Some(&auditor), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(accepted["acceptParentEntityRole"]["status"], "ACTIVE");
    assert_eq!(
        accepted["acceptParentEntityRole"]["user"]["email"],
        "auditor@example.org"
    );
    app.grant_role(&steward, &parent, &second, "second@example.org", "STEWARD")
        .await;

    // One role per email: an auditor does not also steward.
    let twice = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "auditor@example.org", "STEWARD"),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    // An email without an account is invited like any other.
    invite(&app, &steward, &parent, "nobody@example.org", "AUDITOR").await;
    let again = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "nobody@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    assert!(
        again["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nobody@example.org is already invited")
    );

    let revoked = app
        .ok(
            Some(&steward),
            REVOKE,
            role_input(&parent, "auditor@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(revoked["revokeParentEntityRole"]["status"], "REVOKED");
    assert!(revoked["revokeParentEntityRole"]["revokedAt"].is_string());
    // The auditor's rights went with the role.
    let gone = app
        .gql(Some(&auditor), ROLES, json!({ "id": parent }))
        .await;
    assert_eq!(error_code(&gone), "FORBIDDEN");

    let current = app.ok(Some(&steward), ROLES, json!({ "id": parent })).await;
    let rows: Vec<(&str, &str)> = current["parentEntity"]["roles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["email"].as_str().unwrap(),
                e["node"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("steward@example.org", "ACTIVE"),
            ("second@example.org", "ACTIVE"),
            ("nobody@example.org", "PENDING"),
        ]
    );
    // The revoked role stays as history.
    let history = app
        .ok(Some(&steward), ROLES, json!({ "id": parent, "all": true }))
        .await;
    let edges = history["parentEntity"]["roles"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 4);
    assert!(edges.iter().any(|e| e["node"]["role"] == "AUDITOR"
        && e["node"]["status"] == "REVOKED"
        && e["node"]["revokedAt"].is_string()));

    // Each step is in the parent's trail.
    let trail = crate::audit::all_events(&app, &steward, json!({ "parentEntityId": parent })).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("parentEntityRole."))
        .collect();
    assert_eq!(
        actions,
        vec![
            "parentEntityRole.granted",
            "parentEntityRole.accepted",
            "parentEntityRole.granted",
            "parentEntityRole.accepted",
            "parentEntityRole.granted",
            "parentEntityRole.revoked",
        ]
    );
}

async fn the_last_steward_stays(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (second, _) = app.sign_up("second@example.org").await;
    let parent = app.register_parent(&steward, "L-1").await;
    // A pending steward does not count: the registrant is still the last.
    invite(&app, &steward, &parent, "second@example.org", "STEWARD").await;
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

    let invitation = app.ok(Some(&second), INVITATIONS, json!({})).await;
    let id = &invitation["me"]["parentEntityRoleInvitations"]["edges"][0]["node"]["id"];
    app.ok(Some(&second), ACCEPT, json!({ "id": id })).await;
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
    app.grant_role(
        &steward,
        &parent,
        &auditor,
        "auditor@example.org",
        "AUDITOR",
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

async fn grants_answer_alike_with_or_without_an_account(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    app.sign_up("known@example.org").await;
    let parent = app.register_parent(&steward, "G-1").await;

    let known = invite(&app, &steward, &parent, "known@example.org", "AUDITOR").await;
    let unknown = invite(&app, &steward, &parent, "unknown@example.org", "AUDITOR").await;
    assert_eq!(shape(&known), shape(&unknown));
    assert_eq!(
        known.as_object().unwrap().keys().collect::<Vec<_>>(),
        unknown.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    // Granting again is refused alike, naming the email only.
    let known_again = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "known@example.org", "STEWARD"),
        )
        .await;
    let unknown_again = app
        .gql(
            Some(&steward),
            GRANT,
            role_input(&parent, "unknown@example.org", "STEWARD"),
        )
        .await;
    assert_eq!(
        error_shape(&known_again, "known@example.org"),
        error_shape(&unknown_again, "unknown@example.org")
    );
    assert_eq!(error_code(&known_again), "CONFLICT");
    // The steward's list shows both the same way until someone accepts.
    let roles = app.ok(Some(&steward), ROLES, json!({ "id": parent })).await;
    let pending: Vec<&Value> = roles["parentEntity"]["roles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["status"] == "PENDING")
        .collect();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|e| e["node"]["user"].is_null()));
}

async fn revocations_answer_alike_with_or_without_an_account(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    app.sign_up("known@example.org").await;
    let parent = app.register_parent(&steward, "R-1").await;

    // Nothing held: NOT_FOUND, in the same words.
    let known_none = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "known@example.org", "AUDITOR"),
        )
        .await;
    let unknown_none = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "unknown@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&known_none), "NOT_FOUND");
    assert_eq!(
        known_none["errors"][0]["message"],
        "known@example.org holds no AUDITOR role at this parent entity"
    );
    assert_eq!(
        error_shape(&known_none, "known@example.org"),
        error_shape(&unknown_none, "unknown@example.org")
    );

    // A pending invitation is withdrawn alike.
    invite(&app, &steward, &parent, "known@example.org", "AUDITOR").await;
    invite(&app, &steward, &parent, "unknown@example.org", "AUDITOR").await;
    let known = app
        .ok(
            Some(&steward),
            REVOKE,
            role_input(&parent, "known@example.org", "AUDITOR"),
        )
        .await["revokeParentEntityRole"]
        .clone();
    let unknown = app
        .ok(
            Some(&steward),
            REVOKE,
            role_input(&parent, "unknown@example.org", "AUDITOR"),
        )
        .await["revokeParentEntityRole"]
        .clone();
    assert_eq!(known["status"], "REVOKED");
    assert!(known["user"].is_null());
    assert_eq!(shape(&known), shape(&unknown));
    // Once withdrawn, nothing is held again, and the answer says so alike.
    let known_twice = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "known@example.org", "AUDITOR"),
        )
        .await;
    let unknown_twice = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "unknown@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(
        error_shape(&known_twice, "known@example.org"),
        error_shape(&known_none, "known@example.org")
    );
    assert_eq!(
        error_shape(&unknown_twice, "unknown@example.org"),
        error_shape(&known_none, "known@example.org")
    );
}

async fn the_invitee_lists_accepts_and_then_stewards(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (bob, _) = app.sign_up("bob@example.org").await;
    let parent = app.register_parent(&steward, "I-1").await;
    let granted = invite(&app, &steward, &parent, "bob@example.org", "STEWARD").await;

    // Not a steward yet.
    let early = app
        .gql(
            Some(&bob),
            GRANT,
            role_input(&parent, "carol@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&early), "FORBIDDEN");

    // An API token with READ lists; accepting, a mutation, needs WRITE.
    let token = |scopes: Value| {
        let app = &app;
        let bob = &bob;
        async move {
            app.ok(
                Some(bob),
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
                json!({ "i": { "name": "script", "scopes": scopes } }),
            )
            .await["createApiToken"]["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let read = token(json!(["READ"])).await;
    let write = token(json!(["READ", "WRITE"])).await;
    let listed = app.ok(Some(&read), INVITATIONS, json!({})).await;
    let edges = listed["me"]["parentEntityRoleInvitations"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1);
    let node = &edges[0]["node"];
    assert_eq!(node["id"], granted["id"]);
    assert_eq!(node["role"], "STEWARD");
    assert_eq!(node["status"], "PENDING");
    assert_eq!(node["parentEntity"]["id"], parent.as_str());
    assert_eq!(node["parentEntity"]["name"], "Cooperativa Paraguas");
    let refused = app
        .gql(Some(&read), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let accepted = app
        .ok(Some(&write), ACCEPT, json!({ "id": granted["id"] }))
        .await["acceptParentEntityRole"]
        .clone();
    assert_eq!(accepted["status"], "ACTIVE");
    assert!(accepted["acceptedAt"].is_string());
    assert_eq!(accepted["user"]["email"], "bob@example.org");
    let twice = app
        .gql(Some(&bob), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let listed = app.ok(Some(&bob), INVITATIONS, json!({})).await;
    assert_eq!(
        listed["me"]["parentEntityRoleInvitations"]["edges"],
        json!([])
    );
    let mine = app
        .ok(
            Some(&bob),
            "{ me { parentEntityRoles { edges { node { role status parentEntity { id } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["me"]["parentEntityRoles"]["edges"][0]["node"],
        json!({ "role": "STEWARD", "status": "ACTIVE", "parentEntity": { "id": parent } })
    );

    // Now Bob stewards: he invites, and sees the invitation in the roles.
    invite(&app, &bob, &parent, "carol@example.org", "AUDITOR").await;
    let roles = app.ok(Some(&bob), ROLES, json!({ "id": parent })).await;
    assert_eq!(
        roles["parentEntity"]["roles"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn an_invitation_can_be_declined(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (carol, _) = app.sign_up("carol@example.org").await;
    let parent = app.register_parent(&steward, "D-1").await;
    let granted = invite(&app, &steward, &parent, "carol@example.org", "AUDITOR").await;

    let declined = app
        .ok(Some(&carol), DECLINE, json!({ "id": granted["id"] }))
        .await["declineParentEntityRole"]
        .clone();
    assert_eq!(declined["status"], "DECLINED");
    assert!(declined["declinedAt"].is_string());
    assert!(declined["user"].is_null());
    let late = app
        .gql(Some(&carol), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(error_code(&late), "CONFLICT");
    let hidden = app.gql(Some(&carol), ROLES, json!({ "id": parent })).await;
    assert_eq!(error_code(&hidden), "FORBIDDEN");

    // Declined is history: out of the current list, in the full one.
    let current = app.ok(Some(&steward), ROLES, json!({ "id": parent })).await;
    assert_eq!(
        current["parentEntity"]["roles"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let history = app
        .ok(Some(&steward), ROLES, json!({ "id": parent, "all": true }))
        .await;
    assert!(
        history["parentEntity"]["roles"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["status"] == "DECLINED")
    );
    // The steward may ask again, and nothing is held meanwhile.
    let revoke = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "carol@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&revoke), "NOT_FOUND");
    invite(&app, &steward, &parent, "carol@example.org", "AUDITOR").await;
    let trail = crate::audit::all_events(&app, &steward, json!({ "parentEntityId": parent })).await;
    assert!(
        trail
            .iter()
            .any(|e| e["action"] == "parentEntityRole.declined" && e["entityId"] == granted["id"])
    );
}

async fn only_the_invitee_can_answer_an_invitation(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (bob, _) = app.sign_up("bob@example.org").await;
    let (mallory, _) = app.sign_up("mallory@example.org").await;
    let parent = app.register_parent(&steward, "O-1").await;
    let granted = invite(&app, &steward, &parent, "bob@example.org", "STEWARD").await;

    for (query, as_whom) in [(ACCEPT, &mallory), (DECLINE, &mallory), (ACCEPT, &steward)] {
        let res = app
            .gql(Some(as_whom), query, json!({ "id": granted["id"] }))
            .await;
        assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");
    }
    let anonymous = app.gql(None, ACCEPT, json!({ "id": granted["id"] })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let listed = app.ok(Some(&mallory), INVITATIONS, json!({})).await;
    assert_eq!(
        listed["me"]["parentEntityRoleInvitations"]["edges"],
        json!([])
    );
    // Bob still can.
    app.ok(Some(&bob), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    // Once Bob holds the role, nobody else reads his invitations through it.
    let nosy = app
        .gql(
            Some(&steward),
            "query($id: ID!) { parentEntity(id: $id) { roles { edges { node { user { parentEntityRoleInvitations { edges { node { id } } } } } } } } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(error_code(&nosy), "FORBIDDEN");
}

async fn an_expired_invitation_cannot_be_accepted(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (bob, _) = app.sign_up("bob@example.org").await;
    let parent = app.register_parent(&steward, "E-1").await;
    let granted = invite(&app, &steward, &parent, "bob@example.org", "AUDITOR").await;
    let id: uuid::Uuid = granted["id"].as_str().unwrap().parse().unwrap();
    // The invitation lapses (INVITATION_TTL_DAYS went by).
    let row = parent_entity_role::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut row: parent_entity_role::ActiveModel = row.into();
    row.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    row.update(&app.db).await.unwrap();

    let res = app
        .gql(Some(&bob), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let listed = app.ok(Some(&bob), INVITATIONS, json!({})).await;
    assert_eq!(
        listed["me"]["parentEntityRoleInvitations"]["edges"],
        json!([])
    );
    let history = app
        .ok(Some(&steward), ROLES, json!({ "id": parent, "all": true }))
        .await;
    assert!(
        history["parentEntity"]["roles"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["status"] == "EXPIRED")
    );
    // A lapsed invitation holds nothing: it cannot be revoked, and the
    // steward may invite again.
    let revoke = app
        .gql(
            Some(&steward),
            REVOKE,
            role_input(&parent, "bob@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&revoke), "NOT_FOUND");
    let again = invite(&app, &steward, &parent, "bob@example.org", "AUDITOR").await;
    app.ok(Some(&bob), ACCEPT, json!({ "id": again["id"] }))
        .await;
}

async fn a_person_who_signs_up_later_can_accept(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let parent = app.register_parent(&steward, "S-1").await;
    let granted = invite(&app, &steward, &parent, "Late@Example.org", "AUDITOR").await;
    let (late, _) = app.sign_up("late@example.org").await;
    let listed = app.ok(Some(&late), INVITATIONS, json!({})).await;
    assert_eq!(
        listed["me"]["parentEntityRoleInvitations"]["edges"][0]["node"]["id"],
        granted["id"]
    );
    let accepted = app
        .ok(Some(&late), ACCEPT, json!({ "id": granted["id"] }))
        .await;
    assert_eq!(accepted["acceptParentEntityRole"]["role"], "AUDITOR");
    // Now an auditor: reads the roles, changes nothing.
    app.ok(Some(&late), ROLES, json!({ "id": parent })).await;
    let write = app
        .gql(
            Some(&late),
            GRANT,
            role_input(&parent, "x@example.org", "AUDITOR"),
        )
        .await;
    assert_eq!(error_code(&write), "FORBIDDEN");
}

fn registration(name: &str, jurisdiction: &str, number: &str) -> Value {
    json!({ "i": { "name": name, "jurisdiction": jurisdiction, "legalForm": "sociedad cooperativa",
                    "registrationNumber": number } })
}

async fn platform_admins_verify_parent_entities(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    let (admin, _) = app.sign_up("Admin@example.org").await;
    let other = app
        .ok(
            Some(&p.w.steward),
            REGISTER,
            registration("Otra", "ES", "O-77"),
        )
        .await["registerParentEntity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = json!({ "i": { "parentEntityId": p.w.parent } });
    let pool = "query($id: ID!) { pool(id: $id) { parentVerified parentEntity { verified } } }";
    let before = app.ok(None, pool, json!({ "id": p.pool })).await;
    assert_eq!(before["pool"]["parentVerified"], false);

    // Stewards, auditors, founders, anyone else: refused.
    for token in [&p.w.steward, &p.w.auditor, &p.w.founder] {
        for (query, input) in [
            (VERIFY, target.clone()),
            (
                UNVERIFY,
                json!({ "i": { "parentEntityId": p.w.parent, "reason": "" } }),
            ),
        ] {
            let res = app.gql(Some(token), query, input).await;
            assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
        }
    }
    assert_eq!(
        error_code(&app.gql(None, VERIFY, target.clone()).await),
        "UNAUTHENTICATED"
    );
    // An admin's API token is not enough: verifying needs a session.
    let api = app
        .ok(
            Some(&admin),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            json!({ "i": { "name": "script", "scopes": ["READ", "WRITE"] } }),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&app.gql(Some(&api), VERIFY, target.clone()).await),
        "FORBIDDEN"
    );

    let verified = app.ok(Some(&admin), VERIFY, target.clone()).await;
    assert_eq!(verified["verifyParentEntity"]["verified"], true);
    assert!(verified["verifyParentEntity"]["verifiedAt"].is_string());
    let twice = app.gql(Some(&admin), VERIFY, target.clone()).await;
    assert_eq!(error_code(&twice), "CONFLICT");

    // The pool shows it, and so does the public directory.
    let after = app.ok(None, pool, json!({ "id": p.pool })).await;
    assert_eq!(after["pool"]["parentVerified"], true);
    assert_eq!(after["pool"]["parentEntity"]["verified"], true);
    let directory =
        "query($v: Boolean) { parentEntities(verified: $v) { edges { node { id verified } } } }";
    let ids = |data: &Value| -> Vec<(String, bool)> {
        data["parentEntities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["node"]["id"].as_str().unwrap().to_owned(),
                    e["node"]["verified"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let all = app.ok(None, directory, json!({})).await;
    assert_eq!(
        ids(&all),
        vec![(p.w.parent.clone(), true), (other.clone(), false)]
    );
    let only = app.ok(None, directory, json!({ "v": true })).await;
    assert_eq!(ids(&only), vec![(p.w.parent.clone(), true)]);
    let unverified = app.ok(None, directory, json!({ "v": false })).await;
    assert_eq!(ids(&unverified), vec![(other.clone(), false)]);

    // Revoking needs a reason (checked after the admin), and is undone.
    let no_reason = app
        .gql(
            Some(&admin),
            UNVERIFY,
            json!({ "i": { "parentEntityId": p.w.parent, "reason": "  " } }),
        )
        .await;
    assert_eq!(error_paths(&no_reason), vec!["input.reason"]);
    let revoked = app
        .ok(Some(&admin), UNVERIFY, json!({ "i": { "parentEntityId": p.w.parent, "reason": "registry shows another name" } }))
        .await;
    assert_eq!(revoked["revokeParentEntityVerification"]["verified"], false);
    let after = app.ok(None, pool, json!({ "id": p.pool })).await;
    assert_eq!(after["pool"]["parentVerified"], false);
    let missing = app
        .gql(
            Some(&admin),
            VERIFY,
            json!({ "i": { "parentEntityId": uuid::Uuid::now_v7().to_string() } }),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");

    // Both are in the parent's trail, the reason with the revocation.
    let trail =
        crate::audit::all_events(app, &p.w.steward, json!({ "parentEntityId": p.w.parent })).await;
    let revocation = trail
        .iter()
        .find(|e| e["action"] == "parentEntity.verificationRevoked")
        .expect("revocation audited");
    assert_eq!(
        revocation["changes"]["reason"],
        "registry shows another name"
    );
    assert!(trail.iter().any(|e| e["action"] == "parentEntity.verified"));
}

async fn a_verified_number_cannot_be_claimed_again(app: TestApp) {
    let (admin, _) = app.sign_up("admin@example.org").await;
    let (real, _) = app.sign_up("real@example.org").await;
    let (copycat, _) = app.sign_up("copycat@example.org").await;
    let genuine = app
        .ok(
            Some(&real),
            REGISTER,
            registration("Cooperativa Real", "ES", "F-12.345"),
        )
        .await["registerParentEntity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Registered before the verification under another spelling: allowed,
    // and it stays unverified.
    let early_copy = app
        .ok(
            Some(&copycat),
            REGISTER,
            registration("Real Coop", "ES", "f 12345"),
        )
        .await["registerParentEntity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&admin),
        VERIFY,
        json!({ "i": { "parentEntityId": genuine } }),
    )
    .await;

    for number in ["F-12.345", "f12345", " F 12 345 "] {
        let res = app
            .gql(Some(&copycat), REGISTER, registration("Copy", "ES", number))
            .await;
        assert_eq!(error_code(&res), "CONFLICT", "{number}: {res:#}");
        assert!(
            res["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("input.registrationNumber"),
            "{res:#}"
        );
    }
    // Another jurisdiction's register is another number.
    app.ok(
        Some(&copycat),
        REGISTER,
        registration("Copie", "FR", "F-12.345"),
    )
    .await;
    // The earlier copy cannot be verified while the genuine one holds it.
    let clash = app
        .gql(
            Some(&admin),
            VERIFY,
            json!({ "i": { "parentEntityId": early_copy } }),
        )
        .await;
    assert_eq!(error_code(&clash), "CONFLICT");

    // Revoking the verification frees the number.
    app.ok(
        Some(&admin),
        UNVERIFY,
        json!({ "i": { "parentEntityId": genuine, "reason": "verified by mistake" } }),
    )
    .await;
    let claimed = app
        .ok(
            Some(&copycat),
            REGISTER,
            registration("Copy", "ES", "F12345"),
        )
        .await;
    assert_eq!(claimed["registerParentEntity"]["verified"], false);
    let verified = app
        .ok(
            Some(&admin),
            VERIFY,
            json!({ "i": { "parentEntityId": early_copy } }),
        )
        .await;
    assert_eq!(verified["verifyParentEntity"]["verified"], true);
    // And the race: two verifications of one number, at once; one wins.
    app.ok(
        Some(&admin),
        UNVERIFY,
        json!({ "i": { "parentEntityId": early_copy, "reason": "checking again" } }),
    )
    .await;
    let (a, b) = tokio::join!(
        app.gql(
            Some(&admin),
            VERIFY,
            json!({ "i": { "parentEntityId": genuine } })
        ),
        app.gql(
            Some(&admin),
            VERIFY,
            json!({ "i": { "parentEntityId": early_copy } })
        ),
    );
    let won = [&a, &b]
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(won, 1, "{a:#} {b:#}");
    let lost = if a.get("errors").is_some() { &a } else { &b };
    assert_eq!(error_code(lost), "CONFLICT");
}
