//! The outbound payloads, as the other side receives them: the provisioning
//! request, each account sync action and the webhook events, captured on a
//! journey through a pool and compared with the snapshot files in
//! `snapshots/` (reviewed like code).
//!
//! Each snapshot holds the JSON body in the order the server sends it
//! (serde_json without `preserve_order`: object keys sorted) and its headers
//! but `host` and `content-length`. Ids are written as what they are (`[pool]`,
//! `[member ann]`), so a snapshot still shows which id is which; timestamps,
//! signatures and the server's address are redacted. Both databases write
//! the same files.
//!
//! A changed payload fails its test, which writes the new version beside
//! the old as `<name>.snap.new` (under `CI=true` nothing is written). To
//! accept it, rerun the test with `INSTA_UPDATE=always` and review the
//! change in `git diff` before committing it (or use `cargo insta review`
//! where cargo-insta is installed).

use std::{collections::HashMap, sync::Arc};

use insta::internals::{Content, ContentPath};
use serde_json::{Value, json};

use crate::{
    contributions::{euro_scale, start},
    events::{
        app_reaches, loomio_pool, pool_app, provision_requests, set_provisioner,
        waits_for_a_provisioner,
    },
    helpers::TestApp,
    pools::{TWO_GROUPS, form_pool},
    provisioning_callbacks::{answer, ready},
    stub::{Seen, Stub, sign_callback, verify},
};

on_both_databases!(settings: crate::events::QUICK;
    a_pool_journey_sends_these_payloads,
);

/// Every event an endpoint may subscribe to.
const EVENT_TYPES: [&str; 8] = [
    "formation.submitted",
    "pool.created",
    "member.joined",
    "member.left",
    "proposal.closed",
    "contribution.changed",
    "expense.paid",
    "app.ready",
];

/// Where the payloads keep ids (request bodies in camelCase, the objects
/// of webhook events as stored, in snake_case).
const IDS: &str = ".body.**.id, .body.**.jobId, .body.**.poolAppId, .body.**.poolId, \
    .body.**.parentEntityId, .body.**.membershipId, .body.**.pool_id, .body.**.parent_entity_id, \
    .body.**.formation_id, .body.**.founder_id, .body.**.decided_by, .body.**.user_id, \
    .body.**.membership_id, .body.**.stakeholder_group_id, .body.**.ended_by, \
    .body.**.author_membership_id, .body.**.eligible_group_ids[], .body.**.proposal_id, \
    .body.**.submitted_by_membership_id, .body.**.paid_by_membership_id, .body.**.groupId, \
    .headers[\"x-pools-event-id\"]";

/// Where they keep timestamps.
const TIMES: &str = ".body.createdAt, .body.**.created_at, .body.**.updated_at, \
    .body.**.submitted_at, .body.**.decided_at, .body.**.joined_at, .body.**.left_at, \
    .body.**.closes_at, .body.**.closed_at, .body.**.last_event_at, .body.**.canceled_at, \
    .body.**.paid_at";

/// The ids of a journey, named by what they are.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    fn name(&mut self, id: &Value, what: &str) {
        let id = id
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {id} is no id"));
        self.0.insert(id.to_owned(), format!("[{what}]"));
    }

    /// `seen`'s signature checked with `secret`, then its body and headers
    /// compared with the snapshot `name`.
    fn assert_snapshot(&self, name: &str, seen: &Seen, secret: &str) {
        assert!(verify(secret, seen), "{name}: signed with {secret}");
        let headers: serde_json::Map<String, Value> = seen
            .headers
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "host" | "content-length"))
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let payload = json!({ "headers": headers, "body": seen.body });
        let names = Arc::new(self.0.clone());
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        let ids = names.clone();
        settings.add_dynamic_redaction(IDS, move |value, path| id(&ids, value, path));
        settings.add_dynamic_redaction(TIMES, time);
        settings.add_redaction(".headers[\"x-pools-signature\"]", "[signature]");
        settings.add_dynamic_redaction(".body.callbackUrl", move |value, path| {
            callback_url(&names, value, path)
        });
        settings.bind(|| insta::assert_json_snapshot!(name, payload));
    }
}

/// A named id as its name; another uuid as `[uuid]`; anything else (`null`,
/// a catalogue id such as `loomio`) as it is.
fn id(names: &HashMap<String, String>, value: Content, _: ContentPath<'_>) -> Content {
    let Some(id) = value.as_str() else {
        return value;
    };
    match names.get(id) {
        Some(name) => name.as_str().into(),
        None if uuid::Uuid::parse_str(id).is_ok() => "[uuid]".into(),
        None => value,
    }
}

/// An RFC 3339 timestamp as `[time]`; `null` as it is.
fn time(value: Content, path: ContentPath<'_>) -> Content {
    let Some(t) = value.as_str() else {
        return value;
    };
    assert!(
        chrono::DateTime::parse_from_rfc3339(t).is_ok(),
        "{path}: `{t}` is no timestamp"
    );
    "[time]".into()
}

/// The callback URL without the test server's address, its job named.
fn callback_url(names: &HashMap<String, String>, value: Content, path: ContentPath<'_>) -> Content {
    let url = value.as_str().unwrap_or_else(|| panic!("{path}: no URL"));
    let (_, job) = url
        .split_once("/callbacks/provisioning/")
        .unwrap_or_else(|| panic!("{path}: `{url}`"));
    let job = names.get(job).map_or("[uuid]", String::as_str);
    format!("[server]/callbacks/provisioning/{job}").into()
}

async fn user_id(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "query { me { id } }", json!({})).await["me"]["id"].clone()
}

/// The first webhook event of `kind` for which `which` holds.
async fn event(receiver: &Stub, kind: &str, which: impl Fn(&Value) -> bool) -> Seen {
    receiver
        .wait_for(1, |s| s.body["type"] == kind && which(&s.body))
        .await
        .remove(0)
}

/// The account sync request that does `action` for `email`.
async fn account(operator: &Stub, action: &str, email: &str) -> Seen {
    operator
        .wait_for(1, |s| {
            s.body["type"] == "account"
                && s.body["action"] == action
                && s.body["person"]["email"] == email
        })
        .await
        .remove(0)
}

async fn a_pool_journey_sends_these_payloads(app: TestApp) {
    let p = loomio_pool(app).await;
    let mut names = Names::default();
    names.name(&json!(p.w.parent), "parent");
    names.name(&json!(p.pool), "pool");
    for (key, id) in &p.groups {
        names.name(&json!(id), &format!("group {key}"));
    }
    names.name(&user_id(p.app(), &p.w.founder).await, "user founder");
    names.name(&json!(p.member_id(&p.w.founder).await), "member founder");
    waits_for_a_provisioner(&p).await;
    names.name(&pool_app(&p).await["id"], "pool app loomio");

    // An integrator hears every event of the parent's pools.
    let receiver = Stub::start().await;
    let hook_secret = p
        .app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
            json!({ "i": { "parentEntityId": p.w.parent, "url": receiver.url, "events": EVENT_TYPES } }),
        )
        .await["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // The operator is asked for the app, and answers that it is ready.
    let operator = Stub::start().await;
    let secret = set_provisioner(&p, &operator.url).await;
    let request = operator.wait_for(1, provision_requests).await.remove(0);
    names.name(&request.body["jobId"], "job");
    names.assert_snapshot("provision_request", &request, &secret);
    app_reaches(&p, "PROVISIONING").await;
    let body = ready("https://loomio.example.org/test-pool");
    let job = request.body["jobId"].as_str().unwrap();
    let (status, res) = answer(&p, &request, &sign_callback(&secret, job, &body), &body).await;
    assert_eq!(status, 200, "{res:#}");
    let app_ready = event(&receiver, "app.ready", |_| true).await;
    names.name(&app_ready.body["id"], "event");
    names.assert_snapshot("event_app_ready", &app_ready, &hook_secret);

    // Ann joins, is made an admin: her account is added, then changed.
    let (ann, ann_member) = p.join("ann@example.org", "users").await;
    names.name(&json!(ann_member), "member ann");
    names.name(&user_id(p.app(), &ann).await, "user ann");
    let added = account(&operator, "add", "ann@example.org").await;
    names.name(&added.body["jobId"], "job");
    names.assert_snapshot("account_add", &added, &secret);
    let joined = event(&receiver, "member.joined", |e| {
        e["data"]["id"] == ann_member
    })
    .await;
    names.name(&joined.body["id"], "event");
    names.assert_snapshot("event_member_joined", &joined, &hook_secret);
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
            json!({ "i": { "memberId": ann_member, "role": "ADMIN" } }),
        )
        .await;
    let changed = account(&operator, "change", "ann@example.org").await;
    names.name(&changed.body["jobId"], "job");
    names.assert_snapshot("account_change", &changed, &secret);

    // A proposal is voted on and closed.
    let proposal = p.propose(&p.w.founder, json!({})).await;
    names.name(&json!(proposal), "proposal");
    for voter in [&p.w.founder, &ann] {
        let vote = p.vote(voter, &proposal, "agree").await;
        assert!(vote.get("errors").is_none(), "{vote:#}");
    }
    p.close(&p.w.founder, &proposal).await;
    let closed = event(&receiver, "proposal.closed", |e| {
        e["data"]["id"] == proposal
    })
    .await;
    names.name(&closed.body["id"], "event");
    names.assert_snapshot("event_proposal_closed", &closed, &hook_secret);

    // The founder pledges a contribution (no payment provider: a pledge).
    euro_scale(&p, false).await;
    let started = start(&p, &p.w.founder, json!({ "amount": 800 })).await;
    let contribution = &started["data"]["startContribution"]["contribution"];
    assert_eq!(contribution["provider"], "MANUAL", "{started:#}");
    names.name(&contribution["id"], "contribution");
    let pledged = event(&receiver, "contribution.changed", |_| true).await;
    names.name(&pledged.body["id"], "event");
    names.assert_snapshot("event_contribution_changed", &pledged, &hook_secret);

    // Ann's expense is approved and paid by the founder.
    let submitted = p
        .app()
        .ok(Some(&ann), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id proposal { id } } }",
            json!({ "i": { "poolId": p.pool, "title": "Bike repair", "description": "New chain", "amount": 4250, "currency": "eur", "payee": "Taller Ciclos" } }))
        .await["submitExpense"]
        .clone();
    names.name(&submitted["id"], "expense");
    let expense_proposal = submitted["proposal"]["id"].as_str().unwrap().to_owned();
    names.name(&json!(expense_proposal), "proposal of the expense");
    for voter in [&p.w.founder, &ann] {
        p.vote(voter, &expense_proposal, "agree").await;
    }
    assert_eq!(
        p.close(&p.w.founder, &expense_proposal).await["outcome"],
        "PASSED"
    );
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: MarkExpensePaidInput!) { markExpensePaid(input: $i) { status } }",
            json!({ "i": { "expenseId": submitted["id"], "reference": "TX-1" } }),
        )
        .await;
    let paid = event(&receiver, "expense.paid", |_| true).await;
    names.name(&paid.body["id"], "event");
    names.assert_snapshot("event_expense_paid", &paid, &hook_secret);

    // Ann leaves: her account is removed.
    p.app()
        .ok(
            Some(&ann),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    let removed = account(&operator, "remove", "ann@example.org").await;
    names.name(&removed.body["jobId"], "job");
    names.assert_snapshot("account_remove", &removed, &secret);
    let left = event(&receiver, "member.left", |e| e["data"]["id"] == ann_member).await;
    names.name(&left.body["id"], "event");
    names.assert_snapshot("event_member_left", &left, &hook_secret);

    // A second pool is formed in the parent.
    let second = form_pool(&p.w, TWO_GROUPS(), json!([]), "Second Pool").await;
    names.name(&json!(second), "second pool");
    let created = event(&receiver, "pool.created", |e| e["data"]["id"] == second).await;
    names.name(
        &created.body["data"]["formation_id"],
        "formation of the second pool",
    );
    names.name(&created.body["id"], "event");
    names.assert_snapshot("event_pool_created", &created, &hook_secret);
    let submitted = event(&receiver, "formation.submitted", |e| {
        e["data"]["id"] == created.body["data"]["formation_id"]
    })
    .await;
    names.name(&submitted.body["id"], "event");
    names.assert_snapshot("event_formation_submitted", &submitted, &hook_secret);
}
