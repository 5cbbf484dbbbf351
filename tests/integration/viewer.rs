//! The viewer's own world on `me`: memberships with their pools, pools,
//! formations, invitations, delegations and contributions; pools found by
//! their address, and the directory of parent entities searched.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS},
};

on_both_databases!(
    me_follows_joining_leaving_and_invitations,
    only_the_person_lists_their_world,
    pools_are_found_by_their_address,
    the_directory_searches_names_literally,
);

const ME: &str = "query($status: MembershipStatus) { me {
    memberships(status: $status) { nodes { id status pool { id slug } } }
    pools { nodes { id } }
    invitations { nodes { pool { id } member { status } } }
    delegationsGiven { nodes { delegate { id } } }
    delegationsReceived { nodes { delegator { id } } }
    contributions { nodes { amount { amount } pool { id } } }
    formations { nodes { id } }
    parentEntityRoles { nodes { role } } } }";

async fn me(p: &PoolWorld, token: &str, status: Option<&str>) -> Value {
    p.app()
        .ok(Some(token), ME, json!({ "status": status }))
        .await["me"]
        .clone()
}

async fn me_follows_joining_leaving_and_invitations(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    // Invited before having an account: the invitation waits for the email.
    let invited = app
        .ok(Some(&p.w.founder), "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
            json!({ "i": { "poolId": p.pool, "email": "ada@example.org", "stakeholderGroupId": p.groups["users"] } }))
        .await;
    let token = invited["inviteMember"]["token"].clone();
    let (ada, _) = app.sign_up("ada@example.org").await;
    let world = me(&p, &ada, None).await;
    assert_eq!(
        world["invitations"]["nodes"],
        json!([{ "pool": { "id": p.pool }, "member": { "status": "INVITED" } }])
    );
    assert_eq!(world["pools"]["nodes"], json!([]));

    // Accepting answers with the member and its pool; `me` follows.
    let accepted = app
        .ok(
            Some(&ada),
            "mutation($t: String!) { acceptInvitation(token: $t) { id pool { id } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(accepted["acceptInvitation"]["pool"]["id"], p.pool);
    let member = accepted["acceptInvitation"]["id"].clone();
    let world = me(&p, &ada, Some("ACTIVE")).await;
    assert_eq!(
        world["memberships"]["nodes"],
        json!([{ "id": member, "status": "ACTIVE", "pool": { "id": p.pool, "slug": "test-pool" } }])
    );
    assert_eq!(world["pools"]["nodes"], json!([{ "id": p.pool }]));
    assert_eq!(world["invitations"]["nodes"], json!([]));

    // Delegating shows on both ends; a pledge shows on the contributor.
    let (carl, carl_member) = p.join("carl@example.org", "users").await;
    app.ok(
        Some(&ada),
        "mutation($i: DelegateVoteInput!) { delegateVote(input: $i) { id } }",
        json!({ "i": { "toMemberId": carl_member } }),
    )
    .await;
    app.ok(Some(&p.w.founder), "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
        json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH", "minimum": 100, "maximum": 10000, "suggested": 1000 } }))
        .await;
    app.ok(Some(&ada), "mutation($i: StartContributionInput!) { startContribution(input: $i) { contribution { id } } }",
        json!({ "i": { "poolId": p.pool, "amount": 1500 } }))
        .await;
    let world = me(&p, &ada, None).await;
    assert_eq!(
        world["delegationsGiven"]["nodes"],
        json!([{ "delegate": { "id": carl_member } }])
    );
    assert_eq!(
        world["contributions"]["nodes"],
        json!([{ "amount": { "amount": 1500 }, "pool": { "id": p.pool } }])
    );
    let carls = me(&p, &carl, None).await;
    assert_eq!(
        carls["delegationsReceived"]["nodes"],
        json!([{ "delegator": { "id": member } }])
    );

    // Leaving: the pool goes, the membership stays in the history.
    app.ok(
        Some(&ada),
        "mutation($id: ID!) { leavePool(poolId: $id) { status } }",
        json!({ "id": p.pool }),
    )
    .await;
    assert_eq!(
        me(&p, &ada, Some("ACTIVE")).await["memberships"]["nodes"],
        json!([])
    );
    let world = me(&p, &ada, None).await;
    assert_eq!(world["pools"]["nodes"], json!([]));
    let statuses: Vec<_> = world["memberships"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("LEFT")]);

    // The founder's formations are there, as in myFormations; the steward
    // has their role.
    let founder = me(&p, &p.w.founder, None).await;
    let mine = app
        .ok(
            Some(&p.w.founder),
            "{ myFormations { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        founder["formations"]["nodes"],
        mine["myFormations"]["nodes"]
    );
    assert_eq!(founder["formations"]["nodes"].as_array().unwrap().len(), 1);
    let steward = me(&p, &p.w.steward, None).await;
    assert_eq!(
        steward["parentEntityRoles"]["nodes"],
        json!([{ "role": "STEWARD" }])
    );
}

async fn only_the_person_lists_their_world(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ada, _) = p.join("ada@example.org", "users").await;
    // Another member's account is visible on the member list; their world
    // is not, and a bad argument does not change the answer.
    for field in [
        "memberships",
        "pools",
        "invitations",
        "delegationsGiven",
        "delegationsReceived",
        "contributions",
        "formations",
        "parentEntityRoles",
        "parentEntityRoleInvitations",
    ] {
        let query = format!(
            "query($id: ID!) {{ pool(id: $id) {{ members {{ nodes {{ user {{ email {field}(first: 0) {{ nodes {{ id }} }} }} }} }} }} }}"
        );
        let res = p
            .app()
            .gql(Some(&ada), &query, json!({ "id": p.pool }))
            .await;
        // Two accounts: the founder's refused, Ada's own with its bad
        // argument named.
        let mut codes: Vec<_> = res["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: {res:#}"))
            .iter()
            .map(|e| {
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        codes.sort();
        assert_eq!(codes, ["FORBIDDEN", "VALIDATION"], "{field}: {res:#}");
    }
    let res = p
        .app()
        .gql(
            Some(&ada),
            "{ me { memberships(first: 0) { nodes { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_paths(&res), ["first"]);
}

async fn pools_are_found_by_their_address(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    let query = "query($parent: String!, $slug: String!) { poolBySlug(parentSlug: $parent, slug: $slug) { id name parentEntity { id slug } } }";
    let found = app
        .ok(
            None,
            query,
            json!({ "parent": "cooperativa-paraguas", "slug": "test-pool" }),
        )
        .await;
    assert_eq!(found["poolBySlug"]["id"], p.pool);
    assert_eq!(found["poolBySlug"]["parentEntity"]["id"], p.w.parent);
    // A second parent of the same name gets a slug of its own.
    let other = app.register_parent(&p.w.steward, "F-2027").await;
    let parent = app
        .ok(
            None,
            "query($id: ID!) { parentEntity(id: $id) { slug } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(parent["parentEntity"]["slug"], "cooperativa-paraguas-2");
    let by_slug = app
        .ok(
            None,
            "{ parentEntityBySlug(slug: \"cooperativa-paraguas-2\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(by_slug["parentEntityBySlug"]["id"], other);
    for (parent, slug) in [
        ("cooperativa-paraguas-2", "test-pool"),
        ("cooperativa-paraguas", "no-such-pool"),
        ("%", "%"),
    ] {
        let res = app
            .gql(None, query, json!({ "parent": parent, "slug": slug }))
            .await;
        assert_eq!(error_code(&res), "NOT_FOUND", "{parent}/{slug}");
    }
}

async fn the_directory_searches_names_literally(app: TestApp) {
    let (token, _) = app.sign_up("steward@example.org").await;
    for (name, jurisdiction, number) in [
        ("100% Solidaria", "ES", "S-1"),
        ("100 Años Cooperativa", "ES", "S-2"),
        ("Coop_Norte", "PT", "S-3"),
        ("CoopXNorte", "PT", "S-4"),
    ] {
        app.ok(
            Some(&token),
            "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
            json!({ "i": { "name": name, "jurisdiction": jurisdiction, "legalForm": "cooperativa",
                "registrationNumber": number, "approvalPolicy": "MANUAL" } }),
        )
        .await;
    }
    let names = |search: Option<&str>, jurisdiction: Option<&str>| {
        let app = &app;
        let search = search.map(str::to_owned);
        let jurisdiction = jurisdiction.map(str::to_owned);
        async move {
            let data = app
                .ok(
                    None,
                    "query($s: String, $j: String) { parentEntities(search: $s, jurisdiction: $j) { nodes { name slug } } }",
                    json!({ "s": search, "j": jurisdiction }),
                )
                .await;
            data["parentEntities"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(Some("100%"), None).await, ["100% Solidaria"]);
    assert_eq!(names(Some("coop_"), None).await, ["Coop_Norte"]);
    assert_eq!(
        names(Some("NORTE"), None).await,
        ["Coop_Norte", "CoopXNorte"]
    );
    assert_eq!(names(Some("%"), None).await, ["100% Solidaria"]);
    assert_eq!(names(None, Some("pt")).await, ["Coop_Norte", "CoopXNorte"]);
    assert_eq!(names(Some("100"), Some("PT")).await, Vec::<String>::new());
    let res = app
        .gql(
            None,
            "{ parentEntities(search: \"  \", jurisdiction: \"Narnia\") { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&res), "VALIDATION");
    assert_eq!(error_paths(&res), ["search", "jurisdiction"]);
}
