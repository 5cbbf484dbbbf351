//! Events out: the job queue, app provisioning against an operator played by
//! the test, integrators' webhooks, live subscriptions, and two servers on
//! one database.

use std::{collections::HashSet, time::Duration};

use futures::{SinkExt, StreamExt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait,
    sea_query::Expr,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    helpers::{TestApp, error_code, eventually},
    pools::{PoolWorld, TWO_GROUPS},
    stub::{Reply, Stub, sign_callback, verify},
};

/// Fast workers, so the tests do not wait on polls or backoff.
pub(crate) const QUICK: &[(&str, &str)] = &[
    ("JOB_POLL_INTERVAL_MS", "50"),
    ("JOB_RETRY_BASE_MS", "20"),
    ("JOB_MAX_ATTEMPTS", "3"),
    ("OUTBOUND_TIMEOUT_SECS", "1"),
    ("JOB_LEASE_SECS", "1"),
];

pub(crate) const APPS: &str = "query($id: ID!) { pool(id: $id) { apps { id appId provisioningState url statusMessage handover } } }";

pub(crate) async fn pool_app(p: &PoolWorld) -> Value {
    p.app()
        .ok(Some(&p.w.founder), APPS, json!({ "id": p.pool }))
        .await["pool"]["apps"][0]
        .clone()
}

/// Polls until the pool's app is in `state`.
pub(crate) async fn app_reaches(p: &PoolWorld, state: &str) -> Value {
    eventually(&format!("the app never became {state}"), || async {
        let app = pool_app(p).await;
        if app["provisioningState"] == state {
            Ok(app)
        } else {
            Err(app)
        }
    })
    .await
}

/// The pool's first provisioning job ran and found no provisioner.
pub(crate) async fn waits_for_a_provisioner(p: &PoolWorld) {
    let app = eventually("the app never said it waits", || async {
        let app = pool_app(p).await;
        if app["statusMessage"].is_string() {
            Ok(app)
        } else {
            Err(app)
        }
    })
    .await;
    assert_eq!(app["provisioningState"], "REQUESTED");
    assert!(
        app["statusMessage"]
            .as_str()
            .unwrap()
            .contains("no provisioner"),
        "{app:#}"
    );
}

pub(crate) async fn set_provisioner(p: &PoolWorld, url: &str) -> String {
    p.app()
        .ok(Some(&p.w.steward), "mutation($i: SetAppProvisionerInput!) { setAppProvisioner(input: $i) { provisioner { id appId url } secret } }",
            json!({ "i": { "parentEntityId": p.w.parent, "appId": "loomio", "url": url } }))
        .await["setAppProvisioner"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn loomio_pool(app: TestApp) -> PoolWorld {
    PoolWorld::with_apps(app, TWO_GROUPS(), json!(["loomio"])).await
}

pub(crate) fn provision_requests(seen: &crate::stub::Seen) -> bool {
    seen.body["type"] == "provision"
}

on_both_databases!(settings: crate::events::QUICK;
    apps_are_provisioned_and_accounts_follow_members,
    failed_provisioning_is_retried_then_reported,
    a_job_whose_worker_died_is_taken_over,
    integrators_hear_events_through_signed_webhooks,
    subscriptions_stream_what_happens,
    a_subscription_ends_when_access_does,
    finished_jobs_are_removed_after_their_retention,
);

async fn apps_are_provisioned_and_accounts_follow_members(app: TestApp) {
    let p = loomio_pool(app).await;
    // No provisioner yet: the app waits, and says why.
    waits_for_a_provisioner(&p).await;

    let operator = Stub::start().await;
    let secret = set_provisioner(&p, &operator.url).await;
    assert!(secret.starts_with("prsec_"));
    // The provisioner is a Node for the parent's stewards, and for nobody
    // else, the pool's own admin included.
    let provisioner = entities::app_provisioner::Entity::find()
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    let node = "query($id: ID!) { node(id: $id) { __typename ... on AppProvisioner { appId } } }";
    let id = json!({ "id": provisioner.id.to_string() });
    let seen = p.app().ok(Some(&p.w.steward), node, id.clone()).await;
    assert_eq!(
        seen["node"],
        json!({ "__typename": "AppProvisioner", "appId": "loomio" })
    );
    let hidden = p.app().ok(Some(&p.w.founder), node, id).await;
    assert_eq!(hidden["node"], Value::Null);
    let request = operator.wait_for(1, provision_requests).await.remove(0);
    assert!(
        verify(&secret, &request),
        "the request is signed with the provisioner's secret"
    );
    assert_eq!(request.body["app"]["id"], "loomio");
    assert_eq!(request.body["pool"]["id"], p.pool.as_str());
    assert_eq!(request.body["roleMapping"]["admins"], "admin");
    app_reaches(&p, "PROVISIONING").await;

    // A forged callback is refused and changes nothing.
    let callback = request.body["callbackUrl"].as_str().unwrap().to_owned();
    let job = request.body["jobId"].as_str().unwrap().to_owned();
    assert!(callback.ends_with(&format!("/callbacks/provisioning/{job}")));
    let ready = serde_json::to_vec(
        &json!({ "status": "READY", "url": "https://loomio.example.org/test-pool",
        "handover": { "adminLogin": "https://loomio.example.org/login" } }),
    )
    .unwrap();
    let forged = p
        .app()
        .client
        .post(&callback)
        .header(
            "x-pools-signature",
            sign_callback("prsec_guessed", &job, &ready),
        )
        .body(ready.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(pool_app(&p).await["provisioningState"], "PROVISIONING");
    let unknown_job = uuid::Uuid::now_v7().to_string();
    let unknown = p
        .app()
        .client
        .post(
            p.app()
                .url(&format!("/callbacks/provisioning/{unknown_job}")),
        )
        .header(
            "x-pools-signature",
            sign_callback(&secret, &unknown_job, &ready),
        )
        .body(ready.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let answered = p
        .app()
        .client
        .post(&callback)
        .header("x-pools-signature", sign_callback(&secret, &job, &ready))
        .body(ready)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let app_now = pool_app(&p).await;
    assert_eq!(app_now["provisioningState"], "READY");
    assert_eq!(app_now["url"], "https://loomio.example.org/test-pool");
    assert_eq!(
        app_now["handover"]["adminLogin"],
        "https://loomio.example.org/login"
    );

    // The founder (an admin) gets an account with the admin role; a new
    // member gets the member role; leaving removes the account.
    let accounts = |s: &crate::stub::Seen| s.body["type"] == "account";
    let founder_account = operator.wait_for(1, accounts).await.remove(0);
    assert!(verify(&secret, &founder_account));
    assert_eq!(founder_account.body["action"], "add");
    assert_eq!(
        founder_account.body["person"]["email"],
        "founder@example.org"
    );
    assert_eq!(founder_account.body["role"], "admin");
    let (ann, _) = p.join("ann@example.org", "users").await;
    let ann_added = operator
        .wait_for(1, |s| {
            accounts(s) && s.body["person"]["email"] == "ann@example.org"
        })
        .await
        .remove(0);
    assert_eq!(ann_added.body["action"], "add");
    assert_eq!(ann_added.body["role"], "member");
    p.app()
        .ok(
            Some(&ann),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    operator
        .wait_for(1, |s| {
            accounts(s)
                && s.body["person"]["email"] == "ann@example.org"
                && s.body["action"] == "remove"
        })
        .await;
}

async fn failed_provisioning_is_retried_then_reported(app: TestApp) {
    let operator = Stub::start().await;
    // Down, then too slow, then down again: three attempts, all failed.
    operator.script(&[
        Reply::Status(500),
        Reply::Slow(Duration::from_secs(3)),
        Reply::Status(503),
    ]);
    let p = loomio_pool(app).await;
    waits_for_a_provisioner(&p).await;
    set_provisioner(&p, &operator.url).await;
    let failed = app_reaches(&p, "FAILED").await;
    assert_eq!(
        operator
            .seen()
            .iter()
            .filter(|s| provision_requests(s))
            .count(),
        3
    );
    assert!(
        failed["statusMessage"].as_str().unwrap().contains("503"),
        "the last error is kept: {failed:#}"
    );
    let attempts: Vec<_> = operator.seen().iter().map(|s| s.at).collect();
    assert!(attempts.windows(2).all(|w| w[1] > w[0]));
    let dead = entities::job::Entity::find()
        .filter(entities::job::Column::Kind.eq("provision_app"))
        .filter(entities::job::Column::Status.eq(entities::job::JobStatus::Dead))
        .all(&p.app().db)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].last_error.as_deref().unwrap().contains("503"));

    let retry = "mutation($id: ID!) { retryAppProvisioning(poolAppId: $id) { provisioningState } }";
    let (member, _) = p.join("ann@example.org", "users").await;
    let refused = p
        .app()
        .gql(Some(&member), retry, json!({ "id": failed["id"] }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let retried = p
        .app()
        .ok(Some(&p.w.founder), retry, json!({ "id": failed["id"] }))
        .await;
    assert_eq!(
        retried["retryAppProvisioning"]["provisioningState"],
        "REQUESTED"
    );
    app_reaches(&p, "PROVISIONING").await;
    let again = p
        .app()
        .gql(Some(&p.w.founder), retry, json!({ "id": failed["id"] }))
        .await;
    assert_eq!(
        error_code(&again),
        "CONFLICT",
        "only a failed or waiting app is retried"
    );
}

async fn a_job_whose_worker_died_is_taken_over(app: TestApp) {
    let operator = Stub::start().await;
    let p = loomio_pool(app).await;
    waits_for_a_provisioner(&p).await;
    set_provisioner(&p, &operator.url).await;
    operator.wait_for(1, provision_requests).await;
    app_reaches(&p, "PROVISIONING").await;

    // A server claimed the job and died before finishing: the job stays
    // RUNNING under its lock, and the app never left REQUESTED. Both at
    // once: a worker that claimed the job between the two would find the
    // app provisioning and leave it.
    let db = &p.app().db;
    let txn = db.begin().await.unwrap();
    entities::job::Entity::update_many()
        .col_expr(
            entities::job::Column::Status,
            Expr::value(entities::job::JobStatus::Running),
        )
        .col_expr(
            entities::job::Column::LockedBy,
            Expr::value("worker-that-crashed"),
        )
        .col_expr(
            entities::job::Column::LockedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(30)),
        )
        .filter(entities::job::Column::Kind.eq("provision_app"))
        .exec(&txn)
        .await
        .unwrap();
    entities::pool_app::Entity::update_many()
        .col_expr(
            entities::pool_app::Column::ProvisioningState,
            Expr::value("REQUESTED"),
        )
        .exec(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();

    // Once its lease has run out, a live worker takes it over.
    operator.wait_for(2, provision_requests).await;
    app_reaches(&p, "PROVISIONING").await;
    let job = entities::job::Entity::find()
        .filter(entities::job::Column::Kind.eq("provision_app"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let done = eventually("the job was not finished by the live worker", || async {
        let j = entities::job::Entity::find_by_id(job.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        if j.status == entities::job::JobStatus::Done {
            Ok(j)
        } else {
            Err(j)
        }
    })
    .await;
    assert_eq!(done.locked_by.as_deref(), Some(p.app().worker_id.as_str()));
    assert_eq!(done.attempts, 2);
}

async fn finished_jobs_are_removed_after_their_retention(app: TestApp) {
    use entities::job;
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let insert = |kind: &'static str, status: job::JobStatus, days_ago: i64| {
        let db = app.db.clone();
        async move {
            let at = now - chrono::Duration::days(days_ago);
            job::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                kind: Set(kind.into()),
                payload: Set("{}".into()),
                status: Set(status),
                attempts: Set(1),
                max_attempts: Set(3),
                run_at: Set(at),
                locked_at: Set(None),
                locked_by: Set(None),
                last_error: Set((status == job::JobStatus::Dead).then(|| "receiver gone".into())),
                created_at: Set(at),
                updated_at: Set(at),
                finished_at: Set(Some(at)),
                traceparent: Set(None),
            }
            .insert(&db)
            .await
            .unwrap()
            .id
        }
    };
    let old_delivery = insert("deliver_webhook", job::JobStatus::Done, 40).await;
    let old_closing = insert("close_proposal", job::JobStatus::Done, 31).await;
    let recent = insert("deliver_webhook", job::JobStatus::Done, 2).await;
    let dead = insert("deliver_webhook", job::JobStatus::Dead, 90).await;
    let provisioning = insert("provision_app", job::JobStatus::Done, 90).await;

    // A server's worker prunes when it starts, then hourly.
    let other = app.second_server(crate::events::QUICK).await;
    let left = eventually("old finished jobs are pruned", || async {
        let left = job::Entity::find()
            .all(&other.db)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect::<Vec<_>>();
        if !left.contains(&old_delivery) && !left.contains(&old_closing) {
            Ok(left)
        } else {
            Err(left)
        }
    })
    .await;
    // The 40- and 31-day-old finished jobs are gone; these stay.
    for kept in [recent, dead, provisioning] {
        assert!(
            left.contains(&kept),
            "{kept} is kept: recent, dead or provisioning"
        );
    }
}

const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { edges { node { eventId status attempts lastStatusCode deliveredAt } } } }";

async fn integrators_hear_events_through_signed_webhooks(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiver = Stub::start().await;
    let create = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id events url } secret } }";
    let bad = p
        .app()
        .gql(Some(&p.w.founder), create, json!({ "i": { "poolId": p.pool, "url": "ftp://nope", "events": ["member.joined", "member.teleported"] } }))
        .await;
    assert_eq!(error_code(&bad), "VALIDATION");
    let paths: Vec<&str> = bad["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["input.url", "input.events[1]"]);
    let (ann, _) = p.join("ann@example.org", "users").await;
    let refused = p
        .app()
        .gql(
            Some(&ann),
            create,
            json!({ "i": { "poolId": p.pool, "url": receiver.url, "events": ["member.joined"] } }),
        )
        .await;
    assert_eq!(
        error_code(&refused),
        "FORBIDDEN",
        "members do not manage webhooks"
    );

    let created = p
        .app()
        .ok(Some(&p.w.founder), create,
            json!({ "i": { "poolId": p.pool, "url": receiver.url, "events": ["member.left", "member.joined"] } }))
        .await["createWebhookEndpoint"]
        .clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["endpoint"]["events"],
        json!(["member.joined", "member.left"])
    );

    // The receiver is down once: the same event comes again.
    receiver.script(&[Reply::Status(500)]);
    let (bob, bob_member) = p.join("bob@example.org", "users").await;
    let tries = receiver.wait_for(2, |_| true).await;
    let ids: HashSet<&str> = tries
        .iter()
        .map(|s| s.headers["x-pools-event-id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one event id across retries");
    for t in &tries {
        assert!(verify(&secret, t), "signed with the endpoint's secret");
        assert_eq!(t.headers["x-pools-event-type"], "member.joined");
    }
    let event = &tries[1].body;
    assert_eq!(event["type"], "member.joined");
    assert_eq!(event["id"], tries[1].headers["x-pools-event-id"].as_str());
    assert_eq!(event["poolId"], p.pool.as_str());
    assert_eq!(event["data"]["id"], bob_member.as_str());
    assert_eq!(event["data"]["email"], "bob@example.org");

    let delivered = eventually("the delivery is recorded as delivered", || async {
        let data = p
            .app()
            .ok(Some(&p.w.founder), DELIVERIES, json!({ "id": endpoint }))
            .await;
        let delivered = data["webhookDeliveries"]["edges"][0]["node"].clone();
        if delivered["status"] == "DELIVERED" {
            Ok(delivered)
        } else {
            Err(delivered)
        }
    })
    .await;
    assert_eq!(delivered["status"], "DELIVERED");
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["lastStatusCode"], 200);
    assert_eq!(delivered["eventId"], event["id"]);

    p.app()
        .ok(
            Some(&bob),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    let left = receiver
        .wait_for(1, |s| s.body["type"] == "member.left")
        .await
        .remove(0);
    assert_eq!(left.body["data"]["status"], "LEFT");

    // A refused change sends nothing; a deleted endpoint hears nothing more.
    let before = receiver.seen().len();
    let failed = p.app().gql(Some(&ann), "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id } }",
        json!({ "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["users"], "message": "again" } })).await;
    assert_eq!(error_code(&failed), "CONFLICT");
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedAt } }",
            json!({ "id": endpoint }),
        )
        .await;
    p.join("cleo@example.org", "users").await;
    // Deliveries are queued in the change's transaction: once the queue has
    // settled, anything sent for Cleo has arrived.
    p.app().jobs_settled("deliver_webhook").await;
    assert_eq!(receiver.seen().len(), before);
    let listed = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID) { webhookEndpoints(poolId: $id) { edges { node { id } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(listed["webhookEndpoints"]["edges"], json!([]));
}

/// A graphql-transport-ws client: connects, sends the init payload and
/// waits for the ack.
pub(crate) async fn ws_connect(app: &TestApp, init: Value) -> Socket {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": init }).to_string(),
    ))
    .await
    .unwrap();
    let ack = next_message(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack:#}");
    ws
}

pub(crate) async fn next_message<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" && value["type"] != "pong" {
                return value;
            }
        }
    }
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `server` as `token` and subscribes (as `id`) to the pool's
/// events after its newest one, so nothing that follows is missed however
/// long the feed takes to start.
async fn follow_pool(p: &PoolWorld, server: &TestApp, token: &str, id: &str) -> Socket {
    let mark = newest_pool_event(p).await;
    let mut ws = ws_connect(server, json!({ "token": token })).await;
    subscribe(
        &mut ws,
        id,
        POOL_EVENTS,
        json!({ "id": p.pool, "after": mark }),
    )
    .await;
    ws
}

/// The next `count` events of subscription `id`.
async fn next_events<S>(ws: &mut S, id: &str, count: usize) -> Vec<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut events = Vec::new();
    while events.len() < count {
        let message = next_message(ws).await;
        assert_eq!(message["type"], "next", "{message:#}");
        assert_eq!(message["id"], id);
        events.push(message["payload"]["data"]["poolEvents"].clone());
    }
    events
}

pub(crate) async fn subscribe<S>(ws: &mut S, id: &str, query: &str, variables: Value)
where
    S: futures::Sink<Message> + Unpin,
    S::Error: std::fmt::Debug,
{
    ws.send(Message::text(
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }).to_string(),
    ))
    .await
    .unwrap();
}

pub(crate) const POOL_EVENTS: &str = "subscription($id: ID!, $after: ID) { poolEvents(poolId: $id, after: $after) { id action entityType entityId } }";

/// The id of the pool's newest event (its admins read the trail). A
/// subscription started `after` it hears everything that follows, however
/// long the server takes to start the feed.
async fn newest_pool_event(p: &PoolWorld) -> String {
    p.app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { auditEvents(input: { poolId: $id }, last: 1) { edges { node { id } } } }",
            json!({ "id": p.pool }),
        )
        .await["auditEvents"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn subscriptions_stream_what_happens(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let mut ws = follow_pool(&p, p.app(), &p.w.founder, "1").await;
    let (_, ann_member) = p.join("ann@example.org", "users").await;
    let actions = next_events(&mut ws, "1", 2).await;
    assert_eq!(actions[0]["action"], "application.submitted");
    assert_eq!(actions[1]["action"], "member.joined");
    assert_eq!(actions[1]["entityId"], ann_member.as_str());

    // The connection drops; Bea joins meanwhile. Resuming after the last
    // event received brings what was missed, and nothing twice.
    drop(ws);
    let (_, bea_member) = p.join("bea@example.org", "users").await;
    let mut ws = ws_connect(p.app(), json!({ "token": p.w.founder })).await;
    subscribe(
        &mut ws,
        "2",
        POOL_EVENTS,
        json!({ "id": p.pool, "after": actions[1]["id"] }),
    )
    .await;
    let missed = next_events(&mut ws, "2", 2).await;
    assert_eq!(missed[0]["action"], "application.submitted");
    assert_eq!(missed[1]["action"], "member.joined");
    assert_eq!(missed[1]["entityId"], bea_member.as_str());

    // An `after` that is no event of this feed is refused, naming the field.
    subscribe(
        &mut ws,
        "3",
        POOL_EVENTS,
        json!({ "id": p.pool, "after": uuid::Uuid::now_v7() }),
    )
    .await;
    let refused = next_message(&mut ws).await;
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "VALIDATION", "{refused:#}");
    assert_eq!(
        error["extensions"]["fields"][0]["path"], "after",
        "{refused:#}"
    );

    // Someone outside the pool is refused, as for queries.
    let (outsider, _) = p.app().sign_up("outsider@example.org").await;
    let mut other = ws_connect(
        p.app(),
        json!({ "Authorization": format!("Bearer {outsider}") }),
    )
    .await;
    subscribe(&mut other, "x", POOL_EVENTS, json!({ "id": p.pool })).await;
    let refused = next_message(&mut other).await;
    let errors = match refused["type"].as_str() {
        Some("error") => &refused["payload"],
        _ => &refused["payload"]["errors"],
    };
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{refused:#}");
    assert!(refused["payload"]["data"].is_null());

    // A founder follows their draft.
    let mark = newest_pool_event(&p).await;
    let formation = p.w.start("Next").await;
    let mut founder = ws_connect(p.app(), json!({ "token": p.w.founder })).await;
    subscribe(&mut founder, "f", "subscription($id: ID!, $after: ID) { formationUpdated(formationId: $id, after: $after) { id formationId action changes } }",
        json!({ "id": formation, "after": mark })).await;
    let started = next_message(&mut founder).await;
    assert_eq!(
        started["payload"]["data"]["formationUpdated"]["action"], "formation.started",
        "{started:#}"
    );
    p.w.step(
        &p.w.founder,
        "nameFormation",
        json!({ "formationId": formation, "name": "Green Grocers" }),
    )
    .await;
    let update = next_message(&mut founder).await;
    assert_eq!(
        update["payload"]["data"]["formationUpdated"]["action"],
        "formation.named"
    );
    assert_eq!(
        update["payload"]["data"]["formationUpdated"]["formationId"],
        formation.as_str()
    );
    assert_eq!(
        update["payload"]["data"]["formationUpdated"]["changes"]["name"]["after"],
        "Green Grocers"
    );

    // A bad token refuses the connection itself.
    let url = p.app().url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut bad, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    bad.send(Message::text(
        json!({ "type": "connection_init", "payload": { "token": "pst_forged" } }).to_string(),
    ))
    .await
    .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), bad.next())
        .await
        .unwrap();
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{closed:?}"
    );
}

async fn a_subscription_ends_when_access_does(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ann, _) = p.join("ann@example.org", "users").await;
    let mut ws = follow_pool(&p, p.app(), &ann, "1").await;
    p.join("bea@example.org", "users").await;
    let heard = next_message(&mut ws).await;
    assert_eq!(heard["type"], "next", "{heard:#}");
    assert_eq!(
        heard["payload"]["data"]["poolEvents"]["action"],
        "application.submitted"
    );
    next_message(&mut ws).await; // member.joined

    // Ann leaves: what happens next in the pool is no longer hers to hear.
    p.app()
        .ok(
            Some(&ann),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    let refused = next_message(&mut ws).await;
    assert_eq!(refused["type"], "next", "{refused:#}");
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{refused:#}");
    assert!(
        error["extensions"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(next_message(&mut ws).await["type"], "complete");

    // A session signed out elsewhere stops its subscriptions too.
    let (cid, _) = p.join("cid@example.org", "users").await;
    let mut cids = follow_pool(&p, p.app(), &cid, "2").await;
    p.app()
        .ok(Some(&cid), "mutation { signOut }", json!({}))
        .await;
    p.join("dan@example.org", "users").await;
    let refused = next_message(&mut cids).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused:#}"
    );
    assert_eq!(next_message(&mut cids).await["type"], "complete");

    // The library's own errors over the socket carry a code and the
    // connection's request id, as over HTTP.
    subscribe(&mut ws, "3", "subscription { noSuchField }", json!({})).await;
    let invalid = next_message(&mut ws).await;
    let errors = match invalid["type"].as_str() {
        Some("error") => &invalid["payload"],
        _ => &invalid["payload"]["errors"],
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "BAD_REQUEST",
        "{invalid:#}"
    );
    assert!(
        errors[0]["extensions"]["requestId"].is_string(),
        "{invalid:#}"
    );

    // Mutations go through POST, where scopes, timeouts and the record of
    // refusals apply; the socket refuses them and changes nothing.
    subscribe(
        &mut ws,
        "4",
        "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
        json!({ "id": p.pool }),
    )
    .await;
    let refused = loop {
        let message = next_message(&mut ws).await;
        if message["id"] == "4" {
            break message; // not the `complete` that ends operation 3
        }
    };
    let errors = match refused["type"].as_str() {
        Some("error") => &refused["payload"],
        _ => &refused["payload"]["errors"],
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "METHOD_NOT_ALLOWED",
        "{refused:#}"
    );
}

// Two servers need a database both can reach: one process owns an SQLite
// database, so this runs on PostgreSQL only.
on_both_databases!(settings: &[("JOB_POLL_INTERVAL_MS", "5000"), ("JOB_BATCH", "1")];
    postgres only;
    two_servers_share_the_queue_and_the_events);

/// Waits until two connections to the database (one per server, each
/// opened when its server starts serving) LISTEN for notifications.
async fn both_servers_listen(app: &TestApp) {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
               AND pid <> pg_backend_pid() AND state = 'idle' \
               AND query LIKE 'LISTEN %pools_events%'";
    eventually("both servers listen for notifications", || async {
        let listening: i64 = app
            .db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        if listening >= 2 {
            Ok(())
        } else {
            Err(listening)
        }
    })
    .await;
}

async fn two_servers_share_the_queue_and_the_events(a: TestApp) {
    let b = a
        .second_server(&[("JOB_POLL_INTERVAL_MS", "60000"), ("JOB_BATCH", "1")])
        .await;
    let p = PoolWorld::new(a, TWO_GROUPS()).await;
    let a = p.app();
    let receiver = Stub::start().await;
    p.pool_endpoint(&receiver.url, &["member.joined"]).await;

    // A subscription on server B hears what happens through server A. B
    // polls a minute apart here, so once its feed has started, only the
    // database's NOTIFY can bring it news within the test. It starts after a known
    // event, so it misses nothing even if it starts late.
    let mut ws = follow_pool(&p, &b, &p.w.founder, "1").await;
    both_servers_listen(a).await;

    // Forty people join, half through each server.
    let apply = "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id } }";
    let input = json!({ "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["users"], "message": "hi" } });
    for i in 0..40 {
        let server = if i % 2 == 0 { a } else { &b };
        let (token, _) = server.sign_up(&format!("person{i}@example.org")).await;
        server.ok(Some(&token), apply, input.clone()).await;
        if i == 0 {
            // Joined through A, heard on B: the feed has started.
            let heard = next_message(&mut ws).await;
            assert_eq!(heard["type"], "next");
            assert_eq!(
                heard["payload"]["data"]["poolEvents"]["action"],
                "application.submitted"
            );
        }
    }

    // The other 39 reach B's started feed by NOTIFY alone.
    let mut heard = 1;
    while heard < 40 {
        let message = next_message(&mut ws).await;
        assert_eq!(message["type"], "next", "{message:#}");
        if message["payload"]["data"]["poolEvents"]["action"] == "application.submitted" {
            heard += 1;
        }
    }

    // Every delivery arrives exactly once, and both servers did some.
    let seen = receiver.wait_for(40, |_| true).await;
    // A duplicate would come from a job run twice: once every delivery job
    // has finished and the receiver has answered all it got, none is on its
    // way.
    a.jobs_settled("deliver_webhook").await;
    assert_eq!(receiver.answered().len(), receiver.seen().len());
    let all = receiver.seen();
    let ids: HashSet<String> = all
        .iter()
        .map(|s| s.headers["x-pools-event-id"].clone())
        .collect();
    assert_eq!(all.len(), 40, "no duplicates");
    assert_eq!(ids.len(), 40);
    assert!(seen.iter().all(|s| s.body["type"] == "member.joined"));
    let workers: HashSet<String> = entities::job::Entity::find()
        .filter(entities::job::Column::Kind.eq("deliver_webhook"))
        .filter(entities::job::Column::Status.eq(entities::job::JobStatus::Done))
        .all(&a.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|j| j.locked_by)
        .collect();
    assert_eq!(
        workers,
        HashSet::from([a.worker_id.clone(), b.worker_id.clone()]),
        "both servers ran jobs"
    );
}
