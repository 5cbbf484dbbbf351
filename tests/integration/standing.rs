//! A pool's standing with its parent: stewards suspend and reinstate it;
//! a suspended pool is read, left and stopped paying for, and nothing else.

use serde_json::json;

use crate::{
    accounts_mail::wait_for_subject,
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    settings: crate::accounts_mail::SETTINGS;
    needs smtp;
    a_suspended_pool_is_read_and_left_but_takes_nothing_new
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

    let trail = p
        .app()
        .ok(
            Some(&p.w.steward),
            "query($i: AuditEventsInput!) { auditEvents(input: $i, first: 100) { edges { node { action } } } }",
            json!({ "i": { "poolId": p.pool } }),
        )
        .await;
    let actions: Vec<&str> = trail["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"pool.suspended"), "{actions:?}");
    assert!(actions.contains(&"pool.reinstated"), "{actions:?}");
}
