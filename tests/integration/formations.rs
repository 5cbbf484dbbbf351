//! The formation flow: from stakeholder groups to an approved pool.

mod contradictions;
mod eligibility;

use entities::{formation, membership, pool, pool_app, stakeholder_group};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_paths};

const FORMATION_FIELDS: &str = "id status name slug progressPercent
    steps { step complete problems { path code message } }
    problems { step path code message }
    principleViolations { principle reason blocking }
    stakeholderGroups { key name kind votingWeight admission }
    foundingMembers { email role stakeholderGroupKey }
    financialProfile { currency distributesSurplus }
    legalTemplate { id }
    apps { app { id } configured settings adminRole roleMapping { stakeholderGroupKey appRole } }
    rulesDocument
    pool { id }";

/// A parent entity (in Spain) with a steward and an auditor, and a founder.
pub(crate) struct World {
    pub app: TestApp,
    pub steward: String,
    pub auditor: String,
    pub founder: String,
    pub parent: String,
}

impl World {
    pub async fn new(app: TestApp, policy: &str) -> Self {
        let (steward, _) = app.sign_up("steward@example.org").await;
        let (auditor, _) = app.sign_up("auditor@example.org").await;
        let (founder, _) = app.sign_up("founder@example.org").await;
        let parent = app.register_parent_with(&steward, "F-2026", policy).await;
        app.grant_role(
            &steward,
            &parent,
            &auditor,
            "auditor@example.org",
            "AUDITOR",
        )
        .await;
        Self {
            app,
            steward,
            auditor,
            founder,
            parent,
        }
    }

    /// Runs a formation mutation as `token`; returns the whole response.
    pub async fn call(&self, token: &str, mutation: &str, input: Value) -> Value {
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ {FORMATION_FIELDS} }} }}",
            capitalise(mutation)
        );
        self.app
            .gql(Some(token), &query, json!({ "i": input }))
            .await
    }

    /// Like [`Self::call`], but the call must succeed; returns the formation.
    pub async fn step(&self, token: &str, mutation: &str, input: Value) -> Value {
        let res = self.call(token, mutation, input).await;
        assert!(res.get("errors").is_none(), "{mutation} failed: {res:#}");
        res["data"][mutation].clone()
    }

    pub async fn start(&self, working_name: &str) -> String {
        let f = self
            .step(
                &self.founder,
                "startFormation",
                json!({ "parentEntityId": self.parent, "workingName": working_name }),
            )
            .await;
        assert_eq!(f["status"], "DRAFT");
        assert_eq!(f["progressPercent"], 0);
        f["id"].as_str().unwrap().to_owned()
    }

    pub async fn formation(&self, token: &str, id: &str) -> Value {
        let query = format!("query($id: ID!) {{ formation(id: $id) {{ {FORMATION_FIELDS} }} }}");
        self.app.gql(Some(token), &query, json!({ "id": id })).await
    }

    /// Fills in every step with a valid worker co-op pool: three founding
    /// members, the pool template, one configured app.
    pub async fn complete(&self, id: &str, name: &str) -> Value {
        self.step(&self.founder, "setStakeholderGroups", json!({ "formationId": id, "groups": [
            { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "APPLICATION" },
            { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" },
        ] }))
        .await;
        self.step(&self.founder, "setFoundingMembers", json!({ "formationId": id, "members": [
            { "email": "founder@example.org", "displayName": "Founder", "stakeholderGroupKey": "workers", "role": "ADMIN" },
            { "email": "steward@example.org", "displayName": "Steward", "stakeholderGroupKey": "workers" },
            { "email": "newcomer@example.org", "displayName": "Newcomer", "stakeholderGroupKey": "users" },
        ] }))
        .await;
        self.step(&self.founder, "setFinancialProfile", json!({ "formationId": id, "distributesSurplus": false,
            "raisesShareCapital": false, "acceptsInvestorMembers": false, "tradesWithPublic": true, "currency": "eur" }))
        .await;
        self.step(
            &self.founder,
            "chooseLegalTemplate",
            json!({ "formationId": id, "templateId": "pool-inside-parent" }),
        )
        .await;
        self.step(
            &self.founder,
            "nameFormation",
            json!({ "formationId": id, "name": name }),
        )
        .await;
        self.step(
            &self.founder,
            "selectApps",
            json!({ "formationId": id, "appIds": ["nextcloud", "loomio"] }),
        )
        .await;
        self.step(
            &self.founder,
            "configureApp",
            json!({ "formationId": id, "appId": "nextcloud",
            "settings": { "storageQuotaGb": 50 },
            "roleMapping": [{ "stakeholderGroupKey": "users", "appRole": "guest" }] }),
        )
        .await
    }

    pub async fn submit(&self, id: &str) -> Value {
        self.app
            .gql(
                Some(&self.founder),
                "mutation($id: ID!) { submitFormation(formationId: $id) { id status submittedAt pool { id } } }",
                json!({ "id": id }),
            )
            .await
    }

    pub async fn approve(&self, token: &str, id: &str) -> Value {
        self.app
            .gql(
                Some(token),
                "mutation($id: ID!) { approveFormation(formationId: $id) {
                    id name slug status currency
                    parentEntity { id }
                    legalTemplate { id citation }
                    stakeholderGroups { key kind votingWeight admission }
                    apps { appId provisioningState settings roleMapping }
                    rulesDocument
                    governance { votingRule defaultQuorumPercent }
                } }",
                json!({ "id": id }),
            )
            .await
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

on_both_databases!(
    the_whole_journey_ends_in_a_pool,
    every_step_names_the_fields_it_refuses,
    a_draft_resumes_where_it_was_left,
    templates_are_recommended_with_reasons,
    names_collide_regardless_of_case_and_accents,
    app_settings_are_checked_against_the_schema,
    ica_principles_warn_or_block,
    who_may_do_what_with_a_formation,
    concurrent_approvals_create_one_pool,
    a_failed_approval_leaves_nothing_behind,
    an_automatic_parent_approves_on_submission,
    rejection_and_withdrawal,
    the_parent_policy_limits_templates_and_apps,
);

// Statement counts measure a request alone: the job worker, which polls on
// its own schedule, would add its statements to the same counter.
on_both_databases!(settings: &[("RUN_JOBS", "false")]; formation_lists_cost_the_same_for_any_length);

async fn the_whole_journey_ends_in_a_pool(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Our riders' co-op").await;
    let done = w.complete(&id, "Ciclos Café").await;
    assert_eq!(done["progressPercent"], 100, "{done:#}");
    assert_eq!(done["problems"], json!([]));
    assert!(
        done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["complete"] == true)
    );
    assert_eq!(done["slug"], "ciclos-cafe");
    let nextcloud = &done["apps"][0];
    assert_eq!(nextcloud["configured"], true);
    assert_eq!(nextcloud["settings"]["storageQuotaGb"], 50);
    assert_eq!(
        done["apps"][1]["configured"], false,
        "loomio runs on its defaults"
    );
    let rules = done["rulesDocument"].as_str().unwrap();
    assert!(rules.contains("# Rules of Ciclos Café"));
    assert!(
        rules.contains("The parent entity's own model rules apply"),
        "the template's citation: {rules}"
    );

    let submitted = w.submit(&id).await;
    assert_eq!(
        submitted["data"]["submitFormation"]["status"], "SUBMITTED",
        "{submitted:#}"
    );

    let before = w.app.sql_count();
    let approved = w.approve(&w.steward, &id).await;
    let statements = w.app.sql_count() - before;
    eprintln!("approveFormation ran {statements} SQL statements");
    let pool = &approved["data"]["approveFormation"];
    assert_eq!(pool["status"], "ACTIVE", "{approved:#}");
    assert_eq!(pool["name"], "Ciclos Café");
    assert_eq!(pool["currency"], "EUR");
    assert_eq!(pool["parentEntity"]["id"], w.parent.as_str());
    assert_eq!(pool["legalTemplate"]["id"], "pool-inside-parent");
    assert_eq!(pool["stakeholderGroups"].as_array().unwrap().len(), 2);
    assert_eq!(pool["apps"][0]["appId"], "nextcloud");
    assert_eq!(pool["apps"][0]["provisioningState"], "REQUESTED");
    assert_eq!(
        pool["apps"][0]["roleMapping"],
        json!({ "admins": "admin", "groups": { "users": "guest", "workers": "member" } })
    );
    assert_eq!(pool["governance"]["votingRule"], "ONE_MEMBER_ONE_VOTE");
    assert!(
        pool["rulesDocument"]
            .as_str()
            .unwrap()
            .contains("never to the members")
    );

    // The founder is the active admin; the others are invited.
    let members = w
        .app
        .ok(
            Some(&w.founder),
            "query($id: ID!) { pool(id: $id) { members { edges { node { email role status joinedVia user { email } stakeholderGroup { key } } } } } }",
            json!({ "id": pool["id"] }),
        )
        .await;
    let edges = members["pool"]["members"]["edges"].as_array().unwrap();
    let by_email = |e: &str| {
        edges
            .iter()
            .find(|m| m["node"]["email"] == e)
            .map(|m| m["node"].clone())
            .unwrap()
    };
    assert_eq!(by_email("founder@example.org")["status"], "ACTIVE");
    assert_eq!(by_email("founder@example.org")["role"], "ADMIN");
    assert_eq!(by_email("steward@example.org")["status"], "INVITED");
    assert_eq!(
        by_email("steward@example.org")["user"]["email"],
        "steward@example.org",
        "linked to the existing account"
    );
    assert!(
        by_email("newcomer@example.org")["user"].is_null(),
        "no account yet"
    );
    assert_eq!(
        by_email("newcomer@example.org")["stakeholderGroup"]["key"],
        "users"
    );

    let formation = w.formation(&w.founder, &id).await;
    assert_eq!(formation["data"]["formation"]["status"], "APPROVED");
    assert_eq!(formation["data"]["formation"]["pool"]["id"], pool["id"]);
    // Approving again answers with the same pool.
    let again = w.approve(&w.steward, &id).await;
    assert_eq!(again["data"]["approveFormation"]["id"], pool["id"]);
    assert_eq!(pool::Entity::find().count(&w.app.db).await.unwrap(), 1);
    // The parent lists its pool publicly.
    let listed = w
        .app
        .ok(
            None,
            "query($id: ID!) { parentEntity(id: $id) { pools { edges { node { slug } } } } }",
            json!({ "id": w.parent }),
        )
        .await;
    assert_eq!(
        listed["parentEntity"]["pools"]["edges"][0]["node"]["slug"],
        "ciclos-cafe"
    );
}

async fn every_step_names_the_fields_it_refuses(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Validation").await;
    let good = w.complete(&id, "Valid Name").await;

    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "startFormation",
            json!({ "parentEntityId": w.parent, "workingName": "  " }),
            vec!["input.workingName"],
        ),
        (
            "setStakeholderGroups",
            json!({ "formationId": id, "groups": [
            { "key": "Bad Key", "name": "", "kind": "WORKERS", "votingWeight": 101 },
            { "key": "ok", "name": "Ok", "kind": "USERS", "sharePrice": -5 },
            { "key": "ok", "name": "Twice", "kind": "USERS" },
        ] }),
            vec![
                "input.groups[0].key",
                "input.groups[0].name",
                "input.groups[0].votingWeight",
                "input.groups[1].sharePrice",
                "input.groups[2].key",
            ],
        ),
        (
            "setStakeholderGroups",
            json!({ "formationId": id, "groups": [] }),
            vec!["input.groups"],
        ),
        (
            "setFoundingMembers",
            json!({ "formationId": id, "members": [
            { "email": "nope", "displayName": "X", "stakeholderGroupKey": "workers" },
            { "email": "a@example.org", "displayName": "", "stakeholderGroupKey": "workers" },
            { "email": "A@example.org", "displayName": "A", "stakeholderGroupKey": "" },
        ] }),
            vec![
                "input.members[0].email",
                "input.members[1].displayName",
                "input.members[2].email",
                "input.members[2].stakeholderGroupKey",
            ],
        ),
        (
            "setFinancialProfile",
            json!({ "formationId": id, "distributesSurplus": false, "raisesShareCapital": false,
            "acceptsInvestorMembers": false, "tradesWithPublic": false, "currency": "euros" }),
            vec!["input.currency"],
        ),
        (
            "chooseLegalTemplate",
            json!({ "formationId": id, "templateId": "no-such-template" }),
            vec!["input.templateId"],
        ),
        (
            "chooseLegalTemplate",
            json!({ "formationId": id, "templateId": "fr-scop" }),
            vec!["input.templateId"],
        ),
        (
            "nameFormation",
            json!({ "formationId": id, "name": "x" }),
            vec!["input.name"],
        ),
        (
            "nameFormation",
            json!({ "formationId": id, "name": "GraphQL" }),
            vec!["input.name"],
        ),
        (
            "selectApps",
            json!({ "formationId": id, "appIds": ["nextcloud", "nope", "nextcloud"] }),
            vec!["input.appIds[1]", "input.appIds[2]"],
        ),
        (
            "configureApp",
            json!({ "formationId": id, "appId": "discourse", "settings": {} }),
            vec!["input.appId"],
        ),
    ];
    for (mutation, input, paths) in cases {
        let res = w.call(&w.founder, mutation, input).await;
        assert_eq!(error_code(&res), "VALIDATION", "{mutation}: {res:#}");
        assert_eq!(error_paths(&res), paths, "{mutation}");
    }
    // Nothing a founder entered was lost by the refused calls.
    let after = w.formation(&w.founder, &id).await;
    let mut unchanged = after["data"]["formation"].clone();
    let mut expected = good.clone();
    for v in [&mut unchanged, &mut expected] {
        v.as_object_mut().unwrap().remove("rulesDocument");
    }
    assert_eq!(unchanged, expected);
}

async fn a_draft_resumes_where_it_was_left(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Resumable").await;
    w.step(
        &w.founder,
        "setStakeholderGroups",
        json!({ "formationId": id, "groups": [
        { "key": "workers", "name": "Workers", "kind": "WORKERS" } ] }),
    )
    .await;
    // Later, from another device: a new sign-in.
    let signed_in = w
        .app
        .ok(None, "mutation { signIn(input: { email: \"founder@example.org\", password: \"correct horse battery\" }) { token } }", json!({}))
        .await;
    let phone = signed_in["signIn"]["token"].as_str().unwrap();
    let mine = w
        .app
        .ok(Some(phone), "{ myFormations { edges { node { id workingName stakeholderGroups { key } progressPercent steps { step complete } } } } }", json!({}))
        .await;
    let node = &mine["myFormations"]["edges"][0]["node"];
    assert_eq!(node["id"], id.as_str());
    assert_eq!(node["stakeholderGroups"][0]["key"], "workers");
    assert_eq!(node["progressPercent"], 0, "members are still missing");
    let f = w.formation(phone, &id).await;
    let problems = f["data"]["formation"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "foundingMembers" && p["code"] == "MISSING")
    );
    assert!(problems.iter().any(|p| p["step"] == "FINANCES"));
    w.step(phone, "setFoundingMembers", json!({ "formationId": id, "members": [
        { "email": "founder@example.org", "displayName": "Founder", "stakeholderGroupKey": "workers", "role": "ADMIN" } ] }))
    .await;
    let f = w.formation(phone, &id).await;
    let steps = &f["data"]["formation"]["steps"];
    assert_eq!(steps[0]["step"], "STAKEHOLDERS");
    assert_eq!(steps[0]["complete"], true);
    assert_eq!(f["data"]["formation"]["progressPercent"], 16);
    // A member whose group key does not exist is a problem, not a refusal.
    let f = w
        .step(phone, "setFoundingMembers", json!({ "formationId": id, "members": [
            { "email": "founder@example.org", "displayName": "Founder", "stakeholderGroupKey": "workers", "role": "ADMIN" },
            { "email": "x@example.org", "displayName": "X", "stakeholderGroupKey": "ghosts" } ] }))
        .await;
    assert!(
        f["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"] == "foundingMembers[1].stakeholderGroupKey"
                && p["code"] == "INVALID_REFERENCE")
    );
}

async fn templates_are_recommended_with_reasons(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Recommend").await;
    w.step(
        &w.founder,
        "setStakeholderGroups",
        json!({ "formationId": id, "groups": [
        { "key": "workers", "name": "Workers", "kind": "WORKERS" } ] }),
    )
    .await;
    w.step(&w.founder, "setFoundingMembers", json!({ "formationId": id, "members": [
        { "email": "founder@example.org", "displayName": "F", "stakeholderGroupKey": "workers", "role": "ADMIN" },
        { "email": "b@example.org", "displayName": "B", "stakeholderGroupKey": "workers" } ] }))
    .await;
    let res = w
        .app
        .ok(Some(&w.founder), "query($id: ID!) { recommendedTemplates(formationId: $id) { template { id jurisdiction } eligible score fits misfits } }", json!({ "id": id }))
        .await;
    let list = res["recommendedTemplates"].as_array().unwrap();
    let find = |tid: &str| {
        list.iter()
            .find(|r| r["template"]["id"] == tid)
            .unwrap()
            .clone()
    };
    let spanish = find("es-sociedad-cooperativa");
    assert_eq!(spanish["eligible"], false);
    assert!(
        spanish["misfits"].as_array().unwrap().iter().any(|m| m
            .as_str()
            .unwrap()
            .ends_with("needs at least 3 founding members; you have 2")),
        "{spanish:#}"
    );
    let scop = find("fr-scop");
    assert!(
        scop["misfits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("the parent entity is in ES"))
    );
    let pool = find("pool-inside-parent");
    assert_eq!(pool["eligible"], true);
    assert_eq!(list[0]["eligible"], true, "eligible templates come first");
    let first_ineligible = list.iter().position(|r| r["eligible"] == false).unwrap();
    assert!(
        list[first_ineligible..]
            .iter()
            .all(|r| r["eligible"] == false)
    );
    // The catalogue itself: Spanish templates plus the pool template.
    let es = w
        .app
        .ok(None, "{ legalTemplates(jurisdiction: \"ES\") { edges { node { id jurisdiction citation } } } }", json!({}))
        .await;
    let ids: Vec<&str> = es["legalTemplates"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"es-sociedad-cooperativa")
            && ids.contains(&"pool-inside-parent")
            && !ids.contains(&"fr-scop"),
        "{ids:?}"
    );
}

async fn names_collide_regardless_of_case_and_accents(app: TestApp) {
    let w = World::new(app, "AUTOMATIC").await;
    let first = w.start("First").await;
    w.complete(&first, "Café Coop").await;
    let submitted = w.submit(&first).await;
    assert_eq!(submitted["data"]["submitFormation"]["status"], "APPROVED");

    let check = w
        .app
        .ok(
            Some(&w.founder),
            "query($p: ID!, $n: String!) { nameAvailability(parentEntityId: $p, name: $n) { available reason normalizedName slug suggestions } }",
            json!({ "p": w.parent, "n": "  cafe-COOP " }),
        )
        .await;
    let a = &check["nameAvailability"];
    assert_eq!(a["available"], false);
    assert!(a["reason"].as_str().unwrap().contains("already used"));
    assert_eq!(a["suggestions"].as_array().unwrap().len(), 3);
    assert_eq!(a["suggestions"][0], "cafe-COOP Co-op");

    let second = w.start("Second").await;
    let res = w
        .call(
            &w.founder,
            "nameFormation",
            json!({ "formationId": second, "name": "CAFÉ COOP" }),
        )
        .await;
    assert_eq!(error_paths(&res), vec!["input.name"]);
    assert!(
        res["errors"][0]["extensions"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("free alternatives")
    );
    let free = w
        .app
        .ok(Some(&w.founder), "query($p: ID!) { nameAvailability(parentEntityId: $p, name: \"Café Coop Collective\") { available slug } }", json!({ "p": w.parent }))
        .await;
    assert_eq!(
        free["nameAvailability"],
        json!({ "available": true, "slug": "cafe-coop-collective" })
    );
}

async fn app_settings_are_checked_against_the_schema(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Apps").await;
    w.complete(&id, "Apps Co-op").await;
    w.step(
        &w.founder,
        "selectApps",
        json!({ "formationId": id, "appIds": ["nextcloud", "discourse"] }),
    )
    .await;
    let res = w
        .call(&w.founder, "configureApp", json!({ "formationId": id, "appId": "discourse",
            "settings": { "title": "", "defaultTrustLevel": 9, "emailDigest": { "frequency": "hourly" }, "unknown": true },
            "adminRole": "overlord",
            "roleMapping": [{ "stakeholderGroupKey": "ghosts", "appRole": "member" }] }))
        .await;
    assert_eq!(error_code(&res), "VALIDATION");
    let paths = error_paths(&res);
    for expected in [
        "input.settings.title",
        "input.settings.defaultTrustLevel",
        "input.settings.emailDigest.frequency",
        "input.settings",
        "input.adminRole",
        "input.roleMapping[0].stakeholderGroupKey",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "missing {expected} in {paths:?}"
        );
    }
    let ok = w
        .step(&w.founder, "configureApp", json!({ "formationId": id, "appId": "discourse", "settings": { "title": "Riders" },
            "adminRole": "admin", "roleMapping": [{ "stakeholderGroupKey": "users", "appRole": "moderator" }] }))
        .await;
    let discourse = ok["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"]["id"] == "discourse")
        .unwrap()
        .clone();
    assert_eq!(discourse["settings"]["title"], "Riders");
    assert_eq!(
        discourse["settings"]["emailDigest"]["enabled"], true,
        "defaults fill the rest"
    );
    assert_eq!(
        discourse["roleMapping"],
        json!([{ "stakeholderGroupKey": "users", "appRole": "moderator" }])
    );
    assert_eq!(ok["progressPercent"], 100);
}

async fn ica_principles_warn_or_block(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Investor-run").await;
    w.complete(&id, "Capital Club").await;
    w.step(&w.founder, "setFinancialProfile", json!({ "formationId": id, "distributesSurplus": false,
        "raisesShareCapital": false, "acceptsInvestorMembers": true, "tradesWithPublic": true, "currency": "EUR" }))
        .await;
    let f = w
        .step(&w.founder, "setStakeholderGroups", json!({ "formationId": id, "groups": [
            { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "INVITATION" },
            { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "INVITATION" },
            { "key": "investors", "name": "Investors", "kind": "INVESTORS", "votingWeight": 3, "admission": "INVITATION" },
        ] }))
        .await;
    let principles: Vec<&str> = f["principleViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["principle"].as_str().unwrap())
        .collect();
    assert_eq!(
        principles,
        vec![
            "VOLUNTARY_AND_OPEN_MEMBERSHIP",
            "DEMOCRATIC_MEMBER_CONTROL",
            "AUTONOMY_AND_INDEPENDENCE"
        ]
    );
    assert!(
        f["principleViolations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["blocking"] == true)
    );
    assert!(
        f["principleViolations"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("investor votes (weight 3)")
    );
    let refused = w.submit(&id).await;
    assert_eq!(error_code(&refused), "VALIDATION");
    assert!(
        error_paths(&refused)
            .iter()
            .all(|p| p == "stakeholderGroups")
    );

    // A parent that allows exceptions turns them into warnings for its pools.
    w.app
        .ok(
            Some(&w.steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { policy { allowsPrincipleExceptions } } }",
            json!({ "i": { "parentEntityId": w.parent, "allowsPrincipleExceptions": true } }),
        )
        .await;
    let f = w.formation(&w.founder, &id).await;
    assert!(
        f["data"]["formation"]["principleViolations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["blocking"] == false)
    );
    let submitted = w.submit(&id).await;
    assert_eq!(
        submitted["data"]["submitFormation"]["status"], "SUBMITTED",
        "{submitted:#}"
    );
}

async fn who_may_do_what_with_a_formation(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let (outsider, _) = w.app.sign_up("outsider@example.org").await;
    let (listed, _) = w.app.sign_up("newcomer@example.org").await;
    let id = w.start("Private").await;
    w.complete(&id, "Private Co-op").await;

    // Only the founder edits; listed members see; a draft is private from the parent.
    let edits: Vec<(&str, Value)> = vec![
        (
            "setStakeholderGroups",
            json!({ "formationId": id, "groups": [{ "key": "x", "name": "X", "kind": "OTHER" }] }),
        ),
        (
            "setFoundingMembers",
            json!({ "formationId": id, "members": [{ "email": "a@example.org", "displayName": "A", "stakeholderGroupKey": "x" }] }),
        ),
        (
            "setFinancialProfile",
            json!({ "formationId": id, "distributesSurplus": true, "raisesShareCapital": true, "acceptsInvestorMembers": true, "tradesWithPublic": true, "currency": "USD" }),
        ),
        (
            "chooseLegalTemplate",
            json!({ "formationId": id, "templateId": "es-sociedad-cooperativa" }),
        ),
        (
            "nameFormation",
            json!({ "formationId": id, "name": "Hijacked" }),
        ),
        ("selectApps", json!({ "formationId": id, "appIds": [] })),
        (
            "configureApp",
            json!({ "formationId": id, "appId": "nextcloud", "settings": {} }),
        ),
    ];
    // Those who may not see a draft are told it does not exist; the
    // steward is a listed founding member here.
    for (token, code) in [
        (&outsider, "NOT_FOUND"),
        (&listed, "FORBIDDEN"),
        (&w.steward, "FORBIDDEN"),
        (&w.auditor, "NOT_FOUND"),
    ] {
        for (mutation, input) in &edits {
            let res = w.call(token, mutation, input.clone()).await;
            assert_eq!(error_code(&res), code, "{mutation}: {res:#}");
        }
    }
    let withdrawn = w
        .app
        .gql(
            Some(&outsider),
            "mutation($id: ID!) { withdrawFormation(formationId: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&withdrawn), "NOT_FOUND");
    let start = w
        .app
        .gql(
            None,
            "mutation($i: StartFormationInput!) { startFormation(input: $i) { id } }",
            json!({ "i": { "parentEntityId": w.parent, "workingName": "Anon" } }),
        )
        .await;
    assert_eq!(error_code(&start), "UNAUTHENTICATED");
    let anonymous = w
        .call(
            "",
            "nameFormation",
            json!({ "formationId": id, "name": "Anon" }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(error_code(&w.formation(&outsider, &id).await), "NOT_FOUND");
    assert!(
        w.formation(&listed, &id).await.get("errors").is_none(),
        "a listed founding member sees it"
    );
    assert_eq!(
        error_code(&w.formation(&w.auditor, &id).await),
        "NOT_FOUND",
        "drafts are private to the parent"
    );
    for (token, code) in [
        (&outsider, "NOT_FOUND"),
        (&listed, "FORBIDDEN"),
        (&w.steward, "FORBIDDEN"),
    ] {
        let res = w
            .app
            .gql(
                Some(token),
                "mutation($id: ID!) { submitFormation(formationId: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&res), code);
    }

    assert_eq!(
        w.submit(&id).await["data"]["submitFormation"]["status"],
        "SUBMITTED"
    );
    // Submitted: the parent's stewards and auditors see it; only stewards decide.
    assert!(w.formation(&w.auditor, &id).await.get("errors").is_none());
    let listed_for_parent = w
        .app
        .ok(Some(&w.auditor), "query($id: ID!) { parentEntity(id: $id) { formations(status: SUBMITTED) { edges { node { id } } } } }", json!({ "id": w.parent }))
        .await;
    assert_eq!(
        listed_for_parent["parentEntity"]["formations"]["edges"][0]["node"]["id"],
        id.as_str()
    );
    for (token, code) in [
        (&w.auditor, "FORBIDDEN"),
        (&w.founder, "FORBIDDEN"),
        (&outsider, "NOT_FOUND"),
    ] {
        assert_eq!(error_code(&w.approve(token, &id).await), code);
        let rejected = w
            .app
            .gql(
                Some(token),
                "mutation($i: RejectFormationInput!) { rejectFormation(input: $i) { id } }",
                json!({ "i": { "formationId": id, "reason": "no" } }),
            )
            .await;
        assert_eq!(error_code(&rejected), code);
    }
    // A submitted formation is frozen until withdrawn.
    assert_eq!(
        error_code(
            &w.call(
                &w.founder,
                "nameFormation",
                json!({ "formationId": id, "name": "Late Change" })
            )
            .await
        ),
        "CONFLICT"
    );
    let policy = w
        .app
        .gql(
            Some(&w.auditor),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
            json!({ "i": { "parentEntityId": w.parent } }),
        )
        .await;
    assert_eq!(error_code(&policy), "FORBIDDEN");
}

async fn concurrent_approvals_create_one_pool(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let (second_steward, _) = w.app.sign_up("second@example.org").await;
    w.app
        .grant_role(
            &w.steward,
            &w.parent,
            &second_steward,
            "second@example.org",
            "STEWARD",
        )
        .await;
    let id = w.start("Race").await;
    w.complete(&id, "Race Co-op").await;
    w.submit(&id).await;
    let (a, b, c) = tokio::join!(
        w.approve(&w.steward, &id),
        w.approve(&second_steward, &id),
        w.approve(&w.steward, &id)
    );
    let ids: Vec<&Value> = [&a, &b, &c]
        .iter()
        .map(|r| &r["data"]["approveFormation"]["id"])
        .collect();
    assert!(ids.iter().all(|i| i.is_string()), "{a:#} {b:#} {c:#}");
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one pool for all: {ids:?}"
    );
    assert_eq!(pool::Entity::find().count(&w.app.db).await.unwrap(), 1);
    assert_eq!(
        stakeholder_group::Entity::find()
            .count(&w.app.db)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        membership::Entity::find().count(&w.app.db).await.unwrap(),
        3
    );
}

async fn a_failed_approval_leaves_nothing_behind(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Fragile").await;
    w.complete(&id, "Fragile Co-op").await;
    w.submit(&id).await;
    // The last write of the approval (the app selections) will fail.
    w.app
        .db
        .execute_unprepared("ALTER TABLE pool_apps RENAME TO pool_apps_away")
        .await
        .unwrap();
    let failed = w.approve(&w.steward, &id).await;
    assert_eq!(error_code(&failed), "INTERNAL", "{failed:#}");
    w.app
        .db
        .execute_unprepared("ALTER TABLE pool_apps_away RENAME TO pool_apps")
        .await
        .unwrap();

    assert_eq!(pool::Entity::find().count(&w.app.db).await.unwrap(), 0);
    assert_eq!(
        stakeholder_group::Entity::find()
            .count(&w.app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        membership::Entity::find().count(&w.app.db).await.unwrap(),
        0
    );
    assert_eq!(pool_app::Entity::find().count(&w.app.db).await.unwrap(), 0);
    let f = formation::Entity::find()
        .one(&w.app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.status, formation::FormationStatus::Submitted);
    assert!(f.pool_id.is_none());
    // Once the fault is gone the same approval succeeds.
    let approved = w.approve(&w.steward, &id).await;
    assert_eq!(
        approved["data"]["approveFormation"]["status"], "ACTIVE",
        "{approved:#}"
    );
}

async fn an_automatic_parent_approves_on_submission(app: TestApp) {
    let w = World::new(app, "AUTOMATIC").await;
    let id = w.start("Auto").await;
    w.complete(&id, "Auto Co-op").await;
    let res = w.submit(&id).await;
    let f = &res["data"]["submitFormation"];
    assert_eq!(f["status"], "APPROVED", "{res:#}");
    assert!(f["pool"]["id"].is_string());

    let incomplete = w.start("Incomplete").await;
    let refused = w.submit(&incomplete).await;
    assert_eq!(error_code(&refused), "VALIDATION");
    let paths = error_paths(&refused);
    for expected in [
        "stakeholderGroups",
        "foundingMembers",
        "financialProfile",
        "legalTemplateId",
        "name",
        "appIds",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
}

async fn rejection_and_withdrawal(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Maybe").await;
    w.complete(&id, "Maybe Co-op").await;
    w.submit(&id).await;
    let rejected = w
        .app
        .ok(Some(&w.steward), "mutation($i: RejectFormationInput!) { rejectFormation(input: $i) { status rejectionReason } }",
            json!({ "i": { "formationId": id, "reason": "Please add a users group with a vote." } }))
        .await;
    assert_eq!(
        rejected["rejectFormation"],
        json!({ "status": "REJECTED", "rejectionReason": "Please add a users group with a vote." })
    );
    assert_eq!(error_code(&w.approve(&w.steward, &id).await), "CONFLICT");
    // Editing reopens it; resubmitting works.
    let f = w
        .step(
            &w.founder,
            "nameFormation",
            json!({ "formationId": id, "name": "Maybe Co-op Two" }),
        )
        .await;
    assert_eq!(f["status"], "DRAFT");
    assert_eq!(
        w.submit(&id).await["data"]["submitFormation"]["status"],
        "SUBMITTED"
    );
    let withdrawn = w
        .app
        .ok(
            Some(&w.founder),
            "mutation($id: ID!) { withdrawFormation(formationId: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(withdrawn["withdrawFormation"]["status"], "WITHDRAWN");
    assert_eq!(error_code(&w.approve(&w.steward, &id).await), "CONFLICT");
}

async fn the_parent_policy_limits_templates_and_apps(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let policy = w
        .app
        .ok(
            Some(&w.steward),
            "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) {
                policy { allowedTemplateIds allowedAppIds allowsPrincipleExceptions } } }",
            json!({ "i": { "parentEntityId": w.parent, "allowedTemplateIds": ["pool-inside-parent"], "allowedAppIds": ["nextcloud", "loomio"] } }),
        )
        .await;
    assert_eq!(
        policy["setParentEntityPolicy"]["policy"]["allowedAppIds"],
        json!(["nextcloud", "loomio"])
    );
    let unknown = w
        .app
        .gql(Some(&w.steward), "mutation($i: SetParentEntityPolicyInput!) { setParentEntityPolicy(input: $i) { id } }",
            json!({ "i": { "parentEntityId": w.parent, "allowedAppIds": ["nextcloud", "myspace"] } }))
        .await;
    assert_eq!(error_paths(&unknown), vec!["input.allowedAppIds[1]"]);

    let id = w.start("Policed").await;
    let template = w
        .call(
            &w.founder,
            "chooseLegalTemplate",
            json!({ "formationId": id, "templateId": "es-sociedad-cooperativa" }),
        )
        .await;
    assert_eq!(error_paths(&template), vec!["input.templateId"]);
    assert!(
        template["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not allow")
    );
    let apps = w
        .call(
            &w.founder,
            "selectApps",
            json!({ "formationId": id, "appIds": ["nextcloud", "discourse"] }),
        )
        .await;
    assert_eq!(error_paths(&apps), vec!["input.appIds[1]"]);
    let recommended = w
        .app
        .ok(
            Some(&w.founder),
            "query($id: ID!) { recommendedTemplates(formationId: $id) { template { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        recommended["recommendedTemplates"],
        json!([{ "template": { "id": "pool-inside-parent" } }])
    );
    // The allowed choices go through, and the flow completes.
    w.complete(&id, "Policed Co-op").await;
    assert_eq!(
        w.submit(&id).await["data"]["submitFormation"]["status"],
        "SUBMITTED"
    );
}

async fn formation_lists_cost_the_same_for_any_length(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let query = "{ myFormations(first: 50) { edges { node {
        id progressPercent problems { path } principleViolations { principle }
        parentEntity { name } founder { email } foundingMembers { email } } } } }";
    let cost = || async {
        w.app.ok(Some(&w.founder), query, json!({})).await; // warm: token bookkeeping
        let before = w.app.sql_count();
        let data = w.app.ok(Some(&w.founder), query, json!({})).await;
        (
            w.app.sql_count() - before,
            data["myFormations"]["edges"].as_array().unwrap().len(),
        )
    };
    for n in 0..2 {
        let id = w.start(&format!("Small {n}")).await;
        w.complete(&id, &format!("Small Co-op {n}")).await;
    }
    let (two, count) = cost().await;
    assert_eq!(count, 2);
    for n in 0..6 {
        let id = w.start(&format!("More {n}")).await;
        w.complete(&id, &format!("More Co-op {n}")).await;
    }
    let (eight, count) = cost().await;
    assert_eq!(count, 8);
    assert_eq!(
        two, eight,
        "statements for 2 formations ({two}) and for 8 ({eight}) must not differ"
    );
}
