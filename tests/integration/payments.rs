//! Payments when the network and Stripe misbehave: the server talks to
//! localstripe through a proxy (`stripe_proxy`) that delays or fails
//! answers and gives Stripe's idempotency, which localstripe lacks.

use entities::{contribution, stripe_object};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    contributions::{
        WEBHOOK_SECRET, all_at_stripe, euro_scale, payment_method, post_event, register_webhook,
        start, stripe_url, wait_for_balances,
    },
    helpers::{TestApp, error_code, error_paths, eventually},
    pools::{PoolWorld, TWO_GROUPS},
};

/// A Stripe-backed server whose Stripe calls go through a proxy in front of
/// the test command's localstripe; a call without an answer in 1.5 s has an
/// unknown outcome.
macro_rules! through_proxy {
    ($($name:ident),*) => {
        on_both_databases!(
            settings: &[
                ("STRIPE_SECRET_KEY", "sk_test_12345"),
                ("STRIPE_API_BASE", "proxy:TEST_STRIPE_URL"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_test_secret"),
                ("STRIPE_TIMEOUT_MS", "1500"),
                ("JOB_RETRY_BASE_MS", "200"),
            ];
            needs stripe;
            $($name),*
        );
    };
}

through_proxy!(
    concurrent_starts_by_one_member_make_one_subscription,
    a_delayed_answer_settles_to_one_contribution_and_one_subscription,
    a_failed_answer_is_asked_again_with_the_same_key,
    an_invoice_before_the_subscription_id_reaches_the_ledger_once,
    deleted_before_created_stays_canceled_and_the_member_starts_again,
    bad_payment_methods_are_validation_errors,
    a_key_reused_for_another_amount_is_a_conflict,
    a_customer_stripe_lost_is_made_again
);

const STATUS: &str = "query($id: ID!) { pool(id: $id) { myContribution { id status } } }";
const LEDGER: &str =
    "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency } } } }";

fn proxy(app: &TestApp) -> &crate::stripe_proxy::StripeProxy {
    app.stripe_proxy
        .as_ref()
        .expect("the server runs through a Stripe proxy")
}

fn contribution_of(res: &Value) -> Value {
    res["data"]["startContribution"]["contribution"].clone()
}

/// The subscriptions localstripe holds for a contribution (by the metadata
/// the server sets), with their status.
async fn subscriptions_for(app: &TestApp, contribution: &str) -> Vec<Value> {
    all_at_stripe(app, "/v1/subscriptions?status=all")
        .await
        .into_iter()
        .filter(|s| s["metadata"]["contribution_id"] == contribution)
        .collect()
}

/// Charging subscriptions at Stripe for the contributions of a member.
async fn live_subscriptions(app: &TestApp, user_contributions: &[contribution::Model]) -> usize {
    let mut live = 0;
    for c in user_contributions {
        live += subscriptions_for(app, &c.id.to_string())
            .await
            .iter()
            .filter(|s| s["status"] != "canceled" && s["status"] != "incomplete_expired")
            .count();
    }
    live
}

async fn rows(app: &TestApp) -> Vec<contribution::Model> {
    contribution::Entity::find().all(&app.db).await.unwrap()
}

async fn wait_for_status(p: &PoolWorld, member: &str, status: &str) -> Value {
    eventually(&format!("the contribution is {status}"), || async {
        let res = p
            .app()
            .ok(Some(member), STATUS, json!({ "id": p.pool }))
            .await;
        let mine = res["pool"]["myContribution"].clone();
        if mine["status"] == status {
            Ok(mine)
        } else {
            Err(mine)
        }
    })
    .await
}

async fn concurrent_starts_by_one_member_make_one_subscription(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("eager@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let answers = futures::future::join_all((0..6).map(|i| {
        start(
            &p,
            &member,
            json!({ "amount": 500, "paymentMethodId": card, "idempotencyKey": format!("checkout-{i}-{}", uuid::Uuid::now_v7()) }),
        )
    }))
    .await;
    let mut ids = std::collections::BTreeSet::new();
    for a in &answers {
        match contribution_of(a)["id"].as_str() {
            Some(id) => {
                ids.insert(id.to_owned());
            }
            None => assert_eq!(error_code(a), "CONFLICT", "{a:#}"),
        }
    }
    assert_eq!(
        ids.len(),
        1,
        "every start that succeeded answers the same contribution: {answers:#?}"
    );
    let all = rows(p.app()).await;
    assert_eq!(all.len(), 1, "one contribution recorded");
    wait_for_status(&p, &member, "ACTIVE").await;
    assert_eq!(
        live_subscriptions(p.app(), &all).await,
        1,
        "one subscription charges at Stripe"
    );
}

async fn a_delayed_answer_settles_to_one_contribution_and_one_subscription(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("patient@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    // Stripe makes the subscription at once, but its answer comes after the
    // server has stopped waiting.
    proxy(p.app()).delay_answers(
        "POST /v1/subscriptions",
        std::time::Duration::from_secs(4),
        1,
    );
    let first = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card, "idempotencyKey": "checkout-first-try" }),
    )
    .await;
    let c = contribution_of(&first);
    assert_eq!(
        c["status"], "PENDING",
        "an unknown outcome is not a failure: {first:#}"
    );
    assert_eq!(
        first["data"]["startContribution"]["clientSecret"],
        Value::Null
    );

    // The member retries meanwhile: with the same key, and with a new one.
    let same_key = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card, "idempotencyKey": "checkout-first-try" }),
    )
    .await;
    let new_key = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card, "idempotencyKey": "checkout-second-try" }),
    )
    .await;
    assert_eq!(contribution_of(&same_key)["id"], c["id"], "{same_key:#}");
    assert_eq!(contribution_of(&new_key)["id"], c["id"], "{new_key:#}");
    // Canceling while Stripe's answer is open would leave its subscription behind.
    let cancel = p
        .app()
        .gql(
            Some(&member),
            "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { status } }",
            json!({ "i": { "contributionId": c["id"], "atPeriodEnd": false } }),
        )
        .await;
    assert_eq!(error_code(&cancel), "CONFLICT", "{cancel:#}");

    wait_for_status(&p, &member, "ACTIVE").await;
    let all = rows(p.app()).await;
    assert_eq!(all.len(), 1);
    assert!(all[0].stripe_subscription_id.is_some());
    assert_eq!(
        live_subscriptions(p.app(), &all).await,
        1,
        "one subscription at Stripe"
    );
    let made = proxy(p.app())
        .seen()
        .iter()
        .filter(|s| s.method == "POST" && s.path == "/v1/subscriptions" && !s.replayed)
        .count();
    assert_eq!(
        made,
        1,
        "Stripe was asked to subscribe once: {:#?}",
        proxy(p.app()).seen()
    );
}

async fn a_failed_answer_is_asked_again_with_the_same_key(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("unlucky@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    proxy(p.app()).fail("POST /v1/subscriptions", 500, 1);
    let first = start(
        &p,
        &member,
        json!({ "amount": 700, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(contribution_of(&first)["status"], "PENDING", "{first:#}");
    wait_for_status(&p, &member, "ACTIVE").await;
    let subscribes: Vec<_> = proxy(p.app())
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path == "/v1/subscriptions")
        .collect();
    assert_eq!(subscribes.len(), 2, "{subscribes:#?}");
    assert_eq!(
        subscribes[0].idempotency_key, subscribes[1].idempotency_key,
        "asked again with the same key"
    );
    assert_eq!(live_subscriptions(p.app(), &rows(p.app()).await).await, 1);
}

async fn an_invoice_before_the_subscription_id_reaches_the_ledger_once(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    register_webhook(p.app()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("early@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    // localstripe sends its events a second after the subscription is made;
    // the server hears the answer only later (the outcome is then unknown,
    // and the settling job or the webhook links the subscription).
    proxy(p.app()).delay_answers(
        "POST /v1/subscriptions",
        std::time::Duration::from_secs(3),
        1,
    );
    let started = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert!(contribution_of(&started)["id"].is_string(), "{started:#}");
    wait_for_status(&p, &member, "ACTIVE").await;
    wait_for_balances(&p, &member, json!([{ "amount": 500, "currency": "EUR" }])).await;
    // The invoice event came while no contribution had the subscription's id.
    let invoice_events = entities::stripe_event::Entity::find()
        .filter(entities::stripe_event::Column::Kind.eq("invoice.payment_succeeded"))
        .all(&p.app().db)
        .await
        .unwrap();
    assert!(!invoice_events.is_empty());
    p.app().jobs_settled("settle_contribution").await;
    p.app().jobs_settled("apply_stripe_event").await;
    let ledger = p
        .app()
        .ok(Some(&member), LEDGER, json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([{ "amount": 500, "currency": "EUR" }]),
        "booked once"
    );
}

async fn deleted_before_created_stays_canceled_and_the_member_starts_again(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("declined@example.org", "users").await;
    // A card whose first charge fails: the subscription is made, then canceled.
    let card = payment_method(p.app(), "4000000000000341").await;
    let declined = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(error_code(&declined), "PAYMENT_FAILED", "{declined:#}");
    let row = rows(p.app()).await.remove(0);
    let subs = subscriptions_for(p.app(), &row.id.to_string()).await;
    assert_eq!(subs.len(), 1, "{subs:#?}");
    let sub = subs[0]["id"].as_str().unwrap();
    // Stripe's events in the wrong order, within one second.
    let now = chrono::Utc::now().timestamp();
    let deleted = json!({ "id": format!("evt_del_{sub}"), "type": "customer.subscription.deleted", "created": now,
        "data": { "object": { "id": sub, "status": "canceled", "metadata": { "contribution_id": row.id.to_string() } } } });
    let created = json!({ "id": format!("evt_new_{sub}"), "type": "customer.subscription.created", "created": now,
        "data": { "object": { "id": sub, "status": "incomplete", "metadata": { "contribution_id": row.id.to_string() } } } });
    for event in [&deleted, &created] {
        let (code, _) = post_event(p.app(), event, WEBHOOK_SECRET, now).await;
        assert_eq!(code, 200);
    }
    let after = contribution::Entity::find_by_id(row.id)
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.status,
        contribution::ContributionStatus::Canceled,
        "CANCELED is final"
    );
    let good = payment_method(p.app(), "4242424242424242").await;
    let again = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": good }),
    )
    .await;
    assert_eq!(contribution_of(&again)["status"], "ACTIVE", "{again:#}");
}

async fn bad_payment_methods_are_validation_errors(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("typo@example.org", "users").await;
    let missing = start(&p, &member, json!({ "amount": 500 })).await;
    assert_eq!(error_code(&missing), "VALIDATION", "{missing:#}");
    assert_eq!(error_paths(&missing), ["input.paymentMethodId"]);
    let wrong = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": "pm_doesnotexist", "idempotencyKey": "checkout-typo-1" }),
    )
    .await;
    assert_eq!(error_code(&wrong), "VALIDATION", "{wrong:#}");
    assert_eq!(error_paths(&wrong), ["input.paymentMethodId"]);
    // The same key answers the same again, and nothing is left at Stripe.
    let replay = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": "pm_doesnotexist", "idempotencyKey": "checkout-typo-1" }),
    )
    .await;
    assert_eq!(error_code(&replay), "VALIDATION", "{replay:#}");
    let all = rows(p.app()).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, contribution::ContributionStatus::Canceled);
    assert!(
        subscriptions_for(p.app(), &all[0].id.to_string())
            .await
            .is_empty()
    );
}

async fn a_key_reused_for_another_amount_is_a_conflict(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("keys@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let input = |amount: i64| json!({ "amount": amount, "paymentMethodId": card, "idempotencyKey": "checkout-one-key" });
    let first = start(&p, &member, input(500)).await;
    assert_eq!(contribution_of(&first)["status"], "ACTIVE", "{first:#}");
    assert_eq!(
        first["data"]["startContribution"]["clientSecret"],
        Value::Null,
        "a payment that went through needs no confirming"
    );
    let other = start(&p, &member, input(900)).await;
    assert_eq!(error_code(&other), "CONFLICT", "{other:#}");
    let same = start(&p, &member, input(500)).await;
    assert_eq!(contribution_of(&same)["id"], contribution_of(&first)["id"]);
}

async fn a_customer_stripe_lost_is_made_again(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("lost@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let first = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    let c = contribution_of(&first);
    assert_eq!(c["status"], "ACTIVE", "{first:#}");
    p.app()
        .ok(
            Some(&member),
            "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { status } }",
            json!({ "i": { "contributionId": c["id"], "atPeriodEnd": false } }),
        )
        .await;
    let customer = |db: sea_orm::DatabaseConnection| async move {
        stripe_object::Entity::find()
            .filter(stripe_object::Column::Key.starts_with("customer:"))
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .stripe_id
    };
    let old = customer(p.app().db.clone()).await;
    // The customer is deleted at Stripe (in its dashboard, say).
    let deleted = p
        .app()
        .client
        .delete(stripe_url(&format!("/v1/customers/{old}")))
        .basic_auth("sk_test_12345", Some(""))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let card = payment_method(p.app(), "4242424242424242").await;
    let again = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(contribution_of(&again)["status"], "ACTIVE", "{again:#}");
    assert_ne!(
        customer(p.app().db.clone()).await,
        old,
        "a new customer is stored"
    );
}
