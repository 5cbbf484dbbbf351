//! Rules that govern: a proposal can only raise the rules' bars, and the
//! members change the rules by a `RULES_CHANGE` proposal that applies, is
//! versioned and regenerates the document, or applies nothing.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    a_proposal_may_raise_the_bars_never_lower_them,
    every_kind_of_rules_change_applies_and_is_versioned,
    a_change_that_fails_its_threshold_applies_nothing,
    weighted_rules_changes_pass_in_every_group,
    the_parent_forbids_or_approves_changes,
    a_change_overtaken_by_another_lapses,
    changes_that_could_never_be_adopted_are_refused,
    adopted_rules_are_enforced,
);

const RULES: &str = "query($id: ID!) { pool(id: $id) {
    rulesDocument
    governance { defaultQuorumPercent defaultPassThresholdPercent rulesChangeThresholdPercent
      minimumVotingDays defaultVotingDays expenseQuorumPercent expensePassThresholdPercent
      assetLock distributesSurplus
      contributionBounds { interval minimum { amount } maximum { amount } } }
    stakeholderGroups { id key name votingWeight retiredAt }
    rules { current { version document diff proposal { id } }
            versions(first: 100) { edges { node { version } } } } } }";

const PROPOSAL: &str = "query($id: ID!) { proposal(id: $id) { status outcome kind
    quorumPercent passThresholdPercent
    rulesChange { status baseVersion needsParentApproval proposedDocument diff
      changes { kind summary groupId percent name votingWeight enabled } } } }";

/// A pool with the founder and two members in two groups of weight 1.
struct Rules {
    p: PoolWorld,
    members: Vec<String>,
}

impl Rules {
    async fn new(app: TestApp) -> Self {
        Self::with_groups(app, TWO_GROUPS()).await
    }

    async fn with_groups(app: TestApp, groups: Value) -> Self {
        let p = PoolWorld::new(app, groups).await;
        let mut members = vec![p.w.founder.clone()];
        for (email, group) in [("w@example.org", "workers"), ("u@example.org", "users")] {
            members.push(p.join(email, group).await.0);
        }
        Self { p, members }
    }

    fn app(&self) -> &TestApp {
        self.p.app()
    }

    async fn pool(&self) -> Value {
        self.app()
            .ok(Some(&self.p.w.founder), RULES, json!({ "id": self.p.pool }))
            .await["pool"]
            .clone()
    }

    async fn proposal(&self, id: &str) -> Value {
        self.app()
            .ok(Some(&self.p.w.founder), PROPOSAL, json!({ "id": id }))
            .await["proposal"]
            .clone()
    }

    /// Proposes `changes`; the raw answer.
    async fn try_propose(&self, changes: Value) -> Value {
        self.app()
            .gql(
                Some(&self.p.w.founder),
                "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
                json!({ "i": { "poolId": self.p.pool, "title": "Change the rules",
                    "kind": "RULES_CHANGE", "rulesChange": changes } }),
            )
            .await
    }

    async fn propose(&self, changes: Value) -> String {
        let res = self.try_propose(changes).await;
        res["data"]["createProposal"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{res:#}"))
            .to_owned()
    }

    /// Everyone votes `choices[i]` (agree when not given), then the founder
    /// closes it.
    async fn decide(&self, id: &str, choices: &[&str]) -> Value {
        for (i, m) in self.members.iter().enumerate() {
            let choice = choices.get(i).copied().unwrap_or("agree");
            let res = self.p.vote(m, id, choice).await;
            assert!(res.get("errors").is_none(), "{res:#}");
        }
        self.p.close(&self.p.w.founder, id).await
    }

    async fn set_policy(&self, forbidden: Value, needing_approval: Value) {
        self.app()
            .ok(
                Some(&self.p.w.steward),
                "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
                json!({ "i": { "parentEntityId": self.p.w.parent,
                    "rulesChangesForbidden": forbidden, "rulesChangesNeedingApproval": needing_approval } }),
            )
            .await;
    }
}

async fn a_proposal_may_raise_the_bars_never_lower_them(app: TestApp) {
    let r = Rules::new(app).await;
    let create = |input: Value| {
        let mut i = json!({ "poolId": r.p.pool, "title": "Lower the bar" });
        for (k, v) in input.as_object().unwrap() {
            i[k] = v.clone();
        }
        r.app().gql(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id quorumPercent passThresholdPercent } }",
            json!({ "i": i }),
        )
    };
    // The walk-through that passed with one ballot of three at 1 %.
    for (field, value) in [
        ("quorumPercent", 1),
        ("quorumPercent", 0),
        ("passThresholdPercent", 1),
    ] {
        let res = create(json!({ field: value })).await;
        assert_eq!(
            error_paths(&res),
            vec![format!("input.{field}")],
            "{field} {value}: {res:#}"
        );
        assert!(
            res["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("never a lower one"),
            "{res:#}"
        );
    }
    let soon = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let res = create(json!({ "closesAt": soon })).await;
    assert_eq!(error_paths(&res), vec!["input.closesAt"], "{res:#}");
    let res = create(json!({ "votingRule": "WEIGHTED_BY_GROUP" })).await;
    assert_eq!(error_paths(&res), vec!["input.votingRule"], "{res:#}");
    let res = create(json!({ "kind": "POLL", "options": ["a", "b"], "quorumPercent": 10 })).await;
    assert_eq!(error_paths(&res), vec!["input.quorumPercent"], "{res:#}");

    // A higher bar is the proposer's to set.
    let higher = create(json!({ "quorumPercent": 90, "passThresholdPercent": 75 })).await;
    assert_eq!(
        higher["data"]["createProposal"]["quorumPercent"], 90,
        "{higher:#}"
    );
    // By default the rules' bars: one ballot of three is no quorum.
    let plain = create(json!({})).await;
    let id = plain["data"]["createProposal"]["id"].as_str().unwrap();
    assert_eq!(plain["data"]["createProposal"]["quorumPercent"], 50);
    r.p.vote(&r.members[1], id, "agree").await;
    assert_eq!(r.p.close(&r.p.w.founder, id).await["outcome"], "NO_QUORUM");

    // A rules change has the amendment threshold as its floor.
    let res = r
        .app()
        .gql(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "title": "t", "kind": "RULES_CHANGE",
                "passThresholdPercent": 50, "rulesChange": [{ "setQuorum": { "percent": 60 } }] } }),
        )
        .await;
    assert_eq!(
        error_paths(&res),
        vec!["input.passThresholdPercent"],
        "{res:#}"
    );
    // And is put to every voting group.
    let res = r
        .app()
        .gql(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "title": "t", "kind": "RULES_CHANGE",
                "eligibleGroupIds": [r.p.groups["workers"]],
                "rulesChange": [{ "setQuorum": { "percent": 60 } }] } }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.eligibleGroupIds"], "{res:#}");
    // Changes only with that kind, and that kind only with changes.
    let res = r
        .app()
        .gql(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "title": "t",
                "rulesChange": [{ "setQuorum": { "percent": 60 } }] } }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.rulesChange"], "{res:#}");
}

/// One change of every kind, each proposed, shown, passed, applied and
/// versioned, with the regenerated document stating it.
async fn every_kind_of_rules_change_applies_and_is_versioned(app: TestApp) {
    let r = Rules::new(app).await;
    let users = r.p.groups["users"].clone();
    let workers = r.p.groups["workers"].clone();
    let steps: Vec<(Value, &str)> = vec![
        (
            json!({ "addGroup": { "key": "friends", "name": "Friends", "kind": "SUPPORTERS",
                "votingWeight": 0, "admission": "OPEN" } }),
            "| Friends | SUPPORTERS | 0 |",
        ),
        (
            json!({ "renameGroup": { "groupId": users, "name": "Riders" } }),
            "| Riders |",
        ),
        (
            json!({ "setVotingWeight": { "groupId": workers, "votingWeight": 2 } }),
            "| Workers | WORKERS | 2 |",
        ),
        (
            json!({ "setAdmission": { "groupId": workers, "admission": "INVITATION" } }),
            "| Workers | WORKERS | 2 | by invitation |",
        ),
        (
            json!({ "setQuorum": { "percent": 60 } }),
            "a quorum of 60% of the eligible members",
        ),
        (
            json!({ "setPassThreshold": { "percent": 55 } }),
            "passes with more than 55% of the votes",
        ),
        (
            json!({ "setAmendmentThreshold": { "percent": 70 } }),
            "that more than 70% of the votes",
        ),
        (
            json!({ "setVotingPeriod": { "minimumDays": 3, "defaultDays": 10 } }),
            "Voting stays open for at least 3 days, and for 10 days",
        ),
        (
            json!({ "setExpensePolicy": { "quorumPercent": 70, "passThresholdPercent": 60 } }),
            "with a quorum of 70% and more than 60% of the votes",
        ),
        (
            json!({ "setContributionBounds": { "bounds": { "interval": "MONTH", "minimum": 0, "maximum": 5000 } } }),
            "between 0.00 and 50.00 EUR per month",
        ),
        (
            json!({ "setSurplusDistribution": { "distributes": true } }),
            "Surplus may be distributed to members",
        ),
        (
            json!({ "addGroup": { "key": "alumni", "name": "Alumni", "kind": "OTHER",
                "votingWeight": 0, "admission": "INVITATION" } }),
            "| Alumni |",
        ),
    ];
    let mut version = 1;
    for (change, says) in &steps {
        let id = r.propose(json!([change])).await;
        let shown = r.proposal(&id).await;
        let rc = &shown["rulesChange"];
        assert_eq!(rc["status"], "VOTING", "{shown:#}");
        assert_eq!(rc["baseVersion"], version);
        assert!(
            rc["proposedDocument"].as_str().unwrap().contains(says),
            "{change}: the proposed document should say {says:?}: {shown:#}"
        );
        let diff = rc["diff"].as_str().unwrap();
        assert!(
            diff.lines().any(|l| l.starts_with('+') && l.contains(says)),
            "{change}: the diff shows the new line: {diff}"
        );
        assert_eq!(
            shown["passThresholdPercent"],
            if version >= 8 { 70 } else { 67 }
        );
        // All three agree: above any threshold used here.
        let closed = r.decide(&id, &[]).await;
        assert_eq!(closed["outcome"], "PASSED", "{change}: {closed:#}");
        version += 1;
        let after = r.proposal(&id).await;
        assert_eq!(after["rulesChange"]["status"], "ADOPTED", "{after:#}");
        let pool = r.pool().await;
        assert_eq!(pool["rules"]["current"]["version"], version);
        assert_eq!(pool["rules"]["current"]["proposal"]["id"], id.as_str());
        assert_eq!(
            pool["rules"]["current"]["document"], rc["proposedDocument"],
            "adopted exactly as shown"
        );
        assert_eq!(pool["rulesDocument"], rc["proposedDocument"]);
        assert!(
            pool["rules"]["current"]["diff"]
                .as_str()
                .unwrap()
                .contains(says)
        );
    }
    // Retiring the empty group the first step added.
    let pool = r.pool().await;
    let friends = pool["stakeholderGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "friends")
        .unwrap()["id"]
        .clone();
    let id = r
        .propose(json!([{ "retireGroup": { "groupId": friends } }]))
        .await;
    let closed = r.decide(&id, &[]).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    let pool = r.pool().await;
    assert!(
        !pool["rulesDocument"]
            .as_str()
            .unwrap()
            .contains("| Friends |")
    );
    let retired = pool["stakeholderGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "friends")
        .unwrap()
        .clone();
    assert!(retired["retiredAt"].is_string(), "{retired:#}");
    let (late, _) = r.app().sign_up("late@example.org").await;
    let res = r
        .app()
        .gql(
            Some(&late),
            "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "stakeholderGroupId": retired["id"] } }),
        )
        .await;
    assert_eq!(
        error_paths(&res),
        vec!["input.stakeholderGroupId"],
        "{res:#}"
    );

    let g = &pool["governance"];
    assert_eq!(g["defaultQuorumPercent"], 60);
    assert_eq!(g["defaultPassThresholdPercent"], 55);
    assert_eq!(g["rulesChangeThresholdPercent"], 70);
    assert_eq!(g["minimumVotingDays"], 3);
    assert_eq!(g["defaultVotingDays"], 10);
    assert_eq!(g["expenseQuorumPercent"], 70);
    assert_eq!(g["expensePassThresholdPercent"], 60);
    assert_eq!(g["distributesSurplus"], true);
    assert_eq!(g["contributionBounds"]["maximum"]["amount"], 5000);
    let versions = pool["rules"]["versions"]["edges"].as_array().unwrap();
    let numbers: Vec<i64> = versions
        .iter()
        .map(|e| e["node"]["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=14).collect::<Vec<_>>());

    // The trail records each adoption.
    let adopted = crate::audit::actions(
        r.app(),
        &r.p.w.steward,
        json!({ "poolId": r.p.pool, "action": "rules.adopted" }),
    )
    .await;
    assert_eq!(adopted.len(), 13, "{adopted:?}");
}

async fn a_change_that_fails_its_threshold_applies_nothing(app: TestApp) {
    let r = Rules::new(app).await;
    let before = r.pool().await;
    let id = r.propose(json!([{ "setQuorum": { "percent": 75 } }])).await;
    // Two of three is 66 %: below the 67 % the rules ask for a change.
    let closed = r.decide(&id, &["agree", "agree", "disagree"]).await;
    assert_eq!(closed["outcome"], "FAILED", "{closed:#}");
    assert_eq!(r.proposal(&id).await["rulesChange"]["status"], "NOT_PASSED");
    let after = r.pool().await;
    assert_eq!(after["rules"]["current"]["version"], 1);
    assert_eq!(after["rulesDocument"], before["rulesDocument"]);
    assert_eq!(after["governance"], before["governance"]);
}

async fn weighted_rules_changes_pass_in_every_group(app: TestApp) {
    let r = Rules::with_groups(
        app,
        json!([
            { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 3, "admission": "OPEN" },
            { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" },
        ]),
    )
    .await;
    assert!(
        r.pool().await["rulesDocument"]
            .as_str()
            .unwrap()
            .contains("accept in each voting group")
    );
    // Founder and w are workers, u is a user: the workers' weight carries
    // the weighted sum (75 %), but the users' group disagrees.
    let id = r.propose(json!([{ "setQuorum": { "percent": 60 } }])).await;
    let closed = r.decide(&id, &["agree", "agree", "disagree"]).await;
    assert_eq!(closed["result"]["agreeBasisPoints"], 7500);
    assert_eq!(closed["outcome"], "FAILED", "{closed:#}");
    // The same weighted sum decides an ordinary proposal.
    let plain = r.p.propose(&r.members[0], json!({})).await;
    let closed = r.decide(&plain, &["agree", "agree", "disagree"]).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
    // With every group agreeing, the change passes.
    let id = r.propose(json!([{ "setQuorum": { "percent": 60 } }])).await;
    assert_eq!(r.decide(&id, &[]).await["outcome"], "PASSED");
    assert_eq!(r.pool().await["rules"]["current"]["version"], 2);
}

async fn the_parent_forbids_or_approves_changes(app: TestApp) {
    let r = Rules::new(app).await;
    r.set_policy(json!(["SET_QUORUM"]), json!(["SET_ASSET_LOCK"]))
        .await;
    let res = r
        .try_propose(
            json!([{ "setPassThreshold": { "percent": 60 } }, { "setQuorum": { "percent": 60 } }]),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.rulesChange[1]"], "{res:#}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not let its pools"),
        "{res:#}"
    );

    // Anything touching the asset lock waits for a steward, even setting
    // the lock the template already requires.
    let held = r
        .propose(json!([{ "setAssetLock": { "locked": true } }, { "setPassThreshold": { "percent": 60 } }]))
        .await;
    assert_eq!(
        r.proposal(&held).await["rulesChange"]["needsParentApproval"],
        true
    );
    assert_eq!(r.decide(&held, &[]).await["outcome"], "PASSED");
    assert_eq!(
        r.proposal(&held).await["rulesChange"]["status"],
        "AWAITING_PARENT"
    );
    assert_eq!(r.pool().await["rules"]["current"]["version"], 1);
    let approve =
        "mutation($id: ID!) { approveRulesChange(proposalId: $id) { rulesChange { status } } }";
    let by_member = r
        .app()
        .gql(Some(&r.members[1]), approve, json!({ "id": held }))
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN", "{by_member:#}");
    let (outsider, _) = r.app().sign_up("outsider@example.org").await;
    let by_outsider = r
        .app()
        .gql(Some(&outsider), approve, json!({ "id": held }))
        .await;
    assert_eq!(error_code(&by_outsider), "NOT_FOUND", "{by_outsider:#}");
    let approved = r
        .app()
        .ok(Some(&r.p.w.steward), approve, json!({ "id": held }))
        .await;
    assert_eq!(
        approved["approveRulesChange"]["rulesChange"]["status"],
        "ADOPTED"
    );
    let pool = r.pool().await;
    assert_eq!(pool["rules"]["current"]["version"], 2);
    assert_eq!(pool["governance"]["defaultPassThresholdPercent"], 60);
    let again = r
        .app()
        .gql(Some(&r.p.w.steward), approve, json!({ "id": held }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    let declined = r
        .propose(json!([{ "setAssetLock": { "locked": true } }, { "setPassThreshold": { "percent": 65 } }]))
        .await;
    r.decide(&declined, &[]).await;
    let decline = "mutation($id: ID!, $r: String!) { declineRulesChange(proposalId: $id, reason: $r) { rulesChange { status } } }";
    let empty = r
        .app()
        .gql(
            Some(&r.p.w.steward),
            decline,
            json!({ "id": declined, "r": "" }),
        )
        .await;
    assert_eq!(error_paths(&empty), vec!["reason"]);
    let done = r
        .app()
        .ok(
            Some(&r.p.w.steward),
            decline,
            json!({ "id": declined, "r": "We keep the bar where it is" }),
        )
        .await;
    assert_eq!(
        done["declineRulesChange"]["rulesChange"]["status"],
        "DECLINED_BY_PARENT"
    );
    let pool = r.pool().await;
    assert_eq!(pool["rules"]["current"]["version"], 2);
    assert_eq!(pool["governance"]["defaultPassThresholdPercent"], 60);
}

async fn a_change_overtaken_by_another_lapses(app: TestApp) {
    let r = Rules::new(app).await;
    let first = r.propose(json!([{ "setQuorum": { "percent": 60 } }])).await;
    let second = r.propose(json!([{ "setQuorum": { "percent": 70 } }])).await;
    assert_eq!(r.decide(&first, &[]).await["outcome"], "PASSED");
    assert_eq!(r.decide(&second, &[]).await["outcome"], "PASSED");
    assert_eq!(r.proposal(&second).await["rulesChange"]["status"], "LAPSED");
    let pool = r.pool().await;
    assert_eq!(pool["rules"]["current"]["version"], 2);
    assert_eq!(pool["governance"]["defaultQuorumPercent"], 60);
}

async fn changes_that_could_never_be_adopted_are_refused(app: TestApp) {
    let r = Rules::new(app).await;
    let workers = r.p.groups["workers"].clone();
    let users = r.p.groups["users"].clone();
    let refused = |changes: Value, path: &'static str| {
        let r = &r;
        async move {
            let res = r.try_propose(changes.clone()).await;
            assert_eq!(error_code(&res), "VALIDATION", "{changes}: {res:#}");
            let mut paths = error_paths(&res);
            paths.dedup();
            assert_eq!(paths, vec![path.to_owned()], "{changes}: {res:#}");
        }
    };
    refused(
        json!([{ "retireGroup": { "groupId": workers } }]),
        "input.rulesChange[0].groupId",
    )
    .await;
    refused(
        json!([
            { "setVotingWeight": { "groupId": workers, "votingWeight": 0 } },
            { "setVotingWeight": { "groupId": users, "votingWeight": 0 } }
        ]),
        "input.rulesChange",
    )
    .await;
    refused(
        json!([{ "addGroup": { "key": "money", "name": "Money", "kind": "INVESTORS",
            "votingWeight": 1, "admission": "OPEN" } }]),
        "input.rulesChange",
    )
    .await;
    refused(
        json!([{ "addGroup": { "key": "workers", "name": "More", "kind": "WORKERS",
            "votingWeight": 1, "admission": "OPEN" } }]),
        "input.rulesChange[0].key",
    )
    .await;
    refused(
        json!([{ "renameGroup": { "groupId": users, "name": "workers" } }]),
        "input.rulesChange[0].name",
    )
    .await;
    refused(
        json!([{ "setAssetLock": { "locked": false } }]),
        "input.rulesChange[0].locked",
    )
    .await;
    refused(
        json!([{ "setAmendmentThreshold": { "percent": 40 } }]),
        "input.rulesChange[0].percent",
    )
    .await;
    refused(
        json!([{ "setPassThreshold": { "percent": 80 } }]),
        "input.rulesChange",
    )
    .await;
    refused(
        json!([
            { "setAdmission": { "groupId": workers, "admission": "INVITATION" } },
            { "setAdmission": { "groupId": users, "admission": "INVITATION" } }
        ]),
        "input.rulesChange",
    )
    .await;
    refused(
        json!([{ "setVotingPeriod": { "minimumDays": 5, "defaultDays": 2 } }]),
        "input.rulesChange[0].defaultDays",
    )
    .await;
    refused(json!([]), "input.rulesChange").await;
    let unknown = r
        .try_propose(json!([{ "setVotingWeight": { "groupId": "nope", "votingWeight": 1 } }]))
        .await;
    assert_eq!(
        error_paths(&unknown),
        vec!["input.rulesChange[0].setVotingWeight.groupId"]
    );
    let two = r
        .try_propose(
            json!([{ "setQuorum": { "percent": 60 }, "setPassThreshold": { "percent": 60 } }]),
        )
        .await;
    assert!(two.get("errors").is_some(), "one change per entry: {two:#}");
    // Nothing was proposed, so nothing can apply.
    assert_eq!(r.pool().await["rules"]["current"]["version"], 1);
}

async fn adopted_rules_are_enforced(app: TestApp) {
    let r = Rules::new(app).await;
    let id = r
        .propose(json!([
            { "setContributionBounds": { "bounds": { "interval": "MONTH", "minimum": 100, "maximum": 5000 } } },
            { "setVotingPeriod": { "minimumDays": 3, "defaultDays": 5 } },
            { "setQuorum": { "percent": 75 } }
        ]))
        .await;
    assert_eq!(r.decide(&id, &[]).await["outcome"], "PASSED");
    let scale = |min: i64, max: i64, interval: &str| {
        r.app().gql(
            Some(&r.p.w.founder),
            "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "currency": "EUR", "interval": interval,
                "minimum": min, "maximum": max, "suggested": min } }),
        )
    };
    let res = scale(0, 9000, "MONTH").await;
    assert_eq!(
        error_paths(&res),
        vec!["input.minimum", "input.maximum"],
        "{res:#}"
    );
    let res = scale(100, 5000, "YEAR").await;
    assert_eq!(error_paths(&res), vec!["input.interval"], "{res:#}");
    let res = scale(100, 5000, "MONTH").await;
    assert!(res.get("errors").is_none(), "{res:#}");

    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let res = r
        .app()
        .gql(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": r.p.pool, "title": "Soon", "closesAt": soon } }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.closesAt"], "{res:#}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at least 3 days")
    );
    let res = r
        .app()
        .ok(
            Some(&r.members[1]),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { quorumPercent closesAt } }",
            json!({ "i": { "poolId": r.p.pool, "title": "Later" } }),
        )
        .await;
    assert_eq!(res["createProposal"]["quorumPercent"], 75);
    let closes =
        chrono::DateTime::parse_from_rfc3339(res["createProposal"]["closesAt"].as_str().unwrap())
            .unwrap();
    let days = (closes.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!(
        (119..=120).contains(&days),
        "five days by default: {days} h"
    );
}
