//! The commons fund: pools apply for grants and loans, the parent's
//! assembly of pools decides, approved money moves from the fund to the
//! pool once, and a loan's instalments come back as they fall due.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    audit::get_csv,
    formations::World,
    helpers::{TestApp, error_code, error_paths, eventually},
    payloads::assert_published_shape,
    pools::{PoolWorld, TWO_GROUPS, form_pool, prepare_formation},
    stub::Stub,
};

on_both_databases!(
    an_assembly_grants_and_lends_and_loans_are_repaid,
    votes_weighted_by_members_decide,
    a_pool_decides_its_vote_by_proposal,
    a_vote_without_a_quorum_is_rejected_when_it_closes,
    a_formation_is_funded_once_it_becomes_a_pool,
    who_may_do_what_with_the_fund,
);

on_both_databases!(settings: crate::events::QUICK; the_fund_raises_webhooks);

const APPLICATION: &str = "id kind status amount { amount currency } purpose
    repayment { period instalments startsOn } weighting closesAt decidedAt instalmentsPaid
    nextRepaymentOn appliedAt pool { id }
    tally { eligiblePools poolsVoted quorum weightFor weightAgainst }";

/// The parent's pools: `p.pool` (A), and B and C formed by the same founder.
struct Assembly {
    p: PoolWorld,
    b: String,
    c: String,
}

impl Assembly {
    async fn new(app: TestApp) -> Self {
        let p = PoolWorld::new(app, TWO_GROUPS()).await;
        let b = form_pool(&p.w, TWO_GROUPS(), json!([]), "Second Pool").await;
        let c = form_pool(&p.w, TWO_GROUPS(), json!([]), "Third Pool").await;
        Self { p, b, c }
    }

    fn app(&self) -> &TestApp {
        self.p.app()
    }

    async fn donate(&self, amount: i64) -> Value {
        self.app()
            .gql(
                Some(&self.p.w.steward),
                "mutation($i: RecordFundDonationInput!) { recordFundDonation(input: $i) { kind category amount { amount currency } pool { id } } }",
                json!({ "i": { "parentEntityId": self.p.w.parent, "amount": amount, "currency": "EUR",
                    "donor": "A friendly foundation" } }),
            )
            .await
    }

    async fn apply(&self, token: &str, input: Value) -> Value {
        self.app()
            .gql(
                Some(token),
                &format!("mutation($i: ApplyForFundingInput!) {{ applyForFunding(input: $i) {{ {APPLICATION} }} }}"),
                json!({ "i": input }),
            )
            .await
    }

    /// Pool B's founder applies; the application.
    async fn applied(&self, input: Value) -> Value {
        let mut input = input;
        input["poolId"] = json!(self.b);
        let res = self.apply(&self.p.w.founder, input).await;
        assert!(res.get("errors").is_none(), "{res:#}");
        res["data"]["applyForFunding"].clone()
    }

    async fn vote(&self, token: &str, application: &Value, pool: &str, choice: &str) -> Value {
        self.app()
            .gql(
                Some(token),
                &format!("mutation($i: CastAssemblyVoteInput!) {{ castAssemblyVote(input: $i) {{ {APPLICATION} }} }}"),
                json!({ "i": { "fundApplicationId": application["id"], "poolId": pool, "choice": choice } }),
            )
            .await
    }

    async fn voted(&self, token: &str, application: &Value, pool: &str, choice: &str) -> Value {
        let res = self.vote(token, application, pool, choice).await;
        assert!(res.get("errors").is_none(), "{res:#}");
        res["data"]["castAssemblyVote"].clone()
    }

    async fn fund(&self) -> Value {
        self.app()
            .ok(
                Some(&self.p.w.steward),
                "query($id: ID!) { parentEntity(id: $id) { ledger { balances { amount currency }
                    entries(first: 50) { edges { node { kind category amount { amount } pool { id } } } } } } }",
                json!({ "id": self.p.w.parent }),
            )
            .await["parentEntity"]["ledger"]
            .clone()
    }

    async fn pool_ledger(&self, pool: &str) -> Value {
        self.app()
            .ok(
                Some(&self.p.w.founder),
                "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency }
                    entries(first: 50) { edges { node { kind amount { amount } } } } } } }",
                json!({ "id": pool }),
            )
            .await["pool"]["ledger"]
            .clone()
    }

    async fn application(&self, token: &str, id: &Value) -> Value {
        self.app()
            .gql(
                Some(token),
                &format!("query($id: ID!) {{ fundApplication(id: $id) {{ {APPLICATION}
                    votes(first: 10) {{ edges {{ node {{ choice castAt pool {{ id }} application {{ id }} }} }} }}
                    repayments(first: 10) {{ edges {{ node {{ instalmentNumber dueOn amount {{ amount currency }} collectedAt application {{ id }} }} }} }} }} }}"),
                json!({ "id": id }),
            )
            .await
    }
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ me { id } }", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn today() -> String {
    Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

async fn an_assembly_grants_and_lends_and_loans_are_repaid(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    let donated = a.donate(100_000).await;
    assert_eq!(
        donated["data"]["recordFundDonation"],
        json!({ "kind": "DONATION", "category": "donations",
            "amount": { "amount": 100_000, "currency": "EUR" }, "pool": null }),
        "{donated:#}"
    );

    // A grant: pool B applies, A votes through its delegate, C through its admin.
    let grant = a
        .applied(json!({ "kind": "GRANT", "amount": 30_000, "purpose": "Tools for the workshop" }))
        .await;
    assert_eq!(grant["status"], "OPEN");
    assert_eq!(grant["weighting"], "ONE_POOL_ONE_VOTE");
    assert_eq!(grant["repayment"], Value::Null);
    assert_eq!(
        grant["tally"],
        json!({ "eligiblePools": 2, "poolsVoted": 0, "quorum": 2, "weightFor": 0, "weightAgainst": 0 })
    );
    let (delegate, _) = a.p.join("delegate@example.org", "users").await;
    let (member, _) = a.p.join("member@example.org", "users").await;
    let not_yet = a.vote(&delegate, &grant, &a.p.pool, "FOR").await;
    assert_eq!(
        error_code(&not_yet),
        "FORBIDDEN",
        "a member is not the pool's voice: {not_yet:#}"
    );
    let named = a
        .app()
        .ok(
            Some(f),
            "mutation($i: SetAssemblyDelegateInput!) { setAssemblyDelegate(input: $i) { id assemblyDelegate { email } } }",
            json!({ "i": { "poolId": a.p.pool, "userId": user_id(a.app(), &delegate).await } }),
        )
        .await;
    assert_eq!(
        named["setAssemblyDelegate"]["assemblyDelegate"]["email"],
        "delegate@example.org"
    );
    let half = a.voted(&delegate, &grant, &a.p.pool, "FOR").await;
    assert_eq!(half["status"], "OPEN", "one of two pools voted: {half:#}");
    assert_eq!(half["tally"]["poolsVoted"], 1);
    let other = a.vote(&member, &grant, &a.p.pool, "AGAINST").await;
    assert_eq!(
        error_code(&other),
        "FORBIDDEN",
        "only the delegate: {other:#}"
    );
    let own = a.vote(f, &grant, &a.b, "FOR").await;
    assert_eq!(
        error_code(&own),
        "CONFLICT",
        "a pool does not vote on its own application"
    );
    // Changing a vote keeps one vote per pool.
    let changed = a.voted(&delegate, &grant, &a.p.pool, "AGAINST").await;
    assert_eq!(changed["tally"]["weightAgainst"], 1);
    let back = a.voted(&delegate, &grant, &a.p.pool, "FOR").await;
    assert_eq!(
        back["tally"],
        json!({ "eligiblePools": 2, "poolsVoted": 1, "quorum": 2, "weightFor": 1, "weightAgainst": 0 })
    );
    let decided = a.voted(f, &grant, &a.c, "FOR").await;
    assert_eq!(decided["status"], "APPROVED", "{decided:#}");
    assert!(decided["decidedAt"].is_string());
    assert_eq!(
        decided["tally"],
        json!({ "eligiblePools": 2, "poolsVoted": 2, "quorum": 2, "weightFor": 2, "weightAgainst": 0 })
    );
    let late = a.vote(f, &grant, &a.c, "AGAINST").await;
    assert_eq!(
        error_code(&late),
        "CONFLICT",
        "the vote is closed: {late:#}"
    );
    let fund = a.fund().await;
    assert_eq!(
        fund["balances"],
        json!([{ "amount": 70_000, "currency": "EUR" }]),
        "{fund:#}"
    );
    let b_ledger = a.pool_ledger(&a.b).await;
    assert_eq!(
        b_ledger["balances"],
        json!([{ "amount": 30_000, "currency": "EUR" }])
    );
    assert_eq!(
        b_ledger["entries"]["edges"],
        json!([{ "node": { "kind": "GRANT", "amount": { "amount": 30_000 } } }])
    );
    let read = a.application(&member, &grant["id"]).await;
    let votes = read["data"]["fundApplication"]["votes"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(votes.len(), 2, "one vote per pool: {read:#}");
    assert_eq!(votes[0]["node"]["pool"]["id"], a.p.pool.as_str());
    assert_eq!(votes[0]["node"]["choice"], "FOR");

    // A loan in two monthly instalments from today: the first comes back at once.
    let loan = a
        .applied(
            json!({ "kind": "LOAN", "amount": 20_001, "currency": "eur", "purpose": "A van",
            "repayment": { "period": "MONTH", "instalments": 2, "startsOn": today() } }),
        )
        .await;
    assert_eq!(
        loan["repayment"],
        json!({ "period": "MONTH", "instalments": 2, "startsOn": today() })
    );
    a.voted(&delegate, &loan, &a.p.pool, "FOR").await;
    let lent = a.voted(f, &loan, &a.c, "ABSTAIN").await;
    assert_eq!(
        lent["status"], "APPROVED",
        "a quorum, more for than against: {lent:#}"
    );
    let repaid = eventually("the first instalment is collected", || async {
        let l = a.application(f, &loan["id"]).await;
        let l = l["data"]["fundApplication"].clone();
        if l["instalmentsPaid"] == 1 {
            Ok(l)
        } else {
            Err(l)
        }
    })
    .await;
    let repayments = repaid["repayments"]["edges"].as_array().unwrap();
    assert_eq!(repayments.len(), 1, "{repaid:#}");
    assert_eq!(repayments[0]["node"]["instalmentNumber"], 0);
    assert_eq!(repayments[0]["node"]["dueOn"], today());
    assert_eq!(
        repayments[0]["node"]["amount"],
        json!({ "amount": 10_000, "currency": "EUR" })
    );
    assert!(
        repaid["nextRepaymentOn"].is_string(),
        "the second falls due next month"
    );
    let fund = a.fund().await;
    assert_eq!(
        fund["balances"],
        json!([{ "amount": 100_000 - 30_000 - 20_001 + 10_000, "currency": "EUR" }]),
        "{fund:#}"
    );
    let kinds: Vec<&str> = fund["entries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["DONATION", "GRANT", "LOAN", "REPAYMENT"]);
    assert_eq!(
        a.pool_ledger(&a.b).await["balances"],
        json!([{ "amount": 30_000 + 20_001 - 10_000, "currency": "EUR" }])
    );

    // Refused by the assembly, and more than the fund holds: nothing moves.
    let refused = a
        .applied(json!({ "kind": "GRANT", "amount": 1_000, "purpose": "A party" }))
        .await;
    a.voted(&delegate, &refused, &a.p.pool, "AGAINST").await;
    let refused = a.voted(f, &refused, &a.c, "AGAINST").await;
    assert_eq!(refused["status"], "REJECTED");
    let greedy = a
        .applied(json!({ "kind": "GRANT", "amount": 1_000_000, "purpose": "A building" }))
        .await;
    a.voted(&delegate, &greedy, &a.p.pool, "FOR").await;
    let greedy = a.voted(f, &greedy, &a.c, "FOR").await;
    assert_eq!(greedy["status"], "UNFUNDED", "{greedy:#}");
    assert_eq!(
        a.fund().await["balances"],
        json!([{ "amount": 100_000 - 30_000 - 20_001 + 10_000, "currency": "EUR" }])
    );

    // The fund and its applications, exported beside the other tables.
    let parent = format!("/exports/parent-entities/{}", a.p.w.parent);
    let (status, ledger) = get_csv(
        a.app(),
        Some(&a.p.w.auditor),
        &format!("{parent}/fund-ledger.csv"),
    )
    .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = ledger.iter().map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["DONATION", "GRANT", "LOAN", "REPAYMENT"]);
    assert_eq!(ledger[1]["amount_minor"], "-30000");
    assert_eq!(ledger[1]["pool_id"], a.b.as_str());
    let (status, apps) = get_csv(
        a.app(),
        Some(&a.p.w.steward),
        &format!("{parent}/fund-applications.csv"),
    )
    .await;
    assert_eq!(status, 200);
    let rows: Vec<(&str, &str)> = apps
        .iter()
        .map(|r| (r["kind"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("GRANT", "APPROVED"),
            ("LOAN", "APPROVED"),
            ("GRANT", "REJECTED"),
            ("GRANT", "UNFUNDED")
        ]
    );
    assert_eq!(apps[1]["instalments_paid"], "1");
    assert_eq!(apps[1]["repaid_minor"], "10000");
    assert_eq!(apps[0]["pools_voted"], "2");
    let (status, _) = get_csv(a.app(), Some(f), &format!("{parent}/fund-ledger.csv")).await;
    assert_eq!(
        status, 403,
        "the parent's exports are its stewards' and auditors'"
    );
    let (status, _) = get_csv(
        a.app(),
        Some(f),
        &format!("/exports/pools/{}/fund-ledger.csv", a.b),
    )
    .await;
    assert_eq!(status, 404, "a pool has no fund");
    let (status, own) = get_csv(
        a.app(),
        Some(f),
        &format!("/exports/pools/{}/fund-applications.csv", a.b),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(own.len(), 4, "the pool's own applications");
    let pack = crate::audit_pack::download(a.app(), &a.b, f).await;
    assert_eq!(pack.status(), 200);
    let pack: Value = pack.json().await.unwrap();
    let in_pack = pack["fundApplications"].as_array().unwrap();
    assert_eq!(in_pack.len(), 4);
    assert_eq!(in_pack[0]["status"], "APPROVED");

    // Every step is in the audit trail.
    let trail = a
        .app()
        .ok(
            Some(&a.p.w.steward),
            "query($i: AuditEventsInput!) { auditEvents(input: $i, first: 100) { edges { node { action } } } }",
            json!({ "i": { "parentEntityId": a.p.w.parent } }),
        )
        .await;
    let actions: Vec<&str> = trail["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for action in [
        "fund.donationRecorded",
        "fundApplication.submitted",
        "assembly.delegateSet",
        "assembly.voteCast",
        "fundApplication.decided",
        "loanRepayment.collected",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

async fn votes_weighted_by_members_decide(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    a.app()
        .ok(
            Some(&a.p.w.steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { policy { assemblyWeighting } } }",
            json!({ "i": { "parentEntityId": a.p.w.parent, "assemblyWeighting": "BY_MEMBERS" } }),
        )
        .await;
    a.donate(50_000).await;
    a.p.join("second@example.org", "users").await;
    let app = a
        .applied(json!({ "kind": "GRANT", "amount": 5_000, "purpose": "Servers" }))
        .await;
    assert_eq!(app["weighting"], "BY_MEMBERS");
    // A (two members) against, C (one) for: two against one.
    a.voted(f, &app, &a.p.pool, "AGAINST").await;
    let decided = a.voted(f, &app, &a.c, "FOR").await;
    assert_eq!(decided["status"], "REJECTED", "{decided:#}");
    assert_eq!(decided["tally"]["weightFor"], 1);
    assert_eq!(decided["tally"]["weightAgainst"], 2);
    assert_eq!(
        a.fund().await["balances"],
        json!([{ "amount": 50_000, "currency": "EUR" }])
    );
}

async fn who_may_do_what_with_the_fund(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    let (outsider, _) = a.app().sign_up("outsider@example.org").await;
    let (member, member_id) = a.p.join("member@example.org", "users").await;
    let _ = member_id;
    let grant = json!({ "poolId": a.p.pool, "kind": "GRANT", "amount": 1_000, "purpose": "Paint" });

    // Who may apply: the pool's admins only.
    assert_eq!(
        error_code(&a.apply(&outsider, grant.clone()).await),
        "FORBIDDEN",
        "pools are public"
    );
    assert_eq!(
        error_code(&a.apply(&member, grant.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&a.apply(&a.p.w.steward, grant.clone()).await),
        "FORBIDDEN"
    );
    // Named fields refused.
    let bad = a
        .apply(f, json!({ "poolId": a.p.pool, "kind": "LOAN", "amount": 0, "currency": "USD", "purpose": "", "votingDays": 0 }))
        .await;
    assert_eq!(error_code(&bad), "VALIDATION", "{bad:#}");
    let mut paths = error_paths(&bad);
    paths.sort();
    assert_eq!(
        paths,
        [
            "input.amount",
            "input.currency",
            "input.purpose",
            "input.repayment",
            "input.votingDays"
        ]
    );
    let repaid_grant = a
        .apply(
            f,
            json!({ "poolId": a.p.pool, "kind": "GRANT", "amount": 1_000, "purpose": "Paint",
            "repayment": { "period": "YEAR", "instalments": 500, "startsOn": "2000-01-01" } }),
        )
        .await;
    let mut paths = error_paths(&repaid_grant);
    paths.sort();
    assert_eq!(paths, ["input.repayment"], "{repaid_grant:#}");

    let app = a.apply(f, grant.clone()).await;
    let app = app["data"]["applyForFunding"].clone();
    assert_eq!(app["status"], "OPEN", "{app:#}");

    // Who may read it: the commons' readers; outsiders are told it does not exist.
    assert_eq!(
        error_code(&a.application(&outsider, &app["id"]).await),
        "NOT_FOUND"
    );
    assert!(
        a.application(&member, &app["id"])
            .await
            .get("errors")
            .is_none()
    );
    assert!(
        a.application(&a.p.w.steward, &app["id"])
            .await
            .get("errors")
            .is_none()
    );
    let listed = a
        .app()
        .gql(
            Some(&outsider),
            "query($id: ID!) { parentEntity(id: $id) { fundApplications(first: 5) { edges { node { id } } } } }",
            json!({ "id": a.p.w.parent }),
        )
        .await;
    assert_eq!(error_code(&listed), "FORBIDDEN", "{listed:#}");
    let listed = a
        .app()
        .ok(
            Some(&member),
            "query($id: ID!) { parentEntity(id: $id) { fundApplications(status: OPEN, first: 5) { edges { node { id } } } }
                pool(id: $id2) { fundApplications(first: 5) { edges { node { id } } } } }"
                .replace("$id: ID!", "$id: ID!, $id2: ID!")
                .as_str(),
            json!({ "id": a.p.w.parent, "id2": a.p.pool }),
        )
        .await;
    assert_eq!(
        listed["parentEntity"]["fundApplications"]["edges"][0]["node"]["id"],
        app["id"]
    );
    assert_eq!(
        listed["pool"]["fundApplications"]["edges"][0]["node"]["id"],
        app["id"]
    );

    // Who may vote: a pool's admins or delegate; not a steward, not an outsider.
    assert_eq!(
        error_code(&a.vote(&outsider, &app, &a.b, "FOR").await),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(&a.vote(&a.p.w.steward, &app, &a.b, "FOR").await),
        "FORBIDDEN"
    );
    // Who may name a delegate: the pool's admins, and only a member.
    let set = "mutation($i: SetAssemblyDelegateInput!) { setAssemblyDelegate(input: $i) { id } }";
    let outsider_id = user_id(a.app(), &outsider).await;
    let by_member = a
        .app()
        .gql(
            Some(&member),
            set,
            json!({ "i": { "poolId": a.p.pool, "userId": null } }),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    let not_a_member = a
        .app()
        .gql(
            Some(f),
            set,
            json!({ "i": { "poolId": a.p.pool, "userId": outsider_id } }),
        )
        .await;
    assert_eq!(error_paths(&not_a_member), ["input.userId"]);
    // Who may donate: the parent's stewards.
    let donation =
        "mutation($i: RecordFundDonationInput!) { recordFundDonation(input: $i) { kind } }";
    let input = json!({ "i": { "parentEntityId": a.p.w.parent, "amount": 100, "currency": "EUR", "donor": "Me" } });
    assert_eq!(
        error_code(&a.app().gql(Some(&member), donation, input.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&a.app().gql(Some(f), donation, input.clone()).await),
        "FORBIDDEN"
    );
    let bad = a
        .app()
        .gql(
            Some(&a.p.w.steward),
            donation,
            json!({ "i": { "parentEntityId": a.p.w.parent, "amount": -1, "currency": "XXX", "donor": "" } }),
        )
        .await;
    let mut paths = error_paths(&bad);
    paths.sort();
    assert_eq!(paths, ["input.amount", "input.currency", "input.donor"]);
    // Who may withdraw: the applicant's admins; then nobody votes on it.
    let withdraw = format!(
        "mutation($i: WithdrawFundApplicationInput!) {{ withdrawFundApplication(input: $i) {{ {APPLICATION} }} }}"
    );
    let i = json!({ "i": { "fundApplicationId": app["id"] } });
    assert_eq!(
        error_code(&a.app().gql(Some(&member), &withdraw, i.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&a.app().gql(Some(&outsider), &withdraw, i.clone()).await),
        "NOT_FOUND"
    );
    let withdrawn = a.app().ok(Some(f), &withdraw, i.clone()).await;
    assert_eq!(withdrawn["withdrawFundApplication"]["status"], "WITHDRAWN");
    assert_eq!(error_code(&a.vote(f, &app, &a.b, "FOR").await), "CONFLICT");
}

async fn the_fund_raises_webhooks(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    let receiver = Stub::start().await;
    a.p.pool_endpoint(
        &receiver.url,
        &[
            "fund_application.submitted",
            "fund_application.decided",
            "loan_repayment.collected",
        ],
    )
    .await;
    a.donate(10_000).await;
    let loan = a
        .apply(
            f,
            json!({ "poolId": a.p.pool, "kind": "LOAN", "amount": 3_000, "purpose": "A printer",
                "repayment": { "period": "QUARTER", "instalments": 3, "startsOn": today() } }),
        )
        .await;
    let loan = loan["data"]["applyForFunding"].clone();
    a.voted(f, &loan, &a.b, "FOR").await;
    a.voted(f, &loan, &a.c, "FOR").await;
    let seen = receiver.wait_for(3, |_| true).await;
    let mut kinds: Vec<String> = seen
        .iter()
        .map(|s| {
            assert_published_shape(&s.body);
            assert_eq!(s.body["poolId"], a.p.pool.as_str());
            assert_eq!(s.body["parentEntityId"], a.p.w.parent.as_str());
            let kind = s.body["type"].as_str().unwrap().to_owned();
            match kind.as_str() {
                "loan_repayment.collected" => {
                    assert_eq!(
                        s.body["data"]["amount"],
                        json!({ "amount": 1_000, "currency": "EUR" })
                    );
                    assert_eq!(s.body["data"]["application"]["id"], loan["id"]);
                }
                _ => assert_eq!(s.body["data"]["id"], loan["id"]),
            }
            format!(
                "{kind} {}",
                s.body["data"]["status"].as_str().unwrap_or("-")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "fund_application.decided APPROVED",
            "fund_application.submitted OPEN",
            "loan_repayment.collected -"
        ]
    );
}

async fn a_pool_decides_its_vote_by_proposal(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    a.donate(10_000).await;
    let (member, _) = a.p.join("member@example.org", "users").await;
    let grant = a
        .applied(json!({ "kind": "GRANT", "amount": 2_000, "purpose": "Seeds", "votingDays": 7 }))
        .await;
    // The proposal must name an application and close before the assembly.
    let create = "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id kind fundApplication { id } } }";
    let closes = |days: i64| (Utc::now() + chrono::Duration::days(days)).to_rfc3339();
    let base = json!({ "poolId": a.p.pool, "title": "Fund the seeds?", "body": "Pool B asks.",
        "kind": "ASSEMBLY_VOTE" });
    let mut unnamed = base.clone();
    unnamed["closesAt"] = json!(closes(2));
    let res = a
        .app()
        .gql(Some(&member), create, json!({ "i": unnamed }))
        .await;
    assert_eq!(error_paths(&res), ["input.fundApplicationId"], "{res:#}");
    let mut late = base.clone();
    late["closesAt"] = json!(closes(10));
    late["fundApplicationId"] = grant["id"].clone();
    let res = a
        .app()
        .gql(Some(&member), create, json!({ "i": late }))
        .await;
    assert_eq!(error_paths(&res), ["input.closesAt"], "{res:#}");
    let mut own = base.clone();
    own["poolId"] = json!(a.b);
    own["closesAt"] = json!(closes(2));
    own["fundApplicationId"] = grant["id"].clone();
    let res = a.app().gql(Some(f), create, json!({ "i": own })).await;
    assert_eq!(
        error_paths(&res),
        ["input.fundApplicationId"],
        "not on its own: {res:#}"
    );

    let mut input = base.clone();
    input["closesAt"] = json!(closes(2));
    input["fundApplicationId"] = grant["id"].clone();
    let created = a
        .app()
        .ok(Some(&member), create, json!({ "i": input }))
        .await;
    let proposal = created["createProposal"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["createProposal"]["kind"], "ASSEMBLY_VOTE");
    assert_eq!(
        created["createProposal"]["fundApplication"]["id"],
        grant["id"]
    );
    // The admins' vote stands until the members decide, which replaces it.
    a.voted(f, &grant, &a.p.pool, "AGAINST").await;
    assert!(
        a.p.vote(f, &proposal, "AGREE")
            .await
            .get("errors")
            .is_none()
    );
    assert!(
        a.p.vote(&member, &proposal, "AGREE")
            .await
            .get("errors")
            .is_none()
    );
    let closed = a.p.close(f, &proposal).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    let read = a.application(f, &grant["id"]).await;
    let read = &read["data"]["fundApplication"];
    assert_eq!(read["status"], "OPEN", "C has not voted: {read:#}");
    assert_eq!(read["tally"]["weightFor"], 1);
    assert_eq!(read["tally"]["weightAgainst"], 0);
    assert_eq!(read["votes"]["edges"][0]["node"]["choice"], "FOR");
    let overridden = a.vote(f, &grant, &a.p.pool, "AGAINST").await;
    assert_eq!(
        error_code(&overridden),
        "CONFLICT",
        "the members decided: {overridden:#}"
    );
    let decided = a.voted(f, &grant, &a.c, "FOR").await;
    assert_eq!(decided["status"], "APPROVED");
}

async fn a_vote_without_a_quorum_is_rejected_when_it_closes(app: TestApp) {
    let a = Assembly::new(app).await;
    let f = &a.p.w.founder;
    a.donate(10_000).await;
    let grant = a
        .applied(json!({ "kind": "GRANT", "amount": 2_000, "purpose": "Paint", "votingDays": 1 }))
        .await;
    let half = a.voted(f, &grant, &a.p.pool, "FOR").await;
    assert_eq!(half["status"], "OPEN", "one of two pools is not a quorum");
    // Time passes: the vote has closed, and its closing job is due.
    let past = Utc::now() - chrono::Duration::seconds(1);
    entities::fund_application::Entity::update_many()
        .col_expr(
            entities::fund_application::Column::ClosesAt,
            Expr::value(past),
        )
        .exec(&a.app().db)
        .await
        .unwrap();
    let late = a.vote(f, &grant, &a.c, "FOR").await;
    assert_eq!(
        error_code(&late),
        "CONFLICT",
        "the vote is closed: {late:#}"
    );
    entities::job::Entity::update_many()
        .col_expr(entities::job::Column::RunAt, Expr::value(past))
        .filter(entities::job::Column::Kind.eq("close_fund_application"))
        .exec(&a.app().db)
        .await
        .unwrap();
    let decided = eventually("the closing job decides it", || async {
        let read = a.application(f, &grant["id"]).await;
        let read = read["data"]["fundApplication"].clone();
        if read["status"] == "OPEN" {
            Err(read)
        } else {
            Ok(read)
        }
    })
    .await;
    assert_eq!(decided["status"], "REJECTED", "{decided:#}");
    assert_eq!(
        decided["tally"],
        json!({ "eligiblePools": 2, "poolsVoted": 1, "quorum": 2, "weightFor": 1, "weightAgainst": 0 })
    );
    assert_eq!(
        a.fund().await["balances"],
        json!([{ "amount": 10_000, "currency": "EUR" }]),
        "nothing moved"
    );
}

/// A pool of `w`'s parent, whose steward approves it; its id.
async fn approved_pool(w: &World, name: &str) -> String {
    let id = prepare_formation(w, TWO_GROUPS(), json!([]), name, json!([])).await;
    w.submit(&id).await;
    let approved = w.approve(&w.steward, &id).await;
    approved["data"]["approveFormation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{approved:#}"))
        .to_owned()
}

async fn a_formation_is_funded_once_it_becomes_a_pool(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let a = approved_pool(&w, "First Pool").await;
    let b = approved_pool(&w, "Second Pool").await;
    w.app
        .ok(
            Some(&w.steward),
            "mutation($i: RecordFundDonationInput!) { recordFundDonation(input: $i) { id } }",
            json!({ "i": { "parentEntityId": w.parent, "amount": 50_000, "currency": "EUR", "donor": "A friend" } }),
        )
        .await;
    // A venture still being formed asks for a loan to start with.
    let venture = prepare_formation(&w, TWO_GROUPS(), json!([]), "New Venture", json!([])).await;
    let apply = format!(
        "mutation($i: ApplyForFundingInput!) {{ applyForFunding(input: $i) {{ {APPLICATION} formation {{ id }} }} }}"
    );
    let (stranger, _) = w.app.sign_up("stranger@example.org").await;
    let input = json!({ "i": { "formationId": venture, "kind": "LOAN", "amount": 12_000,
        "purpose": "Tools to start with",
        "repayment": { "period": "MONTH", "instalments": 12, "startsOn": today() } } });
    let res = w.app.gql(Some(&stranger), &apply, input.clone()).await;
    assert_eq!(
        error_code(&res),
        "NOT_FOUND",
        "a formation is private: {res:#}"
    );
    let both = w
        .app
        .gql(
            Some(&w.founder),
            &apply,
            json!({ "i": { "formationId": venture, "poolId": a, "kind": "GRANT", "amount": 1, "purpose": "x" } }),
        )
        .await;
    assert_eq!(error_paths(&both), ["input.poolId"]);
    let res = w.app.ok(Some(&w.founder), &apply, input).await;
    let loan = res["applyForFunding"].clone();
    assert_eq!(loan["pool"], Value::Null);
    assert_eq!(loan["formation"]["id"], venture.as_str());
    assert_eq!(
        loan["amount"],
        json!({ "amount": 12_000, "currency": "EUR" })
    );
    assert_eq!(
        loan["tally"]["eligiblePools"], 2,
        "every pool votes on a formation's"
    );

    let vote = format!(
        "mutation($i: CastAssemblyVoteInput!) {{ castAssemblyVote(input: $i) {{ {APPLICATION} }} }}"
    );
    for pool in [&a, &b] {
        w.app
            .ok(
                Some(&w.founder),
                &vote,
                json!({ "i": { "fundApplicationId": loan["id"], "poolId": pool, "choice": "FOR" } }),
            )
            .await;
    }
    let read = |token: String| {
        let app = &w.app;
        let id = loan["id"].clone();
        async move {
            app.ok(
                Some(&token),
                &format!("query($id: ID!) {{ fundApplication(id: $id) {{ {APPLICATION} }} }}"),
                json!({ "id": id }),
            )
            .await["fundApplication"]
                .clone()
        }
    };
    let approved = read(w.founder.clone()).await;
    assert_eq!(approved["status"], "APPROVED", "{approved:#}");
    assert_eq!(approved["pool"], Value::Null, "no pool to pay yet");
    assert_eq!(
        approved["nextRepaymentOn"],
        Value::Null,
        "nothing owed before it is paid"
    );
    let fund = "query($id: ID!) { parentEntity(id: $id) { ledger { balances { amount } } } }";
    let balance = |v: Value| v["parentEntity"]["ledger"]["balances"][0]["amount"].clone();
    assert_eq!(
        balance(
            w.app
                .ok(Some(&w.steward), fund, json!({ "id": w.parent }))
                .await
        ),
        50_000
    );

    // The steward approves the formation: its pool is paid, and repays.
    w.submit(&venture).await;
    let pool = w.approve(&w.steward, &venture).await;
    let pool = pool["data"]["approveFormation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let paid = read(w.founder.clone()).await;
    assert_eq!(paid["pool"]["id"], pool.as_str());
    assert_eq!(paid["status"], "APPROVED");
    let repaid = eventually("the first instalment is collected", || async {
        let l = read(w.founder.clone()).await;
        if l["instalmentsPaid"] == 1 {
            Ok(l)
        } else {
            Err(l)
        }
    })
    .await;
    assert!(repaid["nextRepaymentOn"].is_string());
    assert_eq!(
        balance(
            w.app
                .ok(Some(&w.steward), fund, json!({ "id": w.parent }))
                .await
        ),
        50_000 - 12_000 + 1_000
    );
    let ledger = w
        .app
        .ok(
            Some(&w.founder),
            "query($id: ID!) { pool(id: $id) { ledger { balances { amount } } } }",
            json!({ "id": pool }),
        )
        .await;
    assert_eq!(ledger["pool"]["ledger"]["balances"][0]["amount"], 11_000);

    // A formation that is withdrawn takes its open application with it.
    let other = prepare_formation(&w, TWO_GROUPS(), json!([]), "Other Venture", json!([])).await;
    let open = w
        .app
        .ok(
            Some(&w.founder),
            &apply,
            json!({ "i": { "formationId": other, "kind": "GRANT", "amount": 500, "purpose": "Paint" } }),
        )
        .await["applyForFunding"]
        .clone();
    w.app
        .ok(
            Some(&w.founder),
            "mutation($id: ID!) { withdrawFormation(formationId: $id) { status } }",
            json!({ "id": other }),
        )
        .await;
    let ended = w
        .app
        .ok(
            Some(&w.founder),
            &format!("query($id: ID!) {{ fundApplication(id: $id) {{ {APPLICATION} }} }}"),
            json!({ "id": open["id"] }),
        )
        .await;
    assert_eq!(ended["fundApplication"]["status"], "WITHDRAWN");
}
