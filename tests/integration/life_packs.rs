//! Every end-of-life step of a pool seals a signed audit pack of the pool
//! as the step left it, kept as it was signed for whoever oversees it, the
//! parent it left included.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    audit_pack::{pack_key, verify_offline},
    helpers::{TestApp, error_code},
    moves::decided,
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    a_suspension_and_a_reinstatement_each_seal_a_signed_pack,
    a_move_seals_a_pack_the_parent_it_left_keeps,
    a_pool_keeps_the_bytes_of_a_bounded_number_of_packs
);

const SUSPEND: &str =
    "mutation($id: ID!, $r: String!) { suspendPool(poolId: $id, reason: $r) { status } }";
const REINSTATE: &str =
    "mutation($id: ID!, $r: String!) { reinstatePool(poolId: $id, reason: $r) { status } }";
const POOL_PACKS: &str = "query($id: ID!) { pool(id: $id) { lifePacks(first: 100) { edges { node {
    id step eventId eventHash sizeBytes bodySha256 signature keyId downloadPath
    pool { id } parentEntity { id } } } } } }";
const PARENT_PACKS: &str = "query($id: ID!) { parentEntity(id: $id) { lifePacks(first: 100) {
    edges { node { id step downloadPath pool { id } } } } } }";

fn nodes(v: &Value) -> Vec<Value> {
    v["lifePacks"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

pub(crate) async fn pool_packs(p: &PoolWorld, token: &str) -> Vec<Value> {
    nodes(
        &p.app()
            .ok(Some(token), POOL_PACKS, json!({ "id": p.pool }))
            .await["pool"],
    )
}

async fn parent_packs(app: &TestApp, token: &str, parent: &str) -> Vec<Value> {
    nodes(
        &app.ok(Some(token), PARENT_PACKS, json!({ "id": parent }))
            .await["parentEntity"],
    )
}

/// Downloads a pack as `token`: its status, and its bytes and signature
/// header when it was served.
async fn fetch(app: &TestApp, path: &str, token: &str) -> (u16, Vec<u8>, Option<String>) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let signature = res
        .headers()
        .get("pools-pack-signature")
        .map(|s| s.to_str().unwrap().to_owned());
    (status, res.bytes().await.unwrap().to_vec(), signature)
}

/// Downloads a pack, checks it is the one its record describes and that
/// a third party verifies it offline, and answers its document.
pub(crate) async fn verified(app: &TestApp, record: &Value, token: &str) -> Value {
    let path = record["downloadPath"].as_str().expect("bytes kept");
    let (status, body, signature) = fetch(app, path, token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let signature = signature.expect("signed");
    assert_eq!(signature, record["signature"].as_str().unwrap());
    assert_eq!(
        hex::encode(Sha256::digest(&body)),
        record["bodySha256"].as_str().unwrap()
    );
    assert_eq!(body.len() as i64, record["sizeBytes"].as_i64().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (code, said) = verify_offline(dir.path(), &body, &pack_key(app).await, &signature);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("ok    signature"), "{said}");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    // The pack ends with the event that recorded its step.
    let events = doc["auditEvents"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["id"], record["eventId"]);
    assert_eq!(last["hash"], record["eventHash"]);
    assert_eq!(doc["lifeStep"]["step"], record["step"]);
    assert_eq!(doc["lifeStep"]["packId"], record["id"]);
    doc
}

async fn a_suspension_and_a_reinstatement_each_seal_a_signed_pack(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (member, _) = p.join("member@example.org", "workers").await;
    let (outsider, _) = p.app().sign_up("outsider@example.org").await;
    assert!(pool_packs(&p, &p.w.auditor).await.is_empty());

    p.app()
        .ok(
            Some(&p.w.steward),
            SUSPEND,
            json!({ "id": p.pool, "r": "Breach of the parent's policy" }),
        )
        .await;
    let packs = pool_packs(&p, &p.w.auditor).await;
    assert_eq!(packs.len(), 1);
    let suspended = &packs[0];
    assert_eq!(suspended["step"], "SUSPENDED");
    assert_eq!(suspended["pool"]["id"], p.pool.as_str());
    assert_eq!(suspended["parentEntity"]["id"], p.w.parent.as_str());
    let doc = verified(p.app(), suspended, &p.w.auditor).await;
    assert_eq!(doc["pool"]["status"], "SUSPENDED", "as the step left it");
    let last = doc["auditEvents"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "pool.suspended");

    // The pool's admins read it too; a plain member and a stranger cannot
    // tell it exists, and nobody reads it without signing in.
    verified(p.app(), suspended, &p.w.founder).await;
    let path = suspended["downloadPath"].as_str().unwrap();
    for token in [&member, &outsider] {
        let (status, body, _) = fetch(p.app(), path, token).await;
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    }
    let res = p.app().client.get(p.app().url(path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = p
        .app()
        .gql(Some(&member), POOL_PACKS, json!({ "id": p.pool }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(Some(&outsider), PARENT_PACKS, json!({ "id": p.w.parent }))
        .await;
    assert!(
        ["FORBIDDEN", "NOT_FOUND"].contains(&error_code(&res)),
        "{res:#}"
    );
    let (status, _, _) = fetch(
        p.app(),
        &format!("/exports/life-packs/{}", uuid::Uuid::now_v7()),
        &p.w.auditor,
    )
    .await;
    assert_eq!(status, 404);

    p.app()
        .ok(
            Some(&p.w.steward),
            REINSTATE,
            json!({ "id": p.pool, "r": "Resolved" }),
        )
        .await;
    let packs = pool_packs(&p, &p.w.steward).await;
    let steps: Vec<&str> = packs.iter().map(|n| n["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["SUSPENDED", "REINSTATED"]);
    let doc = verified(p.app(), &packs[1], &p.w.steward).await;
    assert_eq!(doc["pool"]["status"], "ACTIVE");
    // Each pack holds the one before it: the chain only grew.
    let before = verified(p.app(), &packs[0], &p.w.steward).await;
    let earlier = before["auditEvents"].as_array().unwrap();
    assert_eq!(
        &doc["auditEvents"].as_array().unwrap()[..earlier.len()],
        earlier
    );
    assert_eq!(
        parent_packs(p.app(), &p.w.auditor, &p.w.parent).await.len(),
        2
    );
}

/// The members decide to move the pool to `to`, and both parents agree.
async fn moved(p: &PoolWorld, voters: &[&str], to: &str, receiving: &str, releasing: &str) {
    let move_id = decided(p, voters, to).await;
    for (token, agree) in [
        (receiving, "acceptPoolMove"),
        (releasing, "releasePoolMove"),
    ] {
        p.app()
            .ok(
                Some(token),
                &format!("mutation($id: ID!) {{ {agree}(moveId: $id) {{ status }} }}"),
                json!({ "id": move_id }),
            )
            .await;
    }
}

/// Whether a parent's chain, the pool links in it and its books hold.
async fn chain_holds(app: &TestApp, token: &str, parent: &str) -> Value {
    app.ok(
        Some(token),
        "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid firstBreak { seq problem } } }",
        json!({ "id": parent }),
    )
    .await["verifyAuditTrail"]
        .clone()
}

async fn a_move_seals_a_pack_the_parent_it_left_keeps(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "workers").await;
    let (other_steward, _) = p.app().sign_up("other-steward@example.org").await;
    let other = p
        .app()
        .register_parent_with(&other_steward, "B-2026", "AUTOMATIC")
        .await;
    let voters = [p.w.founder.as_str(), ada.as_str()];
    moved(&p, &voters, &other, &other_steward, &p.w.steward).await;
    // The receiving parent sees it on the pool; the one it left keeps it
    // in its own list, and still reads it though the pool is gone from it.
    let packs = pool_packs(&p, &other_steward).await;
    assert_eq!(packs.len(), 1);
    assert_eq!(packs[0]["step"], "MOVED");
    assert_eq!(packs[0]["parentEntity"]["id"], p.w.parent.as_str());
    let doc = verified(p.app(), &packs[0], &other_steward).await;
    assert_eq!(doc["pool"]["parentEntityId"], other.as_str());
    let kept = parent_packs(p.app(), &p.w.auditor, &p.w.parent).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], packs[0]["id"]);
    verified(p.app(), &packs[0], &p.w.auditor).await;
    let res = p
        .app()
        .gql(Some(&p.w.auditor), POOL_PACKS, json!({ "id": p.pool }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    assert!(
        parent_packs(p.app(), &other_steward, &other)
            .await
            .is_empty()
    );

    // The pool's own links run on across both chains, and each chain
    // still verifies: the new parent's holds the pool's first event there
    // to its last one in the old chain.
    for (token, parent) in [(&p.w.steward, &p.w.parent), (&other_steward, &other)] {
        let verdict = chain_holds(p.app(), token, parent).await;
        assert_eq!(verdict["valid"], true, "{verdict:#}");
    }
    // And back again, with events between: the pool's first chain now
    // holds old events of the pool before a link into the other chain.
    let (bo, _) = p.join("bo@example.org", "workers").await;
    let voters = [p.w.founder.as_str(), ada.as_str(), bo.as_str()];
    moved(&p, &voters, &p.w.parent, &p.w.steward, &other_steward).await;
    p.join("cy@example.org", "workers").await;
    for (token, parent) in [(&p.w.steward, &p.w.parent), (&other_steward, &other)] {
        let verdict = chain_holds(p.app(), token, parent).await;
        assert_eq!(verdict["valid"], true, "{verdict:#}");
    }
    let packs = pool_packs(&p, &p.w.steward).await;
    assert_eq!(packs.len(), 2);
    let doc = verified(p.app(), &packs[1], &p.w.steward).await;
    assert_eq!(
        doc["chain"]["chainKeys"],
        json!([p.w.parent, other]),
        "the chains in the order the pool joined them"
    );
    // The pack of today orders the events of both chains by the pool's
    // links, and a third party checks it as it is.
    let res = crate::audit_pack::download(p.app(), &p.pool, &p.w.auditor).await;
    let signature = res.headers()["pools-pack-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = res.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, said) = verify_offline(dir.path(), &body, &pack_key(p.app()).await, &signature);
    assert_eq!(code, 0, "{said}");
}

async fn a_pool_keeps_the_bytes_of_a_bounded_number_of_packs(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    // 17 suspensions and reinstatements: 34 packs, of which 32 keep bytes.
    for _ in 0..17 {
        for step in [SUSPEND, REINSTATE] {
            p.app()
                .ok(
                    Some(&p.w.steward),
                    step,
                    json!({ "id": p.pool, "r": "Again" }),
                )
                .await;
        }
    }
    let packs = pool_packs(&p, &p.w.auditor).await;
    assert_eq!(packs.len(), 34);
    let kept = packs
        .iter()
        .filter(|n| !n["downloadPath"].is_null())
        .count();
    assert_eq!(kept, 32);
    for n in &packs[32..] {
        assert!(n["downloadPath"].is_null(), "{n:#}");
        assert_eq!(n["bodySha256"].as_str().unwrap().len(), 64);
        assert!(!n["signature"].as_str().unwrap().is_empty());
        let path = format!("/exports/life-packs/{}", n["id"].as_str().unwrap());
        let (status, body, _) = fetch(p.app(), &path, &p.w.auditor).await;
        assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    }
    verified(p.app(), &packs[31], &p.w.auditor).await;
}
