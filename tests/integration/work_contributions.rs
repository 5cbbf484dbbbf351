//! Contributions of work, care and kind: recorded by members, confirmed as
//! the pool's rules say, counted in contribution accounts and, where the
//! rules make them labour shares, in the votes of a workers' group.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::{
    audit::get_csv,
    helpers::{TestApp, error_code, error_paths},
    payloads::assert_published_shape,
    pools::{PoolWorld, TWO_GROUPS},
    stub::Stub,
};

on_both_databases!(
    contributions_are_confirmed_and_counted_in_accounts,
    labour_shares_weigh_a_workers_vote_where_the_rules_say,
    who_may_do_what_with_contributions,
);

on_both_databases!(settings: crate::events::QUICK; recording_and_confirming_raise_webhooks);

const FIELDS: &str = "id kind label occurredOn quarterHours quantity unit description
    value { amount currency } status confirmations confirmationsRequired refusalReason decidedAt
    member { id } confirmedBy { id } refusedBy { id }";

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// Records a contribution as `token`; the whole answer.
async fn record(p: &PoolWorld, token: &str, input: Value) -> Value {
    let mut i = json!({ "poolId": p.pool, "kind": "WORK", "occurredOn": day(0),
        "quarterHours": 8, "description": "Repaired the shared bikes" });
    for (k, v) in input.as_object().unwrap() {
        i[k] = v.clone();
    }
    p.app()
        .gql(
            Some(token),
            &format!("mutation($i: RecordWorkContributionInput!) {{ recordWorkContribution(input: $i) {{ {FIELDS} }} }}"),
            json!({ "i": i }),
        )
        .await
}

async fn recorded(p: &PoolWorld, token: &str, input: Value) -> Value {
    let res = record(p, token, input).await;
    assert!(res.get("errors").is_none(), "{res:#}");
    res["data"]["recordWorkContribution"].clone()
}

/// Calls `confirm`, `refuse` or `withdraw` on contribution `id` as `token`.
async fn decide(p: &PoolWorld, token: &str, verb: &str, id: &Value, reason: Option<&str>) -> Value {
    let mutation = format!("{verb}WorkContribution");
    let input_type = format!(
        "{}{}WorkContributionInput",
        verb[..1].to_uppercase(),
        &verb[1..]
    );
    let mut input = json!({ "workContributionId": id });
    if let Some(r) = reason {
        input["reason"] = json!(r);
    }
    p.app()
        .gql(
            Some(token),
            &format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ {FIELDS} }} }}"),
            json!({ "i": input }),
        )
        .await
}

async fn accounts(p: &PoolWorld, token: &str, from: Option<String>, to: Option<String>) -> Value {
    p.app()
        .ok(
            Some(token),
            "query($id: ID!, $from: Date, $to: Date) { pool(id: $id) { contributionAccounts(from: $from, to: $to) {
                edges { node { member { id } count quarterHours labourShares
                    hours { kind label quarterHours } quantities { unit quantity } values { amount currency } } } } } }",
            json!({ "id": p.pool, "from": from, "to": to }),
        )
        .await["pool"]["contributionAccounts"]["edges"]
        .clone()
}

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

async fn contributions_are_confirmed_and_counted_in_accounts(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ann, ann_member) = p.join("ann@example.org", "workers").await;
    let (bob, bob_member) = p.join("bob@example.org", "workers").await;

    let work = recorded(&p, &ann, json!({})).await;
    assert_eq!(work["status"], "PENDING");
    assert_eq!(work["confirmationsRequired"], 1);
    assert_eq!(work["member"]["id"], ann_member.as_str());
    assert_eq!(work["occurredOn"], day(0));

    // The default rules: no one confirms their own.
    let own = decide(&p, &ann, "confirm", &work["id"], None).await;
    assert_eq!(error_code(&own), "FORBIDDEN", "{own:#}");
    let confirmed = decide(&p, &bob, "confirm", &work["id"], None).await;
    let confirmed = &confirmed["data"]["confirmWorkContribution"];
    assert_eq!(confirmed["status"], "CONFIRMED", "{confirmed:#}");
    assert_eq!(confirmed["confirmedBy"], json!([{ "id": bob_member }]));
    let twice = decide(&p, &bob, "confirm", &work["id"], None).await;
    assert_eq!(error_code(&twice), "CONFLICT");

    // In kind, ten days ago; confirmed by the admin.
    let bread = recorded(
        &p,
        &ann,
        json!({ "kind": "IN_KIND", "quarterHours": null, "quantity": 3, "unit": "loaves",
            "occurredOn": day(-10), "description": "Bread for the meeting" }),
    )
    .await;
    assert_eq!(
        decide(&p, &p.w.founder, "confirm", &bread["id"], None).await["data"]["confirmWorkContribution"]
            ["status"],
        "CONFIRMED"
    );
    // Withdrawn and refused ones count nowhere.
    let care = recorded(&p, &ann, json!({ "kind": "CARE", "quarterHours": 12 })).await;
    let withdrawn = decide(&p, &ann, "withdraw", &care["id"], None).await;
    assert_eq!(
        withdrawn["data"]["withdrawWorkContribution"]["status"],
        "WITHDRAWN"
    );
    let again = recorded(&p, &ann, json!({ "quarterHours": 40 })).await;
    let refused = decide(&p, &bob, "refuse", &again["id"], Some("That was a holiday")).await;
    let refused = &refused["data"]["refuseWorkContribution"];
    assert_eq!(refused["status"], "REFUSED");
    assert_eq!(refused["refusalReason"], "That was a holiday");
    assert_eq!(refused["refusedBy"]["id"], bob_member.as_str());
    let late = decide(&p, &bob, "confirm", &again["id"], None).await;
    assert_eq!(error_code(&late), "CONFLICT");

    // Validation, each error at its field.
    let res = record(
        &p,
        &ann,
        json!({ "occurredOn": day(5), "quarterHours": 200, "value": 100, "description": " " }),
    )
    .await;
    assert_eq!(error_code(&res), "VALIDATION");
    let mut paths = error_paths(&res);
    paths.sort();
    assert_eq!(
        paths,
        [
            "input.description",
            "input.occurredOn",
            "input.quarterHours",
            "input.value"
        ]
    );
    let res = record(&p, &ann, json!({ "occurredOn": day(-400) })).await;
    assert_eq!(error_paths(&res), ["input.occurredOn"]);
    let res = record(&p, &ann, json!({ "kind": "OTHER", "label": "Mentoring" })).await;
    assert_eq!(
        error_paths(&res),
        ["input.label"],
        "the rules define no other kinds"
    );

    // The account: the last five days hold the work, all time the bread too.
    let recent = accounts(&p, &bob, Some(day(-5)), Some(day(0))).await;
    assert_eq!(recent.as_array().unwrap().len(), 1, "{recent:#}");
    let a = &recent[0]["node"];
    assert_eq!(a["member"]["id"], ann_member.as_str());
    assert_eq!(a["count"], 1);
    assert_eq!(a["quarterHours"], 8);
    assert_eq!(
        a["hours"],
        json!([{ "kind": "WORK", "label": null, "quarterHours": 8 }])
    );
    assert_eq!(a["labourShares"], 0, "a recognition only");
    let all = accounts(&p, &bob, None, None).await;
    assert_eq!(all[0]["node"]["count"], 2);
    assert_eq!(
        all[0]["node"]["quantities"],
        json!([{ "unit": "loaves", "quantity": 3 }])
    );
    let before = accounts(&p, &bob, None, Some(day(-11))).await;
    assert_eq!(before, json!([]));
    let backwards = p
        .app()
        .gql(
            Some(&bob),
            "query($id: ID!, $from: Date, $to: Date) { pool(id: $id) { contributionAccounts(from: $from, to: $to) { edges { cursor } } } }",
            json!({ "id": p.pool, "from": day(0), "to": day(-1) }),
        )
        .await;
    assert_eq!(error_code(&backwards), "VALIDATION");

    // The lists: the pool's, filtered, and the member's own history.
    let data = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!, $m: ID!) { pool(id: $id) {
                confirmed: workContributions(status: CONFIRMED) { edges { node { id } } }
                mine: workContributions(memberId: $m, first: 2) { edges { node { id } } pageInfo { hasNextPage } } }
              node(id: $m) { ... on Member { workContributions(status: REFUSED) { edges { node { id refusalReason } } } } } }",
            json!({ "id": p.pool, "m": ann_member }),
        )
        .await;
    let ids = |v: &Value| -> Vec<Value> {
        v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect()
    };
    assert_eq!(
        ids(&data["pool"]["confirmed"]),
        [work["id"].clone(), bread["id"].clone()]
    );
    assert_eq!(ids(&data["pool"]["mine"]).len(), 2);
    assert_eq!(data["pool"]["mine"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        ids(&data["node"]["workContributions"]),
        [again["id"].clone()]
    );

    // The CSV export beside the others, for members and the parent.
    for token in [&bob, &p.w.auditor] {
        let (status, rows) = get_csv(
            p.app(),
            Some(token),
            &format!("/exports/pools/{}/work-contributions.csv", p.pool),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(rows.len(), 4, "{rows:#?}");
        let first = &rows[0];
        assert_eq!(first["work_contribution_id"], work["id"].as_str().unwrap());
        assert_eq!(first["kind"], "WORK");
        assert_eq!(first["hours"], "2.00");
        assert_eq!(first["status"], "CONFIRMED");
        assert_eq!(first["occurred_on"], day(0));
        assert_eq!(rows[1]["quantity"], "3");
        assert_eq!(rows[1]["unit"], "loaves");
        assert_eq!(rows[3]["refusal_reason"], "That was a holiday");
    }
    let (status, rows) = get_csv(
        p.app(),
        Some(&p.w.steward),
        &format!(
            "/exports/parent-entities/{}/work-contributions.csv",
            p.w.parent
        ),
    )
    .await;
    assert_eq!((status, rows.len()), (200, 4));
    let (outsider, _) = p.app().sign_up("olga@example.org").await;
    let (status, _) = get_csv(
        p.app(),
        Some(&outsider),
        &format!("/exports/pools/{}/work-contributions.csv", p.pool),
    )
    .await;
    assert_eq!(status, 403);

    // Every step is in the pool's trail.
    let actions = crate::audit::actions(
        p.app(),
        &p.w.auditor,
        json!({ "poolId": p.pool, "entityType": "WorkContribution" }),
    )
    .await;
    assert_eq!(
        actions,
        [
            "workContribution.recorded",
            "workContribution.confirmed",
            "workContribution.recorded",
            "workContribution.confirmed",
            "workContribution.recorded",
            "workContribution.withdrawn",
            "workContribution.recorded",
            "workContribution.refused",
        ]
    );
}

async fn labour_shares_weigh_a_workers_vote_where_the_rules_say(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ann, ann_member) = p.join("ann@example.org", "workers").await;
    let (bob, _) = p.join("bob@example.org", "workers").await;
    let founder = p.w.founder.clone();

    // A day's work, confirmed under the default rules: a recognition only.
    let work = recorded(&p, &ann, json!({ "quarterHours": 96 })).await;
    decide(&p, &bob, "confirm", &work["id"], None).await;
    let one_against_two = async || {
        let id = p.propose(&founder, json!({})).await;
        p.vote(&ann, &id, "agree").await;
        p.vote(&bob, &id, "disagree").await;
        p.vote(&founder, &id, "disagree").await;
        p.close(&founder, &id).await
    };
    let closed = one_against_two().await;
    assert_eq!(closed["outcome"], "FAILED", "{closed:#}");
    assert_eq!(closed["result"]["agreeBasisPoints"], 3333);

    // Rules that could never apply are refused when proposed.
    let res = p
        .app()
        .gql(
            Some(&founder),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "title": "Rules", "kind": "RULES_CHANGE", "rulesChange": [
                { "setWorkContributionRules": { "rules": {
                    "confirmationsRequired": 9, "confirmers": "ANY_MEMBER", "selfConfirmation": false,
                    "valued": false, "meaning": "RECOGNITION", "hoursPerShare": 0,
                    "otherKinds": ["Mentoring", "mentoring"] } } }] } }),
        )
        .await;
    assert_eq!(error_code(&res), "VALIDATION", "{res:#}");
    assert_eq!(
        error_paths(&res),
        [
            "input.rulesChange[0].rules.confirmationsRequired",
            "input.rulesChange[0].rules.hoursPerShare",
            "input.rulesChange[0].rules.otherKinds[1]",
        ]
    );
    adopt(
        &p,
        &[&founder, &ann, &bob],
        json!([{ "setWorkContributionRules": { "rules": {
            "confirmationsRequired": 1, "confirmers": "ADMINS", "selfConfirmation": false,
            "valued": true, "meaning": "LABOUR_SHARES", "hoursPerShare": 8, "maxLabourShares": 5 } } }]),
    )
    .await;
    let rules = p
        .app()
        .ok(
            Some(&ann),
            "query($id: ID!) { pool(id: $id) { rulesDocument workContributionRules { stated confirmers valued meaning hoursPerShare maxLabourShares } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let pool = &rules["pool"];
    assert_eq!(
        pool["workContributionRules"],
        json!({ "stated": true, "confirmers": "ADMINS", "valued": true, "meaning": "LABOUR_SHARES", "hoursPerShare": 8, "maxLabourShares": 5 })
    );
    let doc = pool["rulesDocument"].as_str().unwrap();
    assert!(
        doc.contains("## 6. Contributions of work, care and kind"),
        "{doc}"
    );
    assert!(
        doc.contains("each 8 confirmed hours add one to the member's vote"),
        "{doc}"
    );

    // 24 hours at 8 hours a share: 3 labour shares, so Ann's ballot is 4.
    let shares = accounts(&p, &ann, None, None).await;
    assert_eq!(shares[0]["node"]["member"]["id"], ann_member.as_str());
    assert_eq!(shares[0]["node"]["labourShares"], 3);
    let closed = one_against_two().await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    assert_eq!(closed["result"]["agreeBasisPoints"], 6666);
    assert_eq!(
        closed["result"]["ballots"], 3,
        "the quorum still counts people"
    );

    // Now only admins confirm, and a value may be stated.
    let valued = recorded(
        &p,
        &ann,
        json!({ "kind": "CARE", "quarterHours": 96, "value": 5000 }),
    )
    .await;
    assert_eq!(
        valued["value"],
        json!({ "amount": 5000, "currency": "EUR" })
    );
    let by_member = decide(&p, &bob, "confirm", &valued["id"], None).await;
    assert_eq!(error_code(&by_member), "FORBIDDEN", "{by_member:#}");
    let by_admin = decide(&p, &founder, "confirm", &valued["id"], None).await;
    assert_eq!(
        by_admin["data"]["confirmWorkContribution"]["status"],
        "CONFIRMED"
    );
    let a = &accounts(&p, &ann, None, None).await[0]["node"];
    assert_eq!(a["labourShares"], 5, "48 hours: 6 shares, at most 5");
    assert_eq!(a["values"], json!([{ "amount": 5000, "currency": "EUR" }]));
}

async fn who_may_do_what_with_contributions(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ann, _) = p.join("ann@example.org", "workers").await;
    let (bob, _) = p.join("bob@example.org", "users").await;
    let (outsider, _) = p.app().sign_up("olga@example.org").await;
    let auditor = p.w.auditor.clone();
    let steward = p.w.steward.clone();

    let work = recorded(&p, &ann, json!({})).await;
    // Only members record; the parent reads, it does not act.
    for token in [&outsider, &auditor, &steward] {
        let res = record(&p, token, json!({})).await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    // Outsiders are told the contribution does not exist; the parent that
    // sees it is refused; another member may not withdraw it.
    for verb in ["confirm", "refuse", "withdraw"] {
        let reason = (verb == "refuse").then_some("no");
        let res = decide(&p, &outsider, verb, &work["id"], reason).await;
        assert_eq!(error_code(&res), "NOT_FOUND", "{verb}: {res:#}");
        let missing = decide(&p, &outsider, verb, &json!(uuid::Uuid::now_v7()), reason).await;
        assert_eq!(error_code(&missing), "NOT_FOUND");
        for token in [&auditor, &steward] {
            let res = decide(&p, token, verb, &work["id"], reason).await;
            assert_eq!(error_code(&res), "FORBIDDEN", "{verb}: {res:#}");
        }
    }
    let res = decide(&p, &bob, "withdraw", &work["id"], None).await;
    assert_eq!(error_code(&res), "FORBIDDEN");
    // Permission before input: a refusal's reason is checked only for
    // those who may refuse.
    let res = decide(&p, &ann, "refuse", &work["id"], Some("")).await;
    assert_eq!(error_code(&res), "FORBIDDEN", "not her own");
    let res = decide(&p, &bob, "refuse", &work["id"], Some("")).await;
    assert_eq!(error_paths(&res), ["input.reason"]);
    // Any member of another group confirms by default; an admin too.
    let res = decide(&p, &bob, "confirm", &work["id"], None).await;
    assert_eq!(
        res["data"]["confirmWorkContribution"]["status"],
        "CONFIRMED"
    );

    // Readers: members and the parent's stewards and auditors.
    let query = "query($id: ID!, $w: ID!) { pool(id: $id) {
        workContributions { edges { node { id } } }
        contributionAccounts { edges { node { count } } } }
        node(id: $w) { id } }";
    let vars = json!({ "id": p.pool, "w": work["id"] });
    for token in [&ann, &bob, &p.w.founder, &auditor, &steward] {
        let data = p.app().ok(Some(token), query, vars.clone()).await;
        assert_eq!(
            data["pool"]["workContributions"]["edges"][0]["node"]["id"],
            work["id"]
        );
        assert_eq!(
            data["pool"]["contributionAccounts"]["edges"][0]["node"]["count"],
            1
        );
        assert_eq!(data["node"]["id"], work["id"]);
    }
    let res = p.app().gql(Some(&outsider), query, vars).await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let node = p
        .app()
        .ok(
            Some(&outsider),
            "query($w: ID!) { node(id: $w) { id } }",
            json!({ "w": work["id"] }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
}

async fn recording_and_confirming_raise_webhooks(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiver = Stub::start().await;
    p.pool_endpoint(
        &receiver.url,
        &[
            "work_contribution.recorded",
            "work_contribution.confirmed",
            "work_contribution.refused",
        ],
    )
    .await;
    let (ann, ann_member) = p.join("ann@example.org", "workers").await;
    let work = recorded(&p, &ann, json!({ "kind": "CARE" })).await;
    decide(&p, &p.w.founder, "confirm", &work["id"], None).await;
    let other = recorded(&p, &ann, json!({})).await;
    decide(
        &p,
        &p.w.founder,
        "refuse",
        &other["id"],
        Some("Not this pool's"),
    )
    .await;
    let seen = receiver.wait_for(4, |_| true).await;
    // Each event's object is as it was when the event was written.
    let mut kinds: Vec<(String, String)> = seen
        .iter()
        .map(|s| {
            assert_published_shape(&s.body);
            assert_eq!(s.body["data"]["member"]["id"], ann_member.as_str());
            (
                s.body["type"].as_str().unwrap().to_owned(),
                s.body["data"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    let expected: Vec<(String, String)> = [
        ("work_contribution.confirmed", "CONFIRMED"),
        ("work_contribution.recorded", "PENDING"),
        ("work_contribution.recorded", "PENDING"),
        ("work_contribution.refused", "REFUSED"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(kinds, expected);
}
