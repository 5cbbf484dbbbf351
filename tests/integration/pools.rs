//! Running a pool: admission, the register, votes, expenses, the ledger and
//! who may do what.

use std::collections::HashMap;

use chrono::Utc;
use entities::{invitation, proposal};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    formations::World,
    helpers::{TestApp, error_code, error_paths, eventually},
};

/// A pool whose founder is its only (admin) member, with the given groups.
pub(crate) struct PoolWorld {
    pub w: World,
    pub pool: String,
    pub groups: HashMap<String, String>,
}

impl PoolWorld {
    pub async fn new(app: TestApp, groups: Value) -> Self {
        Self::with_apps(app, groups, json!([])).await
    }

    /// The founder registers a webhook endpoint of the pool at `url` for
    /// `events`; its signing secret.
    pub async fn pool_endpoint(&self, url: &str, events: &[&str]) -> String {
        let data = self
            .app()
            .ok(
                Some(&self.w.founder),
                "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
                json!({ "i": { "poolId": self.pool, "url": url, "events": events } }),
            )
            .await;
        data["createWebhookEndpoint"]["secret"]
            .as_str()
            .expect("a secret")
            .to_owned()
    }

    /// A pool with these apps selected (unconfigured: their defaults).
    pub async fn with_apps(app: TestApp, groups: Value, apps: Value) -> Self {
        let w = World::new(app, "AUTOMATIC").await;
        let pool = form_pool(&w, groups, apps, "Test Pool").await;
        let data = w
            .app
            .ok(
                None,
                "query($id: ID!) { pool(id: $id) { stakeholderGroups { id key } } }",
                json!({ "id": pool }),
            )
            .await;
        let groups = data["pool"]["stakeholderGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_owned(),
                    g["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        Self { w, pool, groups }
    }

    pub fn app(&self) -> &TestApp {
        &self.w.app
    }

    /// Signs someone up and has them join `group` (which must be OPEN).
    pub async fn join(&self, email: &str, group: &str) -> (String, String) {
        let (token, _) = self.app().sign_up(email).await;
        let res = self.apply(&token, group).await;
        let member = res["data"]["applyForMembership"]["member"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{res:#}"))
            .to_owned();
        (token, member)
    }

    pub async fn apply(&self, token: &str, group: &str) -> Value {
        self.app()
            .gql(
                Some(token),
                "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id status member { id status joinedVia } } }",
                json!({ "i": { "poolId": self.pool, "stakeholderGroupId": self.groups[group], "message": "Hello" } }),
            )
            .await
    }

    pub async fn member_id(&self, token: &str) -> String {
        let data = self
            .app()
            .ok(
                Some(token),
                "query($id: ID!) { pool(id: $id) { myMembership { id } } }",
                json!({ "id": self.pool }),
            )
            .await;
        data["pool"]["myMembership"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn propose(&self, token: &str, extra: Value) -> String {
        let mut input = json!({ "poolId": self.pool, "title": "Buy a cargo bike", "body": "It carries more.",
            "closesAt": (Utc::now() + chrono::Duration::days(2)).to_rfc3339() });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let data = self
            .app()
            .ok(Some(token), "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id status options } }", json!({ "i": input }))
            .await;
        data["createProposal"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn vote(&self, token: &str, proposal: &str, choice: &str) -> Value {
        self.app()
            .gql(
                Some(token),
                "mutation($i: CastVoteInput!) { castVote(input: $i) { choice member { id } } }",
                json!({ "i": { "proposalId": proposal, "choice": choice } }),
            )
            .await
    }

    pub async fn close(&self, token: &str, proposal: &str) -> Value {
        let res = self
            .app()
            .gql(
                Some(token),
                "mutation($id: ID!) { closeProposal(proposalId: $id) { status outcome result {
                    eligibleVoters ballots turnoutPercent quorumReached agreeBasisPoints winningOption
                    counts { option direct delegated total } groups { group { key } weight counts { option total } } } } }",
                json!({ "id": proposal }),
            )
            .await;
        assert!(res.get("errors").is_none(), "close failed: {res:#}");
        res["data"]["closeProposal"].clone()
    }
}

fn count<'a>(result: &'a Value, option: &str) -> &'a Value {
    result["result"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["option"] == option)
        .unwrap()
}

/// Forms a pool in `w`'s parent entity, founded by `w.founder` (its only
/// admin); returns the pool's id.
pub(crate) async fn form_pool(w: &World, groups: Value, apps: Value, name: &str) -> String {
    form_pool_with(w, groups, apps, name, json!([])).await
}

/// Like [`form_pool`], with more founding members beside the founder (in
/// the first group unless they name one).
pub(crate) async fn form_pool_with(
    w: &World,
    groups: Value,
    apps: Value,
    name: &str,
    others: Value,
) -> String {
    let id = prepare_formation(w, groups, apps, name, others).await;
    let submitted = w.submit(&id).await;
    submitted["data"]["submitFormation"]["pool"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A formation with every step done, ready to submit; returns its id.
pub(crate) async fn prepare_formation(
    w: &World,
    groups: Value,
    apps: Value,
    name: &str,
    others: Value,
) -> String {
    let id = w.start("Pool").await;
    w.step(
        &w.founder,
        "setStakeholderGroups",
        json!({ "formationId": id, "groups": groups }),
    )
    .await;
    let first_key = w.formation(&w.founder, &id).await["data"]["formation"]["stakeholderGroups"][0]
        ["key"]
        .clone();
    let mut members = vec![
        json!({ "email": "founder@example.org", "displayName": "Founder", "stakeholderGroupKey": first_key, "role": "ADMIN" }),
    ];
    members.extend(others.as_array().unwrap().iter().cloned());
    w.step(
        &w.founder,
        "setFoundingMembers",
        json!({ "formationId": id, "members": members }),
    )
    .await;
    w.step(&w.founder, "setFinancialProfile", json!({ "formationId": id, "distributesSurplus": false,
            "raisesShareCapital": false, "acceptsInvestorMembers": false, "tradesWithPublic": false, "currency": "EUR" }))
            .await;
    w.step(
        &w.founder,
        "chooseLegalTemplate",
        json!({ "formationId": id, "templateId": "pool-inside-parent" }),
    )
    .await;
    w.step(
        &w.founder,
        "nameFormation",
        json!({ "formationId": id, "name": name }),
    )
    .await;
    w.step(
        &w.founder,
        "selectApps",
        json!({ "formationId": id, "appIds": apps }),
    )
    .await;
    id
}

pub(crate) const TWO_GROUPS: fn() -> Value = || {
    json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "OPEN" },
        { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" },
    ])
};

on_both_databases!(
    each_admission_rule_is_followed,
    invitations_are_personal_single_use_and_expire,
    the_last_admin_stays,
    the_register_keeps_every_membership,
    votes_are_counted_by_the_rules,
    weighted_groups_delegation_and_closing,
    two_hundred_concurrent_votes_count_once_each,
    expenses_flow_into_the_ledger,
    who_may_do_what_in_a_pool,
);

// Statement counts measure a request alone (see formations.rs).
on_both_databases!(settings: &[("RUN_JOBS", "false")]; members_load_without_n_plus_one, a_pool_page_takes_five_statements);

on_both_databases!(settings: &[("JOB_POLL_INTERVAL_MS", "100")]; due_proposals_close_by_themselves);

async fn each_admission_rule_is_followed(app: TestApp) {
    let p = PoolWorld::new(app, json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "admission": "APPLICATION" },
        { "key": "users", "name": "Users", "kind": "USERS", "admission": "OPEN" },
        { "key": "custodians", "name": "Custodians", "kind": "CUSTODIANS", "admission": "INVITATION" },
    ]))
    .await;
    let (ada, _) = p.app().sign_up("ada@example.org").await;
    let open = p.apply(&ada, "users").await;
    assert_eq!(
        open["data"]["applyForMembership"]["status"], "APPROVED",
        "{open:#}"
    );
    assert_eq!(
        open["data"]["applyForMembership"]["member"]["status"],
        "ACTIVE"
    );
    assert_eq!(
        open["data"]["applyForMembership"]["member"]["joinedVia"],
        "OPEN"
    );
    assert_eq!(
        error_code(&p.apply(&ada, "workers").await),
        "CONFLICT",
        "one membership per pool"
    );

    let (grace, _) = p.app().sign_up("grace@example.org").await;
    let pending = p.apply(&grace, "workers").await;
    let application = &pending["data"]["applyForMembership"];
    assert_eq!(application["status"], "PENDING");
    assert!(application["member"].is_null());
    assert_eq!(
        error_code(&p.apply(&grace, "workers").await),
        "CONFLICT",
        "one pending application"
    );
    let decide = "mutation($i: DecideMembershipApplicationInput!) { decideMembershipApplication(input: $i) { status reason member { status joinedVia } } }";
    let refused = p
        .app()
        .gql(
            Some(&ada),
            decide,
            json!({ "i": { "applicationId": application["id"], "decision": "APPROVE" } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "members do not decide");
    let approved = p
        .app()
        .ok(
            Some(&p.w.founder),
            decide,
            json!({ "i": { "applicationId": application["id"], "decision": "APPROVE" } }),
        )
        .await;
    assert_eq!(
        approved["decideMembershipApplication"]["member"],
        json!({ "status": "ACTIVE", "joinedVia": "APPLICATION" })
    );

    let (alan, _) = p.app().sign_up("alan@example.org").await;
    let second = p.apply(&alan, "workers").await;
    let rejected = p
        .app()
        .ok(Some(&p.w.founder), decide, json!({ "i": { "applicationId": second["data"]["applyForMembership"]["id"], "decision": "REJECT", "reason": "Not a rider" } }))
        .await;
    assert_eq!(
        rejected["decideMembershipApplication"]["status"],
        "REJECTED"
    );
    assert_eq!(
        rejected["decideMembershipApplication"]["reason"],
        "Not a rider"
    );

    let (barbara, _) = p.app().sign_up("barbara@example.org").await;
    let invitation_only = p.apply(&barbara, "custodians").await;
    assert_eq!(error_code(&invitation_only), "FORBIDDEN");
    assert!(
        invitation_only["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("invitation only")
    );
}

async fn invitations_are_personal_single_use_and_expire(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let invite = |email: &'static str| {
        p.app().gql(
            Some(&p.w.founder),
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token invitation { email expiresAt member { status } } } }",
            json!({ "i": { "poolId": p.pool, "email": email, "stakeholderGroupId": p.groups["users"] } }),
        )
    };
    let first = invite("ada@example.org").await;
    let token = first["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("inv_"));
    assert_eq!(
        first["data"]["inviteMember"]["invitation"]["member"]["status"],
        "INVITED"
    );

    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { status role joinedVia stakeholderGroup { key } } }";
    let (grace, _) = p.app().sign_up("grace@example.org").await;
    assert_eq!(
        error_code(
            &p.app()
                .gql(Some(&grace), accept, json!({ "t": token }))
                .await
        ),
        "FORBIDDEN",
        "not Grace's invitation"
    );
    let (ada, _) = p.app().sign_up("ada@example.org").await;
    let accepted = p.app().ok(Some(&ada), accept, json!({ "t": token })).await;
    assert_eq!(
        accepted["acceptInvitation"],
        json!({ "status": "ACTIVE", "role": "MEMBER", "joinedVia": "INVITATION", "stakeholderGroup": { "key": "users" } })
    );
    assert_eq!(
        error_code(&p.app().gql(Some(&ada), accept, json!({ "t": token })).await),
        "CONFLICT",
        "single use"
    );
    assert_eq!(
        error_code(&invite("ada@example.org").await),
        "CONFLICT",
        "already a member"
    );

    // An invitation that has expired is refused; a new one replaces it.
    let old = invite("alan@example.org").await["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::hours(1)),
        )
        .exec(&p.app().db)
        .await
        .unwrap();
    let (alan, _) = p.app().sign_up("alan@example.org").await;
    let expired = p.app().gql(Some(&alan), accept, json!({ "t": old })).await;
    assert_eq!(error_code(&expired), "CONFLICT");
    assert!(
        expired["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let fresh = invite("alan@example.org").await["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&p.app().gql(Some(&alan), accept, json!({ "t": old })).await),
        "CONFLICT",
        "replaced"
    );
    p.app().ok(Some(&alan), accept, json!({ "t": fresh })).await;
    assert_eq!(
        error_code(
            &p.app()
                .gql(Some(&alan), accept, json!({ "t": "inv_nonsense" }))
                .await
        ),
        "NOT_FOUND"
    );
}

async fn the_last_admin_stays(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let founder_member = p.member_id(&p.w.founder).await;
    let leave = "mutation($id: ID!) { leavePool(poolId: $id) { status leftAt } }";
    let role = "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }";
    assert_eq!(
        error_code(
            &p.app()
                .gql(Some(&p.w.founder), leave, json!({ "id": p.pool }))
                .await
        ),
        "CONFLICT"
    );
    let demote = p
        .app()
        .gql(
            Some(&p.w.founder),
            role,
            json!({ "i": { "memberId": founder_member, "role": "MEMBER" } }),
        )
        .await;
    assert_eq!(error_code(&demote), "CONFLICT");
    assert!(
        demote["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("last admin")
    );

    let (ada, ada_member) = p.join("ada@example.org", "users").await;
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&ada),
                    role,
                    json!({ "i": { "memberId": ada_member, "role": "ADMIN" } })
                )
                .await
        ),
        "FORBIDDEN"
    );
    p.app()
        .ok(
            Some(&p.w.founder),
            role,
            json!({ "i": { "memberId": ada_member, "role": "ADMIN" } }),
        )
        .await;
    let left = p
        .app()
        .ok(Some(&p.w.founder), leave, json!({ "id": p.pool }))
        .await;
    assert_eq!(left["leavePool"]["status"], "LEFT");
    // Ada is now the last admin and cannot remove herself either.
    let remove = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status } }";
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&ada),
                    remove,
                    json!({ "i": { "memberId": ada_member, "reason": "testing" } })
                )
                .await
        ),
        "CONFLICT"
    );
}

async fn the_register_keeps_every_membership(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "users").await;
    let (_grace, grace_member) = p.join("grace@example.org", "workers").await;
    p.app()
        .ok(
            Some(&ada),
            "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    let removed = p
        .app()
        .ok(Some(&p.w.founder), "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status endReason leftAt } }",
            json!({ "i": { "memberId": grace_member, "reason": "Repeated harassment of other members" } }))
        .await;
    assert_eq!(removed["removeMember"]["status"], "REMOVED");
    // Ada comes back: a new membership; the old one stays in the register.
    p.apply(&ada, "users").await;

    let register = p
        .app()
        .ok(Some(&p.w.founder), "query($id: ID!) { pool(id: $id) { register(first: 50) { edges { node {
            email status joinedVia joinedAt leftAt endReason sharesHeld stakeholderGroup { key } } } } } }", json!({ "id": p.pool }))
        .await;
    let rows: Vec<&Value> = register["pool"]["register"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let ada_rows: Vec<&&Value> = rows
        .iter()
        .filter(|r| r["email"] == "ada@example.org")
        .collect();
    assert_eq!(ada_rows.len(), 2);
    assert_eq!(ada_rows[0]["status"], "LEFT");
    assert!(ada_rows[0]["leftAt"].is_string() && ada_rows[0]["joinedAt"].is_string());
    assert_eq!(ada_rows[1]["status"], "ACTIVE");
    let grace = rows
        .iter()
        .find(|r| r["email"] == "grace@example.org")
        .unwrap();
    assert_eq!(grace["status"], "REMOVED");
    assert_eq!(grace["endReason"], "Repeated harassment of other members");
    assert_eq!(grace["sharesHeld"], 0);
    let filtered = p
        .app()
        .ok(Some(&p.w.founder), "query($id: ID!) { pool(id: $id) { register(filter: { status: REMOVED }) { edges { node { email } } } } }", json!({ "id": p.pool }))
        .await;
    assert_eq!(
        filtered["pool"]["register"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let current = p
        .app()
        .ok(
            Some(&ada),
            "query($id: ID!) { pool(id: $id) { members { edges { node { email status } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let emails: Vec<&str> = current["pool"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["founder@example.org", "ada@example.org"]);
}

async fn votes_are_counted_by_the_rules(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (a, _) = p.join("a@example.org", "workers").await;
    let (b, _) = p.join("b@example.org", "workers").await;
    let (c, _) = p.join("c@example.org", "users").await;
    // Four voters (founder included); quorum 50%.
    let passes = p.propose(&a, json!({ "quorumPercent": 50 })).await;
    assert!(p.vote(&a, &passes, "AGREE").await.get("errors").is_none());
    p.vote(&b, &passes, "disagree").await;
    p.vote(&b, &passes, "agree").await; // changed mind
    p.vote(&c, &passes, "abstain").await;
    let closed = p.close(&p.w.founder, &passes).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    assert_eq!(closed["result"]["ballots"], 3);
    assert_eq!(closed["result"]["turnoutPercent"], 75);
    assert_eq!(count(&closed, "agree")["total"], 2);
    assert_eq!(count(&closed, "disagree")["total"], 0);
    let late = p.vote(&c, &passes, "agree").await;
    assert_eq!(error_code(&late), "CONFLICT", "no vote after close");
    assert_eq!(
        error_code(&p.vote(&c, &passes, "perhaps").await),
        "CONFLICT"
    );

    let blocked = p.propose(&a, json!({})).await;
    p.vote(&a, &blocked, "agree").await;
    p.vote(&b, &blocked, "agree").await;
    p.vote(&c, &blocked, "block").await;
    assert_eq!(p.close(&p.w.founder, &blocked).await["outcome"], "BLOCKED");

    let quiet = p.propose(&a, json!({ "quorumPercent": 60 })).await;
    p.vote(&a, &quiet, "agree").await;
    assert_eq!(p.close(&p.w.founder, &quiet).await["outcome"], "NO_QUORUM");

    let poll = p
        .propose(
            &a,
            json!({ "kind": "POLL", "options": ["Tuesday", "Thursday"] }),
        )
        .await;
    let invalid = p.vote(&a, &poll, "Friday").await;
    assert_eq!(error_paths(&invalid), vec!["input.choice"]);
    p.vote(&a, &poll, "thursday").await;
    p.vote(&b, &poll, "Thursday").await;
    p.vote(&c, &poll, "Tuesday").await;
    let result = p.close(&p.w.founder, &poll).await;
    assert_eq!(result["result"]["winningOption"], "Thursday");

    let bad = p
        .app()
        .gql(Some(&a), "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "", "kind": "POLL", "options": ["one"], "quorumPercent": 150, "closesAt": Utc::now().to_rfc3339() } }))
        .await;
    assert_eq!(
        error_paths(&bad),
        vec![
            "input.title",
            "input.options",
            "input.closesAt",
            "input.quorumPercent"
        ]
    );
}

async fn weighted_groups_delegation_and_closing(app: TestApp) {
    let p = PoolWorld::new(app, json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 3, "admission": "OPEN" },
        { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" },
        { "key": "friends", "name": "Friends", "kind": "SUPPORTERS", "votingWeight": 0, "admission": "OPEN" },
    ]))
    .await;
    let (w1, w1_member) = p.join("w1@example.org", "workers").await;
    let (w2, _) = p.join("w2@example.org", "workers").await;
    let mut users = Vec::new();
    for n in 0..3 {
        users.push(p.join(&format!("u{n}@example.org"), "users").await.0);
    }
    let (friend, _) = p.join("friend@example.org", "friends").await;
    let proposal = p
        .propose(
            &w1,
            json!({ "votingRule": "WEIGHTED_BY_GROUP", "quorumPercent": 50 }),
        )
        .await;
    assert_eq!(
        error_code(&p.vote(&friend, &proposal, "agree").await),
        "FORBIDDEN",
        "non-voting group"
    );
    // W2 hands their vote to W1 for this proposal; the founder does not vote.
    let delegated = p
        .app()
        .gql(Some(&w2), "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { delegate { id } proposal { id } } }",
            json!({ "i": { "proposalId": proposal, "toMemberId": w1_member } }))
        .await;
    assert_eq!(
        delegated["data"]["delegateVote"]["delegate"]["id"],
        w1_member.as_str(),
        "{delegated:#}"
    );
    let cross_group = p
        .app()
        .gql(
            Some(&users[0]),
            "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
            json!({ "i": { "proposalId": proposal, "toMemberId": w1_member } }),
        )
        .await;
    assert_eq!(error_paths(&cross_group), vec!["input.toMemberId"]);
    p.vote(&w1, &proposal, "agree").await;
    for u in &users {
        p.vote(u, &proposal, "disagree").await;
    }
    let closed = p.close(&p.w.founder, &proposal).await;
    // Headcount would be 2 against 3; by weight the workers (3) outweigh the users (1).
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    assert_eq!(closed["result"]["agreeBasisPoints"], 7500);
    assert_eq!(count(&closed, "agree")["direct"], 1);
    assert_eq!(count(&closed, "agree")["delegated"], 1);
    assert_eq!(
        closed["result"]["eligibleVoters"], 6,
        "the friends group does not vote"
    );
    let workers = closed["result"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"]["key"] == "workers")
        .unwrap()
        .clone();
    assert_eq!(workers["weight"], 3);

    let revoked = p
        .app()
        .gql(
            Some(&w2),
            "mutation($i: RevokeDelegationInput!) { revokeDelegation(input: $i) }",
            json!({ "i": { "poolId": p.pool, "proposalId": proposal } }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeDelegation"], true);
}

async fn two_hundred_concurrent_votes_count_once_each(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let mut voters = Vec::new();
    for n in 0..99 {
        voters.push(
            p.join(
                &format!("m{n:03}@example.org"),
                if n % 2 == 0 { "workers" } else { "users" },
            )
            .await
            .0,
        );
    }
    voters.push(p.w.founder.clone());
    let proposal = p.propose(&voters[0], json!({})).await;
    // Every member votes twice at once: first disagree, then agree.
    let calls = voters
        .iter()
        .flat_map(|t| [(t.clone(), "disagree"), (t.clone(), "agree")]);
    let results = futures::future::join_all(calls.map(|(t, choice)| {
        let p = &p;
        let proposal = proposal.clone();
        async move { p.vote(&t, &proposal, choice).await }
    }))
    .await;
    assert_eq!(results.len(), 200);
    assert!(
        results.iter().all(|r| r.get("errors").is_none()),
        "{:#}",
        results.iter().find(|r| r.get("errors").is_some()).unwrap()
    );
    let closed = p.close(&p.w.founder, &proposal).await;
    assert_eq!(closed["result"]["ballots"], 100, "one vote per member");
    assert_eq!(closed["result"]["eligibleVoters"], 100);
    let total: i64 = closed["result"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["total"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 100);
    let rows = entities::vote::Entity::find()
        .all(&p.app().db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 100);
}

async fn expenses_flow_into_the_ledger(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, ada_member) = p.join("ada@example.org", "workers").await;
    let (grace, _) = p.join("grace@example.org", "users").await;
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
            json!({ "i": { "memberId": ada_member, "role": "ADMIN" } }),
        )
        .await;
    let submitted = p
        .app()
        .ok(Some(&ada), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id status amount { amount currency } proposal { id kind options } } }",
            json!({ "i": { "poolId": p.pool, "title": "Bike repair", "description": "New chain", "amount": 4250, "currency": "eur", "payee": "Taller Ciclos" } }))
        .await;
    let expense = submitted["submitExpense"].clone();
    assert_eq!(expense["status"], "PROPOSED");
    assert_eq!(
        expense["amount"],
        json!({ "amount": 4250, "currency": "EUR" })
    );
    assert_eq!(expense["proposal"]["kind"], "EXPENSE");
    let mark = "mutation($i: MarkExpensePaidInput!) { markExpensePaid(input: $i) { status reference paidAt } }";
    let too_early = p
        .app()
        .gql(
            Some(&p.w.founder),
            mark,
            json!({ "i": { "expenseId": expense["id"], "reference": "TX-1" } }),
        )
        .await;
    assert_eq!(error_code(&too_early), "CONFLICT");

    let proposal = expense["proposal"]["id"].as_str().unwrap();
    for t in [&ada, &grace, &p.w.founder] {
        p.vote(t, proposal, "agree").await;
    }
    assert_eq!(p.close(&p.w.founder, proposal).await["outcome"], "PASSED");
    let by_submitter = p
        .app()
        .gql(
            Some(&ada),
            mark,
            json!({ "i": { "expenseId": expense["id"], "reference": "TX-1" } }),
        )
        .await;
    assert_eq!(
        error_code(&by_submitter),
        "FORBIDDEN",
        "the submitter cannot mark it paid"
    );
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&grace),
                    mark,
                    json!({ "i": { "expenseId": expense["id"], "reference": "TX-1" } })
                )
                .await
        ),
        "FORBIDDEN"
    );
    let paid = p
        .app()
        .ok(
            Some(&p.w.founder),
            mark,
            json!({ "i": { "expenseId": expense["id"], "reference": "TX-1" } }),
        )
        .await;
    assert_eq!(paid["markExpensePaid"]["status"], "PAID");
    assert_eq!(
        error_code(
            &p.app()
                .gql(
                    Some(&p.w.founder),
                    mark,
                    json!({ "i": { "expenseId": expense["id"], "reference": "TX-2" } })
                )
                .await
        ),
        "CONFLICT"
    );

    p.app()
        .ok(Some(&p.w.founder), "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": 10000, "currency": "EUR", "reference": "OPEN-1", "description": "Opening balance" } }))
        .await;
    // Every member reads the ledger.
    let ledger = p
        .app()
        .ok(Some(&grace), "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency } entries { edges { node { kind amount { amount currency } reference } } } } } }", json!({ "id": p.pool }))
        .await;
    assert_eq!(
        ledger["pool"]["ledger"]["balances"],
        json!([{ "amount": 5750, "currency": "EUR" }])
    );
    let entries = ledger["pool"]["ledger"]["entries"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(
        entries[0]["node"],
        json!({ "kind": "EXPENSE", "amount": { "amount": -4250, "currency": "EUR" }, "reference": "TX-1" })
    );
    assert_eq!(entries[1]["node"]["kind"], "ADJUSTMENT");

    // A parent policy: expenses above 100.00 need three agreeing votes.
    p.app()
        .ok(Some(&p.w.steward), "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
            json!({ "i": { "parentEntityId": p.w.parent, "expenseApprovalAbove": 10000, "expenseMinApprovals": 3 } }))
        .await;
    let big = p
        .app()
        .ok(Some(&grace), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { proposal { id } } }",
            json!({ "i": { "poolId": p.pool, "title": "New cargo bike", "amount": 250000, "currency": "EUR", "payee": "Bikes SL" } }))
        .await;
    let big_proposal = big["submitExpense"]["proposal"]["id"].as_str().unwrap();
    p.vote(&grace, big_proposal, "agree").await;
    p.vote(&ada, big_proposal, "agree").await;
    let closed = p.close(&p.w.founder, big_proposal).await;
    assert_eq!(
        closed["outcome"], "FAILED",
        "two agreeing votes are not enough: {closed:#}"
    );
}

async fn who_may_do_what_in_a_pool(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (member, member_id) = p.join("member@example.org", "users").await;
    let (outsider, _) = p.app().sign_up("outsider@example.org").await;
    let proposal = p.propose(&member, json!({})).await;
    let admin = p.w.founder.clone();
    let (steward, auditor) = (p.w.steward.clone(), p.w.auditor.clone());

    // Public facts: everyone, even without signing in.
    for token in [None, Some(outsider.as_str())] {
        let public = p.app().ok(token, "query($id: ID!) { pool(id: $id) { name slug legalTemplate { id } stakeholderGroups { key } apps { appId } } }", json!({ "id": p.pool })).await;
        assert_eq!(public["pool"]["name"], "Test Pool");
    }
    // Private reads: members, admins, stewards and auditors; not outsiders.
    let reads = [
        "query($id: ID!) { pool(id: $id) { members { edges { node { id } } } } }",
        "query($id: ID!) { pool(id: $id) { register { edges { node { id } } } } }",
        "query($id: ID!) { pool(id: $id) { proposals { edges { node { id votes { edges { node { choice } } } } } } } }",
        "query($id: ID!) { pool(id: $id) { ledger { balances { amount } entries { edges { node { id } } } } } }",
    ];
    for q in reads {
        for token in [&member, &admin, &steward, &auditor] {
            let res = p.app().gql(Some(token), q, json!({ "id": p.pool })).await;
            assert!(res.get("errors").is_none(), "{q}: {res:#}");
        }
        assert_eq!(
            error_code(
                &p.app()
                    .gql(Some(&outsider), q, json!({ "id": p.pool }))
                    .await
            ),
            "FORBIDDEN",
            "{q}"
        );
        assert_eq!(
            error_code(&p.app().gql(None, q, json!({ "id": p.pool })).await),
            "UNAUTHENTICATED",
            "{q}"
        );
    }
    let applications =
        "query($id: ID!) { pool(id: $id) { applications { edges { node { id } } } } }";
    assert_eq!(
        error_code(
            &p.app()
                .gql(Some(&member), applications, json!({ "id": p.pool }))
                .await
        ),
        "FORBIDDEN"
    );
    for token in [&admin, &steward, &auditor] {
        assert!(
            p.app()
                .gql(Some(token), applications, json!({ "id": p.pool }))
                .await
                .get("errors")
                .is_none()
        );
    }

    // Admin-only writes: refused to members, stewards, auditors and outsiders.
    let admin_ops: Vec<(&str, Value)> = vec![
        (
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
            json!({ "i": { "poolId": p.pool, "email": "x@example.org", "stakeholderGroupId": p.groups["users"] } }),
        ),
        (
            "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
            json!({ "i": { "memberId": member_id, "role": "ADMIN" } }),
        ),
        (
            "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { status } }",
            json!({ "i": { "memberId": member_id, "reason": "testing" } }),
        ),
        (
            "mutation($id: ID!) { closeProposal(proposalId: $id) { status } }",
            json!({ "id": proposal }),
        ),
        (
            "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": 1, "currency": "EUR", "reference": "R", "description": "test" } }),
        ),
    ];
    for (q, vars) in &admin_ops {
        for token in [&member, &steward, &auditor, &outsider] {
            // What is inside the pool does not exist for an outsider; the
            // pool itself is public.
            let inside = !vars.to_string().contains(&p.pool);
            let expected = if token == &outsider && inside {
                "NOT_FOUND"
            } else {
                "FORBIDDEN"
            };
            assert_eq!(
                error_code(&p.app().gql(Some(token), q, vars.clone()).await),
                expected,
                "{q}"
            );
        }
    }
    // Member writes: refused to stewards, auditors and outsiders.
    let member_ops: Vec<(&str, Value)> = vec![
        (
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "T" } }),
        ),
        (
            "mutation($i: CastVoteInput!) { castVote(input: $i) { choice } }",
            json!({ "i": { "proposalId": proposal, "choice": "agree" } }),
        ),
        (
            "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "T", "amount": 1, "currency": "EUR", "payee": "P" } }),
        ),
        (
            "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
            json!({ "i": { "toMemberId": member_id } }),
        ),
    ];
    for (q, vars) in &member_ops {
        for token in [&steward, &auditor, &outsider] {
            let inside = !vars.to_string().contains(&p.pool);
            let expected = if token == &outsider && inside {
                "NOT_FOUND"
            } else {
                "FORBIDDEN"
            };
            assert_eq!(
                error_code(&p.app().gql(Some(token), q, vars.clone()).await),
                expected,
                "{q}"
            );
        }
        assert_eq!(
            error_code(&p.app().gql(None, q, vars.clone()).await),
            "UNAUTHENTICATED",
            "{q}"
        );
    }
    assert!(
        p.vote(&member, &proposal, "agree")
            .await
            .get("errors")
            .is_none()
    );
    // A member of another pool sees nothing of this one.
    let other = proposal::Entity::find()
        .all(&p.app().db)
        .await
        .unwrap()
        .len();
    assert_eq!(other, 1);
}

async fn members_load_without_n_plus_one(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let query = "query($id: ID!) { pool(id: $id) { members(first: 100) { edges { node {
        id role status stakeholderGroup { key name sharePrice { amount } } user { email } } } } } }";
    let cost = |n: usize| {
        let p = &p;
        async move {
            p.app()
                .ok(Some(&p.w.founder), query, json!({ "id": p.pool }))
                .await; // warm: token bookkeeping
            let before = p.app().sql_count();
            let data = p
                .app()
                .ok(Some(&p.w.founder), query, json!({ "id": p.pool }))
                .await;
            assert_eq!(
                data["pool"]["members"]["edges"].as_array().unwrap().len(),
                n
            );
            p.app().sql_count() - before
        }
    };
    for n in 0..9 {
        p.join(
            &format!("m{n}@example.org"),
            if n % 2 == 0 { "workers" } else { "users" },
        )
        .await;
    }
    let ten = cost(10).await;
    for n in 9..99 {
        p.join(
            &format!("m{n}@example.org"),
            if n % 2 == 0 { "workers" } else { "users" },
        )
        .await;
    }
    let hundred = cost(100).await;
    eprintln!(
        "a pool with 100 members, each with group and account: {hundred} SQL statements (10 members: {ten})"
    );
    assert_eq!(ten, hundred);
}

/// The page a member opens most: the pool, its groups, a page of members
/// with their group and name, and the balances. The caller is looked up
/// with their membership, the pool's groups are read once for the list and
/// the members, the members with their accounts: five statements, whatever
/// the page size. A steward (no member) costs one more: their role.
async fn a_pool_page_takes_five_statements(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (member, _) = p.join("viewer@example.org", "users").await;
    let query = "query($id: ID!, $n: Int!) { pool(id: $id) { id name slug
        stakeholderGroups { id key name kind }
        members(first: $n) { pageInfo { hasNextPage endCursor }
          edges { cursor node { id role status stakeholderGroup { id name } user { displayName } } } }
        ledger { balances { amount currency } } } }";
    let cost = |token: String, n: usize| {
        let p = &p;
        async move {
            let vars = json!({ "id": p.pool, "n": n });
            p.app().ok(Some(&token), query, vars.clone()).await; // warm: token bookkeeping
            let before = p.app().sql_count();
            let data = p.app().ok(Some(&token), query, vars).await;
            let edges = data["pool"]["members"]["edges"].as_array().unwrap();
            assert!(
                edges
                    .iter()
                    .all(|e| e["node"]["user"]["displayName"].is_string())
            );
            assert!(
                edges
                    .iter()
                    .all(|e| e["node"]["stakeholderGroup"]["name"].is_string())
            );
            (edges.len(), p.app().sql_count() - before)
        }
    };
    let join = |people: std::ops::Range<usize>| {
        let p = &p;
        async move {
            for n in people {
                let group = if n % 2 == 0 { "workers" } else { "users" };
                p.join(&format!("m{n}@example.org"), group).await;
            }
        }
    };
    join(0..8).await;
    assert_eq!(cost(member.clone(), 10).await, (10, 5));
    join(8..28).await;
    assert_eq!(cost(member.clone(), 30).await, (30, 5));
    assert_eq!(cost(p.w.steward.clone(), 30).await, (30, 6));
}

async fn due_proposals_close_by_themselves(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let proposal_id = p.propose(&p.w.founder, json!({})).await;
    p.vote(&p.w.founder, &proposal_id, "agree").await;
    // Time passes: the closing time is now behind us.
    proposal::Entity::update_many()
        .col_expr(
            proposal::Column::ClosesAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&p.app().db)
        .await
        .unwrap();
    // …and for the job that closes it.
    entities::job::Entity::update_many()
        .col_expr(
            entities::job::Column::RunAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entities::job::Column::Kind.eq("close_proposal"))
        .exec(&p.app().db)
        .await
        .unwrap();
    let query = "query($id: ID!) { proposal(id: $id) { status outcome } }";
    let closed = eventually(
        "the proposal was not closed by the background task",
        || async {
            let res = p
                .app()
                .ok(Some(&p.w.founder), query, json!({ "id": proposal_id }))
                .await;
            if res["proposal"]["status"] == "CLOSED" {
                Ok(res)
            } else {
                Err(res)
            }
        },
    )
    .await;
    assert_eq!(closed["proposal"]["outcome"], "PASSED");
}
