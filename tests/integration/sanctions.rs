//! Obligations and sanctions: a code of conduct new members accept, and
//! suspensions with a reason, their effect, and an appeal to the members.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    new_members_accept_the_code_of_conduct,
    a_suspended_member_neither_votes_nor_proposes,
    an_appeal_that_passes_lifts_the_suspension,
);

const MEMBER: &str = "query($id: ID!) { node(id: $id) { ... on Member {
    conductVersion conductAcceptedAt
    suspension { id reason inForce }
    suspensions(first: 10) { edges { node { id inForce liftedAt liftReason appeal { id kind } } } } } } }";

/// Adopts `changes` by a rules change everyone in `voters` agrees to.
async fn adopt(p: &PoolWorld, voters: &[&str], changes: Value) {
    let data = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Rules", "kind": "RULES_CHANGE", "rulesChange": changes } }),
        )
        .await;
    let id = data["createProposal"]["id"].as_str().unwrap().to_owned();
    for v in voters {
        p.vote(v, &id, "agree").await;
    }
    let closed = p.close(&p.w.founder, &id).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
}

async fn code(p: &PoolWorld) -> Value {
    p.app()
        .ok(
            None,
            "query($id: ID!) { pool(id: $id) { codeOfConduct { version text } rulesDocument } }",
            json!({ "id": p.pool }),
        )
        .await["pool"]
        .clone()
}

async fn new_members_accept_the_code_of_conduct(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (early, early_member) = p.join("early@example.org", "workers").await;
    adopt(
        &p,
        &[&p.w.founder, &early],
        json!([{ "setCodeOfConduct": { "text": "Be kind. Do the work you promise." } }]),
    )
    .await;
    let pool = code(&p).await;
    assert_eq!(pool["codeOfConduct"]["version"], 1);
    let doc = pool["rulesDocument"].as_str().unwrap();
    assert!(
        doc.contains("## 6. Code of conduct (version 1)\n\nBe kind."),
        "{doc}"
    );
    assert!(doc.contains("New members accept the code of conduct in section 6 (version 1)"));

    // Joining asks for the version; a wrong one is refused.
    let (late, _) = p.app().sign_up("late@example.org").await;
    let apply = |version: Value| {
        p.app().gql(
            Some(&late),
            "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { member { id conductVersion conductAcceptedAt } } }",
            json!({ "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["users"], "acceptCodeOfConduct": version } }),
        )
    };
    for wrong in [Value::Null, json!(2)] {
        let res = apply(wrong).await;
        assert_eq!(
            error_paths(&res),
            vec!["input.acceptCodeOfConduct"],
            "{res:#}"
        );
    }
    let joined = apply(json!(1)).await;
    let member = &joined["data"]["applyForMembership"]["member"];
    assert_eq!(member["conductVersion"], 1, "{joined:#}");
    assert!(member["conductAcceptedAt"].is_string());
    let (_, register) = crate::audit::get_csv(
        p.app(),
        Some(&p.w.founder),
        &format!("/exports/pools/{}/register.csv", p.pool),
    )
    .await;
    let late_row = register
        .iter()
        .find(|r| r["email"] == "late@example.org")
        .unwrap();
    assert_eq!(late_row["conduct_version"], "1");

    // By invitation too.
    let invited = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
            json!({ "i": { "poolId": p.pool, "email": "guest@example.org", "stakeholderGroupId": p.groups["users"] } }),
        )
        .await;
    let token = invited["inviteMember"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (guest, _) = p.app().sign_up("guest@example.org").await;
    let accept = "mutation($t: String!, $v: Int) { acceptInvitation(token: $t, acceptCodeOfConduct: $v) { conductVersion } }";
    let res = p
        .app()
        .gql(Some(&guest), accept, json!({ "t": token, "v": null }))
        .await;
    assert_eq!(error_paths(&res), vec!["acceptCodeOfConduct"], "{res:#}");
    let res = p
        .app()
        .ok(Some(&guest), accept, json!({ "t": token, "v": 1 }))
        .await;
    assert_eq!(res["acceptInvitation"]["conductVersion"], 1);

    // A member who joined before accepts it later.
    let before = p
        .app()
        .ok(Some(&early), MEMBER, json!({ "id": early_member }))
        .await;
    assert_eq!(before["node"]["conductVersion"], Value::Null);
    let accepted = p
        .app()
        .ok(
            Some(&early),
            "mutation($p: ID!) { acceptCodeOfConduct(poolId: $p, version: 1) { conductVersion } }",
            json!({ "p": p.pool }),
        )
        .await;
    assert_eq!(accepted["acceptCodeOfConduct"]["conductVersion"], 1);

    // A new text is a new version; dropped and brought back, the numbers
    // go on.
    let voters = [p.w.founder.as_str(), early.as_str()];
    adopt(
        &p,
        &voters,
        json!([{ "setCodeOfConduct": { "text": "Be kind." } }]),
    )
    .await;
    assert_eq!(code(&p).await["codeOfConduct"]["version"], 2);
    adopt(
        &p,
        &voters,
        json!([{ "setCodeOfConduct": { "text": null } }]),
    )
    .await;
    let pool = code(&p).await;
    assert_eq!(pool["codeOfConduct"], Value::Null);
    assert!(
        !pool["rulesDocument"]
            .as_str()
            .unwrap()
            .contains("Code of conduct")
    );
    adopt(
        &p,
        &voters,
        json!([{ "setCodeOfConduct": { "text": "Be kind again." } }]),
    )
    .await;
    assert_eq!(code(&p).await["codeOfConduct"]["version"], 3);
}

/// The founder (admin) suspends `target`; answers the suspension's id.
async fn suspend(p: &PoolWorld, target: &str) -> String {
    let ends = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let res = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: SuspendMemberInput!) { suspendMember(input: $i) { id inForce member { id } } }",
            json!({ "i": { "memberId": target, "endsAt": ends, "reason": "Broke the code of conduct twice" } }),
        )
        .await;
    assert_eq!(res["suspendMember"]["inForce"], true);
    res["suspendMember"]["id"].as_str().unwrap().to_owned()
}

async fn a_suspended_member_neither_votes_nor_proposes(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, ada_member) = p.join("ada@example.org", "workers").await;
    let (bob, bob_member) = p.join("bob@example.org", "workers").await;
    let suspend_mutation = "mutation($i: SuspendMemberInput!) { suspendMember(input: $i) { id } }";
    let ends = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let input = |member: &str, ends: &str, reason: &str| json!({ "i": { "memberId": member, "endsAt": ends, "reason": reason } });
    // Only admins suspend; a stranger cannot tell the member exists.
    let by_member = p
        .app()
        .gql(
            Some(&bob),
            suspend_mutation,
            input(&ada_member, &ends, "no"),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    let (eve, _) = p.app().sign_up("eve@example.org").await;
    let by_stranger = p
        .app()
        .gql(
            Some(&eve),
            suspend_mutation,
            input(&ada_member, &ends, "no"),
        )
        .await;
    assert_eq!(error_code(&by_stranger), "NOT_FOUND");
    let too_long = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let res = p
        .app()
        .gql(
            Some(&p.w.founder),
            suspend_mutation,
            input(&ada_member, &too_long, ""),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.reason", "input.endsAt"]);
    let founder_member = p.member_id(&p.w.founder).await;
    let res = p
        .app()
        .gql(
            Some(&p.w.founder),
            suspend_mutation,
            input(&founder_member, &ends, "me"),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT");

    let open = p.propose(&bob, json!({})).await;
    let suspension = suspend(&p, &ada_member).await;
    let again = p
        .app()
        .gql(
            Some(&p.w.founder),
            suspend_mutation,
            input(&ada_member, &ends, "again"),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    let shown = p
        .app()
        .ok(Some(&bob), MEMBER, json!({ "id": ada_member }))
        .await;
    assert_eq!(shown["node"]["suspension"]["id"], suspension.as_str());
    assert_eq!(
        shown["node"]["suspension"]["reason"],
        "Broke the code of conduct twice"
    );

    // Neither voting, delegating, proposing nor submitting an expense.
    assert_eq!(error_code(&p.vote(&ada, &open, "agree").await), "FORBIDDEN");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Mine" } }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
            json!({ "i": { "proposalId": open, "toMemberId": bob_member } }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Tools", "amount": 100, "currency": "EUR", "payee": "Shop" } }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    // Nor does the suspended member count in the electorate.
    p.vote(&bob, &open, "agree").await;
    p.vote(&p.w.founder, &open, "agree").await;
    let closed = p.close(&p.w.founder, &open).await;
    assert_eq!(closed["result"]["eligibleVoters"], 2, "{closed:#}");

    // An admin lifts it early, saying why; then the member votes again.
    let lift = "mutation($id: ID!, $r: String!) { liftSuspension(suspensionId: $id, reason: $r) { inForce liftReason } }";
    let res = p
        .app()
        .gql(Some(&bob), lift, json!({ "id": suspension, "r": "please" }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN");
    let lifted = p
        .app()
        .ok(
            Some(&p.w.founder),
            lift,
            json!({ "id": suspension, "r": "We talked it through" }),
        )
        .await;
    assert_eq!(lifted["liftSuspension"]["inForce"], false);
    let next = p.propose(&bob, json!({})).await;
    assert!(p.vote(&ada, &next, "agree").await.get("errors").is_none());
    let history = p
        .app()
        .ok(Some(&bob), MEMBER, json!({ "id": ada_member }))
        .await;
    assert_eq!(history["node"]["suspension"], Value::Null);
    let past = &history["node"]["suspensions"]["edges"][0]["node"];
    assert_eq!(past["liftReason"], "We talked it through");

    let actions = crate::audit::actions(p.app(), &p.w.founder, json!({ "poolId": p.pool })).await;
    assert!(
        actions.iter().any(|a| a == "member.suspended"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "member.suspensionLifted"),
        "{actions:?}"
    );
}

async fn an_appeal_that_passes_lifts_the_suspension(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, ada_member) = p.join("ada@example.org", "workers").await;
    let (bob, _) = p.join("bob@example.org", "users").await;
    let appeal = "mutation($id: ID!, $s: String!) { appealSuspension(suspensionId: $id, statement: $s) { id kind title } }";

    // An appeal that fails leaves the suspension standing.
    let first = suspend(&p, &ada_member).await;
    let by_other = p
        .app()
        .gql(Some(&bob), appeal, json!({ "id": first, "s": "for ada" }))
        .await;
    assert_eq!(error_code(&by_other), "FORBIDDEN");
    let res = p
        .app()
        .ok(
            Some(&ada),
            appeal,
            json!({ "id": first, "s": "It was a misunderstanding." }),
        )
        .await;
    assert_eq!(res["appealSuspension"]["kind"], "APPEAL");
    let failed = res["appealSuspension"]["id"].as_str().unwrap().to_owned();
    let twice = p
        .app()
        .gql(Some(&ada), appeal, json!({ "id": first, "s": "Again." }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    p.vote(&bob, &failed, "disagree").await;
    p.vote(&p.w.founder, &failed, "disagree").await;
    let closed = p.close(&p.w.founder, &failed).await;
    assert_eq!(closed["outcome"], "FAILED");
    assert_eq!(
        closed["result"]["eligibleVoters"], 2,
        "the suspended member does not vote"
    );
    let shown = p
        .app()
        .ok(Some(&bob), MEMBER, json!({ "id": ada_member }))
        .await;
    assert_eq!(shown["node"]["suspension"]["id"], first.as_str());

    // Lifted by an admin, then suspended again: this appeal passes.
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($id: ID!) { liftSuspension(suspensionId: $id, reason: \"to try again\") { id } }",
            json!({ "id": first }),
        )
        .await;
    let second = suspend(&p, &ada_member).await;
    let res = p
        .app()
        .ok(
            Some(&ada),
            appeal,
            json!({ "id": second, "s": "Please reconsider." }),
        )
        .await;
    let passing = res["appealSuspension"]["id"].as_str().unwrap().to_owned();
    p.vote(&bob, &passing, "agree").await;
    p.vote(&p.w.founder, &passing, "agree").await;
    assert_eq!(p.close(&p.w.founder, &passing).await["outcome"], "PASSED");
    let shown = p
        .app()
        .ok(Some(&bob), MEMBER, json!({ "id": ada_member }))
        .await;
    assert_eq!(shown["node"]["suspension"], Value::Null, "{shown:#}");
    let edges = shown["node"]["suspensions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    let lifted = &edges[1]["node"];
    assert_eq!(lifted["appeal"]["id"], passing.as_str());
    assert!(lifted["liftReason"].as_str().unwrap().contains("on appeal"));
    // A proposal of that kind is made only by appealing.
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "t", "kind": "APPEAL" } }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.kind"]);
}
