//! Auditors read and never write: every mutation in the schema, called by an
//! auditor against objects under the parent they audit, answers FORBIDDEN.
//! The list of mutations comes from the served schema, so a new mutation is
//! covered the day it is added.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, error_code},
    pools::PoolWorld,
};

const INTROSPECTION: &str = "{ __schema {
    mutationType { fields { name type { ...Ref } args { name type { ...Ref } } } }
    types { name kind inputFields { name defaultValue type { ...Ref } } enumValues { name } }
  } }
  fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// Mutations that act on the caller's own account, not on anything under
/// a parent entity: the auditor may use them like anyone else. Every other
/// mutation, including any added later, must refuse the auditor.
const OWN_ACCOUNT: &[&str] = &[
    "signUp",
    "signIn",
    "signOut",
    "createApiToken",
    "revokeApiToken",
    "registerParentEntity",
    "acceptParentEntityRole",
    "declineParentEntityRole",
    "confirmEmail",
    "sendEmailConfirmation",
    "requestPasswordReset",
    "resetPassword",
    "changePassword",
    "changeEmail",
    "updateProfile",
    "setNotificationPreferences",
    "revokeSession",
    "signOutEverywhere",
    "deleteAccount",
];

/// What the walk puts into a mutation's arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Values {
    /// Ids of real objects and input that passes validation.
    Valid,
    /// Ids of real objects, every other value invalid: permission must be
    /// checked before input, so the answer is still FORBIDDEN.
    Invalid,
    /// Ids that name nothing (catalogue ids stay real): the answer a caller
    /// must not be able to tell apart from a private object's.
    Missing,
}

/// Arguments that name objects anyone may know exist: parent entities,
/// pools and what a pool shows the public (its groups and apps), and the
/// catalogue. Every other id names something private to its pool, its
/// formation or its person.
pub(crate) const PUBLIC_IDS: &[&str] = &[
    "parentEntityId",
    "poolId",
    "stakeholderGroupId",
    "poolAppId",
    "templateId",
    "appId",
    "appIds",
];

/// Catalogue entries are ids too, but not database rows.
const CATALOGUE_IDS: &[&str] = &["templateId", "appId", "appIds"];

/// The objects under the audited parent that arguments name.
pub(crate) struct Fixture {
    ids: HashMap<String, String>,
    invitation_token: String,
}

impl Fixture {
    /// The id the fixture holds under `name`.
    pub(crate) fn named(&self, name: &str) -> String {
        self.ids[name].clone()
    }

    fn id(&self, name: &str, mutation: &str, values: Values) -> Value {
        if values == Values::Missing && !CATALOGUE_IDS.contains(&name) {
            return Value::from(uuid::Uuid::now_v7().to_string());
        }
        let key = match name {
            "toMemberId" => "memberId",
            other => other,
        };
        // A bare `id` means the mutation's own kind of object.
        let qualified = format!("{mutation}.{key}");
        let id = self
            .ids
            .get(qualified.as_str())
            .or_else(|| self.ids.get(key))
            .unwrap_or_else(|| {
                panic!(
                    "no fixture for the ID argument `{name}` of {mutation}: add one to this test"
                )
            });
        Value::from(id.as_str())
    }

    fn string(&self, name: &str, values: Values) -> Value {
        match (values, name) {
            (Values::Missing, "token") => return Value::from("not-a-token-anyone-was-sent"),
            (Values::Invalid, "token" | "templateId" | "appId" | "key" | "stakeholderGroupKey") => {
            }
            (Values::Invalid, "email") => return Value::from("not an email"),
            (Values::Invalid, "currency") => return Value::from("EURO"),
            (Values::Invalid, "url") => return Value::from("not a url"),
            (Values::Invalid, "events") => return Value::from("no.such.event"),
            (Values::Invalid, _) => return Value::from(""),
            _ => {}
        }
        Value::from(match name {
            "email" => "bob@example.org",
            "token" => self.invitation_token.as_str(),
            "password" => PASSWORD,
            "currency" => "EUR",
            "templateId" => "pool-inside-parent",
            "appId" => "cryptpad",
            "choice" => "agree",
            "key" | "stakeholderGroupKey" => "workers",
            "reference" => "REF-1",
            "url" => "https://example.org/hooks",
            "events" => "member.joined",
            _ => "A reasonable text",
        })
    }
}

pub(crate) struct Schema {
    types: HashMap<String, Value>,
}

impl Schema {
    /// A value of `ty` for the field `name`, or `None` to leave it out.
    fn value(
        &self,
        ty: &Value,
        name: &str,
        fixture: &Fixture,
        mutation: &str,
        values: Values,
    ) -> Option<Value> {
        match ty["kind"].as_str().unwrap() {
            "NON_NULL" => self.value(&ty["ofType"], name, fixture, mutation, values),
            // An empty list is invalid wherever a list is required.
            "LIST" if values == Values::Invalid && !CATALOGUE_IDS.contains(&name) => {
                Some(Value::Array(Vec::new()))
            }
            "LIST" => Some(Value::Array(
                self.value(&ty["ofType"], name, fixture, mutation, values)
                    .into_iter()
                    .collect(),
            )),
            "ENUM" => {
                let t = &self.types[ty["name"].as_str().unwrap()];
                Some(t["enumValues"][0]["name"].clone())
            }
            "INPUT_OBJECT" => {
                let t = &self.types[ty["name"].as_str().unwrap()];
                let mut object = Map::new();
                let fields = t["inputFields"].as_array().unwrap();
                // An input that names its target in one of several optional
                // ids (a parent or a pool) gets the first.
                let required_id = fields.iter().any(|f| type_name(&f["type"]) == "ID!");
                if !required_id
                    && let Some(f) = fields.iter().find(|f| type_name(&f["type"]) == "ID")
                {
                    let field_name = f["name"].as_str().unwrap();
                    object.insert(
                        field_name.to_owned(),
                        fixture.id(field_name, mutation, values),
                    );
                }
                for field in fields {
                    // Optional fields and those with defaults are left out.
                    if field["type"]["kind"] != "NON_NULL" || !field["defaultValue"].is_null() {
                        continue;
                    }
                    let field_name = field["name"].as_str().unwrap();
                    if let Some(v) =
                        self.value(&field["type"], field_name, fixture, mutation, values)
                    {
                        object.insert(field_name.to_owned(), v);
                    }
                }
                Some(Value::Object(object))
            }
            _ if values == Values::Invalid => Some(match ty["name"].as_str().unwrap() {
                "ID" => fixture.id(name, mutation, values),
                "String" => fixture.string(name, values),
                "Int" => Value::from(-1),
                "Boolean" => Value::from(name == "approve"),
                "DateTime" => Value::from((Utc::now() - Duration::days(7)).to_rfc3339()),
                "Date" => Value::from("2999-01-01"),
                "JSON" => json!("not an object"),
                other => panic!("no value for scalar {other} ({name} of {mutation})"),
            }),
            _ => Some(match ty["name"].as_str().unwrap() {
                "ID" => fixture.id(name, mutation, values),
                "String" => fixture.string(name, values),
                "Int" => Value::from(if name == "amount" { 1000 } else { 1 }),
                "Boolean" => Value::from(name == "approve"),
                "DateTime" => Value::from((Utc::now() + Duration::days(7)).to_rfc3339()),
                "Date" => Value::from(Utc::now().date_naive().to_string()),
                "JSON" => json!({}),
                other => panic!("no value for scalar {other} ({name} of {mutation})"),
            }),
        }
    }
}

impl Schema {
    /// The names of the id fields in a value of `ty` named `name`, as the
    /// walk fills them (required ones, and the first optional id of an
    /// input that has no required one).
    pub(crate) fn ids_in(&self, ty: &Value, name: &str, out: &mut Vec<String>) {
        match ty["kind"].as_str().unwrap() {
            "NON_NULL" | "LIST" => self.ids_in(&ty["ofType"], name, out),
            "INPUT_OBJECT" => {
                let t = &self.types[ty["name"].as_str().unwrap()];
                let fields = t["inputFields"].as_array().unwrap();
                let required_id = fields.iter().any(|f| type_name(&f["type"]) == "ID!");
                if !required_id
                    && let Some(f) = fields.iter().find(|f| type_name(&f["type"]) == "ID")
                {
                    out.push(f["name"].as_str().unwrap().to_owned());
                }
                for field in fields {
                    if field["type"]["kind"] == "NON_NULL" && field["defaultValue"].is_null() {
                        self.ids_in(&field["type"], field["name"].as_str().unwrap(), out);
                    }
                }
            }
            _ if ty["name"] == "ID" || name == "token" => out.push(name.to_owned()),
            _ => {}
        }
    }
}

fn type_name(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_name(&ty["ofType"])),
        "LIST" => format!("[{}]", type_name(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

on_both_databases!(
    auditors_are_refused_every_mutation,
    auditors_are_refused_before_their_input_is_checked,
    members_of_its_pools_cannot_audit_a_parent
);

/// Every object a mutation can name, under one parent with an auditor, and
/// the served schema's mutations.
pub(crate) struct Walk {
    pub p: PoolWorld,
    pub auditor: String,
    pub fixture: Fixture,
    pub schema: Schema,
    pub mutations: Vec<Value>,
}

impl Walk {
    pub(crate) async fn new(app: TestApp) -> Self {
        let p = PoolWorld::with_apps(
            app,
            json!([
                { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "OPEN" },
                { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "APPLICATION" },
            ]),
            json!(["loomio"]),
        )
        .await;
        let app = p.app();
        let founder = p.w.founder.clone();
        let auditor = p.w.auditor.clone();
        let (ann, ann_member) = p.join("ann@example.org", "workers").await;
        let (bob, _) = p.app().sign_up("bob@example.org").await;
        let application = app
            .ok(Some(&bob), "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id status } }",
                json!({ "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["users"], "message": "Let me in" } }))
            .await["applyForMembership"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let proposal = p.propose(&ann, json!({})).await;
        let expense = app
            .ok(Some(&ann), "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "title": "Paint", "amount": 1200, "currency": "EUR", "payee": "Shop" } }))
            .await["submitExpense"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.ok(Some(&founder), "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH", "minimum": 100, "maximum": 10000, "suggested": 1000 } }))
            .await;
        let contribution = app
            .ok(Some(&ann), "mutation($i: StartContributionInput!) { startContribution(input: $i) { contribution { id } } }",
                json!({ "i": { "poolId": p.pool, "amount": 1000 } }))
            .await["startContribution"]["contribution"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Submitted, so the auditor sees it (drafts are their founders' own).
        let formation = p.w.start("A submitted one").await;
        p.w.complete(&formation, "Audited Coop").await;
        p.w.submit(&formation).await;
        let endpoint = app
            .ok(Some(&founder), "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }",
                json!({ "i": { "poolId": p.pool, "url": "http://127.0.0.1:9/hooks", "events": ["member.joined"] } }))
            .await["createWebhookEndpoint"]["endpoint"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let pool_app = app
            .ok(
                Some(&founder),
                "query($id: ID!) { pool(id: $id) { apps { id } } }",
                json!({ "id": p.pool }),
            )
            .await["pool"]["apps"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let invitation_token = app
            .ok(Some(&founder), "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
                json!({ "i": { "poolId": p.pool, "email": "auditor@example.org", "stakeholderGroupId": p.groups["workers"] } }))
            .await["inviteMember"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        // A role offered to someone who has not answered yet.
        let pending_role = app
            .ok(Some(&p.w.steward),
                "mutation($i: GrantParentEntityRoleInput!) { grantParentEntityRole(input: $i) { id } }",
                json!({ "i": { "parentEntityId": p.w.parent, "email": "carol@example.org", "role": "STEWARD" } }))
            .await["grantParentEntityRole"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let own_token = app
            .ok(
                Some(&auditor),
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { apiToken { id } } }",
                json!({ "i": { "name": "spreadsheet", "scopes": ["READ"] } }),
            )
            .await["createApiToken"]["apiToken"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Someone else's session: the founder's.
        let founders_session = app
            .ok(
                Some(&founder),
                "{ mySessions { edges { node { id } } } }",
                json!({}),
            )
            .await["mySessions"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A move the members decided, waiting for another parent.
        let (receiving, _) = app.sign_up("walk-receiver@example.org").await;
        let other_parent = app
            .register_parent_with(&receiving, "W-2026", "AUTOMATIC")
            .await;
        let move_proposal = app
            .ok(Some(&founder), "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "title": "Move", "kind": "MOVE", "moveTo": other_parent } }))
            .await["createProposal"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for voter in [&founder, &ann] {
            p.vote(voter, &move_proposal, "agree").await;
        }
        p.close(&founder, &move_proposal).await;
        let pool_move = app
            .ok(
                Some(&founder),
                "query($id: ID!) { pool(id: $id) { moves(first: 1) { edges { node { id } } } } }",
                json!({ "id": p.pool }),
            )
            .await["pool"]["moves"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A spin-out the members decided, awaiting registration (three
        // members fit the Spanish template).
        p.join("walk-third@example.org", "workers").await;
        let spin_proposal = app
            .ok(Some(&founder), "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "title": "Spin out", "kind": "SPIN_OUT",
                    "spinOut": { "legalTemplateId": crate::spin_out::TEMPLATE, "entityName": "Walk Coop" } } }))
            .await["createProposal"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for voter in [&founder, &ann] {
            p.vote(voter, &spin_proposal, "agree").await;
        }
        p.close(&founder, &spin_proposal).await;
        let spin_out = app
            .ok(
                Some(&founder),
                "query($id: ID!) { pool(id: $id) { spinOut { id } } }",
                json!({ "id": p.pool }),
            )
            .await["pool"]["spinOut"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the walk's spin-out awaits registration"))
            .to_owned();
        // A contribution of work Ann recorded, waiting for confirmation.
        let work_contribution = app
            .ok(Some(&ann), "mutation($i: RecordWorkContributionInput!) { recordWorkContribution(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "kind": "WORK", "occurredOn": Utc::now().date_naive().to_string(),
                    "quarterHours": 4, "description": "Walk fixture" } }))
            .await["recordWorkContribution"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // An asset of the parent's commons, offered to the pool on a lease.
        let asset = app
            .ok(Some(&p.w.steward), "mutation($i: RegisterAssetInput!) { registerAsset(input: $i) { id } }",
                json!({ "i": { "parentEntityId": p.w.parent, "name": "Walk van", "kind": "EQUIPMENT",
                    "value": 1_000_000, "currency": "EUR" } }))
            .await["registerAsset"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let lease = app
            .ok(
                Some(&p.w.steward),
                "mutation($i: OfferLeaseInput!) { offerLease(input: $i) { id } }",
                json!({ "i": { "assetId": asset, "poolId": p.pool, "rent": 5_000, "period": "MONTH",
                    "startsOn": Utc::now().date_naive().to_string() } }),
            )
            .await["offerLease"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // An application of the pool to the parent's fund, open.
        let fund_application = app
            .ok(
                Some(&founder),
                "mutation($i: ApplyForFundingInput!) { applyForFunding(input: $i) { id } }",
                json!({ "i": { "poolId": p.pool, "kind": "GRANT", "amount": 1_000,
                    "purpose": "Walk fixture" } }),
            )
            .await["applyForFunding"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A member suspended, so a suspension has an id to name.
        let suspension = app
            .ok(
                Some(&founder),
                "mutation($i: SuspendMemberInput!) { suspendMember(input: $i) { id } }",
                json!({ "i": { "memberId": ann_member, "reason": "Walk fixture",
                    "endsAt": (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339() } }),
            )
            .await["suspendMember"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A second pool under the same parent, dissolving, with funds to
        // distribute, so a dissolution and a distribution have ids to name.
        let (dissolution, distribution) = dissolving_pool(&p).await;
        let fixture = Fixture {
            ids: [
                ("dissolutionId", dissolution),
                ("distributionId", distribution),
                ("revokeSession.id", founders_session),
                ("suspensionId", suspension),
                ("moveId", pool_move),
                ("spinOutId", spin_out),
                ("parentEntityId", p.w.parent.clone()),
                ("poolId", p.pool.clone()),
                ("formationId", formation),
                ("memberId", ann_member),
                ("proposalId", proposal),
                ("expenseId", expense),
                ("contributionId", contribution),
                ("workContributionId", work_contribution),
                ("assetId", asset),
                ("leaseId", lease),
                ("fundApplicationId", fund_application),
                ("applicationId", application),
                ("stakeholderGroupId", p.groups["workers"].clone()),
                ("revokeApiToken.id", own_token),
                ("acceptParentEntityRole.id", pending_role.clone()),
                ("declineParentEntityRole.id", pending_role),
                ("deleteWebhookEndpoint.id", endpoint),
                ("poolAppId", pool_app),
                // Catalogue entries are ids too.
                ("templateId", "pool-inside-parent".to_owned()),
                ("appId", "cryptpad".to_owned()),
                ("appIds", "cryptpad".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            invitation_token,
        };

        let introspection = app.ok(Some(&auditor), INTROSPECTION, json!({})).await;
        let schema = Schema {
            types: introspection["__schema"]["types"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
                .collect(),
        };
        let mutations = introspection["__schema"]["mutationType"]["fields"]
            .as_array()
            .unwrap();
        assert!(mutations.len() >= 40, "the walk sees every mutation");

        let mutations = mutations.clone();
        Walk {
            p,
            auditor,
            fixture,
            schema,
            mutations,
        }
    }

    pub(crate) fn app(&self) -> &TestApp {
        self.p.app()
    }

    /// Calls mutation `m` as `token` with `values` in every required argument.
    pub(crate) async fn call(&self, token: &str, m: &Value, values: Values) -> (Value, Value) {
        let name = m["name"].as_str().unwrap();
        let mut declarations = Vec::new();
        let mut uses = Vec::new();
        let mut variables = Map::new();
        for arg in m["args"].as_array().unwrap() {
            let arg_name = arg["name"].as_str().unwrap();
            if arg["type"]["kind"] != "NON_NULL" {
                continue;
            }
            let value = self
                .schema
                .value(&arg["type"], arg_name, &self.fixture, name, values)
                .unwrap();
            declarations.push(format!("${arg_name}: {}", type_name(&arg["type"])));
            uses.push(format!("{arg_name}: ${arg_name}"));
            variables.insert(arg_name.to_owned(), value);
        }
        let call = if uses.is_empty() {
            name.to_owned()
        } else {
            format!("{name}({})", uses.join(", "))
        };
        let declared = if declarations.is_empty() {
            String::new()
        } else {
            format!("({})", declarations.join(", "))
        };
        // `__typename` fits every result type, object or scalar alike.
        let selection = if is_scalar_result(&m["type"]) {
            ""
        } else {
            " { __typename }"
        };
        let query = format!("mutation{declared} {{ {call}{selection} }}");
        let variables = Value::Object(variables);
        let res = self.app().gql(Some(token), &query, variables.clone()).await;
        (res, variables)
    }

    /// The mutations that act on something under a parent entity.
    pub(crate) fn under_parent(&self) -> impl Iterator<Item = &Value> {
        self.mutations
            .iter()
            .filter(|m| !OWN_ACCOUNT.contains(&m["name"].as_str().unwrap()))
    }
}

async fn auditors_are_refused_every_mutation(app: TestApp) {
    let walk = Walk::new(app).await;
    let app = walk.app();
    let founder = walk.p.w.founder.clone();
    let auditor = walk.auditor.clone();
    let mut refused = BTreeSet::new();
    for m in walk.under_parent() {
        let name = m["name"].as_str().unwrap();
        let (res, variables) = walk.call(&auditor, m, Values::Valid).await;
        assert_eq!(
            error_code(&res),
            "FORBIDDEN",
            "{name} must refuse an auditor; called with {variables:#}, it answered {res:#}"
        );
        refused.insert(name.to_owned());
    }
    let own_account: Vec<&Value> = walk
        .mutations
        .iter()
        .filter(|m| OWN_ACCOUNT.contains(&m["name"].as_str().unwrap()))
        .collect();
    let p = &walk.p;

    // Each refusal is in the trail, as the auditor's denied attempt.
    let denied: BTreeSet<String> = sea_orm::ConnectionTrait::query_all_raw(
        &app.db,
        sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT action FROM audit_events WHERE outcome = 'DENIED'",
        ),
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        r.try_get::<String>("", "action")
            .unwrap()
            .trim_end_matches(".denied")
            .to_owned()
    })
    .collect();
    assert_eq!(denied, refused, "every refusal is recorded");

    // What the auditor may do is about their own account only; nothing in
    // the pool changes. The pool's trail is the same before and after.
    let pool_trail = json!({ "poolId": p.pool });
    let before = crate::audit::all_events(app, &founder, pool_trail.clone())
        .await
        .len();
    let own: Vec<&str> = own_account
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        own.len(),
        OWN_ACCOUNT.len(),
        "every own-account mutation still exists"
    );
    let signed_in = app
        .ok(
            None,
            "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
            json!({ "i": { "email": "auditor@example.org", "password": PASSWORD } }),
        )
        .await;
    assert!(signed_in["signIn"]["token"].is_string());
    auditor_cannot_become_a_steward_of_the_same_parent(app, &p.w.steward, &auditor, &p.w.parent)
        .await;
    assert_eq!(
        crate::audit::all_events(app, &founder, pool_trail)
            .await
            .len(),
        before
    );
}

/// Permission comes before input: an auditor who sends nonsense learns
/// only that they may not do this, not what the input should have been.
async fn auditors_are_refused_before_their_input_is_checked(app: TestApp) {
    let walk = Walk::new(app).await;
    let mut wrong = Vec::new();
    for m in walk.under_parent() {
        let name = m["name"].as_str().unwrap();
        let (res, variables) = walk.call(&walk.auditor, m, Values::Invalid).await;
        if res["errors"][0]["extensions"]["code"] != "FORBIDDEN" {
            wrong.push(format!("{name}({variables}) answered {}", res["errors"][0]));
        }
    }
    assert!(
        wrong.is_empty(),
        "these checked input before permission:\n{}",
        wrong.join("\n")
    );
}

fn is_scalar_result(ty: &Value) -> bool {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => is_scalar_result(&ty["ofType"]),
        kind => kind == "SCALAR" || kind == "ENUM",
    }
}

async fn members_of_its_pools_cannot_audit_a_parent(app: TestApp) {
    let p = PoolWorld::new(app, crate::pools::TWO_GROUPS()).await;
    let (ann, _) = p.join("ann@example.org", "workers").await;
    let grant = "mutation($i: GrantParentEntityRoleInput!) { grantParentEntityRole(input: $i) { id role status } }";
    let accept = "mutation($id: ID!) { acceptParentEntityRole(id: $id) { role status } }";
    // The grant tells the steward nothing about Ann; her acceptance is refused.
    let invited = p
        .app()
        .ok(Some(&p.w.steward), grant,
            json!({ "i": { "parentEntityId": p.w.parent, "email": "ann@example.org", "role": "AUDITOR" } }))
        .await;
    assert_eq!(invited["grantParentEntityRole"]["status"], "PENDING");
    let id = invited["grantParentEntityRole"]["id"].clone();
    let res = p.app().gql(Some(&ann), accept, json!({ "id": id })).await;
    assert_eq!(error_code(&res), "CONFLICT");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("independent")
    );
    // A steward may be a member; only auditors must stay outside.
    let withdraw = "mutation($i: RevokeParentEntityRoleInput!) { revokeParentEntityRole(input: $i) { status } }";
    p.app()
        .ok(Some(&p.w.steward), withdraw,
            json!({ "i": { "parentEntityId": p.w.parent, "email": "ann@example.org", "role": "AUDITOR" } }))
        .await;
    let invited = p
        .app()
        .ok(Some(&p.w.steward), grant,
            json!({ "i": { "parentEntityId": p.w.parent, "email": "ann@example.org", "role": "STEWARD" } }))
        .await;
    let id = invited["grantParentEntityRole"]["id"].clone();
    let steward = p.app().ok(Some(&ann), accept, json!({ "id": id })).await;
    assert_eq!(steward["acceptParentEntityRole"]["role"], "STEWARD");
    assert_eq!(steward["acceptParentEntityRole"]["status"], "ACTIVE");
}

/// Accepting and declining are the auditor's own business, but accepting
/// cannot turn an auditor into a steward of the parent they audit: one
/// person holds one role per parent entity.
async fn auditor_cannot_become_a_steward_of_the_same_parent(
    app: &TestApp,
    steward: &str,
    auditor: &str,
    parent: &str,
) {
    use entities::{
        parent_entity_role::{self, RoleKind, RoleStatus},
        user,
    };
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    // The grant already refuses: the email holds a role here.
    let grant = app
        .gql(Some(steward),
            "mutation($i: GrantParentEntityRoleInput!) { grantParentEntityRole(input: $i) { id } }",
            json!({ "i": { "parentEntityId": parent, "email": "auditor@example.org", "role": "STEWARD" } }))
        .await;
    assert_eq!(error_code(&grant), "CONFLICT");
    // No API call reaches the state where the auditor has a steward
    // invitation here; an account whose email changed since it became
    // auditor would. Acceptance refuses it all the same.
    let account = user::Entity::find()
        .filter(user::Column::Email.eq("auditor@example.org"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut renamed: user::ActiveModel = account.clone().into();
    renamed.email = Set("auditor@new.example.org".into());
    renamed.update(&app.db).await.unwrap();
    let now = Utc::now();
    let invitation = parent_entity_role::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        parent_entity_id: Set(parent.parse().unwrap()),
        user_id: Set(None),
        email: Set("auditor@new.example.org".into()),
        role: Set(RoleKind::Steward),
        status: Set(RoleStatus::Pending),
        granted_by: Set(account.id),
        granted_at: Set(now),
        accepted_at: Set(None),
        declined_at: Set(None),
        expires_at: Set(Some(now + Duration::days(1))),
        revoked_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let id = json!({ "id": invitation.id.to_string() });
    let accept = app
        .gql(
            Some(auditor),
            "mutation($id: ID!) { acceptParentEntityRole(id: $id) { status } }",
            id.clone(),
        )
        .await;
    assert_eq!(error_code(&accept), "CONFLICT", "{accept:#}");
    assert!(
        accept["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("one role")
    );
    let declined = app
        .ok(
            Some(auditor),
            "mutation($id: ID!) { declineParentEntityRole(id: $id) { status } }",
            id,
        )
        .await;
    assert_eq!(declined["declineParentEntityRole"]["status"], "DECLINED");
    let roles = app
        .ok(
            Some(auditor),
            "{ me { parentEntityRoles { edges { node { role } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        roles["me"]["parentEntityRoles"]["edges"],
        json!([{ "node": { "role": "AUDITOR" } }])
    );
    let mut restored: user::ActiveModel = account.clone().into();
    restored.email = Set(account.email.clone());
    restored.update(&app.db).await.unwrap();
}

/// A pool of the walk's parent winding up, with one distribution pending:
/// the ids of its dissolution and distribution.
async fn dissolving_pool(p: &PoolWorld) -> (String, String) {
    let app = p.app();
    let founder = p.w.founder.clone();
    let pool = crate::pools::form_pool(
        &p.w,
        json!([{ "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "OPEN" }]),
        json!([]),
        "Winding Pool",
    )
    .await;
    app.ok(
        Some(&founder),
        "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id } }",
        json!({ "i": { "poolId": pool, "amount": 900, "currency": "EUR", "reference": "OPENING",
            "description": "Opening balance" } }),
    )
    .await;
    let proposal = app
        .ok(
            Some(&founder),
            "mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }",
            json!({ "i": { "poolId": pool, "title": "Dissolve", "kind": "DISSOLUTION",
                "dissolution": { "recipient": "PARENT" } } }),
        )
        .await["createProposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&founder),
        "mutation($i: CastVoteInput!) { castVote(input: $i) { choice } }",
        json!({ "i": { "proposalId": proposal, "choice": "agree" } }),
    )
    .await;
    app.ok(
        Some(&founder),
        "mutation($id: ID!) { closeProposal(proposalId: $id) { outcome } }",
        json!({ "id": proposal }),
    )
    .await;
    let d = app
        .ok(
            Some(&founder),
            "query($id: ID!) { pool(id: $id) { dissolution { id status distributions(first: 1) { edges { node { id } } } } } }",
            json!({ "id": pool }),
        )
        .await;
    let d = &d["pool"]["dissolution"];
    assert_eq!(d["status"], "WINDING_UP", "{d:#}");
    (
        d["id"].as_str().unwrap().to_owned(),
        d["distributions"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}
