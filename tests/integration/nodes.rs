//! Relay's `node` and `nodes`: every kind of object by its id alone, to
//! those who may see it, and null to everyone else.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    links::Busy,
};

on_both_databases!(
    every_kind_of_node_is_found_by_id,
    nodes_answer_in_order_and_are_bounded,
);

/// What a pool shows the public: anyone signed in finds it by id.
const PUBLIC: &[&str] = &[
    "ParentEntity",
    "Pool",
    "StakeholderGroup",
    "PoolApp",
    "SlidingScale",
];

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

async fn every_kind_of_node_is_found_by_id(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.p.app();
    let mut kinds: Vec<_> = b.ids.keys().copied().collect();
    kinds.sort();
    assert_eq!(kinds.len(), 20, "one of every kind: {kinds:?}");
    for kind in &kinds {
        // The steward oversees the pool: they see everything in it, and
        // their own account, role and API token.
        let data = app
            .ok(Some(&b.p.w.steward), NODE, json!({ "id": b.id(kind) }))
            .await;
        assert_eq!(
            data["node"],
            json!({ "__typename": kind, "id": b.id(kind) }),
            "{kind} for the parent's steward"
        );
        // A stranger sees only the public ones; the rest answer as if
        // they did not exist.
        let data = app
            .ok(Some(&b.outsider), NODE, json!({ "id": b.id(kind) }))
            .await;
        if PUBLIC.contains(kind) {
            assert_eq!(data["node"]["__typename"], *kind, "{kind} is public");
        } else {
            assert_eq!(
                data["node"],
                Value::Null,
                "{kind} is hidden from a stranger"
            );
        }
    }
    // A member sees inside the pool and their own contribution, but not
    // another person's application or an invitation sent to someone else.
    for (kind, seen) in [
        ("Proposal", true),
        ("Vote", true),
        ("Delegation", true),
        ("Expense", true),
        ("LedgerEntry", true),
        ("Contribution", true),
        ("MembershipApplication", false),
        ("Invitation", false),
        ("Formation", false),
        ("User", false),
        ("ParentEntityRole", false),
        ("ApiToken", false),
        ("WebhookEndpoint", false),
        ("WebhookDelivery", false),
    ] {
        let data = app
            .ok(Some(&b.ada), NODE, json!({ "id": b.id(kind) }))
            .await;
        assert_eq!(!data["node"].is_null(), seen, "{kind} for a member: {data}");
    }
    // Fields of the concrete type come through fragments.
    let pool = app
        .ok(
            Some(&b.ada),
            "query($id: ID!) { node(id: $id) { ... on Pool { slug parentEntity { slug } } } }",
            json!({ "id": b.id("Pool") }),
        )
        .await;
    assert_eq!(pool["node"]["slug"], "test-pool");
    // An id naming nothing and text that is no id answer null too.
    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let data = app.ok(Some(&b.ada), NODE, json!({ "id": id })).await;
        assert_eq!(data["node"], Value::Null);
    }
    // Without signing in, the public objects only.
    let anonymous = app.ok(None, NODE, json!({ "id": b.id("Pool") })).await;
    assert_eq!(anonymous["node"]["__typename"], "Pool");
    let anonymous = app.ok(None, NODE, json!({ "id": b.id("Member") })).await;
    assert_eq!(anonymous["node"], Value::Null);
    // The catalogue's entries are public, by their own ids: the template
    // and an app a pool names come back as the pool shows them.
    let named = app
        .ok(
            Some(&b.ada),
            "query($id: ID!) { pool(id: $id) { legalTemplate { id name } } }",
            json!({ "id": b.id("Pool") }),
        )
        .await;
    let template = &named["pool"]["legalTemplate"];
    let found = app
        .ok(
            None,
            "query($id: ID!) { node(id: $id) { __typename ... on LegalTemplate { id name } } }",
            json!({ "id": template["id"] }),
        )
        .await;
    assert_eq!(found["node"]["__typename"], "LegalTemplate");
    assert_eq!(found["node"]["name"], template["name"]);
    let found = app
        .ok(
            None,
            "query { node(id: \"nextcloud\") { __typename id ... on App { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(found["node"]["__typename"], "App");
    assert_eq!(found["node"]["id"], "nextcloud");
    // An audit event, to those who read its trail.
    let trail = app
        .ok(
            Some(&b.p.w.steward),
            "query($p: ID!) { auditEvents(input: { parentEntityId: $p }, last: 1) { nodes { id action } } }",
            json!({ "p": b.id("ParentEntity") }),
        )
        .await;
    let event = &trail["auditEvents"]["nodes"][0];
    let query = "query($id: ID!) { node(id: $id) { __typename ... on AuditEvent { id action } } }";
    let found = app
        .ok(Some(&b.p.w.steward), query, json!({ "id": event["id"] }))
        .await;
    assert_eq!(found["node"]["__typename"], "AuditEvent");
    assert_eq!(found["node"]["action"], event["action"]);
    for stranger in [Some(b.outsider.as_str()), None] {
        let hidden = app.ok(stranger, query, json!({ "id": event["id"] })).await;
        assert_eq!(hidden["node"], Value::Null, "an audit event is not public");
    }
}

async fn nodes_answer_in_order_and_are_bounded(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.p.app();
    let query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";
    let ids = json!([b.id("Proposal"), "nonsense", b.id("Pool"), b.id("Member")]);
    let data = app.ok(Some(&b.carl), query, json!({ "ids": ids })).await;
    assert_eq!(
        data["nodes"],
        json!([
            { "__typename": "Proposal", "id": b.id("Proposal") },
            null,
            { "__typename": "Pool", "id": b.id("Pool") },
            { "__typename": "Member", "id": b.id("Member") },
        ])
    );
    let hidden = app
        .ok(Some(&b.outsider), query, json!({ "ids": ids }))
        .await;
    assert_eq!(hidden["nodes"][0], Value::Null);
    assert_eq!(hidden["nodes"][2]["__typename"], "Pool");
    // One lookup finds every kind; the objects load in batches.
    let all: Vec<&str> = b.ids.values().map(String::as_str).collect();
    let before = app.sql_count();
    let data = app
        .ok(Some(&b.p.w.steward), query, json!({ "ids": all }))
        .await;
    assert!(
        data["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.is_null())
    );
    eprintln!(
        "nodes of 20 kinds: {} SQL statements",
        app.sql_count() - before
    );
    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let refused = app
        .gql(Some(&b.carl), query, json!({ "ids": too_many }))
        .await;
    assert_eq!(error_code(&refused), "VALIDATION");
    assert_eq!(error_paths(&refused), ["ids"]);
}
