//! The guarded door for outbound calls: registration refuses what delivery
//! would refuse, a stored URL that is refused is never called, and
//! redirects are not followed.

use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths, eventually},
    pools::{PoolWorld, TWO_GROUPS},
    stub::{Reply, Stub},
};

/// Fast workers (as `events::QUICK`) with the guard on, as in production.
const GUARDED: &[(&str, &str)] = &[
    ("JOB_POLL_INTERVAL_MS", "50"),
    ("JOB_RETRY_BASE_MS", "20"),
    ("JOB_MAX_ATTEMPTS", "3"),
    ("OUTBOUND_TIMEOUT_SECS", "1"),
    ("JOB_LEASE_SECS", "1"),
    ("OUTBOUND_ALLOW_PRIVATE", "false"),
];

const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } secret } }";
const SET_PROVISIONER: &str = "mutation($i: SetAppProvisionerInput!) { setAppProvisioner(input: $i) { provisioner { id } secret } }";
const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) { edges { node { status attempts lastStatusCode lastError } } } }";

on_both_databases!(settings: crate::outbound::GUARDED;
    registration_refuses_private_and_special_targets,
    a_stored_url_refused_by_policy_is_never_called,
);

on_both_databases!(settings: crate::events::QUICK;
    redirects_are_not_followed,
);

/// Each refused URL, with a piece of the message it gets.
fn refused_urls() -> Vec<(String, &'static str)> {
    let long = format!("https://example.org/{}", "a".repeat(2048));
    [
        (
            "http://169.254.169.254/latest",
            "169.254.169.254 is a link-local address",
        ),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.0.1/", "172.16.0.1 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared"),
        ("http://[fd00::1]/", "fd00::1 is a unique-local"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address"),
        ("http://localhost/", "localhost resolves to"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 is a loopback address",
        ),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://192.0.2.1/", "192.0.2.1 is a documentation address"),
        ("https://user:pw@example.org/", "user name or password"),
        (long.as_str(), "at most 2048 characters"),
        ("ftp://example.org/", "http(s) URL"),
        ("http://nothing.invalid/", "does not resolve"),
    ]
    .into_iter()
    .map(|(url, why)| (url.to_owned(), why))
    .collect()
}

fn assert_refused_on_url(res: &Value, url: &str, why: &str) {
    assert_eq!(error_code(res), "VALIDATION", "{url}: {res:#}");
    assert_eq!(error_paths(res), ["input.url"], "{url}");
    let message = res["errors"][0]["extensions"]["fields"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains(why), "{url}: `{message}` lacks `{why}`");
}

async fn registration_refuses_private_and_special_targets(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    for (url, why) in refused_urls() {
        let endpoint = p
            .app()
            .gql(
                Some(&p.w.founder),
                CREATE,
                json!({ "i": { "poolId": p.pool, "url": url, "events": ["member.joined"] } }),
            )
            .await;
        assert_refused_on_url(&endpoint, &url, why);
        let provisioner = p
            .app()
            .gql(
                Some(&p.w.steward),
                SET_PROVISIONER,
                json!({ "i": { "parentEntityId": p.w.parent, "appId": "loomio", "url": url } }),
            )
            .await;
        assert_refused_on_url(&provisioner, &url, why);
    }
    // Someone who may not register learns nothing about the URL, and
    // makes the server look nothing up.
    let (member, _) = p.join("ann@example.org", "users").await;
    let refused = p
        .app()
        .gql(
            Some(&member),
            CREATE,
            json!({ "i": { "poolId": p.pool, "url": "http://localhost/", "events": ["member.joined"] } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused:#}");
    let policy = p
        .app()
        .gql(
            Some(&p.w.founder),
            CREATE,
            json!({ "i": { "poolId": p.pool, "url": "http://10.0.0.1/", "events": ["member.joined"] } }),
        )
        .await;
    let message = policy["errors"][0]["extensions"]["fields"][0]["message"]
        .as_str()
        .unwrap();
    assert_eq!(
        message,
        "is refused by policy: 10.0.0.1 is a private address; only public addresses are reachable"
    );
    let listed = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID) { webhookEndpoints(poolId: $id) { edges { node { id } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(
        listed["webhookEndpoints"]["edges"],
        json!([]),
        "nothing stored"
    );
}

/// The deliveries of an endpoint once the first one matches `done`.
async fn delivery_where(p: &PoolWorld, endpoint: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually("the delivery never reached the expected state", || async {
        let data = p
            .app()
            .ok(Some(&p.w.founder), DELIVERIES, json!({ "id": endpoint }))
            .await;
        let delivery = data["webhookDeliveries"]["edges"][0]["node"].clone();
        if done(&delivery) {
            Ok(delivery)
        } else {
            Err(delivery)
        }
    })
    .await
}

async fn a_stored_url_refused_by_policy_is_never_called(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiver = Stub::start().await;
    // Stored before the guard existed, or by hand: registration cannot
    // make this row, so the test writes it.
    let endpoint = entities::webhook_endpoint::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        parent_entity_id: Set(None),
        pool_id: Set(Some(p.pool.parse().unwrap())),
        url: Set(receiver.url.clone()),
        events: Set(json!(["member.joined"]).to_string()),
        created_by: Set(uuid::Uuid::now_v7()),
        created_at: Set(chrono::Utc::now()),
        deleted_at: Set(None),
    }
    .insert(&p.app().db)
    .await
    .unwrap()
    .id
    .to_string();
    p.join("ann@example.org", "users").await;
    let failed = delivery_where(&p, &endpoint, |d| d["status"] == "FAILED").await;
    let error = failed["lastError"].as_str().unwrap();
    assert!(
        error.starts_with("refused by policy: 127.0.0.1 is a loopback address"),
        "{failed:#}"
    );
    assert_eq!(failed["attempts"], 1, "a refusal by policy is not retried");
    assert!(failed["lastStatusCode"].is_null());
    assert!(receiver.seen().is_empty(), "the receiver heard nothing");
}

async fn redirects_are_not_followed(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let target = Stub::start().await;
    let mut endpoints = Vec::new();
    for code in [302, 307] {
        let redirector = Stub::start().await;
        // One redirect per attempt (JOB_MAX_ATTEMPTS is 3 here).
        redirector.script(&vec![Reply::Redirect(code, target.url.clone()); 3]);
        let id = p
            .app()
            .ok(
                Some(&p.w.founder),
                CREATE,
                json!({ "i": { "poolId": p.pool, "url": redirector.url, "events": ["member.joined"] } }),
            )
            .await["createWebhookEndpoint"]["endpoint"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        endpoints.push((code, id, redirector));
    }
    p.join("ann@example.org", "users").await;
    for (code, endpoint, redirector) in &endpoints {
        let failed = delivery_where(&p, endpoint, |d| d["status"] == "FAILED").await;
        assert_eq!(failed["lastStatusCode"], *code, "{failed:#}");
        assert!(
            failed["lastError"]
                .as_str()
                .unwrap()
                .contains("answered with a redirect"),
            "{failed:#}"
        );
        assert_eq!(
            redirector.seen().len(),
            3,
            "each attempt reached the endpoint"
        );
    }
    assert!(
        target.seen().is_empty(),
        "the redirect's target heard nothing"
    );
}
