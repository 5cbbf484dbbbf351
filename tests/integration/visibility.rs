//! What a caller may not know exists answers exactly as what does not
//! exist: every mutation, called by someone with no part in the pool, its
//! formation or its people, gets `NOT_FOUND` for a private object and for
//! an id that names nothing alike. Public objects (parent entities, pools,
//! their groups and apps) may be refused with `FORBIDDEN`.

use serde_json::Value;

use crate::{
    auditors::{PUBLIC_IDS, Values, Walk},
    helpers::TestApp,
};

/// Mutations anyone signed in may call on what they name, or that name
/// nothing but the caller: the walk does not expect a refusal from them.
const OPEN_TO_ALL: &[&str] = &[
    "signUp",
    "signIn",
    "signOut",
    "createApiToken",
    "registerParentEntity",
    "startFormation",
    "applyForMembership",
    "confirmEmail",
    "sendEmailConfirmation",
    "requestPasswordReset",
    "resetPassword",
    "changePassword",
    "changeEmail",
    "updateProfile",
    "setNotificationPreferences",
    "signOutEverywhere",
    "deleteAccount",
];

on_both_databases!(
    outsiders_cannot_tell_private_objects_from_missing_ones,
    outsiders_read_private_objects_as_missing_ones,
    a_draft_does_not_exist_for_the_parent
);

/// The id arguments of `m`, including those inside its input object.
fn id_names(walk: &Walk, m: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for arg in m["args"].as_array().unwrap() {
        walk.schema
            .ids_in(&arg["type"], arg["name"].as_str().unwrap(), &mut names);
    }
    names
}

/// Every string in `value`: the ids and tokens a call was given.
fn ids_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(ids_of).collect(),
        Value::Object(fields) => fields.values().flat_map(ids_of).collect(),
        _ => Vec::new(),
    }
}

async fn outsiders_cannot_tell_private_objects_from_missing_ones(app: TestApp) {
    let walk = Walk::new(app).await;
    let (eve, _) = walk.app().sign_up("eve@example.org").await;
    let mut wrong = Vec::new();
    // Another person's API token and role invitation are theirs alone.
    for m in &walk.mutations {
        let name = m["name"].as_str().unwrap();
        if OPEN_TO_ALL.contains(&name) {
            continue;
        }
        let ids = id_names(&walk, m);
        // Whoever holds an invitation's secret link knows it exists: its
        // answer may say whom it was sent to.
        let private = ids
            .iter()
            .any(|id| !PUBLIC_IDS.contains(&id.as_str()) && id != "token");
        let (existing, existing_vars) = walk.call(&eve, m, Values::Valid).await;
        let (missing, missing_vars) = walk.call(&eve, m, Values::Missing).await;
        let code = |res: &Value| res["errors"][0]["extensions"]["code"].clone();
        let message = |res: &Value, ids: &Value| {
            // The message of a missing object names the id it was given.
            let mut m = res["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for id in ids_of(ids) {
                m = m.replace(&id, "<id>");
            }
            m
        };
        let answered_alike = code(&existing) == code(&missing)
            && message(&existing, &existing_vars) == message(&missing, &missing_vars);
        let fine = if private {
            // A private object answers exactly as a missing one.
            code(&missing) == "NOT_FOUND" && answered_alike
        } else {
            // A public one may be refused as such; a missing one is not found,
            // unless the refusal does not depend on the object at all.
            code(&existing) == "FORBIDDEN" && (code(&missing) == "NOT_FOUND" || answered_alike)
        };
        if !fine {
            wrong.push(format!(
                "{name} (ids {ids:?}, {}): existing answered {}, missing answered {}",
                if private { "private" } else { "public" },
                existing["errors"][0],
                missing["errors"][0]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The queries that name one private object: an outsider reads it as one
/// that does not exist.
async fn outsiders_read_private_objects_as_missing_ones(app: TestApp) {
    let walk = Walk::new(app).await;
    let (eve, _) = walk.app().sign_up("eve@example.org").await;
    let queries = [
        (
            "formationId",
            "query($id: ID!) { formation(id: $id) { id } }",
        ),
        (
            "formationId",
            "query($id: ID!) { recommendedTemplates(formationId: $id) { fits } }",
        ),
        ("proposalId", "query($id: ID!) { proposal(id: $id) { id } }"),
        (
            "deleteWebhookEndpoint.id",
            "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }",
        ),
    ];
    for (fixture, query) in queries {
        let real = walk.fixture.named(fixture);
        let missing = uuid::Uuid::now_v7().to_string();
        let existing = walk
            .app()
            .gql(Some(&eve), query, serde_json::json!({ "id": real }))
            .await;
        let absent = walk
            .app()
            .gql(Some(&eve), query, serde_json::json!({ "id": missing }))
            .await;
        assert_eq!(
            existing["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{query}: {existing:#}"
        );
        assert_eq!(
            existing["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(&real, "<id>"),
            absent["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(&missing, "<id>"),
            "{query}"
        );
    }
}

/// Until it is submitted, a formation is its founders' own: the parent's
/// steward cannot decide it, nor learn that it exists.
async fn a_draft_does_not_exist_for_the_parent(app: TestApp) {
    let walk = Walk::new(app).await;
    let draft = walk.p.w.start("A quiet draft").await;
    for mutation in [
        "mutation($id: ID!) { approveFormation(formationId: $id) { id } }",
        "mutation($id: ID!) { rejectFormation(input: { formationId: $id, reason: \"no\" }) { id } }",
    ] {
        let res = walk
            .app()
            .gql(
                Some(&walk.p.w.steward),
                mutation,
                serde_json::json!({ "id": draft }),
            )
            .await;
        assert_eq!(
            res["errors"][0]["message"],
            format!("no formation has id {draft}"),
            "{res:#}"
        );
    }
}
