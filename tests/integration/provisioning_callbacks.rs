//! Provisioning callbacks cannot be replayed or reused: each is signed over
//! its request's job id, is fresh, answers its request once, and only while
//! the app waits for that request.

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::{
    events::{
        APPS, app_reaches, loomio_pool, pool_app, provision_requests, set_provisioner,
        waits_for_a_provisioner,
    },
    helpers::{TestApp, eventually},
    pools::{PoolWorld, TWO_GROUPS, form_pool},
    stub::{Seen, Stub, sign_callback, sign_callback_at},
};

on_both_databases!(settings: crate::events::QUICK;
    an_answer_is_fresh_and_given_once,
    an_answer_signed_for_one_request_fails_on_another,
    after_a_failure_and_a_retry_the_new_request_is_answered,
);

pub(crate) fn ready(url: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "status": "READY", "url": url, "handover": { "adminLogin": format!("{url}/login") } }))
        .unwrap()
}

fn failed(reason: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "status": "FAILED", "reason": reason })).unwrap()
}

/// POSTs `body` to `request`'s callback URL with `signature`; the status
/// and the JSON answer.
pub(crate) async fn answer(
    p: &PoolWorld,
    request: &Seen,
    signature: &str,
    body: &[u8],
) -> (u16, Value) {
    let res = p
        .app()
        .client
        .post(request.body["callbackUrl"].as_str().unwrap())
        .header("x-pools-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn job_of(request: &Seen) -> &str {
    request.body["jobId"].as_str().unwrap()
}

/// A pool whose loomio app has been requested from a stub operator and is
/// PROVISIONING: the pool, the operator, its secret and the request.
async fn requested(app: TestApp) -> (PoolWorld, Stub, String, Seen) {
    let p = loomio_pool(app).await;
    waits_for_a_provisioner(&p).await;
    let operator = Stub::start().await;
    let secret = set_provisioner(&p, &operator.url).await;
    let request = operator.wait_for(1, provision_requests).await.remove(0);
    app_reaches(&p, "PROVISIONING").await;
    (p, operator, secret, request)
}

async fn an_answer_is_fresh_and_given_once(app: TestApp) {
    let (p, _operator, secret, request) = requested(app).await;
    let job = job_of(&request).to_owned();
    let body = ready("https://loomio.example.org/a");

    // Signed 301 seconds ago: outside the five minutes.
    let stale = sign_callback_at(&secret, chrono::Utc::now().timestamp() - 301, &job, &body);
    let (status, res) = answer(&p, &request, &stale, &body).await;
    assert_eq!(status, 401, "{res:#}");
    assert_eq!(res["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(pool_app(&p).await["provisioningState"], "PROVISIONING");

    // While a newer request for the app exists, this one is not answered.
    let newer = newer_request_for(&p, &job).await;
    let signature = sign_callback(&secret, &job, &body);
    let (status, res) = answer(&p, &request, &signature, &body).await;
    assert_eq!(status, 409, "{res:#}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("newer"),
        "{res:#}"
    );
    entities::job::Entity::delete_by_id(newer)
        .exec(&p.app().db)
        .await
        .unwrap();

    let (status, res) = answer(&p, &request, &signature, &body).await;
    assert_eq!(status, 200, "{res:#}");
    assert_eq!(res["provisioningState"], "READY");

    // The same request again, byte for byte, within the five minutes.
    let (status, res) = answer(&p, &request, &signature, &body).await;
    assert_eq!(status, 409, "{res:#}");
    assert_eq!(res["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already answered"),
        "{res:#}"
    );

    // A FAILED after READY, freshly signed, changes nothing either.
    let no = failed("changed our mind");
    let (status, res) = answer(&p, &request, &sign_callback(&secret, &job, &no), &no).await;
    assert_eq!(status, 409, "{res:#}");
    assert_eq!(res["errors"][0]["extensions"]["code"], "CONFLICT");
    let app = pool_app(&p).await;
    assert_eq!(app["provisioningState"], "READY");
    assert_eq!(app["url"], "https://loomio.example.org/a");
    assert!(app["statusMessage"].is_null(), "{app:#}");
}

/// Queues (as a retry would) a newer, finished request for the app that
/// `job` provisions; its id.
async fn newer_request_for(p: &PoolWorld, job: &str) -> uuid::Uuid {
    let old = entities::job::Entity::find_by_id(job.parse::<uuid::Uuid>().unwrap())
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    entities::job::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        status: Set(entities::job::JobStatus::Done),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(Some(now)),
        ..old.into()
    }
    .insert(&p.app().db)
    .await
    .unwrap()
    .id
}

/// The first app of `pool`, as its founder sees it.
async fn app_in(p: &PoolWorld, pool: &str) -> Value {
    p.app()
        .ok(Some(&p.w.founder), APPS, json!({ "id": pool }))
        .await["pool"]["apps"][0]
        .clone()
}

async fn an_answer_signed_for_one_request_fails_on_another(app: TestApp) {
    // Two pools of one parent: one provisioner, one secret.
    let p = loomio_pool(app).await;
    let other = form_pool(&p.w, TWO_GROUPS(), json!(["loomio"]), "Second Pool").await;
    waits_for_a_provisioner(&p).await;
    eventually("the second pool's app never said it waits", || async {
        let app = app_in(&p, &other).await;
        if app["statusMessage"].is_string() {
            Ok(app)
        } else {
            Err(app)
        }
    })
    .await;
    let operator = Stub::start().await;
    let secret = set_provisioner(&p, &operator.url).await;
    let requests = operator.wait_for(2, provision_requests).await;
    let of = |pool: &str| {
        requests
            .iter()
            .find(|r| r.body["pool"]["id"] == pool)
            .unwrap()
            .clone()
    };
    let (mine, theirs) = (of(&p.pool), of(&other));
    app_reaches(&p, "PROVISIONING").await;
    eventually("the second app is never provisioning", || async {
        let app = app_in(&p, &other).await;
        if app["provisioningState"] == "PROVISIONING" {
            Ok(())
        } else {
            Err(app)
        }
    })
    .await;

    // A's signed READY, sent to B's callback URL.
    let body = ready("https://loomio.example.org/a");
    let signed_for_mine = sign_callback(&secret, job_of(&mine), &body);
    let (status, res) = answer(&p, &theirs, &signed_for_mine, &body).await;
    assert_eq!(status, 401, "{res:#}");
    assert_eq!(res["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let b = app_in(&p, &other).await;
    assert_eq!(b["provisioningState"], "PROVISIONING", "{b:#}");
    assert!(b["url"].is_null() && b["handover"].is_null(), "{b:#}");

    // On its own request it is accepted.
    let (status, _) = answer(&p, &mine, &signed_for_mine, &body).await;
    assert_eq!(status, 200);
    assert_eq!(pool_app(&p).await["provisioningState"], "READY");
    assert_eq!(
        app_in(&p, &other).await["provisioningState"],
        "PROVISIONING"
    );
}

async fn after_a_failure_and_a_retry_the_new_request_is_answered(app: TestApp) {
    let (p, operator, secret, first) = requested(app).await;
    let no = failed("the disk is full");
    let (status, res) = answer(
        &p,
        &first,
        &sign_callback(&secret, job_of(&first), &no),
        &no,
    )
    .await;
    assert_eq!(status, 200, "{res:#}");
    let app = pool_app(&p).await;
    assert_eq!(app["provisioningState"], "FAILED");
    assert_eq!(app["statusMessage"], "the disk is full");

    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($id: ID!) { retryAppProvisioning(poolAppId: $id) { provisioningState } }",
            json!({ "id": app["id"] }),
        )
        .await;
    let second = operator.wait_for(2, provision_requests).await.remove(1);
    assert_ne!(job_of(&second), job_of(&first), "a new request");
    app_reaches(&p, "PROVISIONING").await;

    // The first request was answered: a READY for it now is refused.
    let yes = ready("https://loomio.example.org/a");
    let (status, _) = answer(
        &p,
        &first,
        &sign_callback(&secret, job_of(&first), &yes),
        &yes,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(pool_app(&p).await["provisioningState"], "PROVISIONING");

    let (status, res) = answer(
        &p,
        &second,
        &sign_callback(&secret, job_of(&second), &yes),
        &yes,
    )
    .await;
    assert_eq!(status, 200, "{res:#}");
    let app = pool_app(&p).await;
    assert_eq!(app["provisioningState"], "READY");
    assert_eq!(app["url"], "https://loomio.example.org/a");
}
