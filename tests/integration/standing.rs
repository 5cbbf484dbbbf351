//! A pool's standing with its parent: stewards suspend and reinstate it;
//! a suspended pool is read, left and stopped paying for, and nothing else.

use entities::contribution;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    accounts_mail::wait_for_subject,
    contributions::{euro_scale, payment_method, register_webhook, start, subscriptions_at_stripe},
    helpers::{TestApp, error_code, error_paths, eventually},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    settings: crate::accounts_mail::SETTINGS;
    needs smtp;
    a_suspended_pool_is_read_and_left_but_takes_nothing_new,
    stewards_are_asked_when_a_move_waits_for_them
);

on_both_databases!(
    settings: &[
        ("STRIPE_SECRET_KEY", "sk_test_12345"),
        ("STRIPE_API_BASE", "env:TEST_STRIPE_URL"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_test_secret"),
        ("JOB_POLL_INTERVAL_MS", "50"),
        ("JOB_RETRY_BASE_MS", "20"),
    ];
    needs stripe;
    collection_stops_with_the_pool_and_starts_again_with_it
);

const SUSPEND: &str = "mutation($id: ID!, $r: String!) { suspendPool(poolId: $id, reason: $r) { status statusReason statusChangedAt } }";
const REINSTATE: &str = "mutation($id: ID!, $r: String!) { reinstatePool(poolId: $id, reason: $r) { status statusReason } }";

async fn a_suspended_pool_is_read_and_left_but_takes_nothing_new(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let ada_email = crate::accounts_mail::address("standing-ada");
    let (ada, _) = p.join(&ada_email, "workers").await;
    let (bob, _) = p.join("bob@example.org", "workers").await;
    let open = p.propose(&bob, json!({})).await;

    // Only the parent's stewards; members and the auditor are refused.
    for token in [&p.w.founder, &p.w.auditor] {
        let res = p
            .app()
            .gql(Some(token), SUSPEND, json!({ "id": p.pool, "r": "no" }))
            .await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    let res = p
        .app()
        .gql(
            Some(&p.w.steward),
            SUSPEND,
            json!({ "id": p.pool, "r": "" }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["reason"]);
    let res = p
        .app()
        .gql(
            Some(&p.w.steward),
            REINSTATE,
            json!({ "id": p.pool, "r": "not yet" }),
        )
        .await;
    assert_eq!(
        error_code(&res),
        "CONFLICT",
        "only a suspended pool is reinstated"
    );

    let suspended = p
        .app()
        .ok(
            Some(&p.w.steward),
            SUSPEND,
            json!({ "id": p.pool, "r": "The pool broke the parent's policy on data." }),
        )
        .await;
    assert_eq!(suspended["suspendPool"]["status"], "SUSPENDED");
    assert!(suspended["suspendPool"]["statusChangedAt"].is_string());
    let again = p
        .app()
        .gql(
            Some(&p.w.steward),
            SUSPEND,
            json!({ "id": p.pool, "r": "twice" }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let mail = wait_for_subject(p.app(), &ada_email, "Test Pool is suspended").await;
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("broke the parent's policy"), "{text}");

    // Readable by its members.
    let read = p
        .app()
        .ok(
            Some(&ada),
            "query($id: ID!) { pool(id: $id) { status statusReason members(first: 10) { edges { node { id } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(read["pool"]["status"], "SUSPENDED");
    assert_eq!(
        read["pool"]["statusReason"],
        "The pool broke the parent's policy on data."
    );

    // Nothing new: no vote, proposal, expense, member or payment.
    assert_eq!(error_code(&p.vote(&ada, &open, "agree").await), "CONFLICT");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "t" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Tools", "amount": 100, "currency": "EUR", "payee": "Shop" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let (late, _) = p.app().sign_up("late@example.org").await;
    assert_eq!(error_code(&p.apply(&late, "users").await), "CONFLICT");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: StartContributionInput!) { startContribution(input: $i) { contribution { id } } }",
            json!({ "i": { "poolId": p.pool, "amount": 1000 } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");

    // Leaving stays possible: membership is voluntary.
    let left = p
        .app()
        .ok(
            Some(&bob),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(left["leavePool"]["status"], "LEFT");

    // Reinstated, the pool works again.
    let back = p
        .app()
        .ok(
            Some(&p.w.steward),
            REINSTATE,
            json!({ "id": p.pool, "r": "The data was deleted as agreed." }),
        )
        .await;
    assert_eq!(back["reinstatePool"]["status"], "ACTIVE");
    wait_for_subject(p.app(), &ada_email, "Test Pool is reinstated").await;
    assert!(p.vote(&ada, &open, "agree").await.get("errors").is_none());

    let actions = crate::audit::actions(p.app(), &p.w.steward, json!({ "poolId": p.pool })).await;
    assert!(actions.iter().any(|a| a == "pool.suspended"), "{actions:?}");
    assert!(
        actions.iter().any(|a| a == "pool.reinstated"),
        "{actions:?}"
    );
}

/// Waits until Stripe's subscription `sub` ends at its period's end, or not.
async fn stripe_ends_at_period_end(app: &TestApp, sub: &str, expected: bool) {
    eventually(
        &format!("{sub} cancel_at_period_end = {expected}"),
        || async {
            let at_stripe = subscriptions_at_stripe(app, sub).await;
            if at_stripe["cancel_at_period_end"] == expected {
                Ok(())
            } else {
                Err(at_stripe)
            }
        },
    )
    .await
}

async fn collection_stops_with_the_pool_and_starts_again_with_it(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    register_webhook(p.app()).await;
    euro_scale(&p, true).await;
    let mut contributions = Vec::new();
    for email in ["payer@example.org", "leaver@example.org"] {
        let (member, _) = p.join(email, "users").await;
        let card = payment_method(p.app(), "4242424242424242").await;
        let started = start(
            &p,
            &member,
            json!({ "amount": 800, "paymentMethodId": card }),
        )
        .await;
        let id = started["data"]["startContribution"]["contribution"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{started:#}"))
            .to_owned();
        let row = contribution::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap())
            .one(&p.app().db)
            .await
            .unwrap()
            .unwrap();
        contributions.push((member, id, row.stripe_subscription_id.unwrap()));
    }
    let [(payer, payer_c, payer_sub), (leaver, leaver_c, leaver_sub)] =
        <[_; 2]>::try_from(contributions).unwrap();
    let mine = |token: String| {
        let app = p.app();
        async move {
            app.ok(
                Some(&token),
                "{ me { contributions(first: 10) { edges { node { id status cancelAtPeriodEnd collectionPausedAt } } } } }",
                json!({}),
            )
            .await["me"]["contributions"]["edges"][0]["node"]
                .clone()
        }
    };

    p.app()
        .ok(
            Some(&p.w.steward),
            "mutation($id: ID!) { suspendPool(poolId: $id, reason: \"Policy review\") { id } }",
            json!({ "id": p.pool }),
        )
        .await;
    // Stripe ends both subscriptions at the period's end; neither member
    // chose to, and the contributions say so.
    stripe_ends_at_period_end(p.app(), &payer_sub, true).await;
    stripe_ends_at_period_end(p.app(), &leaver_sub, true).await;
    let paused = mine(payer.clone()).await;
    assert_eq!(paused["id"], payer_c.as_str());
    assert_eq!(paused["cancelAtPeriodEnd"], false, "{paused:#}");
    assert!(paused["collectionPausedAt"].is_string(), "{paused:#}");
    // Changing the amount is a payment: refused. Stopping is not.
    let res = p
        .app()
        .gql(
            Some(&payer),
            "mutation($i: ChangeContributionInput!) { changeContribution(input: $i) { id } }",
            json!({ "i": { "contributionId": payer_c, "amount": 900 } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let own = p
        .app()
        .ok(
            Some(&leaver),
            "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { cancelAtPeriodEnd } }",
            json!({ "i": { "contributionId": leaver_c, "atPeriodEnd": true } }),
        )
        .await;
    assert_eq!(own["cancelContribution"]["cancelAtPeriodEnd"], true);

    p.app()
        .ok(
            Some(&p.w.steward),
            "mutation($id: ID!) { reinstatePool(poolId: $id, reason: \"Resolved\") { id } }",
            json!({ "id": p.pool }),
        )
        .await;
    // Collection starts again, except where the member chose to stop.
    stripe_ends_at_period_end(p.app(), &payer_sub, false).await;
    let resumed = mine(payer.clone()).await;
    assert_eq!(resumed["collectionPausedAt"], Value::Null, "{resumed:#}");
    assert_eq!(resumed["status"], "ACTIVE");
    // The leaver's sync ran too (its job is queued with the payer's): the
    // member's own choice stands at Stripe and on the contribution.
    eventually("the leaver's sync ran", || async {
        let jobs: Vec<_> = entities::job::Entity::find()
            .all(&p.app().db)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == "sync_collection" && j.payload.contains(&leaver_c))
            .collect();
        let done = jobs
            .iter()
            .all(|j| j.status == entities::job::JobStatus::Done);
        if jobs.len() == 2 && done {
            Ok(())
        } else {
            Err(jobs.len())
        }
    })
    .await;
    assert_eq!(
        subscriptions_at_stripe(p.app(), &leaver_sub).await["cancel_at_period_end"],
        true
    );
    assert_eq!(mine(leaver).await["cancelAtPeriodEnd"], true);
}

async fn stewards_are_asked_when_a_move_waits_for_them(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiving_email = crate::accounts_mail::address("receiving-steward");
    let (receiving, _) = p.app().sign_up(&receiving_email).await;
    let other = p
        .app()
        .register_parent_with(&receiving, "M-2026", "AUTOMATIC")
        .await;
    let id = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Move", "kind": "MOVE", "moveTo": other } }),
        )
        .await["createProposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.vote(&p.w.founder, &id, "agree").await;
    assert_eq!(p.close(&p.w.founder, &id).await["outcome"], "PASSED");
    let mail = wait_for_subject(
        p.app(),
        &receiving_email,
        "Test Pool waits for Cooperativa Paraguas on its move",
    )
    .await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("the receiving parent accepts it")
    );
}
