//! Dissolving a pool: the members decide where the remaining funds go (as
//! the rules' asset lock allows), the parent consents where its policy
//! says so, then the pool winds up (contributions canceled at Stripe, open
//! proposals withdrawn, apps deprovisioned by signed and retried requests,
//! final accounts drawn up) and a steward confirms each distribution paid
//! before completing it: the pool is dissolved, its books kept and sealed.

use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    accounts_mail::wait_for_subject,
    contributions::{
        euro_scale, payment_method, register_webhook, start, subscriptions_at_stripe,
        wait_for_balances,
    },
    events::{app_reaches, loomio_pool, provision_requests, set_provisioner},
    helpers::{TestApp, error_code, error_paths, eventually},
    life_packs::{pool_packs, verified},
    payloads::{assert_published_shape, event},
    pools::{PoolWorld, TWO_GROUPS},
    stub::{Reply, Stub, verify},
};

on_both_databases!(
    settings: &[
        ("STRIPE_SECRET_KEY", "sk_test_12345"),
        ("STRIPE_API_BASE", "env:TEST_STRIPE_URL"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_test_secret"),
        ("JOB_POLL_INTERVAL_MS", "50"),
        ("JOB_RETRY_BASE_MS", "20"),
        ("JOB_MAX_ATTEMPTS", "3"),
        ("OUTBOUND_TIMEOUT_SECS", "1"),
        ("JOB_LEASE_SECS", "1"),
    ];
    needs stripe;
    a_pool_dissolves_into_its_parent_with_every_step_done
);

on_both_databases!(settings: crate::events::QUICK;
    the_members_share_what_is_left_where_no_asset_lock_applies,
    the_parent_may_refuse_and_an_asset_lock_holds,
);

on_both_databases!(
    settings: crate::accounts_mail::SETTINGS;
    needs smtp;
    stewards_are_asked_to_consent_and_members_are_told
);

const CREATE: &str =
    "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id kind passThresholdPercent
    dissolution { recipient coop { name registrationNumber jurisdiction } } } }";
const DISSOLUTION: &str = "query($id: ID!) { pool(id: $id) { status statusReason dissolution { id status recipient needsConsent
    coop { name } decidedAt refusalReason startedAt completedAt outstanding finalBalances { amount currency }
    proposal { id } pool { id } parentEntity { id name }
    distributions(first: 20) { edges { node { id status recipient recipientName reference paidAt
        amount { amount currency } member { id } } } } } } }";
const CONSENT: &str =
    "mutation($id: ID!) { consentToDissolution(dissolutionId: $id) { id status startedAt } }";
const REFUSE: &str = "mutation($id: ID!, $r: String!) { refuseDissolution(dissolutionId: $id, reason: $r) { id status refusalReason } }";
const CONFIRM: &str = "mutation($i: ConfirmDistributionPaidInput!) { confirmDistributionPaid(input: $i) { id status reference paidAt } }";
const COMPLETE: &str =
    "mutation($id: ID!) { completeDissolution(dissolutionId: $id) { id status completedAt } }";

fn dissolve(pool: &str, dissolution: Value) -> Value {
    json!({ "poolId": pool, "title": "Dissolve the pool", "body": "We are done.",
        "kind": "DISSOLUTION", "dissolution": dissolution })
}

/// Every member in `voters` agrees, and the founder closes the vote.
async fn pass(p: &PoolWorld, proposal: &str, voters: &[&str]) {
    for voter in voters {
        let vote = p.vote(voter, proposal, "agree").await;
        assert!(vote.get("errors").is_none(), "{vote:#}");
    }
    let closed = p.close(&p.w.founder, proposal).await;
    assert_eq!(closed["outcome"], "PASSED", "{closed:#}");
}

async fn dissolution_of(p: &PoolWorld, token: &str) -> Value {
    p.app()
        .ok(Some(token), DISSOLUTION, json!({ "id": p.pool }))
        .await["pool"]
        .clone()
}

fn distributions(pool: &Value) -> Vec<Value> {
    pool["dissolution"]["distributions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn set_policy(p: &PoolWorld, consent: bool) {
    p.app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { policy { dissolutionsNeedConsent } } }",
            json!({ "i": { "parentEntityId": p.w.parent, "dissolutionsNeedConsent": consent } }),
        )
        .await;
}

async fn adjust(p: &PoolWorld, amount: i64) {
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": amount, "currency": "EUR",
                "reference": "DONATION-1", "description": "A donation from a neighbour" } }),
        )
        .await;
}

async fn unlock_assets(p: &PoolWorld) {
    let id = uuid::Uuid::parse_str(&p.pool).unwrap();
    let pool = entities::pool::Entity::find_by_id(id)
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    let mut governance = pool.governance.clone();
    governance["assetLock"] = json!(false);
    let mut active: entities::pool::ActiveModel = pool.into();
    active.governance = sea_orm::Set(governance);
    sea_orm::ActiveModelTrait::update(active, &p.app().db)
        .await
        .unwrap();
}

async fn a_pool_dissolves_into_its_parent_with_every_step_done(app: TestApp) {
    let p = loomio_pool(app).await;
    let (outsider, _) = p.app().sign_up("outsider@example.org").await;
    set_policy(&p, true).await;

    // The app's operator: it takes provisioning requests, and will fail
    // the first deprovision request before taking the second.
    let operator = Stub::start().await;
    let operator_secret = set_provisioner(&p, &operator.url).await;
    operator.wait_for(1, provision_requests).await;

    // An integrator listens.
    let receiver = Stub::start().await;
    let hook_secret = p
        .app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
            json!({ "i": { "parentEntityId": p.w.parent, "url": receiver.url,
                "events": ["pool.dissolving", "pool.dissolved"] } }),
        )
        .await["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // A member pays through Stripe; the payment reaches the books.
    register_webhook(p.app()).await;
    euro_scale(&p, true).await;
    let (payer, _) = p.join("payer@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let started = start(
        &p,
        &payer,
        json!({ "amount": 800, "paymentMethodId": card }),
    )
    .await;
    let contribution = started["data"]["startContribution"]["contribution"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{started:#}"))
        .to_owned();
    wait_for_balances(&p, &payer, json!([{ "amount": 800, "currency": "EUR" }])).await;
    let subscription =
        entities::contribution::Entity::find_by_id(uuid::Uuid::parse_str(&contribution).unwrap())
            .one(&p.app().db)
            .await
            .unwrap()
            .unwrap()
            .stripe_subscription_id
            .unwrap();

    // An ordinary proposal is open when the pool winds up.
    let open = p.propose(&payer, json!({})).await;

    // The members decide, with the rules' amendment threshold.
    let proposal = p
        .app()
        .ok(
            Some(&p.w.founder),
            CREATE,
            json!({ "i": dissolve(&p.pool, json!({ "recipient": "PARENT" })) }),
        )
        .await["createProposal"]
        .clone();
    assert_eq!(proposal["kind"], "DISSOLUTION");
    assert_eq!(proposal["dissolution"]["recipient"], "PARENT");
    let governance = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { governance { rulesChangeThresholdPercent } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(
        proposal["passThresholdPercent"],
        governance["pool"]["governance"]["rulesChangeThresholdPercent"]
    );
    let proposal = proposal["id"].as_str().unwrap().to_owned();
    // One at a time.
    let again = p
        .app()
        .gql(
            Some(&payer),
            CREATE,
            json!({ "i": dissolve(&p.pool, json!({ "recipient": "PARENT" })) }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");
    pass(&p, &proposal, &[&p.w.founder, &payer]).await;

    // The parent's policy asks for its consent: nothing is wound up yet.
    let waiting = dissolution_of(&p, &payer).await;
    assert_eq!(waiting["status"], "ACTIVE");
    let d = &waiting["dissolution"];
    assert_eq!(d["status"], "AWAITING_CONSENT", "{d:#}");
    assert_eq!(d["needsConsent"], true);
    assert_eq!(d["proposal"]["id"], proposal.as_str());
    let id = d["id"].as_str().unwrap().to_owned();
    for token in [&p.w.founder, &p.w.auditor] {
        let res = p.app().gql(Some(token), CONSENT, json!({ "id": id })).await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    let res = p
        .app()
        .gql(Some(&outsider), CONSENT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");

    operator.script(&[Reply::Status(500)]);
    let consented = p
        .app()
        .ok(Some(&p.w.steward), CONSENT, json!({ "id": id }))
        .await;
    assert_eq!(consented["consentToDissolution"]["status"], "WINDING_UP");
    let res = p
        .app()
        .gql(Some(&p.w.steward), CONSENT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "consented once");

    // Winding up: the pool is dissolving, the open proposal withdrawn, the
    // final accounts drawn up and the funds to the parent waiting.
    let winding = dissolution_of(&p, &payer).await;
    assert_eq!(winding["status"], "DISSOLVING");
    assert_eq!(
        winding["dissolution"]["finalBalances"],
        json!([{ "amount": 800, "currency": "EUR" }])
    );
    let [to_parent] = <[Value; 1]>::try_from(distributions(&winding)).unwrap();
    assert_eq!(to_parent["status"], "PENDING");
    assert_eq!(to_parent["recipient"], "PARENT");
    assert_eq!(
        to_parent["recipientName"],
        winding["dissolution"]["parentEntity"]["name"]
    );
    assert_eq!(
        to_parent["amount"],
        json!({ "amount": 800, "currency": "EUR" })
    );
    let withdrawn = p
        .app()
        .ok(
            Some(&payer),
            "query($id: ID!) { proposal(id: $id) { status outcome } }",
            json!({ "id": open }),
        )
        .await;
    assert_eq!(
        withdrawn["proposal"]["outcome"], "WITHDRAWN",
        "{withdrawn:#}"
    );
    let res = p
        .app()
        .gql(
            Some(&payer),
            CREATE,
            json!({ "i": { "poolId": p.pool, "title": "More" } }),
        )
        .await;
    assert_eq!(
        error_code(&res),
        "CONFLICT",
        "a dissolving pool takes no proposals"
    );
    let dissolving = event(&receiver, "pool.dissolving", |e| e["data"]["id"] == p.pool).await;
    assert!(verify(&hook_secret, &dissolving));
    assert_published_shape(&dissolving.body);
    assert_eq!(dissolving.body["data"]["status"], "DISSOLVING");

    // Collection ends at Stripe, and the contribution says so.
    eventually("the subscription is canceled at Stripe", || async {
        let at_stripe = subscriptions_at_stripe(p.app(), &subscription).await;
        if at_stripe["status"] == "canceled" {
            Ok(())
        } else {
            Err(at_stripe)
        }
    })
    .await;
    eventually("the contribution is canceled", || async {
        let mine = p
            .app()
            .ok(
                Some(&payer),
                "{ me { contributions(first: 5) { edges { node { id status } } } } }",
                json!({}),
            )
            .await;
        let node = mine["me"]["contributions"]["edges"][0]["node"].clone();
        if node["status"] == "CANCELED" {
            Ok(())
        } else {
            Err(node)
        }
    })
    .await;

    // The operator is asked to take the app down, signed, until it does.
    let asked = operator
        .wait_for(2, |s| s.body["type"] == "deprovision")
        .await;
    for request in &asked {
        assert!(verify(&operator_secret, request), "signed as every request");
        assert_eq!(request.body["pool"]["id"], p.pool.as_str());
    }
    assert_eq!(
        asked[0].body["jobId"], asked[1].body["jobId"],
        "the same job, retried"
    );
    app_reaches(&p, "DEPROVISIONED").await;

    // Not before every distribution is paid; only a steward confirms one.
    let res = p
        .app()
        .gql(Some(&p.w.steward), COMPLETE, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let said = res["errors"][0]["message"].as_str().unwrap();
    assert!(said.contains("distribution"), "{said}");
    let distribution = to_parent["id"].as_str().unwrap();
    for token in [&p.w.founder, &p.w.auditor] {
        let res = p
            .app()
            .gql(
                Some(token),
                CONFIRM,
                json!({ "i": { "distributionId": distribution, "reference": "" } }),
            )
            .await;
        assert_eq!(
            error_code(&res),
            "FORBIDDEN",
            "before the input is read: {res:#}"
        );
    }
    let res = p
        .app()
        .gql(
            Some(&p.w.steward),
            CONFIRM,
            json!({ "i": { "distributionId": distribution, "reference": "" } }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.reference"]);
    let paid = p
        .app()
        .ok(
            Some(&p.w.steward),
            CONFIRM,
            json!({ "i": { "distributionId": distribution, "reference": "SEPA-77" } }),
        )
        .await;
    assert_eq!(paid["confirmDistributionPaid"]["status"], "PAID");
    let res = p
        .app()
        .gql(
            Some(&p.w.steward),
            CONFIRM,
            json!({ "i": { "distributionId": distribution, "reference": "SEPA-78" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "paid once");
    wait_for_balances(&p, &payer, json!([{ "amount": 0, "currency": "EUR" }])).await;
    let ready = dissolution_of(&p, &p.w.steward).await;
    assert_eq!(ready["dissolution"]["outstanding"], json!([]), "{ready:#}");

    let done = p
        .app()
        .ok(Some(&p.w.steward), COMPLETE, json!({ "id": id }))
        .await;
    assert_eq!(done["completeDissolution"]["status"], "COMPLETED");
    let after = dissolution_of(&p, &payer).await;
    assert_eq!(after["status"], "DISSOLVED");
    let dissolved = event(&receiver, "pool.dissolved", |e| e["data"]["id"] == p.pool).await;
    assert!(verify(&hook_secret, &dissolved));
    assert_published_shape(&dissolved.body);
    let res = p
        .app()
        .gql(Some(&p.w.steward), COMPLETE, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "completed once");

    // Its books stay, with the distribution in them, and hold up.
    let ledger = p
        .app()
        .ok(
            Some(&payer),
            "query($id: ID!) { pool(id: $id) { ledger { entries { edges { node { kind reference amount { amount } } } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let entries = ledger["pool"]["ledger"]["entries"]["edges"]
        .as_array()
        .unwrap();
    assert!(
        entries.iter().any(|e| e["node"]["kind"] == "DISTRIBUTION"
            && e["node"]["reference"] == "SEPA-77"
            && e["node"]["amount"]["amount"] == -800),
        "{entries:#?}"
    );
    let trail = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid firstBreak { seq problem } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(trail["verifyAuditTrail"]["valid"], true, "{trail:#}");

    // The start and the end of the winding up each sealed a signed pack.
    let packs = pool_packs(&p, &p.w.auditor).await;
    let steps: Vec<&str> = packs.iter().map(|r| r["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["DISSOLVING", "DISSOLVED"]);
    for record in &packs {
        let doc = verified(p.app(), record, &p.w.auditor).await;
        let pool = &doc["pool"];
        assert_eq!(
            pool["status"], record["step"],
            "the pack shows the pool as the step left it"
        );
    }
}

async fn the_members_share_what_is_left_where_no_asset_lock_applies(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, ada_member) = p.join("ada@example.org", "workers").await;
    let (bob, bob_member) = p.join("bob@example.org", "workers").await;
    adjust(&p, 1001).await;
    // The catalogue's pool template locks assets; a pool formed under one
    // that does not has this governance.
    unlock_assets(&p).await;
    let create = |token: String, input: Value| {
        let app = p.app();
        async move { app.gql(Some(&token), CREATE, json!({ "i": input })).await }
    };

    // Each wrong field is named.
    let pool = p.pool.clone();
    let missing = create(
        ada.clone(),
        json!({ "poolId": pool, "title": "Dissolve", "kind": "DISSOLUTION" }),
    )
    .await;
    assert_eq!(error_paths(&missing), vec!["input.dissolution"]);
    let res = create(ada.clone(), dissolve(&pool, json!({ "recipient": "COOP" }))).await;
    assert_eq!(error_paths(&res), vec!["input.dissolution.coop"]);
    let res = create(
        ada.clone(),
        dissolve(&pool, json!({ "recipient": "COOP", "coop": { "name": "", "registrationNumber": "F-1", "jurisdiction": "XX" } })),
    )
    .await;
    assert_eq!(
        error_paths(&res),
        vec![
            "input.dissolution.coop.name",
            "input.dissolution.coop.jurisdiction"
        ]
    );
    let res = create(
        ada.clone(),
        dissolve(&pool, json!({ "recipient": "PARENT", "coop": { "name": "X", "registrationNumber": "F-1", "jurisdiction": "ES" } })),
    )
    .await;
    assert_eq!(error_paths(&res), vec!["input.dissolution.coop"]);
    let res = create(
        ada.clone(),
        json!({ "poolId": pool, "title": "Not this", "dissolution": { "recipient": "PARENT" } }),
    )
    .await;
    assert_eq!(error_paths(&res), vec!["input.dissolution"]);

    // Without an asset lock the members may take what is left.
    let created = create(
        ada.clone(),
        dissolve(&pool, json!({ "recipient": "MEMBERS" })),
    )
    .await;
    let proposal = created["data"]["createProposal"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created:#}"))
        .to_owned();
    // While it is open, the pool does not start to spin out.
    let res = create(
        bob.clone(),
        json!({ "poolId": pool, "title": "Spin out", "kind": "SPIN_OUT",
            "spinOut": { "legalTemplateId": crate::spin_out::TEMPLATE, "entityName": "Nueva" } }),
    )
    .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    pass(&p, &proposal, &[&p.w.founder, &ada, &bob]).await;

    // No consent asked: the pool winds up at once.
    let winding = dissolution_of(&p, &bob).await;
    assert_eq!(winding["status"], "DISSOLVING", "{winding:#}");
    assert_eq!(winding["dissolution"]["needsConsent"], false);
    let shares = distributions(&winding);
    assert_eq!(shares.len(), 3, "{shares:#?}");
    let amounts: Vec<i64> = shares
        .iter()
        .map(|s| s["amount"]["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 1001, "every minor unit, once");
    assert!(
        amounts.iter().all(|a| *a == 333 || *a == 334),
        "{amounts:?}"
    );
    let members: Vec<&str> = shares
        .iter()
        .map(|s| s["member"]["id"].as_str().unwrap())
        .collect();
    assert!(members.contains(&ada_member.as_str()) && members.contains(&bob_member.as_str()));
    assert!(shares.iter().all(|s| s["recipient"] == "MEMBERS"));

    // Out of order: nothing waits for consent, and the pool takes nothing new.
    let id = winding["dissolution"]["id"].as_str().unwrap().to_owned();
    let res = p
        .app()
        .gql(Some(&p.w.steward), CONSENT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT");
    let res = p
        .app()
        .gql(Some(&p.w.steward), REFUSE, json!({ "id": id, "r": "late" }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT");
    let res = p
        .app()
        .gql(
            Some(&ada),
            "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
            json!({ "i": { "poolId": pool, "title": "Tools", "amount": 100, "currency": "EUR", "payee": "Shop" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");

    for share in &shares {
        p.app()
            .ok(
                Some(&p.w.steward),
                CONFIRM,
                json!({ "i": { "distributionId": share["id"], "reference": format!("PAY-{}", share["recipientName"]) } }),
            )
            .await;
    }
    wait_for_balances(&p, &ada, json!([{ "amount": 0, "currency": "EUR" }])).await;
    p.app()
        .ok(Some(&p.w.steward), COMPLETE, json!({ "id": id }))
        .await;
    assert_eq!(dissolution_of(&p, &ada).await["status"], "DISSOLVED");
    // The stewards see it among their pools' dissolutions; members do not list them.
    let listed = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { parentEntity(id: $id) { dissolutions(first: 5) { edges { node { id status } } } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(
        listed["parentEntity"]["dissolutions"]["edges"][0]["node"]["status"],
        "COMPLETED"
    );
    let res = p
        .app()
        .gql(
            Some(&ada),
            "query($id: ID!) { parentEntity(id: $id) { dissolutions(first: 5) { edges { node { id } } } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
}

async fn the_parent_may_refuse_and_an_asset_lock_holds(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "workers").await;
    set_policy(&p, true).await;
    adjust(&p, 500).await;

    // The pool template locks a pool's assets, as the parent's model rules do.
    let locked = p
        .app()
        .ok(
            Some(&ada),
            "query($id: ID!) { pool(id: $id) { governance { assetLock } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(locked["pool"]["governance"]["assetLock"], true);

    // Then the funds can never go to the members.
    let res = p
        .app()
        .gql(
            Some(&ada),
            CREATE,
            json!({ "i": dissolve(&p.pool, json!({ "recipient": "MEMBERS" })) }),
        )
        .await;
    assert_eq!(
        error_paths(&res),
        vec!["input.dissolution.recipient"],
        "{res:#}"
    );

    // To another co-op, with the parent's consent, which it refuses.
    let coop = json!({ "recipient": "COOP", "coop": { "name": "Cooperativa Vecina", "registrationNumber": "F-99887766", "jurisdiction": "es" } });
    let created = p
        .app()
        .ok(
            Some(&ada),
            CREATE,
            json!({ "i": dissolve(&p.pool, coop.clone()) }),
        )
        .await;
    assert_eq!(
        created["createProposal"]["dissolution"]["coop"]["jurisdiction"],
        "ES"
    );
    let proposal = created["createProposal"]["id"].as_str().unwrap().to_owned();
    pass(&p, &proposal, &[&p.w.founder, &ada]).await;
    let waiting = dissolution_of(&p, &ada).await;
    assert_eq!(waiting["dissolution"]["status"], "AWAITING_CONSENT");
    assert_eq!(waiting["dissolution"]["coop"]["name"], "Cooperativa Vecina");
    let id = waiting["dissolution"]["id"].as_str().unwrap().to_owned();
    let res = p
        .app()
        .gql(Some(&ada), REFUSE, json!({ "id": id, "r": "" }))
        .await;
    assert_eq!(
        error_code(&res),
        "FORBIDDEN",
        "a member does not decide for the parent"
    );
    let res = p
        .app()
        .gql(Some(&p.w.steward), REFUSE, json!({ "id": id, "r": "" }))
        .await;
    assert_eq!(error_paths(&res), vec!["reason"]);
    let refused = p
        .app()
        .ok(
            Some(&p.w.steward),
            REFUSE,
            json!({ "id": id, "r": "Settle the lease of the workshop first." }),
        )
        .await;
    assert_eq!(refused["refuseDissolution"]["status"], "REFUSED");
    let res = p
        .app()
        .gql(Some(&p.w.steward), CONSENT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "refused is final");
    let after = dissolution_of(&p, &ada).await;
    assert_eq!(after["status"], "ACTIVE", "the pool goes on");
    assert_eq!(
        after["dissolution"]["refusalReason"],
        "Settle the lease of the workshop first."
    );
    assert!(distributions(&after).is_empty());

    // The members may decide again.
    let again = p
        .app()
        .gql(Some(&ada), CREATE, json!({ "i": dissolve(&p.pool, coop) }))
        .await;
    assert!(again.get("errors").is_none(), "{again:#}");
}

async fn stewards_are_asked_to_consent_and_members_are_told(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    set_policy(&p, true).await;
    let steward_email = crate::accounts_mail::address("dissolution-steward");
    let (second, _) = p.app().sign_up(&steward_email).await;
    p.app()
        .grant_role(
            &p.w.steward,
            &p.w.parent,
            &second,
            &steward_email,
            "STEWARD",
        )
        .await;
    let member_email = crate::accounts_mail::address("dissolution-member");
    let (member, _) = p.join(&member_email, "workers").await;
    let proposal = p
        .app()
        .ok(
            Some(&member),
            CREATE,
            json!({ "i": dissolve(&p.pool, json!({ "recipient": "PARENT" })) }),
        )
        .await["createProposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    pass(&p, &proposal, &[&p.w.founder, &member]).await;
    let asked = wait_for_subject(
        p.app(),
        &steward_email,
        "Test Pool waits for Cooperativa Paraguas to consent to its dissolution",
    )
    .await;
    assert!(
        asked["text"]
            .as_str()
            .unwrap()
            .contains("refuse with a reason"),
        "{asked:#}"
    );
    let id = dissolution_of(&p, &member).await["dissolution"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.app()
        .ok(Some(&second), CONSENT, json!({ "id": id }))
        .await;
    let told = wait_for_subject(p.app(), &member_email, "Test Pool is dissolving").await;
    assert!(
        told["text"].as_str().unwrap().contains("remaining funds"),
        "{told:#}"
    );
}
