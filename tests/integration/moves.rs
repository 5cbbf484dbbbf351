//! Moving a pool to another parent entity: the members decide, the
//! receiving parent accepts, the releasing one releases, and the pool moves
//! with everything it has.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(a_pool_moves_when_both_parents_agree);

const CREATE: &str = "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id passThresholdPercent moveTo { id } } }";
const MOVES: &str = "query($id: ID!) { pool(id: $id) { parentEntity { id }
    moves(first: 10) { edges { node { id status acceptedAt releasedAt completedAt declineReason
      releasingParent { id } receivingParent { id } proposal { id } } } } } }";

async fn moves(p: &PoolWorld) -> Value {
    p.app()
        .ok(Some(&p.w.founder), MOVES, json!({ "id": p.pool }))
        .await["pool"]
        .clone()
}

/// Everyone agrees to moving the pool to `to`; answers the move's id.
pub(crate) async fn decided(p: &PoolWorld, voters: &[&str], to: &str) -> String {
    let data = p
        .app()
        .ok(
            Some(&p.w.founder),
            CREATE,
            json!({ "i": { "poolId": p.pool, "title": "Move", "kind": "MOVE", "moveTo": to } }),
        )
        .await;
    let id = data["createProposal"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["createProposal"]["passThresholdPercent"], 67);
    for v in voters {
        p.vote(v, &id, "agree").await;
    }
    assert_eq!(p.close(&p.w.founder, &id).await["outcome"], "PASSED");
    let edges = moves(p).await["moves"]["edges"].as_array().unwrap().clone();
    let last = edges.last().unwrap()["node"].clone();
    assert_eq!(last["proposal"]["id"], id.as_str());
    assert_eq!(last["status"], "PENDING");
    last["id"].as_str().unwrap().to_owned()
}

async fn trail(p: &PoolWorld, token: &str, parent: &str) -> Vec<String> {
    crate::audit::actions(p.app(), token, json!({ "parentEntityId": parent })).await
}

async fn a_pool_moves_when_both_parents_agree(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "workers").await;
    let (other_steward, _) = p.app().sign_up("other-steward@example.org").await;
    let other = p
        .app()
        .register_parent_with(&other_steward, "B-2026", "AUTOMATIC")
        .await;
    let here = p.w.parent.clone();

    // What could never be: no target, the same parent, an unknown one, a
    // parent whose policy refuses the pool's template.
    let create = |i: Value| p.app().gql(Some(&p.w.founder), CREATE, json!({ "i": i }));
    let base = |extra: Value| {
        let mut i = json!({ "poolId": p.pool, "title": "Move", "kind": "MOVE" });
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        i
    };
    for (extra, why) in [
        (json!({}), "no target"),
        (json!({ "moveTo": here }), "the same parent"),
        (
            json!({ "moveTo": uuid::Uuid::now_v7().to_string() }),
            "unknown",
        ),
    ] {
        let res = create(base(extra)).await;
        assert_eq!(error_paths(&res), vec!["input.moveTo"], "{why}: {res:#}");
    }
    let policy = |templates: Value| {
        p.app().ok(
            Some(&other_steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
            json!({ "i": { "parentEntityId": other, "allowedTemplateIds": templates } }),
        )
    };
    policy(json!(["es-sociedad-cooperativa"])).await;
    let res = create(base(json!({ "moveTo": other }))).await;
    assert_eq!(error_paths(&res), vec!["input.moveTo"], "{res:#}");
    policy(Value::Null).await;
    let res = create(json!({ "poolId": p.pool, "title": "t", "moveTo": other })).await;
    assert_eq!(
        error_paths(&res),
        vec!["input.moveTo"],
        "only a MOVE names one"
    );

    let voters = [p.w.founder.as_str(), ada.as_str()];
    let move_id = decided(&p, &voters, &other).await;
    let accept = "mutation($id: ID!) { acceptPoolMove(moveId: $id) { status acceptedAt } }";
    let release = "mutation($id: ID!) { releasePoolMove(moveId: $id) { status completedAt } }";
    // The releasing parent cannot accept, nor the receiving one release; a
    // stranger cannot tell the move exists; a member is refused.
    let res = p
        .app()
        .gql(Some(&p.w.steward), accept, json!({ "id": move_id }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(Some(&other_steward), release, json!({ "id": move_id }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .gql(Some(&ada), accept, json!({ "id": move_id }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let (eve, _) = p.app().sign_up("eve@example.org").await;
    let res = p
        .app()
        .gql(Some(&eve), accept, json!({ "id": move_id }))
        .await;
    assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");

    let accepted = p
        .app()
        .ok(Some(&other_steward), accept, json!({ "id": move_id }))
        .await;
    assert_eq!(accepted["acceptPoolMove"]["status"], "PENDING");
    assert_eq!(
        moves(&p).await["parentEntity"]["id"],
        here.as_str(),
        "not yet"
    );
    let again = p
        .app()
        .gql(Some(&other_steward), accept, json!({ "id": move_id }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let pending = p
        .app()
        .ok(
            Some(&other_steward),
            "query($id: ID!) { parentEntity(id: $id) { poolMoves(first: 10) { edges { node { id status } } } } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(
        pending["parentEntity"]["poolMoves"]["edges"][0]["node"]["id"],
        move_id.as_str()
    );

    let register_before = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { id } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let released = p
        .app()
        .ok(Some(&p.w.steward), release, json!({ "id": move_id }))
        .await;
    assert_eq!(released["releasePoolMove"]["status"], "COMPLETED");
    let after = moves(&p).await;
    assert_eq!(after["parentEntity"]["id"], other.as_str());
    let register_after = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { register(first: 100) { edges { node { id } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(register_after, register_before, "the register moves whole");
    // The hand-over is in both parents' chains.
    assert!(
        trail(&p, &p.w.steward, &here)
            .await
            .contains(&"pool.released".to_owned())
    );
    assert!(
        trail(&p, &other_steward, &other)
            .await
            .contains(&"pool.moved".to_owned())
    );
    // The old parent's stewards no longer oversee it; the new ones do.
    let res = p
        .app()
        .gql(
            Some(&other_steward),
            "mutation($id: ID!) { suspendPool(poolId: $id, reason: \"check\") { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(res["data"]["suspendPool"]["status"], "SUSPENDED", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&p.w.steward),
            "mutation($id: ID!) { reinstatePool(poolId: $id, reason: \"mine\") { status } }",
            json!({ "id": p.pool }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN");
    p.app()
        .ok(
            Some(&other_steward),
            "mutation($id: ID!) { reinstatePool(poolId: $id, reason: \"fine\") { status } }",
            json!({ "id": p.pool }),
        )
        .await;

    // A move back is declined by the parent it would leave.
    let back = decided(&p, &voters, &here).await;
    let decline = "mutation($id: ID!, $r: String!) { declinePoolMove(moveId: $id, reason: $r) { status declineReason } }";
    let res = p
        .app()
        .gql(
            Some(&other_steward),
            decline,
            json!({ "id": back, "r": "" }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["reason"]);
    let declined = p
        .app()
        .ok(
            Some(&other_steward),
            decline,
            json!({ "id": back, "r": "Stay with us" }),
        )
        .await;
    assert_eq!(declined["declinePoolMove"]["status"], "DECLINED");
    let res = p
        .app()
        .gql(Some(&p.w.steward), accept, json!({ "id": back }))
        .await;
    assert_eq!(error_code(&res), "CONFLICT");
    assert_eq!(moves(&p).await["parentEntity"]["id"], other.as_str());
}
