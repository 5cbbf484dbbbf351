//! Sliding-scale contributions without Stripe (pledges, solidarity) and the
//! Stripe webhook endpoint with events this test signs itself.

use chrono::Utc;
use entities::contribution;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths, eventually},
    pools::{PoolWorld, TWO_GROUPS},
};

pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

const SCALE: &str = "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) {
    currency interval minimum { amount } maximum { amount } suggested { amount currency } allowZero } }";
const START: &str = "mutation($i: StartContributionInput!) { startContribution(input: $i) {
    clientSecret contribution { id status provider amount { amount currency } interval failureReason } } }";
const LEDGER: &str = "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency }
    entries { edges { node { kind amount { amount } reference } } } } } }";

/// Sets the pool's scale: 1.00 to 10.00 EUR a month, 5.00 suggested.
pub async fn euro_scale(p: &PoolWorld, allow_zero: bool) -> Value {
    p.app()
        .ok(
            Some(&p.w.founder),
            SCALE,
            json!({ "i": { "poolId": p.pool, "currency": "eur", "interval": "MONTH",
            "minimum": 100, "maximum": 1000, "suggested": 500, "allowZero": allow_zero } }),
        )
        .await
}

pub async fn start(p: &PoolWorld, token: &str, input: Value) -> Value {
    let mut i = json!({ "poolId": p.pool });
    for (k, v) in input.as_object().unwrap() {
        i[k] = v.clone();
    }
    p.app().gql(Some(token), START, json!({ "i": i })).await
}

/// Signs and posts a webhook event; returns the HTTP status and body.
pub async fn post_event(
    app: &TestApp,
    event: &Value,
    secret: &str,
    timestamp: i64,
) -> (u16, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let signature = api::payments::signature::sign(secret, timestamp, &body);
    let res = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", format!("t={timestamp},v1={signature}"))
        .body(body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

on_both_databases!(
    scales_are_validated_and_kept_as_history,
    pledges_without_stripe_reach_the_ledger,
    an_admin_cannot_mark_their_own_pledge_paid,
    solidarity_members_pay_nothing_and_keep_their_rights,
);

on_both_databases!(settings: &[("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")]; signed_webhooks_are_verified_deduplicated_and_ordered);

async fn scales_are_validated_and_kept_as_history(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let bad = p
        .app()
        .gql(
            Some(&p.w.founder),
            SCALE,
            json!({ "i": { "poolId": p.pool, "currency": "EURO", "interval": "MONTH",
            "minimum": -1, "maximum": 0, "suggested": 50 } }),
        )
        .await;
    assert_eq!(
        error_paths(&bad),
        vec![
            "input.currency",
            "input.minimum",
            "input.maximum",
            "input.suggested"
        ]
    );
    let set = euro_scale(&p, false).await;
    assert_eq!(
        set["setSlidingScale"]["suggested"],
        json!({ "amount": 500, "currency": "EUR" })
    );
    let (member, _) = p.join("m@example.org", "users").await;
    let refused = p
        .app()
        .gql(Some(&member), SCALE, json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH", "minimum": 1, "maximum": 2, "suggested": 1 } }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    // A group's own scale applies to its members; the pool's to the others.
    p.app()
        .ok(Some(&p.w.founder), SCALE, json!({ "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["workers"],
            "currency": "EUR", "interval": "YEAR", "minimum": 1000, "maximum": 12000, "suggested": 6000 } }))
        .await;
    let scales = p
        .app()
        .ok(None, "query($id: ID!) { pool(id: $id) { slidingScale { interval suggested { amount } } stakeholderGroups { key slidingScale { interval } } } }", json!({ "id": p.pool }))
        .await;
    assert_eq!(scales["pool"]["slidingScale"]["suggested"]["amount"], 500);
    let workers = scales["pool"]["stakeholderGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "workers")
        .unwrap()
        .clone();
    assert_eq!(workers["slidingScale"]["interval"], "YEAR");
    let out_of_range = start(&p, &member, json!({ "amount": 5000 })).await;
    assert_eq!(error_paths(&out_of_range), vec!["input.amount"]);
    assert!(
        out_of_range["errors"][0]["extensions"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1.00 and 10.00 EUR")
    );
    euro_scale(&p, true).await;
    let history = entities::sliding_scale::Entity::find()
        .all(&p.app().db)
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "the replaced scale stays as history");
}

async fn pledges_without_stripe_reach_the_ledger(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    p.app()
        .ok(Some(&p.w.steward), "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { policy { parentShareBasisPoints } } }",
            json!({ "i": { "parentEntityId": p.w.parent, "parentShareBasisPoints": 500 } }))
        .await;
    let (member, _) = p.join("m@example.org", "users").await;
    let started = start(&p, &member, json!({ "amount": 800 })).await;
    let c = &started["data"]["startContribution"]["contribution"];
    assert_eq!(c["provider"], "MANUAL", "{started:#}");
    assert_eq!(c["status"], "ACTIVE");
    assert!(started["data"]["startContribution"]["clientSecret"].is_null());
    assert_eq!(
        error_code(&start(&p, &member, json!({ "amount": 300 })).await),
        "CONFLICT",
        "one live contribution"
    );

    let mark =
        "mutation($i: MarkContributionPaidInput!) { markContributionPaid(input: $i) { id } }";
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&member),
                    mark,
                    json!({ "i": { "contributionId": c["id"], "reference": "BANK-1" } })
                )
                .await
        ),
        "FORBIDDEN"
    );
    p.app()
        .ok(
            Some(&p.w.founder),
            mark,
            json!({ "i": { "contributionId": c["id"], "reference": "BANK-1" } }),
        )
        .await;
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&p.w.founder),
                    mark,
                    json!({ "i": { "contributionId": c["id"], "reference": "BANK-1" } })
                )
                .await
        ),
        "CONFLICT"
    );
    let ledger = p
        .app()
        .ok(Some(&member), LEDGER, json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([{ "amount": 760, "currency": "EUR" }]),
        "8.00 less the parent's 5 %"
    );
    // The parent's share is credited to its commons fund, once.
    let fund = p
        .app()
        .ok(
            Some(&p.w.steward),
            "query($id: ID!) { parentEntity(id: $id) { ledger { balances { amount currency }
                entries(first: 10) { edges { node { kind category amount { amount } pool { id } } } } } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    let ledger_of_parent = &fund["parentEntity"]["ledger"];
    assert_eq!(
        ledger_of_parent["balances"],
        json!([{ "amount": 40, "currency": "EUR" }]),
        "{fund:#}"
    );
    assert_eq!(
        ledger_of_parent["entries"]["edges"],
        json!([{ "node": { "kind": "PARENT_SHARE", "category": "parent share",
            "amount": { "amount": 40 }, "pool": { "id": p.pool } } }])
    );
    let kinds: Vec<&str> = ledger["pool"]["ledger"]["entries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["CONTRIBUTION", "PARENT_SHARE"]);

    let changed = p
        .app()
        .ok(Some(&member), "mutation($i: ChangeContributionInput!) { changeContribution(input: $i) { amount { amount } status } }",
            json!({ "i": { "contributionId": c["id"], "amount": 1000 } }))
        .await;
    assert_eq!(changed["changeContribution"]["amount"]["amount"], 1000);
    let canceled = p
        .app()
        .ok(Some(&member), "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { status canceledAt } }",
            json!({ "i": { "contributionId": c["id"], "atPeriodEnd": false } }))
        .await;
    assert_eq!(canceled["cancelContribution"]["status"], "CANCELED");
    // Cancelling a contribution never ends the membership.
    let me = p
        .app()
        .ok(
            Some(&member),
            "query($id: ID!) { pool(id: $id) { myMembership { status } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(me["pool"]["myMembership"]["status"], "ACTIVE");
}

/// Four eyes, as for expenses: an admin's own pledge is confirmed by
/// another admin.
async fn an_admin_cannot_mark_their_own_pledge_paid(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let started = start(&p, &p.w.founder, json!({ "amount": 500 })).await;
    let own = started["data"]["startContribution"]["contribution"]["id"].clone();
    let mark =
        "mutation($i: MarkContributionPaidInput!) { markContributionPaid(input: $i) { id } }";
    let input = json!({ "i": { "contributionId": own, "reference": "BANK-7" } });
    let refused = p.app().gql(Some(&p.w.founder), mark, input.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused:#}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another admin must confirm it"),
        "{refused:#}"
    );
    let ledger = p
        .app()
        .ok(Some(&p.w.founder), LEDGER, json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([]),
        "nothing recorded"
    );

    let (second, second_id) = p.join("second@example.org", "workers").await;
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
            json!({ "i": { "memberId": second_id, "role": "ADMIN" } }),
        )
        .await;
    p.app().ok(Some(&second), mark, input).await;
    let ledger = p
        .app()
        .ok(Some(&p.w.founder), LEDGER, json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([{ "amount": 500, "currency": "EUR" }])
    );
}

async fn solidarity_members_pay_nothing_and_keep_their_rights(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (poor, _) = p.join("poor@example.org", "users").await;
    let refused = start(&p, &poor, json!({ "amount": 0 })).await;
    assert_eq!(error_paths(&refused), vec!["input.amount"]);
    euro_scale(&p, true).await;
    let zero = start(&p, &poor, json!({ "amount": 0 })).await;
    assert_eq!(
        zero["data"]["startContribution"]["contribution"]["provider"],
        "NONE"
    );
    assert_eq!(
        zero["data"]["startContribution"]["contribution"]["status"],
        "ACTIVE"
    );
    let (generous, _) = p.join("generous@example.org", "users").await;
    start(&p, &generous, json!({ "amount": 1000 })).await;
    let (modest, _) = p.join("modest@example.org", "workers").await;
    start(&p, &modest, json!({ "amount": 300 })).await;
    let report = p
        .app()
        .ok(Some(&poor), "query($id: ID!) { pool(id: $id) { solidarity { currency aboveSuggested belowSuggested membersAbove membersBelow membersAtZero coveredPercent } } }", json!({ "id": p.pool }))
        .await;
    assert_eq!(
        report["pool"]["solidarity"],
        json!([{ "currency": "EUR", "aboveSuggested": 500, "belowSuggested": 700, "membersAbove": 1, "membersBelow": 2, "membersAtZero": 1, "coveredPercent": 71 }])
    );
    // The solidarity member votes like anyone else.
    let proposal = p
        .app()
        .ok(
            Some(&poor),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Longer opening hours" } }),
        )
        .await;
    let vote = p
        .app()
        .gql(
            Some(&poor),
            "mutation($i: CastVoteInput!) { castVote(input: $i) { choice } }",
            json!({ "i": { "proposalId": proposal["createProposal"]["id"], "choice": "agree" } }),
        )
        .await;
    assert!(vote.get("errors").is_none(), "{vote:#}");
}

async fn signed_webhooks_are_verified_deduplicated_and_ordered(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("m@example.org", "users").await;
    let started = start(&p, &member, json!({ "amount": 500 })).await;
    let id = started["data"]["startContribution"]["contribution"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Make it a Stripe contribution, as if Stripe had answered.
    contribution::Entity::update_many()
        .col_expr(
            contribution::Column::Provider,
            Expr::value(contribution::Provider::Stripe),
        )
        .col_expr(
            contribution::Column::Status,
            Expr::value(contribution::ContributionStatus::Incomplete),
        )
        .col_expr(
            contribution::Column::StripeSubscriptionId,
            Expr::value("sub_signed_1"),
        )
        .filter(contribution::Column::Id.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .exec(&p.app().db)
        .await
        .unwrap();
    let now = Utc::now().timestamp();
    let event = |id: &str, kind: &str, created: i64, object: Value| json!({ "id": id, "type": kind, "created": created, "data": { "object": object } });
    let status = || async {
        contribution::Entity::find()
            .one(&p.app().db)
            .await
            .unwrap()
            .unwrap()
            .status
    };

    let paid = event(
        "evt_1",
        "invoice.paid",
        now - 10,
        json!({ "id": "in_1", "subscription": "sub_signed_1", "amount_paid": 500, "currency": "eur" }),
    );
    let (code, body) = post_event(p.app(), &paid, WEBHOOK_SECRET, now).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("applied")));
    assert_eq!(status().await, contribution::ContributionStatus::Active);
    let (code, body) = post_event(p.app(), &paid, WEBHOOK_SECRET, now).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("duplicate")));

    let (code, body) = post_event(p.app(), &paid, "whsec_wrong", now).await;
    assert_eq!(code, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    let (code, _) = post_event(
        p.app(),
        &event("evt_2", "invoice.paid", now, json!({})),
        WEBHOOK_SECRET,
        now - 301,
    )
    .await;
    assert_eq!(code, 400, "stale timestamp");
    let unsigned = p
        .app()
        .client
        .post(p.app().url("/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);

    // Out of order: a newer 'past_due' arrives before an older 'active'.
    let newer = event(
        "evt_3",
        "customer.subscription.updated",
        now - 5,
        json!({ "id": "sub_signed_1", "status": "past_due" }),
    );
    let older = event(
        "evt_4",
        "customer.subscription.updated",
        now - 8,
        json!({ "id": "sub_signed_1", "status": "active" }),
    );
    assert_eq!(
        post_event(p.app(), &newer, WEBHOOK_SECRET, now).await.1["status"],
        "applied"
    );
    assert_eq!(
        post_event(p.app(), &older, WEBHOOK_SECRET, now).await.1["status"],
        "ignored"
    );
    assert_eq!(status().await, contribution::ContributionStatus::PastDue);
    // Past due never ends a membership.
    let me = p
        .app()
        .ok(
            Some(&member),
            "query($id: ID!) { pool(id: $id) { myMembership { status } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(me["pool"]["myMembership"]["status"], "ACTIVE");

    let unknown = event(
        "evt_5",
        "charge.refund.updated",
        now,
        json!({ "id": "re_1" }),
    );
    assert_eq!(
        post_event(p.app(), &unknown, WEBHOOK_SECRET, now).await,
        (200, json!({ "received": true, "status": "ignored" }))
    );

    let ledger = p
        .app()
        .ok(Some(&member), LEDGER, json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([{ "amount": 500, "currency": "EUR" }]),
        "one payment, recorded once"
    );
}

/// A Stripe-backed server against the test command's localstripe.
macro_rules! with_stripe {
    ($($name:ident),*) => {
        on_both_databases!(
            settings: &[
                ("STRIPE_SECRET_KEY", "sk_test_12345"),
                ("STRIPE_API_BASE", "env:TEST_STRIPE_URL"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_test_secret"),
            ];
            needs stripe;
            $($name),*
        );
    };
}

with_stripe!(
    a_stripe_contribution_goes_live_and_pays_into_the_ledger,
    declined_cards_leave_nothing_half_made,
    retries_with_the_same_key_start_one_subscription
);

pub fn stripe_url(path: &str) -> String {
    format!("{}{path}", crate::databases::STRIPE.url())
}

/// Waits until the pool's ledger balances are `expected`, as `token` sees them.
pub async fn wait_for_balances(p: &PoolWorld, token: &str, expected: Value) {
    eventually(&format!("the ledger shows {expected}"), || async {
        let ledger = p
            .app()
            .ok(Some(token), LEDGER, json!({ "id": p.pool }))
            .await;
        let balances = ledger["pool"]["ledger"]["balances"].clone();
        if balances == expected {
            Ok(())
        } else {
            Err(balances)
        }
    })
    .await;
}

/// Every object of a list at localstripe, page after page (it lists the
/// oldest first, so the newest are never on the first page of a long run).
pub async fn all_at_stripe(app: &TestApp, path: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let mut url = reqwest::Url::parse(&stripe_url(path)).unwrap();
        url.query_pairs_mut().append_pair("limit", "100");
        if let Some(last) = all.last().and_then(|o: &Value| o["id"].as_str()) {
            url.query_pairs_mut().append_pair("starting_after", last);
        }
        let page: Value = app
            .client
            .get(url)
            .basic_auth("sk_test_12345", Some(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.extend(
            page["data"]
                .as_array()
                .unwrap_or_else(|| panic!("{page:#}"))
                .iter()
                .cloned(),
        );
        if page["has_more"] != true {
            return all;
        }
    }
}

/// What a frontend does with Stripe.js: turn a card into a payment method.
pub async fn payment_method(app: &TestApp, card: &str) -> String {
    let res: Value = app
        .client
        .post(stripe_url("/v1/payment_methods"))
        .basic_auth("sk_test_12345", Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", card),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res:#}"))
        .to_owned()
}

/// Asks localstripe to deliver its events to this server, signed with our secret.
pub async fn register_webhook(app: &TestApp) {
    let name = format!("t{}", uuid::Uuid::now_v7().simple());
    let res = app
        .client
        .post(stripe_url(&format!("/_config/webhooks/{name}")))
        .form(&[
            ("url", app.url("/webhooks/stripe").as_str()),
            ("secret", WEBHOOK_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "registering the webhook: {}",
        res.status()
    );
}

/// Stripe subscriptions localstripe holds for a customer's email.
pub async fn subscriptions_at_stripe(app: &TestApp, subscription: &str) -> Value {
    app.client
        .get(stripe_url(&format!("/v1/subscriptions/{subscription}")))
        .basic_auth("sk_test_12345", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_stripe_contribution_goes_live_and_pays_into_the_ledger(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    register_webhook(p.app()).await;
    euro_scale(&p, true).await;
    p.app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
            json!({ "i": { "parentEntityId": p.w.parent, "parentShareBasisPoints": 250 } }),
        )
        .await;
    let (member, _) = p.join("payer@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let started = start(
        &p,
        &member,
        json!({ "amount": 800, "paymentMethodId": card }),
    )
    .await;
    let c = started["data"]["startContribution"]["contribution"].clone();
    assert_eq!(c["provider"], "STRIPE", "{started:#}");
    assert_eq!(c["status"], "ACTIVE");
    assert_eq!(c["amount"], json!({ "amount": 800, "currency": "EUR" }));

    // localstripe delivers invoice.payment_succeeded; the ledger shows the
    // income and the parent's 2.5 %.
    // 8.00 paid, 0.20 to the parent.
    wait_for_balances(&p, &member, json!([{ "amount": 780, "currency": "EUR" }])).await;

    // A second member on the same amount reuses the plan; one product per pool.
    let (second, _) = p.join("second@example.org", "workers").await;
    let card2 = payment_method(p.app(), "4242424242424242").await;
    start(
        &p,
        &second,
        json!({ "amount": 800, "paymentMethodId": card2 }),
    )
    .await;
    let objects = entities::stripe_object::Entity::find()
        .all(&p.app().db)
        .await
        .unwrap();
    let count = |prefix: &str| objects.iter().filter(|o| o.key.starts_with(prefix)).count();
    assert_eq!(
        (count("customer:"), count("product:"), count("plan:")),
        (2, 1, 1)
    );

    let changed = p
        .app()
        .ok(Some(&member), "mutation($i: ChangeContributionInput!) { changeContribution(input: $i) { amount { amount } status } }",
            json!({ "i": { "contributionId": c["id"], "amount": 1000 } }))
        .await;
    assert_eq!(
        changed["changeContribution"],
        json!({ "amount": { "amount": 1000 }, "status": "ACTIVE" })
    );
    let row = contribution::Entity::find()
        .filter(
            contribution::Column::Id.eq(uuid::Uuid::parse_str(c["id"].as_str().unwrap()).unwrap()),
        )
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    let at_stripe =
        subscriptions_at_stripe(p.app(), row.stripe_subscription_id.as_deref().unwrap()).await;
    assert_eq!(
        at_stripe["items"]["data"][0]["plan"]["amount"], 1000,
        "Stripe charges the new amount"
    );

    let cancel = "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { status cancelAtPeriodEnd } }";
    let later = p
        .app()
        .ok(
            Some(&member),
            cancel,
            json!({ "i": { "contributionId": c["id"], "atPeriodEnd": true } }),
        )
        .await;
    assert_eq!(
        later["cancelContribution"],
        json!({ "status": "ACTIVE", "cancelAtPeriodEnd": true })
    );
    let now = p
        .app()
        .ok(
            Some(&member),
            cancel,
            json!({ "i": { "contributionId": c["id"], "atPeriodEnd": false } }),
        )
        .await;
    assert_eq!(now["cancelContribution"]["status"], "CANCELED");
    let at_stripe =
        subscriptions_at_stripe(p.app(), row.stripe_subscription_id.as_deref().unwrap()).await;
    assert_eq!(at_stripe["status"], "canceled");

    // Solidarity needs no Stripe at all.
    let (poor, _) = p.join("poor@example.org", "users").await;
    let zero = start(&p, &poor, json!({ "amount": 0 })).await;
    assert_eq!(
        zero["data"]["startContribution"]["contribution"]["provider"],
        "NONE"
    );
}

async fn declined_cards_leave_nothing_half_made(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("declined@example.org", "users").await;
    for card_number in ["4000000000000002", "4000000000000341"] {
        let card = payment_method(p.app(), card_number).await;
        let res = start(
            &p,
            &member,
            json!({ "amount": 500, "paymentMethodId": card }),
        )
        .await;
        assert_eq!(error_code(&res), "PAYMENT_FAILED", "{card_number}: {res:#}");
    }
    // Both attempts are on record as canceled, with why; none is live.
    let rows = contribution::Entity::find().all(&p.app().db).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.status == contribution::ContributionStatus::Canceled
                && r.failure_reason.is_some())
    );
    let mine = p
        .app()
        .ok(
            Some(&member),
            "query($id: ID!) { pool(id: $id) { myContribution { id } myMembership { status } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert!(mine["pool"]["myContribution"].is_null());
    assert_eq!(
        mine["pool"]["myMembership"]["status"], "ACTIVE",
        "a declined card does not touch membership"
    );
    // The subscription that charged 341 and failed was canceled at Stripe too.
    if let Some(sub) = rows.iter().find_map(|r| r.stripe_subscription_id.clone()) {
        assert_eq!(
            subscriptions_at_stripe(p.app(), &sub).await["status"],
            "canceled"
        );
    }
    // A good card works afterwards.
    let card = payment_method(p.app(), "4242424242424242").await;
    let ok = start(
        &p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(
        ok["data"]["startContribution"]["contribution"]["status"], "ACTIVE",
        "{ok:#}"
    );
}

async fn retries_with_the_same_key_start_one_subscription(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    euro_scale(&p, false).await;
    let (member, _) = p.join("retry@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let input =
        json!({ "amount": 600, "paymentMethodId": card, "idempotencyKey": "checkout-7f3a9c2e" });
    let first = start(&p, &member, input.clone()).await;
    let second = start(&p, &member, input).await;
    let id = |r: &Value| r["data"]["startContribution"]["contribution"]["id"].clone();
    assert!(id(&first).is_string(), "{first:#}");
    assert_eq!(id(&first), id(&second));
    let rows = contribution::Entity::find().all(&p.app().db).await.unwrap();
    assert_eq!(rows.len(), 1);
    let ours = all_at_stripe(p.app(), "/v1/subscriptions?status=all")
        .await
        .iter()
        .filter(|s| s["metadata"]["contribution_id"] == rows[0].id.to_string())
        .count();
    assert_eq!(ours, 1, "one subscription at Stripe");
}

on_both_databases!(
    settings: &[("STRIPE_SECRET_KEY", "sk_test_12345"), ("STRIPE_API_BASE", "http://127.0.0.1:9")];
    stripe_being_down_is_a_clear_error
);

async fn stripe_being_down_is_a_clear_error(app: TestApp) {
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
    let rows = contribution::Entity::find().all(&p.app().db).await.unwrap();
    assert_eq!(
        rows[0].status,
        contribution::ContributionStatus::Canceled,
        "recorded, then closed: nothing half-made"
    );
}
