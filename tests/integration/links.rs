//! Links both ways: from whichever end a client holds, the other end is
//! one field away, loaded in batches and shown only to those who may see
//! it; and a mutation's answer reaches what it changed.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::{
    formations::World,
    helpers::TestApp,
    pools::{PoolWorld, TWO_GROUPS},
};

/// A pool with something of every kind in it: two members besides the
/// founder (its admin), a proposal with a vote and a delegation, an
/// expense, a scale and a contribution, a ledger entry, an open
/// invitation and an application, a webhook endpoint with a delivery;
/// the steward's role, account and API token; and an outsider.
pub(crate) struct Busy {
    pub p: PoolWorld,
    pub ada: String,
    pub carl: String,
    pub carl_member: String,
    pub outsider: String,
    /// Ids by GraphQL type name.
    pub ids: HashMap<&'static str, String>,
}

fn id_at(data: &Value, path: &[&str]) -> String {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no id at {path:?} in {data:#}"))
        .to_owned()
}

impl Busy {
    pub async fn new(app: TestApp) -> Self {
        let p = PoolWorld::with_apps(app, TWO_GROUPS(), json!(["loomio"])).await;
        let (ada, ada_member) = p.join("ada@example.org", "users").await;
        let endpoint = p
            .app()
            .ok(Some(&p.w.founder), "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }",
                json!({ "i": { "poolId": p.pool, "url": "http://127.0.0.1:9/hooks", "events": ["member.joined"] } }))
            .await;
        let endpoint = id_at(&endpoint, &["createWebhookEndpoint", "endpoint", "id"]);
        let (carl, carl_member) = p.join("carl@example.org", "users").await;
        let (outsider, _) = p.app().sign_up("outsider@example.org").await;
        let (dan, _) = p.app().sign_up("dan@example.org").await;
        let founder = p.w.founder.clone();
        let app = p.app();
        let mut ids = HashMap::new();
        let proposal = p.propose(&ada, json!({})).await;
        let vote = app
            .ok(
                Some(&carl),
                "mutation($i: CastVoteInput!) { castVote(input: $i) { id } }",
                json!({ "i": { "proposalId": proposal, "choice": "agree" } }),
            )
            .await;
        ids.insert("Vote", id_at(&vote, &["castVote", "id"]));
        let delegation = app
            .ok(
                Some(&ada),
                "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
                json!({ "i": { "proposalId": proposal, "toMemberId": carl_member } }),
            )
            .await;
        ids.insert("Delegation", id_at(&delegation, &["delegateVote", "id"]));
        let expense = app
            .ok(Some(&ada), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "title": "Paint", "amount": 1200, "currency": "EUR", "payee": "Shop" } }))
            .await;
        ids.insert("Expense", id_at(&expense, &["submitExpense", "id"]));
        let scale = app
            .ok(Some(&founder), "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH", "minimum": 100, "maximum": 10000, "suggested": 1000 } }))
            .await;
        ids.insert("SlidingScale", id_at(&scale, &["setSlidingScale", "id"]));
        let contribution = app
            .ok(Some(&ada), "mutation($i: StartContributionInput!) { startContribution(input: $i) { contribution { id } } }",
                json!({ "i": { "poolId": p.pool, "amount": 1000 } }))
            .await;
        ids.insert(
            "Contribution",
            id_at(&contribution, &["startContribution", "contribution", "id"]),
        );
        let entry = app
            .ok(Some(&founder), "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "amount": 500, "currency": "EUR", "reference": "OB-1", "description": "Opening balance" } }))
            .await;
        ids.insert(
            "LedgerEntry",
            id_at(&entry, &["recordLedgerAdjustment", "id"]),
        );
        let invitation = app
            .ok(Some(&founder), "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitation { id } } }",
                json!({ "i": { "poolId": p.pool, "email": "bea@example.org", "stakeholderGroupId": p.groups["users"] } }))
            .await;
        ids.insert(
            "Invitation",
            id_at(&invitation, &["inviteMember", "invitation", "id"]),
        );
        let application = p.apply(&dan, "workers").await;
        ids.insert(
            "MembershipApplication",
            id_at(&application, &["data", "applyForMembership", "id"]),
        );
        let seen = app
            .ok(Some(&founder), "query($id: ID!) { pool(id: $id) { parentEntity { id } formation { id } apps { id } } }",
                json!({ "id": p.pool }))
            .await;
        let steward = app
            .ok(
                Some(&p.w.steward),
                "{ me { id parentEntityRoles { nodes { id } } } }",
                json!({}),
            )
            .await;
        ids.insert("User", id_at(&steward, &["me", "id"]));
        ids.insert(
            "ParentEntityRole",
            id_at(&steward["me"]["parentEntityRoles"]["nodes"][0], &["id"]),
        );
        ids.insert(
            "ParentEntity",
            id_at(&seen, &["pool", "parentEntity", "id"]),
        );
        ids.insert("Formation", id_at(&seen, &["pool", "formation", "id"]));
        ids.insert("PoolApp", id_at(&seen["pool"]["apps"][0], &["id"]));
        let token = app
            .ok(Some(&p.w.steward), "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { apiToken { id } } }",
                json!({ "i": { "name": "Reports", "scopes": ["READ"] } }))
            .await;
        ids.insert(
            "ApiToken",
            id_at(&token, &["createApiToken", "apiToken", "id"]),
        );
        // Carl's joining is an event for the endpoint: a delivery.
        let delivery = crate::helpers::eventually("a delivery to the endpoint", || async {
            let data = app
                .ok(
                    Some(&founder),
                    "query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }",
                    json!({ "id": endpoint }),
                )
                .await;
            data["webhookDeliveries"]["nodes"][0]["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or(data)
        })
        .await;
        ids.insert("WebhookDelivery", delivery);
        ids.insert("WebhookEndpoint", endpoint);
        ids.insert("Pool", p.pool.clone());
        ids.insert("StakeholderGroup", p.groups["users"].clone());
        ids.insert("Member", ada_member);
        ids.insert("Proposal", proposal);
        Self {
            p,
            ada,
            carl,
            carl_member,
            outsider,
            ids,
        }
    }

    pub fn id(&self, kind: &str) -> &str {
        &self.ids[kind]
    }
}

on_both_databases!(
    links_lead_both_ways,
    links_to_what_one_may_not_see_are_null,
    approving_answers_with_the_formation_approved,
);
on_both_databases!(settings: &[("RUN_JOBS", "false")]; delegation_lists_load_without_n_plus_one);

async fn links_lead_both_ways(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.p.app();
    let founder = &b.p.w.founder;
    let pool = b.id("Pool");
    let data = app
        .ok(
            Some(founder),
            "query($pool: ID!, $proposal: ID!) {
              pool(id: $pool) {
                formation { id status pool { id } }
                members(first: 10) { nodes { id pool { id }
                  delegationsGiven(first: 5) { nodes { id delegate { id } proposal { id } } }
                  delegationsReceived(first: 5) { nodes { id delegator { id } } } } }
                contributions { nodes { id pool { id } member { id } } } }
              proposal(id: $proposal) { pool { id } delegations { nodes { id } }
                votes { nodes { id proposal { id } } } }
            }",
            json!({ "pool": pool, "proposal": b.id("Proposal") }),
        )
        .await;
    let p = &data["pool"];
    assert_eq!(p["formation"]["id"], b.id("Formation"));
    assert_eq!(p["formation"]["status"], "APPROVED");
    assert_eq!(p["formation"]["pool"]["id"], pool);
    let members = p["members"]["nodes"].as_array().unwrap();
    assert!(members.iter().all(|m| m["pool"]["id"] == pool));
    let ada = members
        .iter()
        .find(|m| m["id"] == b.id("Member"))
        .expect("ada is listed");
    assert_eq!(
        ada["delegationsGiven"]["nodes"],
        json!([{ "id": b.id("Delegation"), "delegate": { "id": b.carl_member }, "proposal": { "id": b.id("Proposal") } }])
    );
    let carl = members
        .iter()
        .find(|m| m["id"] == b.carl_member.as_str())
        .expect("carl is listed");
    assert_eq!(
        carl["delegationsReceived"]["nodes"][0]["delegator"]["id"],
        b.id("Member")
    );
    assert_eq!(
        p["contributions"]["nodes"],
        json!([{ "id": b.id("Contribution"), "pool": { "id": pool }, "member": { "id": b.id("Member") } }])
    );
    let proposal = &data["proposal"];
    assert_eq!(proposal["pool"]["id"], pool);
    assert_eq!(
        proposal["delegations"]["nodes"],
        json!([{ "id": b.id("Delegation") }])
    );
    assert_eq!(
        proposal["votes"]["nodes"],
        json!([{ "id": b.id("Vote"), "proposal": { "id": b.id("Proposal") } }])
    );

    // The expense leads to its proposal, which leads back to it.
    let expense = app
        .ok(
            Some(&b.ada),
            "query($id: ID!) { node(id: $id) { ... on Expense { id proposal { id pool { id } expense { id } } } } }",
            json!({ "id": b.id("Expense") }),
        )
        .await;
    assert_eq!(
        expense["node"]["proposal"]["expense"]["id"],
        b.id("Expense")
    );
    assert_eq!(expense["node"]["proposal"]["pool"]["id"], pool);

    // The invitee finds the pool from the invitation waiting for them.
    let (bea, _) = app.sign_up("bea@example.org").await;
    let waiting = app
        .ok(
            Some(&bea),
            "{ me { invitations { nodes { id pool { id } member { status } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        waiting["me"]["invitations"]["nodes"],
        json!([{ "id": b.id("Invitation"), "pool": { "id": pool }, "member": { "status": "INVITED" } }])
    );
}

async fn links_to_what_one_may_not_see_are_null(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.p.app();
    let query = "query($id: ID!) { pool(id: $id) { id formation { id } } }";
    for token in [&b.ada, &b.outsider] {
        // A member who did not found the pool, and a stranger: the pool is
        // public, its formation is not.
        let data = app
            .ok(Some(token), query, json!({ "id": b.id("Pool") }))
            .await;
        assert_eq!(data["pool"]["formation"], Value::Null);
    }
    let auditor = app
        .ok(Some(&b.p.w.auditor), query, json!({ "id": b.id("Pool") }))
        .await;
    assert_eq!(auditor["pool"]["formation"]["id"], b.id("Formation"));
    // Delegations are inside the pool: its members see them, and the
    // parent's stewards and auditors; nobody else reaches a member.
    let delegations = "query($id: ID!) { proposal(id: $id) { delegations { nodes { id } } } }";
    let carl = app
        .ok(
            Some(&b.carl),
            delegations,
            json!({ "id": b.id("Proposal") }),
        )
        .await;
    assert_eq!(
        carl["proposal"]["delegations"]["nodes"][0]["id"],
        b.id("Delegation")
    );
    let outsider = app
        .gql(
            Some(&b.outsider),
            delegations,
            json!({ "id": b.id("Proposal") }),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&outsider), "NOT_FOUND");
}

async fn approving_answers_with_the_formation_approved(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Ciclos").await;
    w.complete(&id, "Ciclos Cafe").await;
    let submitted = w.submit(&id).await;
    assert_eq!(submitted["data"]["submitFormation"]["status"], "SUBMITTED");
    // approveFormation answers with the pool; through it the client's
    // cached formation turns APPROVED without a refetch.
    let approved = w
        .app
        .ok(
            Some(&w.steward),
            "mutation($id: ID!) { approveFormation(formationId: $id) { id slug formation { id status pool { id } } } }",
            json!({ "id": id }),
        )
        .await;
    let pool = &approved["approveFormation"];
    assert_eq!(pool["formation"]["id"], id);
    assert_eq!(pool["formation"]["status"], "APPROVED");
    assert_eq!(pool["formation"]["pool"]["id"], pool["id"]);
}

/// A page of members with their delegations costs the same whatever its
/// length: the delegations of the whole page are read in one statement
/// per direction, their other ends through the member loader.
async fn delegation_lists_load_without_n_plus_one(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (_, first) = p.join("d0@example.org", "users").await;
    let query = "query($id: ID!) { pool(id: $id) { members(first: 30) { nodes { id pool { id }
        delegationsGiven(first: 1) { nodes { id delegate { id displayName } } }
        delegationsReceived(first: 1) { nodes { id delegator { id } } } } } } }";
    let cost = |n: usize| {
        let p = &p;
        let first = first.clone();
        async move {
            let vars = json!({ "id": p.pool });
            p.app().ok(Some(&p.w.founder), query, vars.clone()).await; // warm
            let before = p.app().sql_count();
            let data = p.app().ok(Some(&p.w.founder), query, vars).await;
            let members = data["pool"]["members"]["nodes"].as_array().unwrap();
            assert_eq!(members.len(), n);
            let to_first = members
                .iter()
                .filter(|m| m["delegationsGiven"]["nodes"][0]["delegate"]["id"] == first)
                .count();
            assert_eq!(
                to_first,
                n - 2,
                "all but the founder and the first delegate"
            );
            p.app().sql_count() - before
        }
    };
    let join = |people: std::ops::Range<usize>| {
        let p = &p;
        let first = first.clone();
        async move {
            for n in people {
                let (token, _) = p.join(&format!("d{n}@example.org"), "users").await;
                p.app()
                    .ok(
                        Some(&token),
                        "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
                        json!({ "i": { "toMemberId": first } }),
                    )
                    .await;
            }
        }
    };
    join(1..9).await;
    let ten = cost(10).await;
    join(9..29).await;
    let thirty = cost(30).await;
    eprintln!("members with their delegations: {thirty} SQL statements for 30, {ten} for 10");
    assert_eq!(ten, thirty);
}
