//! One decision for a legal template: `recommendedTemplates` calls it
//! eligible exactly when `chooseLegalTemplate` accepts it and the formation
//! then submits; a template that is not eligible is refused with the same
//! misfits, and chosen before the other steps it keeps submission from
//! going through with those misfits and no others. Over every template in
//! the catalogue, under a parent in each of its jurisdictions, for a set
//! of formations.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_databases!(eligibility_is_one_decision_for_every_template);

/// A formation's answers to the steps besides the template.
struct Spec {
    name: &'static str,
    groups: Value,
    founders: usize,
    /// distributesSurplus, raisesShareCapital, acceptsInvestorMembers.
    finances: (bool, bool, bool),
}

fn specs() -> Vec<Spec> {
    let g = |key: &str, kind: &str, weight: i32, price: Option<i64>| {
        json!({ "key": key, "name": key, "kind": kind, "votingWeight": weight,
                "sharePrice": price, "admission": "OPEN" })
    };
    vec![
        Spec {
            name: "Two workers",
            groups: json!([g("workers", "WORKERS", 1, None)]),
            founders: 2,
            finances: (false, false, false),
        },
        Spec {
            name: "Workers and users",
            groups: json!([
                g("workers", "WORKERS", 1, None),
                g("users", "USERS", 1, None)
            ]),
            founders: 3,
            finances: (false, false, false),
        },
        // The weights that once passed as eligible for a one member one
        // vote form and were then refused.
        Spec {
            name: "Weighted",
            groups: json!([
                g("workers", "WORKERS", 2, None),
                g("users", "USERS", 1, None),
                g("friends", "SUPPORTERS", 0, None)
            ]),
            founders: 4,
            finances: (false, false, false),
        },
        Spec {
            name: "With investors",
            groups: json!([
                g("workers", "WORKERS", 2, None),
                g("backers", "INVESTORS", 1, None)
            ]),
            founders: 3,
            finances: (true, false, true),
        },
        Spec {
            name: "Share capital",
            groups: json!([
                g("workers", "WORKERS", 1, Some(5000)),
                g("users", "USERS", 1, Some(1000))
            ]),
            founders: 9,
            finances: (true, true, false),
        },
        Spec {
            name: "Nine sharing surplus",
            groups: json!([
                g("workers", "WORKERS", 1, None),
                g("users", "USERS", 1, None)
            ]),
            founders: 9,
            finances: (true, false, false),
        },
    ]
}

/// A template as `recommendedTemplates` judges it.
struct Judged {
    id: String,
    jurisdiction: Option<String>,
    eligible: bool,
    misfits: Vec<String>,
    /// The codes of its problems on the template's step, in order.
    codes: Vec<String>,
}

struct Run {
    app: TestApp,
    founder: String,
    count: usize,
}

impl Run {
    async fn call(&self, query: &str, variables: Value) -> Value {
        self.app.gql(Some(&self.founder), query, variables).await
    }

    /// A new formation under `parent`, its id.
    async fn start(&mut self, parent: &str) -> String {
        self.count += 1;
        let res = self
            .call(
                "mutation($i: StartFormationInput!) { startFormation(input: $i) { id } }",
                json!({ "i": { "parentEntityId": parent, "workingName": format!("Draft {}", self.count) } }),
            )
            .await;
        res["data"]["startFormation"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{res:#}"))
            .to_owned()
    }

    /// Every step but the template, answered as `spec` says, in one request.
    async fn answer(&self, id: &str, spec: &Spec) {
        let mut members = vec![
            json!({ "email": "founder@example.org", "displayName": "Founder",
            "stakeholderGroupKey": "workers", "role": "ADMIN" }),
        ];
        members.extend((1..spec.founders).map(|i| {
            json!({ "email": format!("m{i}@example.org"), "displayName": format!("M{i}"),
                    "stakeholderGroupKey": "workers" })
        }));
        let (surplus, capital, investors) = spec.finances;
        let res = self
            .call(
                "mutation($g: SetStakeholderGroupsInput!, $m: SetFoundingMembersInput!,
                          $f: SetFinancialProfileInput!, $n: NameFormationInput!, $a: SelectAppsInput!) {
                    g: setStakeholderGroups(input: $g) { version }
                    m: setFoundingMembers(input: $m) { version }
                    f: setFinancialProfile(input: $f) { version }
                    n: nameFormation(input: $n) { version }
                    a: selectApps(input: $a) { version } }",
                json!({
                    "g": { "formationId": id, "groups": spec.groups },
                    "m": { "formationId": id, "members": members },
                    "f": { "formationId": id, "distributesSurplus": surplus, "raisesShareCapital": capital,
                           "acceptsInvestorMembers": investors, "tradesWithPublic": true, "currency": "EUR" },
                    "n": { "formationId": id, "name": format!("{} {}", spec.name, self.count) },
                    "a": { "formationId": id, "appIds": [] },
                }),
            )
            .await;
        assert!(res.get("errors").is_none(), "{}: {res:#}", spec.name);
    }

    async fn judge(&self, id: &str) -> Vec<Judged> {
        let res = self
            .call(
                "query($id: ID!) { recommendedTemplates(formationId: $id) {
                    template { id jurisdiction } eligible misfits problems { step code } } }",
                json!({ "id": id }),
            )
            .await;
        let list = res["data"]["recommendedTemplates"]
            .as_array()
            .unwrap_or_else(|| panic!("{res:#}"));
        list.iter()
            .map(|r| Judged {
                id: r["template"]["id"].as_str().unwrap().to_owned(),
                jurisdiction: r["template"]["jurisdiction"].as_str().map(str::to_owned),
                eligible: r["eligible"].as_bool().unwrap(),
                misfits: strings(&r["misfits"], ""),
                codes: r["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["step"] == "LEGAL_TEMPLATE")
                    .map(|p| p["code"].as_str().unwrap().to_owned())
                    .collect(),
            })
            .collect()
    }

    async fn choose(&self, id: &str, template: &str) -> Value {
        self.call(
            "mutation($i: ChooseLegalTemplateInput!) { chooseLegalTemplate(input: $i) { version } }",
            json!({ "i": { "formationId": id, "templateId": template } }),
        )
        .await
    }

    async fn submit(&self, id: &str) -> Value {
        self.call(
            "mutation($id: ID!) { submitFormation(formationId: $id) { status } }",
            json!({ "id": id }),
        )
        .await
    }

    /// The formation's problems as (step, message).
    async fn problems(&self, id: &str) -> Vec<(String, String)> {
        let res = self
            .call(
                "query($id: ID!) { formation(id: $id) { problems { step message } } }",
                json!({ "id": id }),
            )
            .await;
        res["data"]["formation"]["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("{res:#}"))
            .iter()
            .map(|p| {
                (
                    p["step"].as_str().unwrap().to_owned(),
                    p["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Recommendation, choice and submission agree on `t` for a formation
    /// answered as `spec` under `parent` in `jurisdiction`.
    async fn agree(&mut self, parent: &str, jurisdiction: &str, spec: &Spec, id: &str, t: &Judged) {
        let what = format!("{} under {jurisdiction}, {}", t.id, spec.name);
        let chosen = self.choose(id, &t.id).await;
        if t.eligible {
            assert!(chosen.get("errors").is_none(), "{what}: {chosen:#}");
            let submitted = self.submit(id).await;
            assert_eq!(
                submitted["data"]["submitFormation"]["status"], "SUBMITTED",
                "{what}: {submitted:#}"
            );
            let withdrawn = self
                .call(
                    "mutation($id: ID!) { withdrawFormation(formationId: $id) { status } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(
                withdrawn["data"]["withdrawFormation"]["status"],
                "WITHDRAWN"
            );
            return;
        }
        assert_eq!(error_code(&chosen), "VALIDATION", "{what}: {chosen:#}");
        let fields = &chosen["errors"][0]["extensions"]["fields"];
        assert_eq!(
            strings(fields, "/path"),
            vec!["input.templateId"; t.misfits.len()]
        );
        assert_eq!(strings(fields, "/message"), t.misfits, "{what}");
        assert_eq!(strings(fields, "/problem"), t.codes, "{what}");
        if t.jurisdiction.as_deref().is_some_and(|j| j != jurisdiction) {
            return; // it can never be chosen here
        }
        // Chosen before the steps it does not fit, it keeps the formation
        // from submitting, for its misfits and nothing else.
        let later = self.start(parent).await;
        let first = self.choose(&later, &t.id).await;
        assert!(
            first.get("errors").is_none(),
            "{what}, chosen first: {first:#}"
        );
        self.answer(&later, spec).await;
        let problems = self.problems(&later).await;
        let on_template: Vec<String> = problems
            .iter()
            .filter(|(step, _)| step == "LEGAL_TEMPLATE")
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(on_template, t.misfits, "{what}");
        for (step, message) in &problems {
            assert!(t.misfits.contains(message), "{what}: {step} {message}");
        }
        let refused = self.submit(&later).await;
        assert_eq!(error_code(&refused), "VALIDATION", "{what}: {refused:#}");
        let said = strings(&refused["errors"][0]["extensions"]["fields"], "/message");
        for m in &t.misfits {
            assert!(
                said.iter().any(|s| s.ends_with(m.as_str())),
                "{what}: {m} in {said:?}"
            );
        }
    }
}

/// The strings at `pointer` (a JSON pointer, `""` for the item itself) in
/// each item of `list`; `""` where there is none.
fn strings(list: &Value, pointer: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list:#}"))
        .iter()
        .map(|v| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn eligibility_is_one_decision_for_every_template(app: TestApp) {
    let (steward, _) = app.sign_up("steward@example.org").await;
    let (founder, _) = app.sign_up("founder@example.org").await;
    let catalogue = app
        .ok(
            None,
            "{ legalTemplates(first: 100) { edges { node { id jurisdiction } } } }",
            json!({}),
        )
        .await;
    let every: BTreeSet<String> = strings(&catalogue["legalTemplates"]["edges"], "/node/id")
        .into_iter()
        .collect();
    let jurisdictions: BTreeSet<String> =
        strings(&catalogue["legalTemplates"]["edges"], "/node/jurisdiction")
            .into_iter()
            .filter(|j| !j.is_empty())
            .collect();
    assert!(every.len() >= 20 && jurisdictions.len() >= 10, "{every:?}");
    let mut run = Run {
        app,
        founder,
        count: 0,
    };
    for jurisdiction in &jurisdictions {
        let registered = run
            .app
            .ok(
                Some(&steward),
                "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                json!({ "i": { "name": format!("Umbrella {jurisdiction}"), "jurisdiction": jurisdiction,
                    "legalForm": "co-operative", "registrationNumber": format!("R-{jurisdiction}-1"),
                    "approvalPolicy": "MANUAL" } }),
            )
            .await;
        let parent = registered["registerParentEntity"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for spec in specs() {
            let id = run.start(&parent).await;
            run.answer(&id, &spec).await;
            let judged = run.judge(&id).await;
            let listed: BTreeSet<String> = judged.iter().map(|t| t.id.clone()).collect();
            assert_eq!(listed, every, "every template is judged");
            // Templates of other jurisdictions are tried under one parent.
            for t in judged.iter().filter(|t| {
                jurisdiction == "ES" || t.jurisdiction.as_deref().is_none_or(|j| j == jurisdiction)
            }) {
                run.agree(&parent, jurisdiction, &spec, &id, t).await;
            }
        }
    }
}
