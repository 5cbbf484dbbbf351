//! Steps that say opposite things are problems of both, and so is a chosen
//! template that later edits no longer fit; the rules document states the
//! settings, and submission waits until they agree.

use serde_json::{Value, json};

use super::World;
use crate::helpers::{TestApp, error_code};

on_both_databases!(
    contradictions_are_problems_of_both_steps,
    a_template_that_stops_fitting_is_a_problem_of_both_steps,
);

/// The problems with `code` as (step, path, message).
fn problems(f: &Value, code: &str) -> Vec<(String, String, String)> {
    f["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{f:#}"))
        .iter()
        .filter(|p| p["code"] == code)
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            (s("step"), s("path"), s("message"))
        })
        .collect()
}

/// One problem on each of two steps, with one message; returns it.
fn on_both(
    found: &[(String, String, String)],
    first: (&str, &str),
    second: (&str, &str),
) -> String {
    let at: Vec<(&str, &str)> = found
        .iter()
        .map(|(s, p, _)| (s.as_str(), p.as_str()))
        .collect();
    assert_eq!(at, vec![first, second], "{found:#?}");
    assert_eq!(found[0].2, found[1].2, "one message on both steps");
    found[0].2.clone()
}

fn step_complete(f: &Value, step: &str) -> bool {
    f["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["step"] == step && s["complete"] == true)
}

fn rules(f: &Value) -> &str {
    f["rulesDocument"].as_str().unwrap_or_default()
}

/// Submission is refused, naming `path` with `problem`.
async fn refused_at(w: &World, id: &str, path: &str, problem: &str) {
    let res = w.submit(id).await;
    assert_eq!(error_code(&res), "VALIDATION", "{res:#}");
    let fields = res["errors"][0]["extensions"]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["path"] == path && f["problem"] == problem),
        "{path} {problem} in {fields:#?}"
    );
}

async fn set_finances(w: &World, id: &str, investors: bool, capital: bool) -> Value {
    let input = json!({ "formationId": id, "distributesSurplus": false, "raisesShareCapital": capital,
        "acceptsInvestorMembers": investors, "tradesWithPublic": true, "currency": "EUR" });
    w.step(&w.founder, "setFinancialProfile", input).await
}

async fn set_groups(w: &World, id: &str, groups: Value) -> Value {
    let input = json!({ "formationId": id, "groups": groups });
    w.step(&w.founder, "setStakeholderGroups", input).await
}

/// Workers and users, voting alike; the workers' shares at `price`.
fn workers_and_users(price: Option<i64>) -> Value {
    json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "sharePrice": price, "admission": "OPEN" },
        { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" } ])
}

async fn contradictions_are_problems_of_both_steps(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Contradictions").await;
    w.complete(&id, "Contradiction Co-op").await;
    let (stakeholders, finance) = ("STAKEHOLDERS", "FINANCES");

    // An investors group while the pool accepts no investor members.
    let with_backers = json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 2, "admission": "OPEN" },
        { "key": "backers", "name": "Backers", "kind": "INVESTORS", "votingWeight": 1, "admission": "OPEN" } ]);
    let f = set_groups(&w, &id, with_backers).await;
    let message = on_both(
        &problems(&f, "CONTRADICTION"),
        (stakeholders, "stakeholderGroups[1].kind"),
        (finance, "financialProfile.acceptsInvestorMembers"),
    );
    assert!(message.contains("`backers` is for investors"), "{message}");
    assert!(!step_complete(&f, stakeholders) && !step_complete(&f, finance));
    refused_at(&w, &id, "stakeholderGroups[1].kind", "CONTRADICTION").await;
    refused_at(
        &w,
        &id,
        "financialProfile.acceptsInvestorMembers",
        "CONTRADICTION",
    )
    .await;

    // Accepting them settles it, and the rules say what the weights make true.
    let f = set_finances(&w, &id, true, false).await;
    assert_eq!(problems(&f, "CONTRADICTION"), vec![], "{f:#}");
    assert!(rules(&f).contains("4.4 Investor members may join; their votes never outweigh"));

    // Investor members accepted, but no group for them to join.
    let f = set_groups(&w, &id, workers_and_users(None)).await;
    let message = on_both(
        &problems(&f, "CONTRADICTION"),
        (stakeholders, "stakeholderGroups"),
        (finance, "financialProfile.acceptsInvestorMembers"),
    );
    assert!(message.contains("no stakeholder group is of kind INVESTORS"));

    // A share price while no share capital is raised.
    set_finances(&w, &id, false, false).await;
    let f = set_groups(&w, &id, workers_and_users(Some(5000))).await;
    let message = on_both(
        &problems(&f, "CONTRADICTION"),
        (stakeholders, "stakeholderGroups[0].sharePrice"),
        (finance, "financialProfile.raisesShareCapital"),
    );
    assert!(message.contains("`workers` has a share price"));
    assert!(
        rules(&f).contains("| Workers | WORKERS | 1 | open: anyone may join | 50.00 EUR |")
            && rules(&f).contains("4.3 The pool raises no share capital."),
        "the preview states both settings while the problem says they clash"
    );

    // Share capital raised, but no group with a share price.
    set_groups(&w, &id, workers_and_users(None)).await;
    let f = set_finances(&w, &id, false, true).await;
    let message = on_both(
        &problems(&f, "CONTRADICTION"),
        (stakeholders, "stakeholderGroups"),
        (finance, "financialProfile.raisesShareCapital"),
    );
    assert!(message.contains("no stakeholder group has a share price"));
    assert!(rules(&f).contains("4.3 The pool raises share capital from its members."));
    refused_at(
        &w,
        &id,
        "financialProfile.raisesShareCapital",
        "CONTRADICTION",
    )
    .await;

    // Prices and share capital together: nothing left, and it submits.
    let f = set_groups(&w, &id, workers_and_users(Some(5000))).await;
    assert_eq!(f["problems"], json!([]), "{f:#}");
    assert!(rules(&f).contains("at the share prices above"));
    assert_eq!(
        w.submit(&id).await["data"]["submitFormation"]["status"],
        "SUBMITTED"
    );
}

async fn a_template_that_stops_fitting_is_a_problem_of_both_steps(app: TestApp) {
    let w = World::new(app, "MANUAL").await;
    let id = w.start("Spanish").await;
    w.complete(&id, "Cooperativa Uno").await;
    let choose = |template: &'static str| {
        let input = json!({ "formationId": id, "templateId": template });
        w.step(&w.founder, "chooseLegalTemplate", input)
    };
    let f = choose("es-sociedad-cooperativa").await;
    assert_eq!(f["problems"], json!([]), "equal weights fit: {f:#}");
    assert!(
        rules(&f).contains("- at least 3 founding members (Ley 27/1999, art. 8)"),
        "the rules cite the article: {}",
        rules(&f)
    );

    // Weights of 2/1/0 no longer fit one member one vote.
    let weighted = json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 2, "admission": "OPEN" },
        { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "OPEN" },
        { "key": "friends", "name": "Friends", "kind": "SUPPORTERS", "votingWeight": 0, "admission": "OPEN" } ]);
    let f = set_groups(&w, &id, weighted).await;
    let message = on_both(
        &problems(&f, "TEMPLATE_CONFLICT"),
        ("LEGAL_TEMPLATE", "legalTemplateId"),
        ("STAKEHOLDERS", "stakeholderGroups"),
    );
    assert!(message.contains("gives one member one vote"), "{message}");
    assert!(
        rules(&f).contains("3.1 Each member has one vote within their group, and each group's share of agreement counts by its voting weight."),
        "the rules state the weights as set, not the template's rule"
    );
    refused_at(&w, &id, "legalTemplateId", "TEMPLATE_CONFLICT").await;
    let recommended = w
        .app
        .ok(
            Some(&w.founder),
            "query($id: ID!) { recommendedTemplates(formationId: $id) { template { id } eligible misfits } }",
            json!({ "id": id }),
        )
        .await;
    let spanish = recommended["recommendedTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["template"]["id"] == "es-sociedad-cooperativa")
        .unwrap();
    assert_eq!(spanish["eligible"], false);
    assert_eq!(spanish["misfits"], json!([message]));

    // A form that needs share capital, chosen while raising it, then not.
    set_groups(&w, &id, workers_and_users(Some(100_000))).await;
    set_finances(&w, &id, false, true).await;
    choose("es-ct-cooperativa-catalana").await;
    set_groups(&w, &id, workers_and_users(None)).await;
    let f = set_finances(&w, &id, false, false).await;
    let message = on_both(
        &problems(&f, "TEMPLATE_CONFLICT"),
        ("LEGAL_TEMPLATE", "legalTemplateId"),
        ("FINANCES", "financialProfile.raisesShareCapital"),
    );
    assert!(message.contains("3000.00 EUR"), "{message}");
    refused_at(
        &w,
        &id,
        "financialProfile.raisesShareCapital",
        "TEMPLATE_CONFLICT",
    )
    .await;
}
