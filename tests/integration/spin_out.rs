//! Spinning a pool out into a legal entity of its own: the members choose
//! a standalone template the pool fits, the founders file the signed
//! incorporation pack and report the entity registered; the funds leave
//! the ledger, the pool is read-only for good, and the new entity
//! registers as a parent entity.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    payloads::{assert_published_shape, event},
    pools::{PoolWorld, TWO_GROUPS},
    stub::{Stub, verify},
};

on_both_databases!(settings: crate::events::QUICK;
    a_pool_spins_out_into_its_own_coop,
    only_the_founders_act_and_steps_come_in_order,
);

const CREATE: &str = "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id kind passThresholdPercent spinOut { legalTemplateId entityName } } }";
const OPTIONS: &str = "query($id: ID!) { pool(id: $id) { spinOutOptions { template { id kind } fits strengths problems { code message citation } } } }";
const SPIN_OUT: &str = "query($id: ID!) { pool(id: $id) { status statusReason spinOut { id status entityName registrationNumber registeredName registeredAt
    legalTemplate { id } proposal { id } pool { id } parentEntity { id } adaptedRules openingBalances { amount currency } } } }";
const REPORT: &str = "mutation($i: ReportSpinOutRegisteredInput!) { reportSpinOutRegistered(input: $i) { id status registrationNumber registeredName } }";
const REGISTER: &str = "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id registrationNumber spunOutFrom { id status } } }";
pub(crate) const TEMPLATE: &str = "es-sociedad-cooperativa";

fn spin_out_input(pool: &str, template: &str, name: &str) -> Value {
    json!({ "poolId": pool, "title": "Spin out", "kind": "SPIN_OUT",
        "spinOut": { "legalTemplateId": template, "entityName": name } })
}

/// The members decide to spin out under [`TEMPLATE`]; answers the
/// spin-out's id.
pub(crate) async fn decided(p: &PoolWorld, voters: &[&str]) -> String {
    let data = p
        .app()
        .ok(
            Some(&p.w.founder),
            CREATE,
            json!({ "i": spin_out_input(&p.pool, TEMPLATE, "Cooperativa Nueva") }),
        )
        .await;
    let id = data["createProposal"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["createProposal"]["passThresholdPercent"], 67);
    for v in voters {
        p.vote(v, &id, "agree").await;
    }
    assert_eq!(p.close(&p.w.founder, &id).await["outcome"], "PASSED");
    let state = spin_out(p, &p.w.founder).await;
    assert_eq!(state["spinOut"]["proposal"]["id"], id.as_str());
    state["spinOut"]["id"].as_str().unwrap().to_owned()
}

async fn spin_out(p: &PoolWorld, token: &str) -> Value {
    p.app()
        .ok(Some(token), SPIN_OUT, json!({ "id": p.pool }))
        .await["pool"]
        .clone()
}

async fn options(p: &PoolWorld) -> Vec<Value> {
    p.app()
        .ok(Some(&p.w.founder), OPTIONS, json!({ "id": p.pool }))
        .await["pool"]["spinOutOptions"]
        .as_array()
        .unwrap()
        .clone()
}

fn option<'a>(all: &'a [Value], id: &str) -> &'a Value {
    all.iter()
        .find(|o| o["template"]["id"] == id)
        .unwrap_or_else(|| panic!("{id} is an option: {all:#?}"))
}

async fn pack(app: &TestApp, id: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/exports/spin-outs/{id}/incorporation-pack.json")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn a_pool_spins_out_into_its_own_coop(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "workers").await;
    // An integrator hears of each step.
    let receiver = Stub::start().await;
    let hook_secret = p
        .app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
            json!({ "i": { "parentEntityId": p.w.parent, "url": receiver.url,
                "events": ["pool.spin_out_started", "pool.spun_out"] } }),
        )
        .await["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // Two members are too few for a Spanish co-operative, and the law says
    // where; only standalone templates are offered, those that fit first.
    let all = options(&p).await;
    assert!(all.iter().all(|o| o["template"]["kind"] == "INCORPORATED"));
    let es = option(&all, TEMPLATE);
    assert_eq!(es["fits"], false, "{es:#}");
    let too_few = es["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "TOO_FEW")
        .unwrap_or_else(|| panic!("{es:#}"));
    assert_eq!(too_few["citation"], "Ley 27/1999, art. 8");
    let fits: Vec<bool> = all.iter().map(|o| o["fits"].as_bool().unwrap()).collect();
    assert!(fits.windows(2).all(|w| w[0] >= w[1]), "fitting first");

    // Refused: an unfitting, an unknown and a pool-inside-parent template,
    // an empty name, no choice at all.
    let create = |i: Value| p.app().gql(Some(&p.w.founder), CREATE, json!({ "i": i }));
    for (template, why) in [
        (TEMPLATE, "too few members"),
        ("no-such-template", "unknown"),
        ("pool-inside-parent", "not standalone"),
    ] {
        let res = create(spin_out_input(&p.pool, template, "Nueva")).await;
        assert_eq!(
            error_paths(&res),
            vec!["input.spinOut.legalTemplateId"],
            "{why}: {res:#}"
        );
    }
    let (bob, _) = p.join("bob@example.org", "users").await;
    let res = create(spin_out_input(&p.pool, TEMPLATE, " ")).await;
    assert_eq!(
        error_paths(&res),
        vec!["input.spinOut.entityName"],
        "{res:#}"
    );
    let res = create(json!({ "poolId": p.pool, "title": "t", "kind": "SPIN_OUT" })).await;
    assert_eq!(error_paths(&res), vec!["input.spinOut"], "{res:#}");

    // Three members fit; money in the books.
    let all = options(&p).await;
    assert_eq!(option(&all, TEMPLATE)["fits"], true);
    assert_eq!(all[0]["fits"], true);
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": 12345, "currency": "EUR", "reference": "opening", "description": "Cash in hand" } }),
        )
        .await;

    let voters = [p.w.founder.as_str(), ada.as_str(), bob.as_str()];
    let id = decided(&p, &voters).await;
    let waiting = spin_out(&p, &ada).await;
    assert_eq!(waiting["status"], "ACTIVE", "the pool goes on meanwhile");
    let s = &waiting["spinOut"];
    assert_eq!(s["status"], "AWAITING_REGISTRATION");
    assert_eq!(s["legalTemplate"]["id"], TEMPLATE);
    assert_eq!(
        s["openingBalances"],
        json!([{ "amount": 12345, "currency": "EUR" }])
    );
    let rules = s["adaptedRules"].as_str().unwrap();
    assert!(rules.contains("**Cooperativa Nueva**"), "{rules}");
    assert!(
        rules.contains("Registro de Sociedades Cooperativas"),
        "{rules}"
    );
    let started = event(&receiver, "pool.spin_out_started", |e| {
        e["data"]["id"] == p.pool
    })
    .await;
    assert!(verify(&hook_secret, &started));
    assert_published_shape(&started.body);
    assert_eq!(started.body["data"]["status"], "ACTIVE");
    // No second spin-out, no move, meanwhile.
    let res = create(spin_out_input(&p.pool, TEMPLATE, "Otra")).await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let (other_steward, _) = p.app().sign_up("other-steward@example.org").await;
    let other = p
        .app()
        .register_parent_with(&other_steward, "B-2026", "AUTOMATIC")
        .await;
    let res =
        create(json!({ "poolId": p.pool, "title": "Move", "kind": "MOVE", "moveTo": other })).await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");

    // The incorporation pack, signed as the audit pack is.
    let res = pack(p.app(), &id, &p.w.founder).await;
    assert_eq!(res.status(), 200);
    let signature = res.headers()["pools-pack-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = res.bytes().await.unwrap().to_vec();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["format"], "pools-incorporation-pack/1");
    assert_eq!(doc["spinOut"]["id"], id.as_str());
    assert_eq!(doc["legalTemplate"]["id"], TEMPLATE);
    assert_eq!(doc["rules"], rules);
    assert_eq!(doc["memberRegister"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["openingBalances"],
        json!([{ "currency": "EUR", "amountMinor": "12345" }])
    );
    assert_eq!(doc["auditPack"]["format"], "pools-audit-pack/2");
    let key = crate::audit_pack::pack_key(p.app()).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, said) = crate::audit_pack::verify_offline(dir.path(), &bytes, &key, &signature);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("ok    signature"), "{said}");
    let mut altered = bytes.clone();
    let at = altered.len() / 2;
    altered[at] = if altered[at] == b'1' { b'2' } else { b'1' };
    let (code, _) = crate::audit_pack::verify_offline(dir.path(), &altered, &key, &signature);
    assert_ne!(code, 0, "an altered pack does not verify");
    assert_eq!(pack(p.app(), &id, &p.w.auditor).await.status(), 200);

    // An open proposal, withdrawn when the pool ends.
    let open = p.propose(&ada, json!({})).await;
    let reported = p
        .app()
        .ok(
            Some(&p.w.founder),
            REPORT,
            json!({ "i": { "spinOutId": id, "registrationNumber": "  F-12345678 " } }),
        )
        .await;
    let r = &reported["reportSpinOutRegistered"];
    assert_eq!(r["status"], "REGISTERED");
    assert_eq!(r["registrationNumber"], "F-12345678");
    assert_eq!(r["registeredName"], "Cooperativa Nueva");

    let after = spin_out(&p, &ada).await;
    assert_eq!(after["status"], "SPUN_OUT");
    let spun_out = event(&receiver, "pool.spun_out", |e| e["data"]["id"] == p.pool).await;
    assert!(verify(&hook_secret, &spun_out));
    assert_published_shape(&spun_out.body);
    assert_eq!(spun_out.body["data"]["status"], "SPUN_OUT");
    assert!(
        after["statusReason"]
            .as_str()
            .unwrap()
            .contains("F-12345678")
    );
    assert_eq!(
        after["spinOut"]["openingBalances"],
        json!([{ "amount": 12345, "currency": "EUR" }]),
        "what the new entity opened with"
    );
    let books = p
        .app()
        .ok(
            Some(&ada),
            "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency }
                entries(first: 100) { edges { node { kind category amount { amount currency } description } } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let ledger = &books["pool"]["ledger"];
    assert!(
        ledger["balances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["amount"] == 0),
        "{ledger:#}"
    );
    let transfer = ledger["entries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["kind"] == "TRANSFER_OUT")
        .unwrap_or_else(|| panic!("{ledger:#}"));
    assert_eq!(transfer["amount"]["amount"], -12345);
    assert_eq!(transfer["category"], "spin-out");
    assert!(
        transfer["description"]
            .as_str()
            .unwrap()
            .contains("Cooperativa Nueva")
    );
    let withdrawn = p
        .app()
        .ok(
            Some(&ada),
            "query($id: ID!) { node(id: $id) { ... on Proposal { status outcome } } }",
            json!({ "id": open }),
        )
        .await;
    assert_eq!(withdrawn["node"]["outcome"], "WITHDRAWN");

    // Read-only for good; reads still work.
    let res = p
        .app()
        .gql(
            Some(&ada),
            CREATE,
            json!({ "i": { "poolId": p.pool, "title": "After the end" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&p.w.founder),
            "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "amount": 1, "currency": "EUR", "reference": "late", "description": "Too late" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    let (carol, _) = p.app().sign_up("carol@example.org").await;
    let res = p.apply(&carol, "workers").await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");
    for m in ["suspendPool", "reinstatePool"] {
        let res = p
            .app()
            .gql(
                Some(&p.w.steward),
                &format!(
                    "mutation($id: ID!) {{ {m}(poolId: $id, reason: \"check\") {{ status }} }}"
                ),
                json!({ "id": p.pool }),
            )
            .await;
        assert_eq!(error_code(&res), "CONFLICT", "{m}: {res:#}");
    }
    let register = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { id } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(
        register["pool"]["register"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let verified = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid ledger { valid findingCount } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(verified["verifyAuditTrail"]["valid"], true, "{verified:#}");
    assert_eq!(verified["verifyAuditTrail"]["ledger"]["findingCount"], 0);
    // The step sealed a signed pack of the pool as it left it.
    let packs = crate::life_packs::pool_packs(&p, &p.w.auditor).await;
    assert_eq!(packs.len(), 1);
    assert_eq!(packs[0]["step"], "SPUN_OUT");
    let sealed = crate::life_packs::verified(p.app(), &packs[0], &p.w.auditor).await;
    assert_eq!(sealed["pool"]["status"], "SPUN_OUT");
    assert_eq!(
        sealed["auditEvents"].as_array().unwrap().last().unwrap()["action"],
        "pool.spunOut"
    );
    let trail = crate::audit::actions(
        p.app(),
        &p.w.steward,
        json!({ "parentEntityId": p.w.parent }),
    )
    .await;
    for action in ["pool.spinOutStarted", "pool.spunOut"] {
        assert!(trail.contains(&action.to_owned()), "{action}: {trail:?}");
    }

    // The new entity registers as a parent entity of its own, with the
    // number reported.
    let register_input = |number: &str| {
        json!({ "i": { "name": "Cooperativa Nueva", "jurisdiction": "ES", "legalForm": "sociedad cooperativa",
            "registrationNumber": number, "approvalPolicy": "AUTOMATIC", "spunOutFrom": id } })
    };
    let res = p
        .app()
        .gql(Some(&p.w.founder), REGISTER, register_input("X-1"))
        .await;
    assert_eq!(
        error_paths(&res),
        vec!["input.registrationNumber"],
        "{res:#}"
    );
    let res = p
        .app()
        .gql(Some(&ada), REGISTER, register_input("F-12345678"))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(Some(&carol), REGISTER, register_input("F-12345678"))
        .await;
    assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");
    let registered = p
        .app()
        .ok(Some(&p.w.founder), REGISTER, register_input("F-12345678"))
        .await;
    let parent = &registered["registerParentEntity"];
    assert_eq!(parent["spunOutFrom"]["id"], id.as_str());
    assert_eq!(parent["registrationNumber"], "F-12345678");
    let linked = spin_out(&p, &p.w.founder).await;
    assert_eq!(linked["spinOut"]["parentEntity"]["id"], parent["id"]);
    let res = p
        .app()
        .gql(Some(&p.w.founder), REGISTER, register_input("F-12345678"))
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "only once: {res:#}");
    let listed = p
        .app()
        .ok(
            Some(&p.w.auditor),
            "query($id: ID!) { parentEntity(id: $id) { spinOuts(first: 10) { edges { node { id status } } } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(
        listed["parentEntity"]["spinOuts"]["edges"][0]["node"]["id"],
        id.as_str()
    );
}

async fn only_the_founders_act_and_steps_come_in_order(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "workers").await;
    let (bob, _) = p.join("bob@example.org", "users").await;
    let (eve, _) = p.app().sign_up("eve@example.org").await;
    let id = decided(&p, &[p.w.founder.as_str(), ada.as_str(), bob.as_str()]).await;

    // Outsiders cannot tell it exists; members who are not admins are
    // refused; the pack too.
    let report = |token: String, number: String| {
        let body = json!({ "i": { "spinOutId": id, "registrationNumber": number } });
        let app = p.app();
        async move { app.gql(Some(&token), REPORT, body).await }
    };
    assert_eq!(
        error_code(&report(eve.clone(), "N-1".to_owned()).await),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(&report(ada.clone(), "N-1".to_owned()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&report(p.w.steward.clone(), "N-1".to_owned()).await),
        "FORBIDDEN"
    );
    assert_eq!(pack(p.app(), &id, &eve).await.status(), 404);
    assert_eq!(pack(p.app(), &id, &ada).await.status(), 403);
    let res = p
        .app()
        .gql(Some(&eve), SPIN_OUT, json!({ "id": p.pool }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");

    // The entity registers as a parent only once reported registered.
    let register = json!({ "i": { "name": "Nueva", "jurisdiction": "ES", "legalForm": "sociedad cooperativa",
        "registrationNumber": "N-1", "spunOutFrom": id } });
    let res = p
        .app()
        .gql(Some(&p.w.founder), REGISTER, register.clone())
        .await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");

    // Not while the parent has the pool suspended.
    let standing = |m: &'static str| {
        let app = p.app();
        let steward = p.w.steward.clone();
        let pool = p.pool.clone();
        async move {
            app.ok(
                Some(&steward),
                &format!(
                    "mutation($id: ID!) {{ {m}(poolId: $id, reason: \"check\") {{ status }} }}"
                ),
                json!({ "id": pool }),
            )
            .await
        }
    };
    standing("suspendPool").await;
    let res = report(p.w.founder.clone(), "N-1".to_owned()).await;
    assert_eq!(error_code(&res), "CONFLICT", "a suspended pool: {res:#}");
    standing("reinstatePool").await;

    // A bad number, then the report, then a second one.
    let res = report(p.w.founder.clone(), " ".to_owned()).await;
    assert_eq!(
        error_paths(&res),
        vec!["input.registrationNumber"],
        "{res:#}"
    );
    let res = report(p.w.founder.clone(), "N".repeat(65)).await;
    assert_eq!(
        error_paths(&res),
        vec!["input.registrationNumber"],
        "{res:#}"
    );
    let res = report(p.w.founder.clone(), "N-1".to_owned()).await;
    assert_eq!(
        res["data"]["reportSpinOutRegistered"]["status"], "REGISTERED",
        "{res:#}"
    );
    let res = report(p.w.founder.clone(), "N-1".to_owned()).await;
    assert_eq!(error_code(&res), "CONFLICT", "reported twice: {res:#}");
}
