//! Odd input: money beyond its bound, sums over rows no input could make
//! today, NUL and invisible text, Unicode forms, line breaks, and codes that
//! are not currencies. Each is refused with `VALIDATION` on its field, or
//! read without error; none reaches `INTERNAL`.

use chrono::{Duration, Utc};
use entities::ledger_entry::{self, LedgerKind};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    formations::World,
    helpers::{TestApp, error_code, error_paths},
    pools::{PoolWorld, TWO_GROUPS, form_pool},
};

on_both_databases!(
    money_beyond_the_bound_is_refused,
    stored_sums_beyond_any_bound_are_still_read,
    nul_is_refused_where_it_would_reach_the_database,
    names_are_compared_in_normal_form_and_must_be_visible,
    prose_keeps_its_line_breaks,
);

const ADJUST: &str = "mutation($i: RecordLedgerAdjustmentInput!) { recordLedgerAdjustment(input: $i) { id amount { amount currency } } }";
const EXPENSE: &str = "mutation($i: SubmitExpenseInput!) { submitExpense(input: $i) { id description proposal { body } } }";

fn adjustment(pool: &str, amount: i64, currency: &str) -> Value {
    json!({ "i": { "poolId": pool, "amount": amount, "currency": currency,
        "reference": "ADJ-1", "description": "Opening balance" } })
}

fn assert_refused(res: &Value, paths: &[&str]) {
    assert_eq!(error_code(res), "VALIDATION", "{res:#}");
    assert_eq!(error_paths(res), paths, "{res:#}");
}

/// The message of the first field error.
fn message(res: &Value) -> &str {
    res["errors"][0]["extensions"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_default()
}

async fn money_beyond_the_bound_is_refused(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let admin = p.w.founder.clone();
    let bound = 10_000_000_000_000_i64;
    for amount in [bound + 1, -bound - 1, i64::MAX, i64::MIN] {
        let res = p
            .app()
            .gql(Some(&admin), ADJUST, adjustment(&p.pool, amount, "EUR"))
            .await;
        assert_refused(&res, &["input.amount"]);
        assert!(message(&res).contains("10000000000000"), "{res:#}");
    }
    let at_bound = p
        .app()
        .ok(Some(&admin), ADJUST, adjustment(&p.pool, -bound, "EUR"))
        .await;
    assert_eq!(
        at_bound["recordLedgerAdjustment"]["amount"]["amount"],
        -bound
    );

    let expense = p
        .app()
        .gql(
            Some(&admin),
            EXPENSE,
            json!({ "i": { "poolId": p.pool, "title": "Too much",
            "amount": i64::MAX, "currency": "EUR", "payee": "Someone" } }),
        )
        .await;
    assert_refused(&expense, &["input.amount"]);
    let scale = p
        .app()
        .gql(
            Some(&admin),
            "mutation($i: SetSlidingScaleInput!) { setSlidingScale(input: $i) { id } }",
            json!({ "i": { "poolId": p.pool, "currency": "EUR", "interval": "MONTH",
                "minimum": i64::MIN, "maximum": 1000, "suggested": 500, "allowZero": false } }),
        )
        .await;
    assert_eq!(error_code(&scale), "VALIDATION", "{scale:#}");
    assert!(error_paths(&scale).contains(&"input.minimum".to_owned()));

    // ISO 4217 has codes that are no money anyone pays in.
    for code in ["XXX", "XTS", "XAU"] {
        let res = p
            .app()
            .gql(Some(&admin), ADJUST, adjustment(&p.pool, 100, code))
            .await;
        assert_refused(&res, &["input.currency"]);
        assert!(
            message(&res).contains("not a currency members can pay in"),
            "{res:#}"
        );
    }
}

/// Writes an entry straight into the database, as rows stored before the
/// bound existed were.
async fn store_entry(app: &TestApp, pool: Uuid, amount: i64, currency: &str, n: usize) {
    let now = Utc::now() - Duration::hours(1);
    ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool),
        kind: Set(if amount < 0 {
            LedgerKind::Expense
        } else {
            LedgerKind::Adjustment
        }),
        amount_minor: Set(amount),
        currency: Set(currency.to_owned()),
        reference: Set(format!("OLD-{n}")),
        description: Set("stored before amounts were bounded".to_owned()),
        expense_id: Set(None),
        recorded_by: Set(None),
        occurred_at: Set(now),
        created_at: Set(now),
        category: Set("general".to_owned()),
    }
    .insert(&app.db)
    .await
    .expect("insert a stored entry");
}

async fn stored_sums_beyond_any_bound_are_still_read(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let pool: Uuid = p.pool.parse().unwrap();
    // EUR sums to -2 exactly, though a running SUM overflows on the way;
    // GBP and CHF lie beyond an Int; USD checks the halves' carries.
    let rows: &[(&str, &[i64])] = &[
        ("EUR", &[i64::MAX, i64::MAX, i64::MIN, i64::MIN]),
        ("GBP", &[i64::MAX, i64::MAX]),
        ("CHF", &[i64::MIN, i64::MIN]),
        ("USD", &[-1, -4_294_967_296, 4_294_967_297, 123]),
    ];
    let mut n = 0;
    for (currency, amounts) in rows {
        for amount in *amounts {
            n += 1;
            store_entry(p.app(), pool, *amount, currency, n).await;
        }
    }
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();

    let data = p
        .app()
        .ok(Some(&p.w.founder), "query($id: ID!, $from: DateTime!, $to: DateTime!) { pool(id: $id) {
            ledger { balances { currency amount saturated } }
            accounts(from: $from, to: $to) { currencies { currency openingBalance closingBalance income spending saturated
                lines { kind income spending entries saturated } } } } }",
            json!({ "id": p.pool, "from": from, "to": to }))
        .await;
    assert_eq!(
        data["pool"]["ledger"]["balances"],
        json!([
            { "currency": "CHF", "amount": i64::MIN, "saturated": true },
            { "currency": "EUR", "amount": -2, "saturated": false },
            { "currency": "GBP", "amount": i64::MAX, "saturated": true },
            { "currency": "USD", "amount": 123, "saturated": false },
        ])
    );
    let accounts = data["pool"]["accounts"]["currencies"].as_array().unwrap();
    let account = |c: &str| accounts.iter().find(|a| a["currency"] == c).unwrap();
    let eur = account("EUR");
    assert_eq!(eur["closingBalance"], -2);
    assert_eq!(eur["openingBalance"], 0);
    assert_eq!(eur["income"], i64::MAX, "2 x i64::MAX, shown at the bound");
    assert_eq!(eur["spending"], i64::MAX);
    assert_eq!(eur["saturated"], true);
    let usd = account("USD");
    assert_eq!(
        (&usd["income"], &usd["spending"], &usd["saturated"]),
        (
            &json!(4_294_967_420_i64),
            &json!(4_294_967_297_i64),
            &json!(false)
        )
    );
    assert_eq!(account("CHF")["closingBalance"], i64::MIN);

    let report = p
        .app()
        .ok(Some(&p.w.steward), "query($id: ID!, $from: DateTime!, $to: DateTime!) { parentEntity(id: $id) {
            report(from: $from, to: $to) {
                totals { money { currency balance adjustments expenses saturated } }
                pools(first: 10) { edges { node { figures { money { currency balance saturated } } } } } } } }",
            json!({ "id": p.w.parent, "from": from, "to": to }))
        .await;
    let totals = report["parentEntity"]["report"]["totals"]["money"]
        .as_array()
        .unwrap();
    let total = |c: &str| totals.iter().find(|m| m["currency"] == c).unwrap();
    assert_eq!(total("EUR")["balance"], -2);
    assert_eq!(
        total("EUR")["saturated"],
        true,
        "its adjustments are 2 x MAX"
    );
    assert_eq!(total("GBP")["balance"], i64::MAX);
    assert_eq!(total("CHF")["balance"], i64::MIN);
    assert_eq!(
        (&total("USD")["balance"], &total("USD")["saturated"]),
        (&json!(123), &json!(false))
    );
    let per_pool =
        &report["parentEntity"]["report"]["pools"]["edges"][0]["node"]["figures"]["money"];
    assert_eq!(per_pool.as_array().unwrap().len(), 4, "{per_pool:#}");
}

async fn nul_is_refused_where_it_would_reach_the_database(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let admin = p.w.founder.clone();
    let proposal = p.propose(&admin, json!({})).await;
    let vote = p
        .app()
        .gql(
            Some(&admin),
            "mutation($i: CastVoteInput!) { castVote(input: $i) { choice } }",
            json!({ "i": { "proposalId": proposal, "choice": "agree", "reason": "because\u{0}" } }),
        )
        .await;
    assert_refused(&vote, &["input.reason"]);
    assert!(message(&vote).contains("U+0000"), "{vote:#}");

    for (field, value) in [("action", "member.joined\u{0}"), ("entityType", "\u{0}")] {
        let res = p
            .app()
            .gql(Some(&p.w.steward), "query($i: AuditEventsInput!) { auditEvents(input: $i, first: 5) { edges { node { id } } } }",
                json!({ "i": { "parentEntityId": p.w.parent, field: value } }))
            .await;
        assert_refused(&res, &[&format!("input.{field}")]);
    }

    // Loopback is open to the tests, so nothing but the NUL stops these.
    let url = "http://127.0.0.1:9/hooks\u{0}";
    let webhook = p
        .app()
        .gql(Some(&admin), "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
            json!({ "i": { "poolId": p.pool, "url": url, "events": ["member.joined"] } }))
        .await;
    assert_refused(&webhook, &["input.url"]);
    let provisioner = p
        .app()
        .gql(
            Some(&p.w.steward),
            "mutation($i: SetAppProvisionerInput!) { setAppProvisioner(input: $i) { secret } }",
            json!({ "i": { "parentEntityId": p.w.parent, "appId": "loomio", "url": url } }),
        )
        .await;
    assert_refused(&provisioner, &["input.url"]);
    assert!(message(&provisioner).contains("control characters"));

    // App settings: NUL in a string the schema allows, or in a key.
    let w = &p.w;
    let f = w.start("Settings").await;
    w.step(
        &w.founder,
        "selectApps",
        json!({ "formationId": f, "appIds": ["wordpress"] }),
    )
    .await;
    let configure = |settings: Value| {
        w.call(
            &w.founder,
            "configureApp",
            json!({ "formationId": f, "appId": "wordpress", "settings": settings }),
        )
    };
    let res = configure(json!({ "siteTitle": "Our\u{0}coop" })).await;
    assert_refused(&res, &["input.settings.siteTitle"]);
    let res = configure(json!({ "siteTitle": "Ours", "x\u{0}": 1 })).await;
    assert_eq!(error_code(&res), "VALIDATION", "{res:#}");
    assert!(
        error_paths(&res).contains(&"input.settings".to_owned()),
        "{res:#}"
    );
    let fine = configure(json!({ "siteTitle": "Ours" })).await;
    assert!(fine.get("errors").is_none(), "{fine:#}");
}

async fn names_are_compared_in_normal_form_and_must_be_visible(app: TestApp) {
    let w = World::new(app, "AUTOMATIC").await;
    let name_it = |id: String, name: String| {
        let w = &w;
        async move {
            w.call(
                &w.founder,
                "nameFormation",
                json!({ "formationId": id, "name": name }),
            )
            .await
        }
    };
    // Each U+FDFA spells out to 18 characters once compared: the key
    // would overflow its column.
    let draft = w.start("Draft").await;
    let long = name_it(draft.clone(), "\u{fdfa}".repeat(80)).await;
    assert_refused(&long, &["input.name"]);

    // A decomposed accent is the same name as the precomposed one.
    let pool = form_pool(&w, TWO_GROUPS(), json!([]), "Cafe\u{301} Coop").await;
    let named = w
        .app
        .ok(
            None,
            "query($id: ID!) { pool(id: $id) { name slug } }",
            json!({ "id": pool }),
        )
        .await;
    assert_eq!(
        named["pool"],
        json!({ "name": "Café Coop", "slug": "cafe-coop" })
    );
    let taken = name_it(draft, "Café Coop".to_owned()).await;
    assert_refused(&taken, &["input.name"]);
    assert!(message(&taken).contains("already used"), "{taken:#}");
    for form in ["Café Coop", "Cafe\u{301} Coop"] {
        let free = w
            .app
            .ok(Some(&w.founder), "query($p: ID!, $n: String!) { nameAvailability(parentEntityId: $p, name: $n) { available } }",
                json!({ "p": w.parent, "n": form }))
            .await;
        assert_eq!(free["nameAvailability"]["available"], false, "{form}");
    }

    // Names of only zero-width characters or byte order marks are empty.
    for blank in [
        "\u{200b}\u{200b}\u{200b}",
        "\u{feff}\u{feff}",
        "\u{200d}\u{2060}",
    ] {
        let formation = w
            .call(
                &w.founder,
                "startFormation",
                json!({ "parentEntityId": w.parent, "workingName": blank }),
            )
            .await;
        assert_refused(&formation, &["input.workingName"]);
        let parent = w
            .app
            .gql(Some(&w.founder), "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                json!({ "i": { "name": blank, "jurisdiction": "ES", "legalForm": "cooperativa",
                    "registrationNumber": "B-1", "approvalPolicy": "MANUAL" } }))
            .await;
        assert_refused(&parent, &["input.name"]);
        let token = w
            .app
            .gql(
                Some(&w.founder),
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
                json!({ "i": { "name": blank, "scopes": ["READ"] } }),
            )
            .await;
        assert_refused(&token, &["input.name"]);
    }
}

async fn prose_keeps_its_line_breaks(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let admin = p.w.founder.clone();
    let markdown = "# Why\r\n\r\n- it carries more\n- it is cheaper\n\n    code stays indented";
    let kept = "# Why\n\n- it carries more\n- it is cheaper\n\n    code stays indented";
    let proposal = p.propose(&admin, json!({ "body": markdown })).await;
    let read = p
        .app()
        .ok(
            Some(&admin),
            "query($id: ID!) { proposal(id: $id) { body } }",
            json!({ "id": proposal }),
        )
        .await;
    assert_eq!(read["proposal"]["body"], kept);

    let expense = p
        .app()
        .ok(
            Some(&admin),
            EXPENSE,
            json!({ "i": { "poolId": p.pool, "title": "Bike",
            "description": markdown, "amount": 4250, "currency": "EUR", "payee": "Taller" } }),
        )
        .await;
    assert_eq!(expense["submitExpense"]["description"], kept);
    let body = expense["submitExpense"]["proposal"]["body"]
        .as_str()
        .unwrap();
    assert!(
        body.starts_with(&format!("{kept}\n\nAmount: 42.50 EUR")),
        "{body}"
    );

    let bad = p
        .app()
        .gql(
            Some(&admin),
            EXPENSE,
            json!({ "i": { "poolId": p.pool, "title": "Bike",
            "description": "nul\u{0}", "amount": 4250, "currency": "EUR", "payee": "Taller" } }),
        )
        .await;
    assert_refused(&bad, &["input.description"]);
}
