//! Deleting an account: what ends, what is erased (the trail included),
//! what the register keeps, and that every chain still verifies.

use entities::{account_token, audit_event, membership, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement};
use serde_json::{Value, json};

use crate::{
    audit::{all_events, recompute_hash},
    contributions::{euro_scale, start},
    helpers::{PASSWORD, TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    a_deleted_account_is_erased_and_every_chain_still_verifies,
    the_rules_of_the_register_keep_an_account,
    the_trail_lets_through_a_redaction_and_nothing_else,
);

const DELETE: &str = "mutation($p: String!) { deleteAccount(password: $p) {
    deletedAt membershipsEnded rolesEnded eventsRedacted } }";

/// Every event of a chain, read from the database and shaped as the API
/// shows them, checked link by link with the published recipe.
async fn check_chain_from_database(app: &TestApp, chain_key: &str) -> Vec<audit_event::Model> {
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::ChainKey.eq(chain_key))
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap();
    let mut previous = "0".repeat(64);
    for (i, e) in events.iter().enumerate() {
        let time = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let as_api = json!({
            "id": e.id, "seq": e.seq, "prevHash": e.prev_hash, "poolPrevHash": e.pool_prev_hash,
            "occurredAt": time(e.occurred_at), "actorKind": e.actor_kind,
            "actorUserId": e.actor_user_id, "tokenId": e.actor_token_id, "action": e.action,
            "outcome": e.outcome, "entityType": e.entity_type, "entityId": e.entity_id,
            "poolId": e.pool_id, "parentEntityId": e.parent_entity_id, "changes": e.changes,
            "requestId": e.request_id, "clientAddress": e.client_address,
            "contentSalt": e.content_salt, "contentDigest": e.content_digest,
            "redactedAt": e.redacted_at.map(time),
        });
        assert_eq!(e.seq, i as i64 + 1);
        assert_eq!(
            e.prev_hash, previous,
            "event {} links to the one before",
            e.seq
        );
        assert_eq!(recompute_hash(&as_api, chain_key), e.hash, "{as_api:#}");
        previous = e.hash.clone();
    }
    events
}

async fn verify(app: &TestApp, token: &str, parent: &str) -> Value {
    app.ok(
        Some(token),
        "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { valid eventsChecked firstBreak { problem } } }",
        json!({ "id": parent }),
    )
    .await["verifyAuditTrail"]
        .clone()
}

async fn a_deleted_account_is_erased_and_every_chain_still_verifies(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    let email = "ana.erased@example.org";
    let (ana, member) = p.join(email, "users").await;
    let ana_id = app.ok(Some(&ana), "{ me { id } }", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&ana),
        "mutation { updateProfile(displayName: \"Ana Erased\") { displayName } }",
        json!({}),
    )
    .await;

    // A wrong password is an error on its field, and changes nothing.
    let wrong = app
        .gql(Some(&ana), DELETE, json!({ "p": "not the password" }))
        .await;
    assert_eq!(error_paths(&wrong), vec!["password"], "{wrong:#}");
    let deleted =
        app.ok(Some(&ana), DELETE, json!({ "p": PASSWORD })).await["deleteAccount"].clone();
    assert_eq!(deleted["membershipsEnded"], 1, "{deleted:#}");
    assert_eq!(deleted["rolesEnded"], 0);
    assert!(
        deleted["eventsRedacted"].as_i64().unwrap() >= 3,
        "{deleted:#}"
    );

    // Nothing lets the person in any more.
    let me = app.gql(Some(&ana), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me:#}");
    let sign_in = app
        .gql(
            None,
            "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
            json!({ "i": { "email": email, "password": PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&sign_in), "UNAUTHENTICATED", "{sign_in:#}");

    // The register keeps the entry, under the name it was registered with,
    // without the address.
    let register = app
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { register(first: 50) { edges { node { id email displayName status leftAt endReason } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    let entry = register["pool"]["register"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == member.as_str())
        .expect("the entry stays in the register")
        .clone();
    assert_eq!(entry["status"], "LEFT");
    assert!(!entry["leftAt"].is_null());
    assert_eq!(entry["endReason"], "the member deleted their account");
    assert_ne!(entry["email"], email);
    assert!(
        entry["email"]
            .as_str()
            .unwrap()
            .ends_with("@erased.invalid"),
        "{entry:#}"
    );

    // The account row is kept for the trail, with nothing of the person.
    let row = user::Entity::find_by_id(uuid::Uuid::parse_str(&ana_id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.deleted_at.is_some());
    assert_eq!(row.display_name, "Deleted account");
    assert_ne!(row.email, email);
    assert!(
        account_token::Entity::find()
            .filter(account_token::Column::UserId.eq(row.id))
            .all(&app.db)
            .await
            .unwrap()
            .is_empty()
    );

    // Neither the address nor the new name is left in any event, in any
    // chain, and the person's network address is gone from their events.
    let everything: Vec<(String, Option<String>, Option<uuid::Uuid>)> = audit_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.changes, e.client_address, e.actor_user_id))
        .collect();
    for (changes, address, actor) in &everything {
        assert!(!changes.contains(email), "{changes}");
        assert!(!changes.contains("Ana Erased"), "{changes}");
        if *actor == Some(row.id) {
            assert!(address.is_none(), "{changes}");
        }
    }
    let about_the_member: Vec<_> =
        all_events(app, &p.w.steward, json!({ "parentEntityId": p.w.parent }))
            .await
            .into_iter()
            .filter(|e| e["entityId"] == member.as_str())
            .collect();
    assert!(about_the_member.len() >= 2, "joined and left");
    for e in &about_the_member {
        assert!(!e["redactedAt"].is_null(), "{e:#}");
        assert!(e["contentSalt"].is_null(), "{e:#}");
    }
    let left = about_the_member
        .iter()
        .find(|e| e["action"] == "member.left")
        .unwrap();
    assert_eq!(
        left["changes"]["status"]["after"], "LEFT",
        "what happened stays: {left:#}"
    );

    // Both chains verify, by the server and by the recipe alone.
    let verified = verify(app, &p.w.steward, &p.w.parent).await;
    assert_eq!(verified["valid"], true, "{verified:#}");
    check_chain_from_database(app, &p.w.parent).await;
    let platform = check_chain_from_database(app, "platform").await;
    let last = platform.last().unwrap();
    assert_eq!(last.action, "account.deleted");
    assert!(last.client_address.is_none());

    // The address is free again.
    let (again, _) = app.sign_up(email).await;
    let me = app.ok(Some(&again), "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], email);
}

async fn the_rules_of_the_register_keep_an_account(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();

    // The pool's only admin, and the parent's only steward, stay.
    let founder = app
        .gql(Some(&p.w.founder), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&founder), "CONFLICT", "{founder:#}");
    assert!(
        founder["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Test Pool")
    );
    let steward = app
        .gql(Some(&p.w.steward), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&steward), "CONFLICT", "{steward:#}");
    assert!(
        steward["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("last steward")
    );

    // A contribution still running must be canceled first.
    euro_scale(&p, false).await;
    let (member, _) = p.join("payer@example.org", "users").await;
    let started = start(&p, &member, json!({ "amount": 800 })).await;
    let contribution = started["data"]["startContribution"]["contribution"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{started:#}"))
        .to_owned();
    let refused = app
        .gql(Some(&member), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused:#}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cancelContribution")
    );
    let still = membership::Entity::find()
        .filter(membership::Column::Email.eq("payer@example.org"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        still.left_at.is_none(),
        "a refused deletion changes nothing"
    );

    // An API token cannot delete the account it belongs to.
    let token = app
        .ok(
            Some(&member),
            "mutation { createApiToken(input: { name: \"bot\", scopes: [READ] }) { token } }",
            json!({}),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_token = app
        .gql(Some(&token), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&by_token), "FORBIDDEN", "{by_token:#}");

    app.ok(
        Some(&member),
        "mutation($i: CancelContributionInput!) { cancelContribution(input: $i) { status } }",
        json!({ "i": { "contributionId": contribution, "atPeriodEnd": false } }),
    )
    .await;
    app.ok(Some(&member), DELETE, json!({ "p": PASSWORD }))
        .await;
    let after = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(
        error_code(&after),
        "UNAUTHENTICATED",
        "API tokens end too: {after:#}"
    );
}

/// The database itself lets a redaction through once, and refuses every
/// other change to an event.
async fn the_trail_lets_through_a_redaction_and_nothing_else(app: TestApp) {
    app.sign_up("trail@example.org").await;
    let event = audit_event::Entity::find()
        .filter(audit_event::Column::ContentDigest.is_not_null())
        .one(&app.db)
        .await
        .unwrap()
        .expect("an event of recipe 2");
    let backend = app.db.get_database_backend();
    let run = |sql: &str| {
        let sql = sql.replace("$ID", "$1");
        let db = app.db.clone();
        async move {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [event.id.into()],
            ))
            .await
        }
    };
    let now = "CURRENT_TIMESTAMP";
    assert!(
        run("UPDATE audit_events SET changes = '{}' WHERE id = $ID")
            .await
            .is_err()
    );
    assert!(
        run(&format!(
            "UPDATE audit_events SET redacted_at = {now}, hash = 'x' WHERE id = $ID"
        ))
        .await
        .is_err(),
        "a redaction may not touch what the hash covers"
    );
    assert!(
        run(&format!(
            "UPDATE audit_events SET redacted_at = {now}, content_digest = 'x' WHERE id = $ID"
        ))
        .await
        .is_err()
    );
    assert!(
        run("DELETE FROM audit_events WHERE id = $ID")
            .await
            .is_err()
    );
    run(&format!(
        "UPDATE audit_events SET redacted_at = {now}, changes = '{{}}', content_salt = NULL WHERE id = $ID"
    ))
    .await
    .expect("a redaction goes through");
    assert!(
        run(&format!("UPDATE audit_events SET changes = '{{\"again\":1}}', redacted_at = {now} WHERE id = $ID"))
            .await
            .is_err(),
        "only once"
    );
}
