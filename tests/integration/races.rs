//! Concurrent changes of one object: each ends in a state some order of the
//! calls would have produced, and every caller gets an answer it can act on.

use std::collections::BTreeMap;

use entities::{
    audit_event, delegation,
    formation::{self, FormationStatus},
    membership, pool,
    pool::PoolStatus,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    formations::World,
    helpers::{TestApp, error_code},
    pools::PoolWorld,
};

on_both_databases!(
    submit_edit_and_approve_race_to_a_consistent_state,
    a_stale_expected_version_is_a_conflict,
    concurrent_approvals_answer_with_the_one_pool,
    one_application_is_decided_once,
    one_proposal_closes_once,
    one_member_keeps_one_delegation,
);

/// Iterations of the submit/edit/approve race per database: enough for
/// every interleaving to turn up, few enough for well under a minute.
const RACES: usize = 150;

/// Steps that make a formation ready to submit, each answering only what
/// the tests read, so one costs little.
const STEPS: [&str; 6] = [
    "setStakeholderGroups",
    "setFoundingMembers",
    "setFinancialProfile",
    "chooseLegalTemplate",
    "nameFormation",
    "selectApps",
];

/// `startFormation` and the six steps: the version a ready formation is at.
const READY_VERSION: i64 = 1 + STEPS.len() as i64;

fn finances(formation: &str, currency: &str) -> Value {
    json!({ "formationId": formation, "distributesSurplus": false, "raisesShareCapital": false,
        "acceptsInvestorMembers": false, "tradesWithPublic": false, "currency": currency })
}

async fn mutate(w: &World, token: &str, mutation: &str, input: Value, fields: &str) -> Value {
    let query = format!(
        "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ {fields} }} }}",
        capitalise(mutation)
    );
    w.app.gql(Some(token), &query, json!({ "i": input })).await
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A complete formation named `name`, not yet submitted.
async fn ready(w: &World, name: &str) -> String {
    let started = mutate(
        w,
        &w.founder,
        "startFormation",
        json!({ "parentEntityId": w.parent, "workingName": name }),
        "id",
    )
    .await;
    let id = started["data"]["startFormation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{started:#}"))
        .to_owned();
    let inputs = [
        json!({ "formationId": id, "groups": [
            { "key": "workers", "name": "Workers", "kind": "WORKERS", "admission": "OPEN" } ] }),
        json!({ "formationId": id, "members": [
            { "email": "founder@example.org", "displayName": "Founder", "stakeholderGroupKey": "workers", "role": "ADMIN" } ] }),
        finances(&id, "EUR"),
        json!({ "formationId": id, "templateId": "pool-inside-parent" }),
        json!({ "formationId": id, "name": name }),
        json!({ "formationId": id, "appIds": [] }),
    ];
    for (step, input) in STEPS.iter().zip(inputs) {
        let res = mutate(w, &w.founder, step, input, "version").await;
        assert!(res.get("errors").is_none(), "{step}: {res:#}");
    }
    id
}

/// "OK", or the error's code.
fn outcome(res: &Value) -> String {
    match res.get("errors") {
        None => "OK".to_owned(),
        Some(_) => error_code(res).to_owned(),
    }
}

async fn formation_row(app: &TestApp, id: &str) -> formation::Model {
    formation::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn pools_of(app: &TestApp, id: &str) -> Vec<pool::Model> {
    pool::Entity::find()
        .filter(pool::Column::FormationId.eq(Uuid::parse_str(id).unwrap()))
        .all(&app.db)
        .await
        .unwrap()
}

fn backend(app: &TestApp) -> &'static str {
    if app.database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// The founder submits and edits while a steward approves, all at once,
/// many times. Whatever the order, the formation ends SUBMITTED (the
/// approval came first and was refused) or APPROVED with exactly one active
/// pool, and each call answers OK or CONFLICT (or, for an approval before
/// the submission, NOT_FOUND: a draft does not exist for the steward).
async fn submit_edit_and_approve_race_to_a_consistent_state(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let began = std::time::Instant::now();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut finals: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..RACES {
        let id = ready(&w, &format!("Race {i}")).await;
        // Every other edit says which version it was made on.
        let mut edit = finances(&id, "EUR");
        if i % 2 == 1 {
            edit["expectedVersion"] = json!(READY_VERSION);
        }
        let (submitted, edited, approved) = tokio::join!(
            w.submit(&id),
            mutate(&w, &w.founder, "setFinancialProfile", edit, "version"),
            w.approve(&w.steward, &id),
        );
        let mut changes = 0;
        for (call, res) in [
            ("submit", &submitted),
            ("edit", &edited),
            ("approve", &approved),
        ] {
            let got = outcome(res);
            // An approval that comes before the submission finds a draft,
            // which does not exist for the parent's steward.
            let refused = got == "CONFLICT" || (call == "approve" && got == "NOT_FOUND");
            assert!(
                got == "OK" || refused,
                "iteration {i}: {call} answered {got}: {res:#}"
            );
            changes += usize::from(got == "OK");
            *outcomes.entry(format!("{call} {got}")).or_default() += 1;
        }
        assert_eq!(
            outcome(&submitted),
            "OK",
            "nothing else submits: {submitted:#}"
        );

        let f = formation_row(&w.app, &id).await;
        let pools = pools_of(&w.app, &id).await;
        match f.status {
            FormationStatus::Approved => {
                assert_eq!(pools.len(), 1, "iteration {i}: one pool");
                assert_eq!(f.pool_id, Some(pools[0].id), "iteration {i}");
                assert_eq!(pools[0].status, PoolStatus::Active, "iteration {i}");
                assert_eq!(
                    approved["data"]["approveFormation"]["id"],
                    pools[0].id.to_string(),
                    "iteration {i}: the approval answered with the pool"
                );
            }
            FormationStatus::Submitted => {
                assert!(pools.is_empty(), "iteration {i}: no pool: {pools:?}");
                assert_eq!(f.pool_id, None, "iteration {i}");
                assert!(
                    ["CONFLICT", "NOT_FOUND"].contains(&outcome(&approved).as_str()),
                    "iteration {i}: {approved:#}"
                );
            }
            other => panic!(
                "iteration {i}: the formation ended {other:?} (pool {:?}); answers: {submitted:#} {edited:#} {approved:#}",
                f.pool_id
            ),
        }
        assert_eq!(
            i64::from(f.version),
            READY_VERSION + changes as i64,
            "iteration {i}: one version per change that was answered OK"
        );
        *finals.entry(format!("{:?}", f.status)).or_default() += 1;
    }
    eprintln!(
        "submit/edit/approve race on {}: {RACES} iterations in {:.1} s; answers {outcomes:?}; formations ended {finals:?}",
        backend(&w.app),
        began.elapsed().as_secs_f64()
    );
}

/// Both tabs edit `id` from the ready version at once; checks that one won
/// and returns the version it made.
async fn two_tabs(w: &World, id: &str) -> i64 {
    let tab = |currency: &str| {
        let mut input = finances(id, currency);
        input["expectedVersion"] = json!(READY_VERSION);
        mutate(
            w,
            &w.founder,
            "setFinancialProfile",
            input,
            "version financialProfile { currency }",
        )
    };
    let (gbp, usd) = tokio::join!(tab("GBP"), tab("USD"));
    let (won, lost, currency) = match (outcome(&gbp).as_str(), outcome(&usd).as_str()) {
        ("OK", "CONFLICT") => (&gbp, &usd, "GBP"),
        ("CONFLICT", "OK") => (&usd, &gbp, "USD"),
        other => panic!("exactly one edit wins: {other:?} {gbp:#} {usd:#}"),
    };
    let after = READY_VERSION + 1;
    assert_eq!(won["data"]["setFinancialProfile"]["version"], after);
    assert_eq!(
        won["data"]["setFinancialProfile"]["financialProfile"]["currency"],
        currency
    );
    let error = &lost["errors"][0];
    assert_eq!(error["extensions"]["currentVersion"], after, "{lost:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&format!("version {after}")),
        "{lost:#}"
    );

    let events = audit_event::Entity::find()
        .filter(audit_event::Column::EntityId.eq(Uuid::parse_str(id).unwrap()))
        .filter(audit_event::Column::Action.eq("formation.financialProfileSet"))
        .order_by_asc(audit_event::Column::Seq)
        .all(&w.app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "the setup's edit and the winner's");
    let changes: Value = serde_json::from_str(&events[1].changes).unwrap();
    assert_eq!(
        changes["version"],
        json!({ "before": READY_VERSION, "after": after })
    );
    assert_eq!(changes["financial_profile"]["before"]["currency"], "EUR");
    assert_eq!(changes["financial_profile"]["after"]["currency"], currency);
    after
}

/// Two tabs edit the same step from the same version: one wins, the other
/// is told the version it missed; the trail's "before" is what the winner
/// replaced.
async fn a_stale_expected_version_is_a_conflict(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    // A few times over, so the two edits overlap on some of them.
    for i in 0..10 {
        two_tabs(&w, &ready(&w, &format!("Two Tabs {i}")).await).await;
    }
    let id = ready(&w, "Two Tabs").await;
    let after = two_tabs(&w, &id).await;

    // The loser, still on the old version, is refused again; on the current
    // one, or without a version, the edit goes through.
    let mut stale = finances(&id, "CHF");
    stale["expectedVersion"] = json!(READY_VERSION);
    let refused = mutate(&w, &w.founder, "setFinancialProfile", stale, "version").await;
    assert_eq!(error_code(&refused), "CONFLICT");
    assert_eq!(refused["errors"][0]["extensions"]["currentVersion"], after);
    let mut current = finances(&id, "CHF");
    current["expectedVersion"] = json!(after);
    let res = mutate(&w, &w.founder, "setFinancialProfile", current, "version").await;
    assert_eq!(
        res["data"]["setFinancialProfile"]["version"],
        after + 1,
        "{res:#}"
    );
    let res = mutate(
        &w,
        &w.founder,
        "nameFormation",
        json!({ "formationId": id, "name": "Two Tabs Co-op" }),
        "version",
    )
    .await;
    assert_eq!(
        res["data"]["nameFormation"]["version"],
        after + 2,
        "{res:#}"
    );
    let read = w
        .app
        .ok(
            Some(&w.founder),
            "query($id: ID!) { formation(id: $id) { version financialProfile { currency } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["formation"],
        json!({ "version": after + 2, "financialProfile": { "currency": "CHF" } })
    );

    // Submitting and deciding count as changes too.
    w.submit(&id).await;
    assert_eq!(formation_row(&w.app, &id).await.version as i64, after + 3);
    let mut late = finances(&id, "EUR");
    late["expectedVersion"] = json!(after + 3);
    let refused = mutate(&w, &w.founder, "setFinancialProfile", late, "version").await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("submitted"),
        "a submitted formation is refused as such: {refused:#}"
    );
}

/// Several approvals at once, by two stewards: every one answers the same
/// pool, none "name already used".
async fn concurrent_approvals_answer_with_the_one_pool(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let (second, _) = w.app.sign_up("second@example.org").await;
    w.app
        .grant_role(
            &w.steward,
            &w.parent,
            &second,
            "second@example.org",
            "STEWARD",
        )
        .await;
    for i in 0..10 {
        let id = ready(&w, &format!("Approved Twice {i}")).await;
        w.submit(&id).await;
        let answers = tokio::join!(
            w.approve(&w.steward, &id),
            w.approve(&second, &id),
            w.approve(&w.steward, &id),
            w.approve(&second, &id),
        );
        let answers = [answers.0, answers.1, answers.2, answers.3];
        let pools = pools_of(&w.app, &id).await;
        assert_eq!(pools.len(), 1, "iteration {i}");
        for a in &answers {
            assert_eq!(
                a["data"]["approveFormation"]["id"],
                pools[0].id.to_string(),
                "iteration {i}: {a:#}"
            );
        }
        let f = formation_row(&w.app, &id).await;
        assert_eq!(f.status, FormationStatus::Approved);
        assert_eq!(
            f.version as i64,
            READY_VERSION + 2,
            "submitted, approved once"
        );
    }
}

/// An admin double-clicks "approve": one membership, and the second click
/// hears that the application is decided.
async fn one_application_is_decided_once(app: TestApp) {
    let p = PoolWorld::new(
        app,
        json!([
            { "key": "workers", "name": "Workers", "kind": "WORKERS", "admission": "APPLICATION" },
        ]),
    )
    .await;
    let decide = "mutation($i: DecideMembershipApplicationInput!) { decideMembershipApplication(input: $i) { status member { id } } }";
    for i in 0..5 {
        let email = format!("applicant{i}@example.org");
        let (applicant, _) = p.app().sign_up(&email).await;
        let applied = p.apply(&applicant, "workers").await;
        let application = applied["data"]["applyForMembership"]["id"].clone();
        let input = json!({ "i": { "applicationId": application, "decision": "APPROVE" } });
        let (a, b) = tokio::join!(
            p.app().gql(Some(&p.w.founder), decide, input.clone()),
            p.app().gql(Some(&p.w.founder), decide, input.clone()),
        );
        let mut got = [outcome(&a), outcome(&b)];
        got.sort();
        assert_eq!(got, ["CONFLICT", "OK"], "{a:#} {b:#}");
        let lost = if outcome(&a) == "OK" { &b } else { &a };
        assert!(
            lost["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("already been decided"),
            "{lost:#}"
        );
        let members = membership::Entity::find()
            .filter(membership::Column::Email.eq(email.as_str()))
            .count(&p.app().db)
            .await
            .unwrap();
        assert_eq!(members, 1);
    }
}

/// Two admins close one proposal at once: one count, one audit event, and
/// the other admin is told it is closed.
async fn one_proposal_closes_once(app: TestApp) {
    let p = PoolWorld::new(app, crate::pools::TWO_GROUPS()).await;
    let (second, second_id) = p.join("second@example.org", "workers").await;
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
            json!({ "i": { "memberId": second_id, "role": "ADMIN" } }),
        )
        .await;
    let close = "mutation($id: ID!) { closeProposal(proposalId: $id) { status outcome } }";
    for _ in 0..5 {
        let proposal = p.propose(&p.w.founder, json!({})).await;
        p.vote(&second, &proposal, "agree").await;
        let (a, b) = tokio::join!(
            p.app()
                .gql(Some(&p.w.founder), close, json!({ "id": proposal })),
            p.app().gql(Some(&second), close, json!({ "id": proposal })),
        );
        let mut got = [outcome(&a), outcome(&b)];
        got.sort();
        assert_eq!(got, ["CONFLICT", "OK"], "{a:#} {b:#}");
        let closed = audit_event::Entity::find()
            .filter(audit_event::Column::EntityId.eq(Uuid::parse_str(&proposal).unwrap()))
            .filter(audit_event::Column::Action.eq("proposal.closed"))
            .count(&p.app().db)
            .await
            .unwrap();
        assert_eq!(closed, 1);
    }
}

/// A member delegates twice at once (two tabs): one live delegation stays.
async fn one_member_keeps_one_delegation(app: TestApp) {
    let p = PoolWorld::new(app, crate::pools::TWO_GROUPS()).await;
    let (ada, ada_id) = p.join("ada@example.org", "workers").await;
    let (_, grace_id) = p.join("grace@example.org", "workers").await;
    let (_, alan_id) = p.join("alan@example.org", "workers").await;
    let delegate = "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }";
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            p.app().gql(
                Some(&ada),
                delegate,
                json!({ "i": { "toMemberId": grace_id } })
            ),
            p.app().gql(
                Some(&ada),
                delegate,
                json!({ "i": { "toMemberId": alan_id } })
            ),
        );
        assert_eq!(
            (outcome(&a), outcome(&b)),
            ("OK".into(), "OK".into()),
            "{a:#} {b:#}"
        );
        let live = delegation::Entity::find()
            .filter(delegation::Column::DelegatorMembershipId.eq(Uuid::parse_str(&ada_id).unwrap()))
            .filter(delegation::Column::RevokedAt.is_null())
            .count(&p.app().db)
            .await
            .unwrap();
        assert_eq!(live, 1, "the later delegation replaced the earlier");
    }
}
