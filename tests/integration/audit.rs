//! The parent's view: the audit trail, its hash chain, reports, pool
//! accounts, exports and the audit pack.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

const EVENT_FIELDS: &str =
    "id seq occurredAt actorKind actor { id } tokenId action outcome entityType
    entityId poolId parentEntityId changes requestId clientAddress hash prevHash poolPrevHash
    contentSalt contentDigest redactedAt";

/// The actions of every event the filter selects, oldest first.
pub(crate) async fn actions(app: &TestApp, token: &str, input: Value) -> Vec<String> {
    all_events(app, token, input)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Every event the filter selects, following the pages.
pub(crate) async fn all_events(app: &TestApp, token: &str, input: Value) -> Vec<Value> {
    let query = format!(
        "query($i: AuditEventsInput!, $after: String) {{ auditEvents(input: $i, first: 50, after: $after) {{
            edges {{ cursor node {{ {EVENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let mut events = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(Some(token), &query, json!({ "i": input, "after": after }))
            .await;
        let conn = &data["auditEvents"];
        events.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            return events;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ me { id } }", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn with_action<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

/// A pool with members, money, proposals and a refused attempt: the
/// fixture the audit and report tests share.
pub(crate) struct Busy {
    pub p: PoolWorld,
    pub ann: String,
    pub ann_member: String,
    pub bob: String,
    pub outsider: String,
    /// The request id of the removal of Carl, from its response header.
    pub removal_request_id: String,
    pub carl_member: String,
}

impl Busy {
    pub async fn new(app: TestApp) -> Self {
        let p = PoolWorld::new(app, TWO_GROUPS()).await;
        p.app()
            .ok(
                Some(&p.w.steward),
                "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
                json!({ "i": { "parentEntityId": p.w.parent, "parentShareBasisPoints": 500 } }),
            )
            .await;
        let (ann, ann_member) = p.join("ann@example.org", "workers").await;
        let (bob, _) = p.join("bob@example.org", "users").await;
        let (_carl, carl_member) = p.join("carl@example.org", "users").await;
        let (outsider, _) = p.app().sign_up("outsider@example.org").await;
        let founder = p.w.founder.clone();
        let app = p.app();
        app.ok(Some(&founder), "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH", "minimum": 100, "maximum": 10000, "suggested": 1000 } }))
            .await;
        for (token, amount, reference) in [(&ann, 1000, "T-1"), (&bob, 2000, "T-2")] {
            let started = app
                .ok(Some(token), "mutation($i: StartContributionInput!) { startContribution(input: $i) { contribution { id provider } } }",
                    json!({ "i": { "poolId": p.pool, "amount": amount } }))
                .await;
            let id = &started["startContribution"]["contribution"]["id"];
            app.ok(Some(&founder), "mutation($i: MarkContributionPaidInput!) { markContributionPaid(input: $i) { id } }",
                json!({ "i": { "contributionId": id, "reference": reference } }))
                .await;
        }
        app.ok(Some(&founder), "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": 500, "currency": "EUR", "reference": "OB-1",
                "description": "opening balance", "category": "Opening" } }))
            .await;
        let expense = app
            .ok(Some(&ann), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id proposal { id } } }",
                json!({ "i": { "poolId": p.pool, "title": "Rent", "amount": 300, "currency": "EUR",
                    "payee": "Landlord", "category": "rent" } }))
            .await;
        let proposal = expense["submitExpense"]["proposal"]["id"].as_str().unwrap();
        for t in [&ann, &bob, &founder] {
            p.vote(t, proposal, "agree").await;
        }
        assert_eq!(p.close(&founder, proposal).await["outcome"], "PASSED");
        app.ok(
            Some(&founder),
            "mutation($i: MarkExpensePaidInput!) { markExpensePaid(input: $i) { status } }",
            json!({ "i": { "expenseId": expense["submitExpense"]["id"], "reference": "RENT-11" } }),
        )
        .await;
        let poll = p.propose(&ann, json!({ "title": "Paint it green" })).await;
        for t in [&ann, &bob, &founder] {
            p.vote(t, &poll, "disagree").await;
        }
        assert_eq!(p.close(&founder, &poll).await["outcome"], "FAILED");

        // Carl is removed: the response's request id must reach the trail.
        let res = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&founder)
            .json(&json!({ "query": "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status } }",
                "variables": { "i": { "memberId": carl_member, "reason": "never came to a meeting" } } }))
            .send()
            .await
            .unwrap();
        let removal_request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["data"]["removeMember"]["status"], "REMOVED",
            "{body:#}"
        );

        // Bob, a member but no admin, tries the same on Ann, and so does an
        // outsider: Bob is refused; to the outsider Ann's membership does
        // not exist.
        for (token, code) in [(&bob, "FORBIDDEN"), (&outsider, "NOT_FOUND")] {
            let refused = app
                .gql(
                    Some(token),
                    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status } }",
                    json!({ "i": { "memberId": ann_member, "reason": "just because" } }),
                )
                .await;
            assert_eq!(error_code(&refused), code);
        }
        Self {
            p,
            ann,
            ann_member,
            bob,
            outsider,
            removal_request_id,
            carl_member,
        }
    }

    pub fn app(&self) -> &TestApp {
        self.p.app()
    }
}

on_both_databases!(
    each_kind_of_change_is_recorded_with_who_and_what,
    the_chain_verifies_until_a_row_is_altered,
    verification_resumes_from_a_checkpoint,
    events_filter_and_page,
    pool_admins_read_only_their_own_trail,
    report_figures_match_the_fixture,
    pool_accounts_balance,
    csv_exports_parse_back_to_the_same_data,
);

async fn each_kind_of_change_is_recorded_with_who_and_what(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let events = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent }),
    )
    .await;
    let actions: HashSet<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "parentEntity.registered",
        "parentEntityRole.granted",
        "parentEntity.policyChanged",
        "formation.started",
        "formation.stakeholderGroupsSet",
        "formation.foundingMembersSet",
        "formation.financialProfileSet",
        "formation.legalTemplateChosen",
        "formation.named",
        "formation.appsSelected",
        "formation.submitted",
        "pool.created",
        "application.submitted",
        "member.joined",
        "slidingScale.set",
        "contribution.started",
        "contribution.paid",
        "ledger.adjusted",
        "expense.submitted",
        "vote.cast",
        "proposal.closed",
        "expense.paid",
        "proposal.created",
        "member.removed",
        "removeMember.denied",
    ] {
        assert!(
            actions.contains(expected),
            "no {expected} event in {actions:?}"
        );
    }
    // Sign-ups and sign-ins are outside any parent: they are not here.
    assert!(!actions.contains("account.created"));

    let founder_id = user_id(app, &b.p.w.founder).await;
    let removed = with_action(&events, "member.removed");
    assert_eq!(removed.len(), 1);
    let removed = removed[0];
    assert_eq!(removed["outcome"], "SUCCEEDED");
    assert_eq!(removed["actorKind"], "SESSION");
    assert_eq!(removed["actor"]["id"], founder_id.as_str());
    assert_eq!(removed["entityType"], "Member");
    assert_eq!(removed["entityId"], b.carl_member.as_str());
    assert_eq!(removed["poolId"], b.p.pool.as_str());
    assert_eq!(removed["parentEntityId"], b.p.w.parent.as_str());
    assert_eq!(
        removed["changes"]["status"],
        json!({ "before": "ACTIVE", "after": "REMOVED" })
    );
    assert_eq!(
        removed["changes"]["end_reason"],
        json!({ "before": null, "after": "never came to a meeting" })
    );
    assert_eq!(removed["requestId"], b.removal_request_id.as_str());
    assert_eq!(removed["clientAddress"], "127.0.0.1");

    // The member's refusal is in the pool's trail: who, what, why and a
    // digest of the arguments, not the arguments. The outsider's is not
    // (it went to the platform's chain).
    let bob_id = user_id(app, &b.bob).await;
    let denied = with_action(&events, "removeMember.denied");
    assert_eq!(denied.len(), 1, "{denied:#?}");
    let denied = denied[0];
    assert_eq!(denied["outcome"], "DENIED");
    assert_eq!(denied["actor"]["id"], bob_id.as_str());
    assert_eq!(denied["entityType"], "Member");
    assert_eq!(denied["entityId"], b.ann_member.as_str());
    assert_eq!(denied["poolId"], b.p.pool.as_str());
    assert_eq!(denied["changes"]["mutation"], "removeMember");
    assert!(denied["changes"].get("arguments").is_none());
    assert_eq!(
        denied["changes"]["argumentsSha256"].as_str().unwrap().len(),
        64
    );
    assert!(!denied["changes"]["reason"].as_str().unwrap().is_empty());

    let paid = with_action(&events, "contribution.paid");
    assert_eq!(paid.len(), 2);
    assert_eq!(paid[0]["changes"]["amount"], 1000);

    // Secrets never reach the trail.
    let signed_up = app
        .gql(None, "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "dora@example.org", "password": "another long passphrase", "displayName": "Dora" } }))
        .await;
    assert!(signed_up.get("errors").is_none());
    let rows: Vec<String> = sea_orm::ConnectionTrait::query_all_raw(
        &app.db,
        sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT changes FROM audit_events",
        ),
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<String>("", "changes").unwrap())
    .collect();
    assert!(rows.iter().any(|c| c.contains("dora@example.org")));
    assert!(
        !rows
            .iter()
            .any(|c| c.contains("another long passphrase") || c.contains("password_hash"))
    );
}

/// The hash a stored event must carry, computed here from the recipe in
/// the README, independently of the server's code.
pub(crate) fn recompute_hash(e: &Value, chain_key: &str) -> String {
    let text = |v: &Value| if v.is_null() { Value::Null } else { v.clone() };
    let sha = |v: Value| hex::encode(Sha256::digest(v.to_string().as_bytes()));
    let changes = if e["changes"].is_string() {
        e["changes"].clone()
    } else {
        Value::from(serde_json::to_string(&e["changes"]).unwrap())
    };
    let digest = &e["contentDigest"];
    let mut canonical = vec![
        json!(if digest.is_null() {
            "pools-audit/1"
        } else {
            "pools-audit/2"
        }),
        e["id"].clone(),
        json!(chain_key),
        e["seq"].clone(),
        e["prevHash"].clone(),
        text(&e["poolPrevHash"]),
        e["occurredAt"].clone(),
        e["actorKind"].clone(),
        text(&e["actorUserId"]),
        text(&e["tokenId"]),
        e["action"].clone(),
        e["outcome"].clone(),
        e["entityType"].clone(),
        text(&e["entityId"]),
        text(&e["poolId"]),
        text(&e["parentEntityId"]),
    ];
    if digest.is_null() {
        canonical.extend([changes, text(&e["requestId"]), text(&e["clientAddress"])]);
    } else {
        if e["redactedAt"].is_null() {
            let content = json!([e["contentSalt"], changes, text(&e["clientAddress"])]);
            assert_eq!(
                &Value::from(sha(content)),
                digest,
                "the digest covers the stored values"
            );
        }
        canonical.extend([digest.clone(), text(&e["requestId"])]);
    }
    sha(Value::Array(canonical))
}

pub(crate) async fn verify(app: &TestApp, token: &str, parent: &str) -> Value {
    app.ok(
        Some(token),
        "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid eventsChecked headSeq headHash firstBreak { seq eventId problem } } }",
        json!({ "id": parent }),
    )
    .await["verifyAuditTrail"]
        .clone()
}

const TAMPER: &str =
    "UPDATE audit_events SET changes = '{\"status\":\"nothing happened\"}' WHERE id = $1";

/// Runs `sql` with the event's id as `$1`, straight on the database.
async fn on_event(
    app: &TestApp,
    sql: &str,
    event: &Value,
) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
    let id = uuid::Uuid::parse_str(event["id"].as_str().unwrap()).unwrap();
    let backend = app.db.get_database_backend();
    sea_orm::ConnectionTrait::execute_raw(
        &app.db,
        sea_orm::Statement::from_sql_and_values(backend, sql, [id.into()]),
    )
    .await
}

/// Does what someone with direct database access could: removes the
/// append-only guard and rewrites the event's content.
async fn alter_event(app: &TestApp, event: &Value) {
    let unguard = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
        }
        _ => "DROP TRIGGER IF EXISTS audit_events_no_update",
    };
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, unguard)
        .await
        .unwrap();
    let changed = on_event(app, TAMPER, event).await.unwrap();
    assert_eq!(changed.rows_affected(), 1);
}

async fn the_chain_verifies_until_a_row_is_altered(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let parent = &b.p.w.parent;
    let events = all_events(app, &b.p.w.steward, json!({ "parentEntityId": parent })).await;
    let ok = verify(app, &b.p.w.auditor, parent).await;
    assert_eq!(ok["valid"], true, "{ok:#}");
    assert_eq!(ok["eventsChecked"], events.len());
    let last = events.iter().max_by_key(|e| e["seq"].as_i64()).unwrap();
    assert_eq!(ok["headHash"], last["hash"]);
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "no gaps, in order"
    );

    // Nobody may change an event, not even with direct database access,
    // unless they first remove the guard.
    let victim = &events[events.len() / 2];
    assert!(
        on_event(app, TAMPER, victim).await.is_err(),
        "the append-only guard refuses updates"
    );
    assert!(
        on_event(app, "DELETE FROM audit_events WHERE id = $1", victim)
            .await
            .is_err(),
        "and deletes"
    );
    alter_event(app, victim).await;

    let broken = verify(app, &b.p.w.steward, parent).await;
    assert_eq!(broken["valid"], false);
    assert_eq!(broken["firstBreak"]["seq"], victim["seq"]);
    assert_eq!(broken["firstBreak"]["eventId"], victim["id"]);
    assert!(
        broken["firstBreak"]["problem"]
            .as_str()
            .unwrap()
            .contains("altered")
    );
    assert_eq!(broken["eventsChecked"], victim["seq"].as_i64().unwrap() - 1);

    // Members and outsiders may not verify.
    let refused = app
        .gql(
            Some(&b.ann),
            "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

async fn verify_since(app: &TestApp, token: &str, parent: &str, since: Value) -> Value {
    app.gql(
        Some(token),
        "query($id: ID!, $since: AuditCheckpointInput) { verifyAuditTrail(parentEntityId: $id, since: $since) { valid eventsChecked headSeq headHash firstBreak { seq eventId problem } } }",
        json!({ "id": parent, "since": since }),
    )
    .await
}

async fn verification_resumes_from_a_checkpoint(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let parent = &b.p.w.parent;
    let auditor = &b.p.w.auditor;
    let first = verify(app, auditor, parent).await;
    assert_eq!(first["valid"], true, "{first:#}");
    assert_eq!(first["headSeq"], first["eventsChecked"]);
    let checkpoint = json!({ "seq": first["headSeq"], "hash": first["headHash"] });

    // More happens; a walk from the checkpoint checks only that, pool
    // links included, and ends where a whole walk ends.
    b.p.join("dora@example.org", "users").await;
    let whole = verify(app, auditor, parent).await;
    let resumed =
        verify_since(app, auditor, parent, checkpoint.clone()).await["data"]["verifyAuditTrail"]
            .clone();
    assert_eq!(resumed["valid"], true, "{resumed:#}");
    let new_events = whole["headSeq"].as_i64().unwrap() - first["headSeq"].as_i64().unwrap();
    assert!(new_events >= 2, "an application and a join");
    assert_eq!(resumed["eventsChecked"], new_events);
    assert_eq!(resumed["headSeq"], whole["headSeq"]);
    assert_eq!(resumed["headHash"], whole["headHash"]);

    // A checkpoint that is not what is stored: the trail before it changed.
    let seq = first["headSeq"].clone();
    let wrong = verify_since(
        app,
        auditor,
        parent,
        json!({ "seq": seq, "hash": "ab".repeat(32) }),
    )
    .await["data"]["verifyAuditTrail"]
        .clone();
    assert_eq!(wrong["valid"], false);
    assert_eq!(wrong["firstBreak"]["seq"], seq);
    assert_eq!(wrong["eventsChecked"], 0);
    assert!(
        wrong["firstBreak"]["problem"]
            .as_str()
            .unwrap()
            .contains("checkpoint"),
        "{wrong:#}"
    );

    // Malformed checkpoints name the field.
    let bad = verify_since(app, auditor, parent, json!({ "seq": 0, "hash": "xyz" })).await;
    assert_eq!(error_code(&bad), "VALIDATION");
    assert_eq!(error_paths(&bad), ["since.seq", "since.hash"]);
    let beyond = verify_since(
        app,
        auditor,
        parent,
        json!({ "seq": new_events + 1_000, "hash": "ab".repeat(32) }),
    )
    .await;
    assert_eq!(error_paths(&beyond), ["since.seq"]);

    // An event altered after the checkpoint is found from it.
    let events = all_events(app, &b.p.w.steward, json!({ "parentEntityId": parent })).await;
    let victim = events
        .iter()
        .find(|e| e["seq"].as_i64() == Some(first["headSeq"].as_i64().unwrap() + 1))
        .unwrap();
    alter_event(app, victim).await;
    let broken =
        verify_since(app, auditor, parent, checkpoint).await["data"]["verifyAuditTrail"].clone();
    assert_eq!(broken["valid"], false);
    assert_eq!(broken["firstBreak"]["eventId"], victim["id"]);
    assert_eq!(broken["eventsChecked"], 0);
    assert_eq!(broken["headSeq"], seq);
}

async fn events_filter_and_page(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let parent = json!({ "parentEntityId": b.p.w.parent });
    let everything = all_events(app, &b.p.w.auditor, parent.clone()).await;

    // Pages of 3 cover everything once, in order.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(Some(&b.p.w.auditor),
                "query($i: AuditEventsInput!, $after: String) { auditEvents(input: $i, first: 3, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({ "i": parent, "after": after }))
            .await;
        let conn = &data["auditEvents"];
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() <= 3);
        seen.extend(edges.iter().map(|e| e["node"]["id"].clone()));
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let ids: Vec<Value> = everything.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);

    // Each filter returns exactly the matching events.
    let votes = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "action": "vote.cast" }),
    )
    .await;
    assert_eq!(votes.len(), 6);
    assert!(votes.iter().all(|e| e["action"] == "vote.cast"));
    let members = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "entityType": "Member" }),
    )
    .await;
    assert_eq!(
        members.len(),
        everything
            .iter()
            .filter(|e| e["entityType"] == "Member")
            .count()
    );
    let ann_id = user_id(app, &b.ann).await;
    let by_ann = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "actorId": ann_id }),
    )
    .await;
    assert!(!by_ann.is_empty());
    assert!(by_ann.iter().all(|e| e["actor"]["id"] == ann_id.as_str()));
    assert_eq!(
        by_ann.len(),
        everything
            .iter()
            .filter(|e| e["actor"]["id"] == ann_id.as_str())
            .count()
    );
    let middle = everything[everything.len() / 2]["occurredAt"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "from": middle }),
    )
    .await;
    let earlier = all_events(
        app,
        &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "to": middle }),
    )
    .await;
    assert_eq!(later.len() + earlier.len(), everything.len());
    assert!(
        later
            .iter()
            .all(|e| e["occurredAt"].as_str().unwrap() >= middle.as_str())
    );
    let future = all_events(app, &b.p.w.auditor,
        json!({ "parentEntityId": b.p.w.parent, "from": (Utc::now() + Duration::hours(1)).to_rfc3339() })).await;
    assert!(future.is_empty());

    // Asking for both scopes, or neither, names the field.
    let both = app
        .gql(
            Some(&b.p.w.auditor),
            "query($i: AuditEventsInput!) { auditEvents(input: $i) { edges { cursor } } }",
            json!({ "i": { "parentEntityId": b.p.w.parent, "poolId": b.p.pool } }),
        )
        .await;
    assert_eq!(error_code(&both), "VALIDATION");
    assert_eq!(
        both["errors"][0]["extensions"]["fields"][0]["path"],
        "input.parentEntityId"
    );
}

async fn pool_admins_read_only_their_own_trail(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let pool = json!({ "poolId": b.p.pool });
    let own = all_events(app, &b.p.w.founder, pool.clone()).await;
    assert!(!own.is_empty());
    assert!(own.iter().all(|e| e["poolId"] == b.p.pool.as_str()));
    // Pool events link to each other in their own chain.
    for pair in own.windows(2) {
        assert_eq!(pair[1]["poolPrevHash"], pair[0]["hash"]);
    }

    // A second pool under the same parent, with its own admin.
    let second = second_pool(&b.p.w).await;
    let other_pool = second.1;
    let refused = app
        .gql(
            Some(&second.0),
            "query($i: AuditEventsInput!) { auditEvents(input: $i) { edges { cursor } } }",
            json!({ "i": { "poolId": b.p.pool } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "another pool's admin");
    let parent_refused = app
        .gql(
            Some(&second.0),
            "query($i: AuditEventsInput!) { auditEvents(input: $i) { edges { cursor } } }",
            json!({ "i": { "parentEntityId": b.p.w.parent } }),
        )
        .await;
    assert_eq!(
        error_code(&parent_refused),
        "FORBIDDEN",
        "a pool admin is not an overseer"
    );
    let mine = all_events(app, &second.0, json!({ "poolId": other_pool })).await;
    assert!(mine.iter().all(|e| e["poolId"] == other_pool.as_str()));
    assert!(mine.iter().any(|e| e["action"] == "pool.created"));

    // A plain member reads the pool's money but not its trail.
    let member = app
        .gql(
            Some(&b.bob),
            "query($i: AuditEventsInput!) { auditEvents(input: $i) { edges { cursor } } }",
            json!({ "i": pool }),
        )
        .await;
    assert_eq!(error_code(&member), "FORBIDDEN");
    let csv = app
        .client
        .get(app.url(&format!("/exports/pools/{}/audit-trail.csv", b.p.pool)))
        .bearer_auth(&second.0)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 403);
}

/// A second pool under the same (automatic) parent, founded by someone
/// else, who is its only admin. Returns their token and the pool's id.
async fn second_pool(w: &crate::formations::World) -> (String, String) {
    let (token, _) = w.app.sign_up("second@example.org").await;
    let f = w
        .step(
            &token,
            "startFormation",
            json!({ "parentEntityId": w.parent, "workingName": "Second" }),
        )
        .await;
    let id = f["id"].as_str().unwrap().to_owned();
    w.step(
        &token,
        "setStakeholderGroups",
        json!({ "formationId": id, "groups": TWO_GROUPS() }),
    )
    .await;
    w.step(&token, "setFoundingMembers", json!({ "formationId": id, "members": [
        { "email": "second@example.org", "displayName": "Second", "stakeholderGroupKey": "workers", "role": "ADMIN" } ] }))
        .await;
    w.step(&token, "setFinancialProfile", json!({ "formationId": id, "distributesSurplus": false,
        "raisesShareCapital": false, "acceptsInvestorMembers": false, "tradesWithPublic": false, "currency": "EUR" }))
        .await;
    w.step(
        &token,
        "chooseLegalTemplate",
        json!({ "formationId": id, "templateId": "pool-inside-parent" }),
    )
    .await;
    w.step(
        &token,
        "nameFormation",
        json!({ "formationId": id, "name": "Second Pool" }),
    )
    .await;
    w.step(
        &token,
        "selectApps",
        json!({ "formationId": id, "appIds": [] }),
    )
    .await;
    let submitted = w
        .app
        .ok(
            Some(&token),
            "mutation($id: ID!) { submitFormation(formationId: $id) { pool { id } } }",
            json!({ "id": id }),
        )
        .await;
    let pool = submitted["submitFormation"]["pool"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, pool)
}

const REPORT: &str = "query($id: ID!, $from: DateTime!, $to: DateTime!) { parentEntity(id: $id) { report(from: $from, to: $to) {
    totals { members joins leaves proposalsHeld proposalsPassed membersByGroup { name kind members stakeholderGroupId }
      money { currency contributionIncome parentShare expenses adjustments balance } }
    poolsByStatus { status pools }
    openFormations { drafts submitted oldestDraftAgeDays oldestSubmittedSince }
    pools(first: 10) { edges { node { pool { id } figures { members joins leaves proposalsHeld proposalsPassed
      membersByGroup { name kind members stakeholderGroupId } money { currency contributionIncome parentShare expenses adjustments balance } } } } } } } }";

async fn report_figures_match_the_fixture(app: TestApp) {
    let start = Utc::now() - Duration::minutes(5);
    let b = Busy::new(app).await;
    let app = b.app();
    b.p.w.start("Still a draft").await;
    let to = Utc::now() + Duration::hours(1);
    let data = app
        .ok(
            Some(&b.p.w.auditor),
            REPORT,
            json!({ "id": b.p.w.parent, "from": start.to_rfc3339(), "to": to.to_rfc3339() }),
        )
        .await;
    let report = &data["parentEntity"]["report"];
    // Founder, Ann, Bob and Carl joined; Carl was removed.
    let money = json!([{ "currency": "EUR", "contributionIncome": 3000, "parentShare": 150,
        "expenses": 300, "adjustments": 500, "balance": 3050 }]);
    let totals = &report["totals"];
    assert_eq!(totals["members"], 3);
    assert_eq!(totals["joins"], 4);
    assert_eq!(totals["leaves"], 1);
    assert_eq!(totals["proposalsHeld"], 2);
    assert_eq!(totals["proposalsPassed"], 1);
    assert_eq!(totals["money"], money);
    assert_eq!(
        totals["membersByGroup"],
        json!([
            { "name": "USERS", "kind": "USERS", "members": 1, "stakeholderGroupId": null },
            { "name": "WORKERS", "kind": "WORKERS", "members": 2, "stakeholderGroupId": null },
        ])
    );
    assert_eq!(
        report["poolsByStatus"],
        json!([{ "status": "ACTIVE", "pools": 1 }])
    );
    assert_eq!(report["openFormations"]["drafts"], 1);
    assert_eq!(report["openFormations"]["submitted"], 0);
    assert_eq!(report["openFormations"]["oldestDraftAgeDays"], 0);
    let pools = report["pools"]["edges"].as_array().unwrap();
    assert_eq!(pools.len(), 1);
    let figures = &pools[0]["node"]["figures"];
    assert_eq!(pools[0]["node"]["pool"]["id"], b.p.pool.as_str());
    assert_eq!(figures["money"], money);
    assert_eq!(figures["members"], 3);
    let by_group: HashMap<&str, i64> = figures["membersByGroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["members"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_group, HashMap::from([("Workers", 2), ("Users", 1)]));
    assert!(figures["membersByGroup"][0]["stakeholderGroupId"].is_string());

    // A period before anything happened: nothing, and no money.
    let before = app
        .ok(Some(&b.p.w.steward), REPORT, json!({ "id": b.p.w.parent,
            "from": (start - Duration::days(2)).to_rfc3339(), "to": (start - Duration::days(1)).to_rfc3339() }))
        .await;
    let totals = &before["parentEntity"]["report"]["totals"];
    assert_eq!(totals["members"], 0);
    assert_eq!(totals["joins"], 0);
    assert_eq!(totals["money"], json!([]));
    assert_eq!(before["parentEntity"]["report"]["poolsByStatus"], json!([]));

    // Members and outsiders may not read it; the period must run forwards.
    let refused = app
        .gql(
            Some(&b.p.w.founder),
            REPORT,
            json!({ "id": b.p.w.parent, "from": start.to_rfc3339(), "to": to.to_rfc3339() }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let backwards = app
        .gql(
            Some(&b.p.w.steward),
            REPORT,
            json!({ "id": b.p.w.parent, "from": to.to_rfc3339(), "to": start.to_rfc3339() }),
        )
        .await;
    assert_eq!(error_code(&backwards), "VALIDATION");
}

async fn pool_accounts_balance(app: TestApp) {
    let start = Utc::now() - Duration::minutes(5);
    let b = Busy::new(app).await;
    let app = b.app();
    let query = "query($id: ID!, $from: DateTime!, $to: DateTime!) { pool(id: $id) { accounts(from: $from, to: $to) {
        currencies { currency openingBalance closingBalance income spending parentShare lines { kind category income spending entries } } } } }";
    let to = Utc::now() + Duration::hours(1);
    let data = app
        .ok(
            Some(&b.bob),
            query,
            json!({ "id": b.p.pool, "from": start.to_rfc3339(), "to": to.to_rfc3339() }),
        )
        .await;
    assert_eq!(
        data["pool"]["accounts"]["currencies"],
        json!([{
            "currency": "EUR", "openingBalance": 0, "closingBalance": 3050, "income": 3500, "spending": 450, "parentShare": 150,
            "lines": [
                { "kind": "ADJUSTMENT", "category": "opening", "income": 500, "spending": 0, "entries": 1 },
                { "kind": "CONTRIBUTION", "category": "contributions", "income": 3000, "spending": 0, "entries": 2 },
                { "kind": "EXPENSE", "category": "rent", "income": 0, "spending": 300, "entries": 1 },
                { "kind": "PARENT_SHARE", "category": "parent share", "income": 0, "spending": 150, "entries": 2 },
            ],
        }])
    );
    // A later period opens with what this one closed with.
    let later = app
        .ok(Some(&b.p.w.auditor), query, json!({ "id": b.p.pool, "from": to.to_rfc3339(), "to": (to + Duration::days(30)).to_rfc3339() }))
        .await;
    assert_eq!(
        later["pool"]["accounts"]["currencies"],
        json!([{ "currency": "EUR", "openingBalance": 3050, "closingBalance": 3050, "income": 0, "spending": 0,
            "parentShare": 0, "lines": [] }])
    );
    let outsider = app
        .gql(
            Some(&b.outsider),
            query,
            json!({ "id": b.p.pool, "from": start.to_rfc3339(), "to": to.to_rfc3339() }),
        )
        .await;
    assert_eq!(error_code(&outsider), "FORBIDDEN");
}

pub(crate) async fn get_csv(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (u16, Vec<HashMap<String, String>>) {
    let mut req = app.client.get(app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status != 200 {
        return (status, Vec::new());
    }
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let body = res.bytes().await.unwrap();
    assert!(body.windows(2).any(|w| w == b"\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(&body[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (status, rows)
}

/// The named columns of parsed CSV rows.
fn columns(rows: &[HashMap<String, String>], keys: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
        .collect()
}

/// The same fields of a connection's nodes, as text (`a.b` reaches inside).
fn node_fields(edges: &Value, paths: &[&str]) -> Vec<Vec<String>> {
    edges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            paths
                .iter()
                .map(|path| {
                    let v = path.split('.').fold(&e["node"], |v, key| &v[key]);
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                })
                .collect()
        })
        .collect()
}

async fn csv_exports_parse_back_to_the_same_data(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let pool = &b.p.pool;
    let parent = &b.p.w.parent;

    let (status, register) = get_csv(
        app,
        Some(&b.bob),
        &format!("/exports/pools/{pool}/register.csv"),
    )
    .await;
    assert_eq!(status, 200);
    let graphql = app
        .ok(Some(&b.bob), "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { id email status stakeholderGroup { key } } } } } }",
            json!({ "id": pool }))
        .await;
    let mut from_api = node_fields(
        &graphql["pool"]["register"]["edges"],
        &["id", "email", "status", "stakeholderGroup.key"],
    );
    let mut from_csv = columns(
        &register,
        &["membership_id", "email", "status", "stakeholder_group"],
    );
    from_api.sort();
    from_csv.sort();
    assert_eq!(from_csv, from_api);
    assert_eq!(register.len(), 4);
    let carl = register
        .iter()
        .find(|r| r["email"] == "carl@example.org")
        .unwrap();
    assert_eq!(carl["status"], "REMOVED");
    assert_eq!(carl["end_reason"], "never came to a meeting");
    assert!(!carl["left_at"].is_empty());

    let (_, ledger) = get_csv(
        app,
        Some(&b.bob),
        &format!("/exports/pools/{pool}/ledger.csv"),
    )
    .await;
    let graphql = app
        .ok(Some(&b.bob), "query($id: ID!) { pool(id: $id) { ledger { entries(first: 100) { edges { node { id kind category amount { amount currency } } } } } } }",
            json!({ "id": pool }))
        .await;
    let api_entries = node_fields(
        &graphql["pool"]["ledger"]["entries"]["edges"],
        &["id", "kind", "category", "amount.amount"],
    );
    let csv_entries = columns(&ledger, &["entry_id", "kind", "category", "amount_minor"]);
    assert_eq!(csv_entries, api_entries);
    let share = ledger.iter().find(|r| r["kind"] == "PARENT_SHARE").unwrap();
    assert_eq!(share["amount_minor"], "-50");
    assert_eq!(share["amount"], "-0.50");
    assert_eq!(share["currency"], "EUR");

    // The parent's audit trail as CSV is the trail the API lists.
    let (_, trail) = get_csv(
        app,
        Some(&b.p.w.auditor),
        &format!("/exports/parent-entities/{parent}/audit-trail.csv"),
    )
    .await;
    let events = all_events(app, &b.p.w.auditor, json!({ "parentEntityId": parent })).await;
    assert_eq!(trail.len(), events.len());
    for (row, event) in trail.iter().zip(&events) {
        assert_eq!(row["event_id"], event["id"].as_str().unwrap());
        assert_eq!(row["hash"], event["hash"].as_str().unwrap());
        assert_eq!(row["action"], event["action"].as_str().unwrap());
    }
    let (_, parent_register) = get_csv(
        app,
        Some(&b.p.w.steward),
        &format!("/exports/parent-entities/{parent}/register.csv"),
    )
    .await;
    assert_eq!(parent_register.len(), 4);
    let (_, parent_ledger) = get_csv(
        app,
        Some(&b.p.w.steward),
        &format!("/exports/parent-entities/{parent}/ledger.csv"),
    )
    .await;
    assert_eq!(parent_ledger.len(), ledger.len());
    let total: i64 = parent_ledger
        .iter()
        .map(|r| r["amount_minor"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 3050);

    // The same authorization as the API.
    assert_eq!(
        get_csv(app, None, &format!("/exports/pools/{pool}/ledger.csv"))
            .await
            .0,
        401
    );
    assert_eq!(
        get_csv(
            app,
            Some(&b.outsider),
            &format!("/exports/pools/{pool}/ledger.csv")
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get_csv(
            app,
            Some(&b.bob),
            &format!("/exports/parent-entities/{parent}/ledger.csv")
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get_csv(
            app,
            Some(&b.bob),
            &format!("/exports/pools/{pool}/audit-trail.csv")
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get_csv(
            app,
            Some(&b.bob),
            &format!("/exports/pools/{pool}/payroll.csv")
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get_csv(app, Some(&b.bob), "/exports/pools/not-an-id/ledger.csv")
            .await
            .0,
        404
    );
    let missing = uuid::Uuid::now_v7();
    assert_eq!(
        get_csv(
            app,
            Some(&b.bob),
            &format!("/exports/pools/{missing}/ledger.csv")
        )
        .await
        .0,
        404
    );
}
