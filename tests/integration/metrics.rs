//! `/metrics` on `METRICS_LISTEN_ADDR`: what a Prometheus scrape reads
//! after real requests, parsed from the text format; and nothing of it on
//! the public address.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use crate::{
    contributions::{euro_scale, payment_method, start},
    helpers::{TestApp, error_code, eventually},
    pools::{PoolWorld, TWO_GROUPS},
    stub::{Reply, Stub},
};

on_both_databases!(
    settings: &[("METRICS_LISTEN_ADDR", "127.0.0.1:0")];
    operations_are_counted_by_name_and_code,
    the_pool_and_the_worker_are_shown,
    metrics_are_not_on_the_public_address,
    sockets_and_subscriptions_are_counted_while_open,
);

on_both_databases!(
    settings: &[("METRICS_LISTEN_ADDR", "127.0.0.1:0"), ("RUN_JOBS", "false")];
    due_jobs_are_shown_by_kind_with_the_oldest_wait,
);

on_both_databases!(without_the_setting_there_is_no_metrics_listener);

// Quick retries: three attempts per delivery. The lease and the outbound
// timeout stay at their defaults: the counts are exact, and a loaded machine
// must not turn a slow answer into a timeout or a lapsed lease into a rerun.
on_both_databases!(
    settings: &[
        ("METRICS_LISTEN_ADDR", "127.0.0.1:0"),
        ("JOB_POLL_INTERVAL_MS", "50"),
        ("JOB_RETRY_BASE_MS", "20"),
        ("JOB_MAX_ATTEMPTS", "3"),
    ];
    webhook_attempts_are_counted_by_outcome,
);

on_both_databases!(
    settings: &[
        ("METRICS_LISTEN_ADDR", "127.0.0.1:0"),
        ("STRIPE_SECRET_KEY", "sk_test_12345"),
        ("STRIPE_API_BASE", "env:TEST_STRIPE_URL"),
    ];
    needs stripe;
    stripe_calls_are_counted_by_outcome,
);

on_both_databases!(
    settings: &[
        ("METRICS_LISTEN_ADDR", "127.0.0.1:0"),
        ("STRIPE_SECRET_KEY", "sk_test_12345"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
    ];
    an_unreachable_stripe_is_counted,
);

/// One sample of the text format: a name, its labels, a value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a scrape (comments and `# TYPE` lines skipped). Label
/// values here never hold quotes, commas or braces, which the reader
/// assumes.
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value after the series");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The value of the sample with exactly these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let url = app
        .metrics_url
        .as_ref()
        .expect("METRICS_LISTEN_ADDR is set");
    let res = app.client.get(url).send().await.expect("scraped");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4",
        "the Prometheus text format"
    );
    parse(&res.text().await.expect("a body"))
}

async fn operations_are_counted_by_name_and_code(app: TestApp) {
    let (token, _) = app.sign_up("ada@example.org").await;
    for _ in 0..3 {
        app.ok(Some(&token), "query Me { me { id } }", json!({}))
            .await;
    }
    app.ok(Some(&token), "{ me { email } }", json!({})).await;
    let refused = app.gql(None, "query Me { me { id } }", json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED");
    let broken = app.gql(None, "{ me { id ", json!({})).await;
    assert_eq!(error_code(&broken), "BAD_REQUEST");
    // A root field the schema lacks is no label of its own.
    let unknown = app.gql(None, "{ attackerChosen }", json!({})).await;
    assert_eq!(error_code(&unknown), "BAD_REQUEST");

    let samples = scrape(&app).await;
    let operations = |operation: &str, code: &str| {
        value(
            &samples,
            "pools_graphql_operations_total",
            &[("operation", operation), ("code", code)],
        )
    };
    assert_eq!(operations("Me", "OK"), Some(3.0), "{samples:#?}");
    assert_eq!(operations("Me", "UNAUTHENTICATED"), Some(1.0));
    assert_eq!(operations("query:me", "OK"), Some(1.0));
    assert_eq!(operations("mutation:signUp", "OK"), Some(1.0));
    assert_eq!(operations("_invalid", "BAD_REQUEST"), Some(2.0));
    assert!(
        samples
            .iter()
            .all(|s| s.labels.get("operation").map(String::as_str) != Some("query:attackerChosen")),
        "{samples:#?}"
    );
    let seconds = |operation: &str| {
        value(
            &samples,
            "pools_graphql_operation_seconds_count",
            &[("operation", operation)],
        )
    };
    assert_eq!(seconds("Me"), Some(4.0));
    assert_eq!(seconds("query:me"), Some(1.0));
    let slowest_bucket = value(
        &samples,
        "pools_graphql_operation_seconds_bucket",
        &[("operation", "Me"), ("le", "+Inf")],
    );
    assert_eq!(slowest_bucket, Some(4.0));
    let statements = value(&samples, "pools_db_statement_seconds_count", &[]);
    assert!(statements.is_some_and(|n| n >= 5.0), "{statements:?}");
}

async fn the_pool_and_the_worker_are_shown(app: TestApp) {
    // Signing up queues the confirmation message, which the worker sends.
    app.sign_up_unconfirmed("grace@example.org").await;
    app.jobs_settled("send_mail").await;
    // Counted once the worker has recorded the outcome, just after the
    // job reads as done.
    let samples = eventually("the run is counted", || async {
        let samples = scrape(&app).await;
        let sent = value(
            &samples,
            "pools_job_runs_total",
            &[("kind", "send_mail"), ("outcome", "succeeded")],
        );
        if sent == Some(1.0) {
            Ok(samples)
        } else {
            Err(sent)
        }
    })
    .await;
    assert_eq!(
        value(&samples, "pools_db_pool_max_connections", &[]),
        Some(5.0),
        "DATABASE_MAX_CONNECTIONS of the tests"
    );
    let idle = value(&samples, "pools_db_pool_connections", &[("state", "idle")]);
    let in_use = value(
        &samples,
        "pools_db_pool_connections",
        &[("state", "in_use")],
    );
    let open = idle.expect("idle") + in_use.expect("in_use");
    assert!(
        (1.0..=5.0).contains(&open),
        "{idle:?} idle, {in_use:?} in use"
    );
    assert_eq!(
        value(&samples, "pools_jobs_due", &[("kind", "send_mail")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "pools_jobs_oldest_due_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "pools_websocket_connections", &[]),
        Some(0.0)
    );
    assert_eq!(value(&samples, "pools_subscriptions", &[]), Some(0.0));
}

async fn queue(app: &TestApp, kind: &str, waited: chrono::Duration) {
    use entities::job;
    let now = Utc::now();
    job::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        kind: Set(kind.to_owned()),
        payload: Set("{}".to_owned()),
        status: Set(job::JobStatus::Pending),
        attempts: Set(0),
        max_attempts: Set(10),
        run_at: Set(now - waited),
        locked_at: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(now - waited),
        updated_at: Set(now - waited),
        finished_at: Set(None),
        traceparent: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("job queued");
}

async fn due_jobs_are_shown_by_kind_with_the_oldest_wait(app: TestApp) {
    queue(&app, "send_mail", chrono::Duration::minutes(10)).await;
    queue(&app, "send_mail", chrono::Duration::seconds(5)).await;
    queue(&app, "close_proposal", chrono::Duration::seconds(30)).await;
    // Not due yet: not counted.
    queue(&app, "close_proposal", chrono::Duration::seconds(-3600)).await;
    // A kind only a newer server knows.
    queue(&app, "from_a_newer_server", chrono::Duration::seconds(1)).await;
    let samples = scrape(&app).await;
    let due = |kind: &str| value(&samples, "pools_jobs_due", &[("kind", kind)]);
    assert_eq!(due("send_mail"), Some(2.0), "{samples:#?}");
    assert_eq!(due("close_proposal"), Some(1.0));
    assert_eq!(due("deliver_webhook"), Some(0.0), "every kind is shown");
    assert_eq!(due("_other"), Some(1.0));
    assert_eq!(due("from_a_newer_server"), None);
    let oldest = value(&samples, "pools_jobs_oldest_due_seconds", &[]).expect("oldest");
    assert!((600.0..900.0).contains(&oldest), "{oldest}");
}

async fn metrics_are_not_on_the_public_address(app: TestApp) {
    let res = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.expect("the usual JSON error");
    assert_eq!(error_code(&body), "NOT_FOUND");
    // And the metrics listener serves nothing else.
    let other = app
        .metrics_url
        .as_ref()
        .expect("metrics url")
        .replace("/metrics", "/graphql");
    let res = app.client.get(other).send().await.expect("sent");
    assert_eq!(res.status(), 404);
}

async fn without_the_setting_there_is_no_metrics_listener(app: TestApp) {
    assert!(app.metrics_url.is_none());
    let res = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

async fn sockets_and_subscriptions_are_counted_while_open(app: TestApp) {
    let w = crate::formations::World::new(app, "MANUAL").await;
    let formation = w.start("Counted").await;
    let mut ws = crate::events::ws_connect(&w.app, json!({ "token": w.founder })).await;
    crate::events::subscribe(
        &mut ws,
        "f",
        "subscription($id: ID!) { formationUpdated(formationId: $id) { action } }",
        json!({ "id": formation }),
    )
    .await;
    let open = |sockets: f64, subscriptions: f64| {
        let app = &w.app;
        async move {
            eventually("the gauges follow", || async {
                let samples = scrape(app).await;
                let seen = (
                    value(&samples, "pools_websocket_connections", &[]),
                    value(&samples, "pools_subscriptions", &[]),
                );
                if seen == (Some(sockets), Some(subscriptions)) {
                    Ok(())
                } else {
                    Err(seen)
                }
            })
            .await
        }
    };
    open(1.0, 1.0).await;
    ws.close(None).await.expect("closed");
    open(0.0, 0.0).await;
}

/// Waits until the samples of `name` that are above 0 are `expected`
/// (the value of `label` → the sample's value).
async fn counted(app: &TestApp, name: &str, label: &str, expected: &[(&str, f64)]) {
    eventually(&format!("{name} counts"), || async {
        let samples = scrape(app).await;
        let seen: Vec<(String, f64)> = samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| Some((s.labels.get(label)?.clone(), s.value)))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        let mut want: Vec<(String, f64)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        let mut got = seen.clone();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if got == want { Ok(()) } else { Err(got) }
    })
    .await;
}

const CREATE_ENDPOINT: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }";

async fn webhook_attempts_are_counted_by_outcome(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    // Fails once, then takes it; and one that never does.
    let flaky = Stub::start().await;
    flaky.script(&[Reply::Status(500)]);
    let down = Stub::start().await;
    down.script(&vec![Reply::Status(503); 3]);
    for receiver in [&flaky, &down] {
        p.app()
            .ok(
                Some(&p.w.founder),
                CREATE_ENDPOINT,
                json!({ "i": { "poolId": p.pool, "url": receiver.url, "events": ["member.joined"] } }),
            )
            .await;
    }
    p.join("ann@example.org", "users").await;
    counted(
        p.app(),
        "pools_webhook_deliveries_total",
        "outcome",
        &[("delivered", 1.0), ("retried", 3.0), ("dead", 1.0)],
    )
    .await;
    // A job's run is counted once its outcome is stored, just after the
    // attempt it made: wait for it, as for the attempts.
    let samples = eventually("the delivery jobs' runs are counted", || async {
        let samples = scrape(p.app()).await;
        let runs = |outcome: &str| {
            value(
                &samples,
                "pools_job_runs_total",
                &[("kind", "deliver_webhook"), ("outcome", outcome)],
            )
        };
        let seen = [runs("succeeded"), runs("retried"), runs("dead")];
        if seen == [Some(1.0), Some(3.0), Some(1.0)] {
            Ok(samples)
        } else {
            Err(seen)
        }
    })
    .await;
    assert_eq!(
        value(
            &samples,
            "pools_webhook_deliveries_total",
            &[("outcome", "refused")]
        ),
        Some(0.0),
        "known outcomes are there from the start"
    );
}

async fn stripe_calls_are_counted_by_outcome(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("payer@example.org", "users").await;
    let before = scrape(p.app()).await;
    let calls = |samples: &[Sample], outcome: &str| {
        value(samples, "pools_stripe_calls_total", &[("outcome", outcome)]).expect(outcome)
    };
    let declined = payment_method(p.app(), "4000000000000002").await;
    let res = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": declined }),
    )
    .await;
    assert_eq!(error_code(&res), "PAYMENT_FAILED", "{res:#}");
    let after = scrape(p.app()).await;
    // The server may call Stripe on its own too (reconciliation): compare.
    assert!(
        calls(&after, "refused") > calls(&before, "refused"),
        "{after:#?}"
    );
    let card = payment_method(p.app(), "4242424242424242").await;
    let res = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(
        res["data"]["startContribution"]["contribution"]["status"], "ACTIVE",
        "{res:#}"
    );
    let paid = scrape(p.app()).await;
    assert!(calls(&paid, "ok") > calls(&after, "ok"), "{paid:#?}");
    assert_eq!(calls(&paid, "unreachable"), 0.0);
    assert_eq!(calls(&paid, "error"), 0.0);
}

async fn an_unreachable_stripe_is_counted(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("m@example.org", "users").await;
    let res = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": "pm_unreachable" }),
    )
    .await;
    assert_eq!(error_code(&res), "PAYMENT_PROVIDER", "{res:#}");
    let samples = scrape(p.app()).await;
    let calls = |outcome: &str| {
        value(
            &samples,
            "pools_stripe_calls_total",
            &[("outcome", outcome)],
        )
    };
    assert!(
        calls("unreachable").is_some_and(|n| n >= 1.0),
        "{samples:#?}"
    );
    assert_eq!(calls("ok"), Some(0.0));
}
