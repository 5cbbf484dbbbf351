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
//! the same files. Each webhook event is also validated against the JSON
//! Schema of its type in `docs/webhooks/`, and its `data` compared with
//! what the API answers for the same fields of the same object.
//!
//! A changed payload fails its test, which writes the new version beside
//! the old as `<name>.snap.new` (under `CI=true` nothing is written). To
//! accept it, rerun the test with `INSTA_UPDATE=always` and review the
//! change in `git diff` before committing it (or use `cargo insta review`
//! where cargo-insta is installed).

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::Arc,
};

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
const EVENT_TYPES: [&str; 25] = [
    "formation.submitted",
    "pool.created",
    "pool.suspended",
    "pool.reinstated",
    "pool.moved",
    "pool.spin_out_started",
    "pool.spun_out",
    "pool.dissolving",
    "pool.dissolved",
    "member.joined",
    "member.left",
    "proposal.closed",
    "contribution.changed",
    "expense.paid",
    "app.ready",
    "work_contribution.recorded",
    "work_contribution.confirmed",
    "work_contribution.refused",
    "lease.offered",
    "lease.accepted",
    "lease.ended",
    "rent.charged",
    "fund_application.submitted",
    "fund_application.decided",
    "loan_repayment.collected",
];

/// Where the payloads keep ids (in camelCase everywhere: the objects of
/// webhook events have their GraphQL fields, a linked one as `{id}`).
const IDS: &str = ".body.**.id, .body.**.jobId, .body.**.poolAppId, .body.**.poolId, \
    .body.**.parentEntityId, .body.**.membershipId, .body.**.memberId, .body.**.groupId, \
    .headers[\"x-pools-event-id\"]";

/// Where they keep timestamps.
const TIMES: &str = ".body.createdAt, .body.**.createdAt, .body.**.updatedAt, \
    .body.**.submittedAt, .body.**.decidedAt, .body.**.joinedAt, .body.**.leftAt, \
    .body.**.closesAt, .body.**.closedAt, .body.**.canceledAt, .body.**.paidAt, \
    .body.**.statusChangedAt";

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
        if name.starts_with("event_") {
            assert_published_shape(&seen.body);
        }
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

/// The published JSON Schema of a webhook event type.
fn published_schema(kind: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/webhooks")
        .join(format!("{kind}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{kind}: no schema at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{kind}: schema is no JSON: {e}"))
}

fn validator(kind: &str) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&published_schema(kind))
        .unwrap_or_else(|e| panic!("{kind}: schema is no JSON Schema: {e}"))
}

/// A webhook event's body is valid against the schema of its type,
/// published in `docs/webhooks/`.
pub(crate) fn assert_published_shape(body: &Value) {
    let kind = body["type"].as_str().expect("an event has a type");
    let errors: Vec<String> = validator(kind)
        .iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{kind} breaks its schema: {errors:#?}\n{body:#}"
    );
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

/// The fields of the GraphQL type that are JSON scalars: selected whole.
const JSON_SCALARS: [&str; 3] = ["settings", "roleMapping", "handover"];

/// The GraphQL selection of the fields `data` shows, nested alike. Fields
/// that are `null` are left out: the value does not say whether they hold
/// an object or a scalar.
fn selection_of(data: &serde_json::Map<String, Value>) -> String {
    let mut fields = Vec::new();
    for (name, value) in data {
        let objects: Vec<&serde_json::Map<String, Value>> = match value {
            Value::Object(map) => vec![map],
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        if value.is_null() {
            continue;
        }
        if objects.is_empty() || JSON_SCALARS.contains(&name.as_str()) {
            fields.push(name.clone());
            continue;
        }
        // Every field any item of a list shows.
        let mut merged = serde_json::Map::new();
        for object in objects {
            for (k, v) in object {
                if !v.is_null() || !merged.contains_key(k) {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        fields.push(format!("{name} {{ {} }}", selection_of(&merged)));
    }
    fields.join(" ")
}

/// `value` without its `null` fields, at every depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The event's `data` is what the API answers when asked for the same
/// fields of the same object: `query` holds `SEL` where the selection
/// goes, and `find` picks the object out of the answer.
async fn assert_the_api_reads_alike(
    app: &TestApp,
    token: &str,
    event: &Seen,
    query: &str,
    variables: Value,
    find: impl Fn(&Value) -> Option<Value>,
) {
    let data = &event.body["data"];
    let query = query.replace("SEL", &selection_of(data.as_object().expect("an object")));
    let answer = app.ok(Some(token), &query, variables).await;
    let read = find(&answer).unwrap_or_else(|| panic!("not in the answer: {answer:#}"));
    assert_eq!(
        without_nulls(&read),
        without_nulls(data),
        "{}: the API reads the object otherwise",
        event.body["type"]
    );
}

/// The node of a connection whose id is `id`.
fn node(connection: &Value, id: &Value) -> Option<Value> {
    connection["edges"]
        .as_array()?
        .iter()
        .map(|e| &e["node"])
        .find(|n| &n["id"] == id)
        .cloned()
}

async fn user_id(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "query { me { id } }", json!({})).await["me"]["id"].clone()
}

/// The first webhook event of `kind` for which `which` holds.
pub(crate) async fn event(receiver: &Stub, kind: &str, which: impl Fn(&Value) -> bool) -> Seen {
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
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &app_ready,
        "query($id: ID!) { pool(id: $id) { apps { SEL } } }",
        json!({ "id": p.pool }),
        |a| {
            a["pool"]["apps"]
                .as_array()?
                .iter()
                .find(|x| x["id"] == app_ready.body["data"]["id"])
                .cloned()
        },
    )
    .await;

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
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &joined,
        "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { SEL } } } } }",
        json!({ "id": p.pool }),
        |a| node(&a["pool"]["register"], &joined.body["data"]["id"]),
    )
    .await;
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
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &closed,
        "query($id: ID!) { proposal(id: $id) { SEL } }",
        json!({ "id": proposal }),
        |a| Some(a["proposal"].clone()),
    )
    .await;

    // The founder pledges a contribution (no payment provider: a pledge).
    euro_scale(&p, false).await;
    let started = start(&p, &p.w.founder, json!({ "amount": 800 })).await;
    let contribution = &started["data"]["startContribution"]["contribution"];
    assert_eq!(contribution["provider"], "MANUAL", "{started:#}");
    names.name(&contribution["id"], "contribution");
    let pledged = event(&receiver, "contribution.changed", |_| true).await;
    names.name(&pledged.body["id"], "event");
    names.assert_snapshot("event_contribution_changed", &pledged, &hook_secret);
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &pledged,
        "query($id: ID!) { pool(id: $id) { contributions(first: 100) { edges { node { SEL } } } } }",
        json!({ "id": p.pool }),
        |a| node(&a["pool"]["contributions"], &pledged.body["data"]["id"]),
    )
    .await;

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
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &paid,
        "query($id: ID!) { proposal(id: $id) { expense { SEL } } }",
        json!({ "id": expense_proposal }),
        |a| Some(a["proposal"]["expense"].clone()),
    )
    .await;

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
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &left,
        "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { SEL } } } } }",
        json!({ "id": p.pool }),
        |a| node(&a["pool"]["register"], &left.body["data"]["id"]),
    )
    .await;

    // A second pool is formed in the parent.
    let second = form_pool(&p.w, TWO_GROUPS(), json!([]), "Second Pool").await;
    names.name(&json!(second), "second pool");
    let created = event(&receiver, "pool.created", |e| e["data"]["id"] == second).await;
    names.name(&created.body["id"], "event");
    names.assert_snapshot("event_pool_created", &created, &hook_secret);
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &created,
        "query($id: ID!) { pool(id: $id) { SEL } }",
        json!({ "id": second }),
        |a| Some(a["pool"].clone()),
    )
    .await;
    // Approved at once (the parent approves automatically): the formation
    // already links to its pool.
    let submitted = event(&receiver, "formation.submitted", |e| {
        e["data"]["pool"]["id"] == second
    })
    .await;
    names.name(
        &submitted.body["data"]["id"],
        "formation of the second pool",
    );
    names.name(&submitted.body["id"], "event");
    names.assert_snapshot("event_formation_submitted", &submitted, &hook_secret);
    assert_the_api_reads_alike(
        p.app(),
        &p.w.steward,
        &submitted,
        "query($id: ID!) { formation(id: $id) { SEL } }",
        json!({ "id": submitted.body["data"]["id"] }),
        |a| Some(a["formation"].clone()),
    )
    .await;

    // The parent suspends the second pool, then reinstates it.
    for (mutation, kind) in [
        ("suspendPool", "pool.suspended"),
        ("reinstatePool", "pool.reinstated"),
    ] {
        p.app()
            .ok(
                Some(&p.w.steward),
                &format!("mutation($id: ID!) {{ {mutation}(poolId: $id, reason: \"Policy review\") {{ id }} }}"),
                json!({ "id": second }),
            )
            .await;
        let seen = event(&receiver, kind, |e| e["data"]["id"] == second).await;
        names.name(&seen.body["id"], "event");
        names.assert_snapshot(
            &format!("event_{}", kind.replace('.', "_")),
            &seen,
            &hook_secret,
        );
        assert_eq!(seen.body["data"]["statusReason"], "Policy review");
        if kind == "pool.reinstated" {
            assert_the_api_reads_alike(
                p.app(),
                &p.w.steward,
                &seen,
                "query($id: ID!) { pool(id: $id) { SEL } }",
                json!({ "id": second }),
                |a| Some(a["pool"].clone()),
            )
            .await;
        }
    }

    // The members of the second pool move it to another parent: the
    // parent it leaves hears of it.
    let (receiving, _) = p.app().sign_up("receiving@example.org").await;
    let other = p
        .app()
        .register_parent_with(&receiving, "R-2026", "AUTOMATIC")
        .await;
    let decided = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": second, "title": "Move", "kind": "MOVE", "moveTo": other } }),
        )
        .await["createProposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: CastVoteInput!) { castVote(input: $i) { id } }",
            json!({ "i": { "proposalId": decided, "choice": "agree" } }),
        )
        .await;
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($id: ID!) { closeProposal(proposalId: $id) { outcome } }",
            json!({ "id": decided }),
        )
        .await;
    let move_id = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { moves(first: 1) { edges { node { id } } } } }",
            json!({ "id": second }),
        )
        .await["pool"]["moves"]["edges"][0]["node"]["id"]
        .clone();
    for (token, mutation) in [
        (&receiving, "acceptPoolMove"),
        (&p.w.steward, "releasePoolMove"),
    ] {
        p.app()
            .ok(
                Some(token),
                &format!("mutation($id: ID!) {{ {mutation}(moveId: $id) {{ status }} }}"),
                json!({ "id": move_id }),
            )
            .await;
    }
    let moved = event(&receiver, "pool.moved", |e| e["data"]["id"] == second).await;
    assert!(verify(&hook_secret, &moved));
    assert_published_shape(&moved.body);
    assert_eq!(moved.body["data"]["parentEntity"]["id"], other.as_str());
    assert_eq!(
        moved.body["parentEntityId"],
        p.w.parent.as_str(),
        "to the parent it left"
    );
}

/// What a type of the served SDL has: an enum's values, an object's fields.
enum Members {
    Enum(BTreeSet<String>),
    Fields(BTreeSet<String>),
}

/// The enums and object types of an SDL, with their values and fields.
fn sdl_types(sdl: &str) -> HashMap<String, Members> {
    let mut types = HashMap::new();
    let mut current: Option<(String, bool, BTreeSet<String>)> = None;
    let mut in_description = false;
    for line in sdl.lines() {
        let text = line.trim();
        if let Some((name, is_enum, members)) = current.take() {
            if text == "}" {
                let members = if is_enum {
                    Members::Enum(members)
                } else {
                    Members::Fields(members)
                };
                types.insert(name, members);
                continue;
            }
            let mut members = members;
            if text.starts_with("\"\"\"") {
                // A block on one line changes nothing; a lone `"""` opens
                // or closes one.
                let one_line = text.len() > 3 && text.ends_with("\"\"\"");
                if !one_line {
                    in_description = !in_description;
                }
            } else if !in_description {
                let member = text.split(['(', ':', ' ']).next().unwrap_or_default();
                members.insert(member.to_owned());
            }
            current = Some((name, is_enum, members));
            continue;
        }
        for (keyword, is_enum) in [("type ", false), ("enum ", true)] {
            if let Some(rest) = line.strip_prefix(keyword) {
                let name = rest.split([' ', '{']).next().unwrap_or_default().to_owned();
                current = Some((name, is_enum, BTreeSet::new()));
            }
        }
    }
    types
}

/// Definitions of the schemas that are not GraphQL types of their own: a
/// linked object by its id, and the scalars.
const NOT_GRAPHQL_TYPES: &[&str] = &[
    "Ref",
    "CatalogueRef",
    "ID",
    "DateTime",
    "Date",
    "Currency",
    "JSON",
];

/// Each event type has a published schema, linked from the README, whose
/// enums list exactly the GraphQL values and whose objects use only the
/// field names of the GraphQL type they are named after.
#[test]
fn every_event_type_publishes_a_schema_in_the_graphql_shape() {
    assert_eq!(
        EVENT_TYPES.as_slice(),
        api::services::outbox::webhook_events::EVENT_TYPES
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("the README");
    let types = sdl_types(&api::graphql::sdl());
    assert!(types.contains_key("Member") && types.contains_key("MemberRole"));
    for kind in EVENT_TYPES {
        let schema = published_schema(kind);
        validator(kind);
        assert_eq!(schema["properties"]["type"]["const"], kind);
        assert_eq!(
            schema["properties"]["apiVersion"]["const"],
            api::services::outbox::payloads::API_VERSION
        );
        assert!(
            readme.contains(&format!("(docs/webhooks/{kind}.schema.json)")),
            "the README links the schema of {kind}"
        );
        for (name, def) in schema["$defs"].as_object().expect("definitions") {
            match types.get(name) {
                Some(Members::Enum(values)) => {
                    let listed: BTreeSet<String> = def["enum"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{kind}: {name} lists no values"))
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect();
                    assert_eq!(&listed, values, "{kind}: the values of {name}");
                }
                Some(Members::Fields(fields)) => {
                    let properties = def["properties"]
                        .as_object()
                        .unwrap_or_else(|| panic!("{kind}: {name} has no properties"));
                    for property in properties.keys() {
                        assert!(
                            fields.contains(property),
                            "{kind}: {name}.{property} is no field of the GraphQL {name}"
                        );
                    }
                }
                None => assert!(
                    NOT_GRAPHQL_TYPES.contains(&name.as_str()),
                    "{kind}: `{name}` is named after no GraphQL type"
                ),
            }
        }
    }
}
