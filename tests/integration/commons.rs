//! The parent entity's commons: assets it owns, leased to its pools, whose
//! rent falls due period by period into the parent's fund, once each.

use chrono::{Duration, Months, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::{
    audit::get_csv,
    helpers::{TestApp, error_code, error_paths, eventually},
    payloads::assert_published_shape,
    pools::{PoolWorld, TWO_GROUPS},
    stub::Stub,
};

on_both_databases!(
    assets_are_leased_and_their_rent_falls_due,
    a_lease_ending_within_a_period_is_charged_its_days,
    a_dissolved_pools_lease_ends_when_rent_next_falls_due,
    who_may_do_what_with_the_commons,
);

on_both_databases!(settings: crate::events::QUICK; leases_and_rent_raise_webhooks);

// Several servers need a database all can reach: PostgreSQL only.
on_both_databases!(settings: crate::events::QUICK; postgres only;
    two_servers_charge_each_period_once);

const LEASE: &str = "id status rent { amount currency } period startsOn endsOn terms
    periodsCharged nextChargeOn offeredAt answeredAt endedAt asset { id name } pool { id }";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn months_ago(n: u32) -> NaiveDate {
    today().checked_sub_months(Months::new(n)).unwrap()
}

async fn register_asset(p: &PoolWorld, token: &str, name: &str) -> Value {
    p.app()
        .gql(
            Some(token),
            "mutation($i: RegisterAssetInput!) { registerAsset(input: $i) { id name kind description value { amount currency } status retiredAt registeredAt parentEntity { id } } }",
            json!({ "i": { "parentEntityId": p.w.parent, "name": name, "kind": "PREMISES",
                "description": "The workshop on the ground floor", "value": 25_000_000, "currency": "EUR" } }),
        )
        .await
}

async fn asset(p: &PoolWorld, name: &str) -> String {
    let res = register_asset(p, &p.w.steward, name).await;
    assert!(res.get("errors").is_none(), "{res:#}");
    res["data"]["registerAsset"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn offer(p: &PoolWorld, token: &str, input: Value) -> Value {
    p.app()
        .gql(
            Some(token),
            &format!("mutation($i: OfferLeaseInput!) {{ offerLease(input: $i) {{ {LEASE} }} }}"),
            json!({ "i": input }),
        )
        .await
}

async fn offered(p: &PoolWorld, input: Value) -> Value {
    let res = offer(p, &p.w.steward, input).await;
    assert!(res.get("errors").is_none(), "{res:#}");
    res["data"]["offerLease"].clone()
}

/// Calls `acceptLease`, `declineLease` or `endLease` as `token`.
async fn lease_call(p: &PoolWorld, token: &str, mutation: &str, input: Value) -> Value {
    let input_type = match mutation {
        "endLease" => "EndLeaseInput",
        _ => "AnswerLeaseInput",
    };
    p.app()
        .gql(
            Some(token),
            &format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ {LEASE} }} }}"),
            json!({ "i": input }),
        )
        .await
}

async fn lease(p: &PoolWorld, token: &str, id: &Value) -> Value {
    let data = p
        .app()
        .ok(
            Some(token),
            &format!("query($id: ID!) {{ pool(id: $id) {{ leases(first: 10) {{ edges {{ node {{ {LEASE}
                charges(first: 10) {{ edges {{ node {{ periodNumber periodStart periodEnd amount {{ amount currency }} lease {{ id }} }} }} }} }} }} }} }} }}"),
            json!({ "id": p.pool }),
        )
        .await;
    data["pool"]["leases"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|l| &l["id"] == id)
        .expect("the lease is among the pool's")
}

/// The lease once `n` periods have been charged (the charging job then
/// waits for the next period, so the queue never settles).
async fn charged(p: &PoolWorld, id: &Value, n: i64) -> Value {
    let l = eventually(&format!("{n} periods are charged"), || async {
        let l = lease(p, &p.w.founder, id).await;
        if l["periodsCharged"] == n {
            Ok(l)
        } else {
            Err(l)
        }
    })
    .await;
    assert_eq!(
        l["charges"]["edges"].as_array().unwrap().len(),
        usize::try_from(n).unwrap(),
        "{l:#}"
    );
    l
}

async fn pool_balance(p: &PoolWorld) -> Value {
    p.app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { ledger { balances { amount currency } } } }",
            json!({ "id": p.pool }),
        )
        .await["pool"]["ledger"]["balances"]
        .clone()
}

async fn fund(p: &PoolWorld) -> Value {
    let from = (Utc::now() - Duration::days(400)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();
    p.app()
        .ok(
            Some(&p.w.steward),
            "query($id: ID!, $from: DateTime!, $to: DateTime!) { parentEntity(id: $id) {
                ledger { balances { amount currency }
                    entries(first: 50) { edges { node { kind category amount { amount currency } pool { id } } } }
                    accounts(from: $from, to: $to) { currencies { currency income closingBalance lines { kind category income entries } } } }
                report(from: $from, to: $to) { totals { money { currency rent expenses adjustments } } } } }",
            json!({ "id": p.w.parent, "from": from, "to": to }),
        )
        .await["parentEntity"]
        .clone()
}

async fn assets_are_leased_and_their_rent_falls_due(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let registered = register_asset(&p, &p.w.steward, "Workshop").await;
    let workshop = &registered["data"]["registerAsset"];
    assert_eq!(workshop["status"], "ACTIVE", "{registered:#}");
    assert_eq!(
        workshop["value"],
        json!({ "amount": 25_000_000, "currency": "EUR" })
    );
    let workshop_id = workshop["id"].as_str().unwrap().to_owned();
    let updated = p
        .app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: UpdateAssetInput!) { updateAsset(input: $i) { name description value { amount } } }",
            json!({ "i": { "assetId": workshop_id, "value": 24_000_000 } }),
        )
        .await;
    assert_eq!(updated["updateAsset"]["value"]["amount"], 24_000_000);
    assert_eq!(updated["updateAsset"]["name"], "Workshop", "left out, kept");

    // Offered from two months ago: on acceptance three periods are due.
    let start = months_ago(2);
    let l = offered(
        &p,
        json!({ "assetId": workshop_id, "poolId": p.pool, "rent": 3_000, "period": "MONTH",
            "startsOn": date(start), "terms": "Weekdays only" }),
    )
    .await;
    assert_eq!(l["status"], "OFFERED");
    assert_eq!(l["rent"], json!({ "amount": 3_000, "currency": "EUR" }));
    assert_eq!(
        l["nextChargeOn"],
        Value::Null,
        "nothing falls due before acceptance"
    );
    let accepted = lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    assert_eq!(
        accepted["data"]["acceptLease"]["status"], "ACTIVE",
        "{accepted:#}"
    );

    let after = charged(&p, &l["id"], 3).await;
    let charges: Vec<Value> = after["charges"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(charges.len(), 3, "{after:#}");
    for (n, c) in charges.iter().enumerate() {
        let n = u32::try_from(n).unwrap();
        assert_eq!(c["periodNumber"], n);
        assert_eq!(
            c["periodStart"],
            date(start.checked_add_months(Months::new(n)).unwrap())
        );
        assert_eq!(
            c["periodEnd"],
            date(start.checked_add_months(Months::new(n + 1)).unwrap())
        );
        assert_eq!(c["amount"], json!({ "amount": 3_000, "currency": "EUR" }));
        assert_eq!(c["lease"]["id"], l["id"]);
    }
    assert_eq!(
        after["nextChargeOn"],
        date(start.checked_add_months(Months::new(3)).unwrap())
    );
    // Charged to the pool, credited to the fund, in both sides' accounts
    // and the parent's report.
    assert_eq!(
        pool_balance(&p).await,
        json!([{ "amount": -9_000, "currency": "EUR" }])
    );
    let f = fund(&p).await;
    assert_eq!(
        f["ledger"]["balances"],
        json!([{ "amount": 9_000, "currency": "EUR" }]),
        "{f:#}"
    );
    let entries = f["ledger"]["entries"]["edges"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(e["node"]["kind"], "RENT");
        assert_eq!(e["node"]["category"], "rent");
        assert_eq!(e["node"]["pool"]["id"], p.pool.as_str());
    }
    let account = &f["ledger"]["accounts"]["currencies"][0];
    assert_eq!(account["income"], 9_000);
    assert_eq!(account["closingBalance"], 9_000);
    assert_eq!(
        account["lines"],
        json!([{ "kind": "RENT", "category": "rent", "income": 9_000, "entries": 3 }])
    );
    let money = &f["report"]["totals"]["money"][0];
    assert_eq!(money["rent"], 9_000, "{f:#}");
    assert_eq!(money["adjustments"], 0, "rent is not an adjustment");
    let from = (Utc::now() - Duration::days(400)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();
    let pool_accounts = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!, $from: DateTime!, $to: DateTime!) { pool(id: $id) { accounts(from: $from, to: $to) { currencies { spending lines { kind category spending } } } } }",
            json!({ "id": p.pool, "from": from, "to": to }),
        )
        .await;
    assert_eq!(
        pool_accounts["pool"]["accounts"]["currencies"][0]["lines"],
        json!([{ "kind": "RENT", "category": "rent", "spending": 9_000 }])
    );

    // Who uses the workshop now, seen from the parent.
    let assets = p
        .app()
        .ok(
            Some(&p.w.steward),
            "query($id: ID!) { parentEntity(id: $id) { assets(first: 10) { edges { node { id name leases(status: ACTIVE) { edges { node { pool { id } } } } } } } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    let node = &assets["parentEntity"]["assets"]["edges"][0]["node"];
    assert_eq!(
        node["leases"]["edges"][0]["node"]["pool"]["id"],
        p.pool.as_str()
    );

    // Retiring it while a lease runs is refused; ending the lease first lets it.
    let retire = "mutation($i: RetireAssetInput!) { retireAsset(input: $i) { status retiredAt } }";
    let early = p
        .app()
        .gql(
            Some(&p.w.steward),
            retire,
            json!({ "i": { "assetId": workshop_id } }),
        )
        .await;
    assert_eq!(error_code(&early), "CONFLICT", "{early:#}");
    let ends_on = today() + Duration::days(10);
    let ended = lease_call(
        &p,
        &p.w.founder,
        "endLease",
        json!({ "leaseId": l["id"], "endsOn": date(ends_on) }),
    )
    .await;
    let ended = &ended["data"]["endLease"];
    assert_eq!(ended["status"], "ENDED", "{ended:#}");
    assert_eq!(ended["endsOn"], date(ends_on));
    assert_eq!(
        ended["nextChargeOn"],
        Value::Null,
        "no period starts before its end"
    );
    let retired = p
        .app()
        .ok(
            Some(&p.w.steward),
            retire,
            json!({ "i": { "assetId": workshop_id } }),
        )
        .await;
    assert_eq!(retired["retireAsset"]["status"], "RETIRED");
    // A retired asset is offered to no one.
    let again = offer(
        &p,
        &p.w.steward,
        json!({ "assetId": workshop_id, "poolId": p.pool, "rent": 1, "period": "MONTH", "startsOn": date(today()) }),
    )
    .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");

    // The register and the leases, exported beside the other tables.
    let parent = format!("/exports/parent-entities/{}", p.w.parent);
    let (status, assets) =
        get_csv(p.app(), Some(&p.w.auditor), &format!("{parent}/assets.csv")).await;
    assert_eq!(status, 200);
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["name"], "Workshop");
    assert_eq!(assets[0]["status"], "RETIRED");
    assert_eq!(assets[0]["value"], "240000.00");
    for path in [
        format!("{parent}/leases.csv"),
        format!("/exports/pools/{}/leases.csv", p.pool),
    ] {
        let (status, leases) = get_csv(p.app(), Some(&p.w.steward), &path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(leases.len(), 1, "{path}");
        assert_eq!(leases[0]["asset_name"], "Workshop");
        assert_eq!(leases[0]["periods_charged"], "3");
        assert_eq!(leases[0]["charged_minor"], "9000");
        assert_eq!(leases[0]["ends_on"], date(ends_on));
    }
    let (status, _) = get_csv(p.app(), Some(&p.w.founder), &format!("{parent}/leases.csv")).await;
    assert_eq!(
        status, 403,
        "the parent's exports are its stewards' and auditors'"
    );
    let (status, _) = get_csv(
        p.app(),
        Some(&p.w.founder),
        &format!("/exports/pools/{}/assets.csv", p.pool),
    )
    .await;
    assert_eq!(status, 404, "a pool has no register of assets");
}

async fn a_lease_ending_within_a_period_is_charged_its_days(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let server = asset(&p, "Server rack").await;
    // A month ago to ten days from now: one whole month, then ten days of
    // the next, in proportion.
    let start = months_ago(1);
    let ends_on = today() + Duration::days(10);
    let l = offered(
        &p,
        json!({ "assetId": server, "poolId": p.pool, "rent": 3_100, "period": "MONTH",
            "startsOn": date(start), "endsOn": date(ends_on) }),
    )
    .await;
    lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    let after = charged(&p, &l["id"], 2).await;
    let second = &after["charges"]["edges"][1]["node"];
    let period_start = start.checked_add_months(Months::new(1)).unwrap();
    let full_end = start.checked_add_months(Months::new(2)).unwrap();
    let days = (full_end - period_start).num_days();
    let ran = (ends_on - period_start).num_days();
    assert_eq!(second["periodEnd"], date(ends_on));
    assert_eq!(second["amount"]["amount"], 3_100 * ran / days, "{after:#}");
    assert_eq!(after["nextChargeOn"], Value::Null);
    assert_eq!(
        pool_balance(&p).await,
        json!([{ "amount": -(3_100 + 3_100 * ran / days), "currency": "EUR" }])
    );
}

async fn a_dissolved_pools_lease_ends_when_rent_next_falls_due(app: TestApp) {
    use entities::pool;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let van = asset(&p, "Van").await;
    let l = offered(
        &p,
        json!({ "assetId": van, "poolId": p.pool, "rent": 800, "period": "MONTH", "startsOn": date(months_ago(1)) }),
    )
    .await;
    lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    charged(&p, &l["id"], 2).await;
    // The pool dissolves (as its dissolution would leave it); the next
    // charging finds it gone.
    let pool_id = uuid::Uuid::parse_str(&p.pool).unwrap();
    pool::Entity::update_many()
        .col_expr(pool::Column::Status, Expr::value("DISSOLVED"))
        .filter(pool::Column::Id.eq(pool_id))
        .exec(&p.app().db)
        .await
        .unwrap();
    let lease_id = uuid::Uuid::parse_str(l["id"].as_str().unwrap()).unwrap();
    api::services::jobs::enqueue(
        &p.app().db,
        &api::services::commons::rent::ChargeRent { lease_id },
        Utc::now(),
    )
    .await
    .unwrap();
    let ended = eventually("the lease ends", || async {
        let l = lease(&p, &p.w.steward, &l["id"]).await;
        if l["status"] == "ENDED" {
            Ok(l)
        } else {
            Err(l)
        }
    })
    .await;
    assert_eq!(ended["endsOn"], date(today()));
    assert_eq!(ended["nextChargeOn"], Value::Null);
    assert_eq!(ended["periodsCharged"], 2, "nothing more is charged");
    assert_eq!(
        pool_balance(&p).await,
        json!([{ "amount": -1_600, "currency": "EUR" }])
    );
}

async fn who_may_do_what_with_the_commons(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (ann, _) = p.join("ann@example.org", "workers").await;
    let (outsider, _) = p.app().sign_up("outsider@example.org").await;

    // Registering: stewards only, checked before the input.
    for token in [&outsider, &p.w.founder, &p.w.auditor, &ann] {
        let res = register_asset(&p, token, "").await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    let invalid = p
        .app()
        .gql(
            Some(&p.w.steward),
            "mutation($i: RegisterAssetInput!) { registerAsset(input: $i) { id } }",
            json!({ "i": { "parentEntityId": p.w.parent, "name": " ", "kind": "BRAND", "value": -1, "currency": "EURO" } }),
        )
        .await;
    assert_eq!(error_code(&invalid), "VALIDATION");
    assert_eq!(
        error_paths(&invalid),
        ["input.name", "input.value", "input.currency"]
    );
    let van = asset(&p, "Van").await;

    // Reading the register: the parent's people and its pools' members.
    let list =
        "query($id: ID!) { parentEntity(id: $id) { assets(first: 5) { edges { node { id } } } } }";
    for token in [&p.w.steward, &p.w.auditor, &p.w.founder, &ann] {
        let res = p
            .app()
            .gql(Some(token), list, json!({ "id": p.w.parent }))
            .await;
        assert!(res.get("errors").is_none(), "{res:#}");
        assert_eq!(
            res["data"]["parentEntity"]["assets"]["edges"][0]["node"]["id"],
            van.as_str()
        );
    }
    let res = p
        .app()
        .gql(Some(&outsider), list, json!({ "id": p.w.parent }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    // The fund's ledger: stewards and auditors.
    let ledger = "query($id: ID!) { parentEntity(id: $id) { ledger { balances { amount } } } }";
    for token in [&outsider, &p.w.founder] {
        let res = p
            .app()
            .gql(Some(token), ledger, json!({ "id": p.w.parent }))
            .await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    p.app()
        .ok(Some(&p.w.auditor), ledger, json!({ "id": p.w.parent }))
        .await;

    // Changing an asset: a stranger is told it does not exist.
    let update = "mutation($i: UpdateAssetInput!) { updateAsset(input: $i) { id } }";
    let res = p
        .app()
        .gql(
            Some(&outsider),
            update,
            json!({ "i": { "assetId": van, "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");
    let res = p
        .app()
        .gql(
            Some(&ann),
            update,
            json!({ "i": { "assetId": van, "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");

    // Offering: stewards only; the input is checked field by field.
    let good = json!({ "assetId": van, "poolId": p.pool, "rent": 500, "period": "QUARTER", "startsOn": date(today()) });
    let res = offer(&p, &p.w.founder, good.clone()).await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = offer(
        &p,
        &p.w.steward,
        json!({ "assetId": van, "poolId": p.pool, "rent": 0, "currency": "USD", "period": "MONTH",
            "startsOn": date(today() - Duration::days(800)), "endsOn": date(today() - Duration::days(900)) }),
    )
    .await;
    assert_eq!(error_code(&res), "VALIDATION", "{res:#}");
    assert_eq!(
        error_paths(&res),
        [
            "input.rent",
            "input.currency",
            "input.startsOn",
            "input.endsOn"
        ]
    );

    // Answering: the pool's admins; a stranger is told it does not exist.
    let l = offered(&p, good.clone()).await;
    let id = json!({ "leaseId": l["id"] });
    let res = lease_call(&p, &outsider, "acceptLease", id.clone()).await;
    assert_eq!(error_code(&res), "NOT_FOUND", "{res:#}");
    for token in [&ann, &p.w.steward, &p.w.auditor] {
        let res = lease_call(&p, token, "acceptLease", id.clone()).await;
        assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    }
    let res = lease_call(&p, &ann, "endLease", id.clone()).await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let declined = lease_call(&p, &p.w.founder, "declineLease", id.clone()).await;
    assert_eq!(
        declined["data"]["declineLease"]["status"], "DECLINED",
        "{declined:#}"
    );
    let res = lease_call(&p, &p.w.founder, "acceptLease", id.clone()).await;
    assert_eq!(error_code(&res), "CONFLICT", "{res:#}");

    // Ending: never from a day in the past; a steward withdraws an offer.
    let l = offered(&p, good.clone()).await;
    lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    let res = lease_call(
        &p,
        &p.w.steward,
        "endLease",
        json!({ "leaseId": l["id"], "endsOn": date(today() - Duration::days(1)) }),
    )
    .await;
    assert_eq!(error_paths(&res), ["input.endsOn"], "{res:#}");
    let withdrawn = offered(&p, good).await;
    let res = lease_call(
        &p,
        &p.w.steward,
        "endLease",
        json!({ "leaseId": withdrawn["id"] }),
    )
    .await;
    assert_eq!(res["data"]["endLease"]["status"], "ENDED", "{res:#}");
    assert_eq!(res["data"]["endLease"]["periodsCharged"], 0);

    // A pool's leases: its readers.
    let leases = "query($id: ID!) { pool(id: $id) { leases(first: 5) { edges { node { id } } } } }";
    let res = p
        .app()
        .gql(Some(&outsider), leases, json!({ "id": p.pool }))
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let res = p
        .app()
        .ok(Some(&ann), leases, json!({ "id": p.pool }))
        .await;
    assert_eq!(res["pool"]["leases"]["edges"].as_array().unwrap().len(), 3);
}

async fn leases_and_rent_raise_webhooks(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiver = Stub::start().await;
    p.pool_endpoint(
        &receiver.url,
        &[
            "lease.offered",
            "lease.accepted",
            "lease.ended",
            "rent.charged",
        ],
    )
    .await;
    let van = asset(&p, "Van").await;
    let l = offered(
        &p,
        json!({ "assetId": van, "poolId": p.pool, "rent": 700, "period": "MONTH", "startsOn": date(today()) }),
    )
    .await;
    lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    charged(&p, &l["id"], 1).await;
    lease_call(&p, &p.w.founder, "endLease", json!({ "leaseId": l["id"] })).await;
    let seen = receiver.wait_for(4, |_| true).await;
    let mut kinds: Vec<String> = seen
        .iter()
        .map(|s| {
            assert_published_shape(&s.body);
            assert_eq!(s.body["poolId"], p.pool.as_str());
            assert_eq!(s.body["parentEntityId"], p.w.parent.as_str());
            let kind = s.body["type"].as_str().unwrap().to_owned();
            match kind.as_str() {
                "rent.charged" => {
                    assert_eq!(
                        s.body["data"]["amount"],
                        json!({ "amount": 700, "currency": "EUR" })
                    );
                    assert_eq!(s.body["data"]["lease"]["id"], l["id"]);
                }
                _ => assert_eq!(s.body["data"]["id"], l["id"]),
            }
            format!(
                "{kind} {}",
                s.body["data"]["status"].as_str().unwrap_or("-")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "lease.accepted ACTIVE",
            "lease.ended ENDED",
            "lease.offered OFFERED",
            "rent.charged -"
        ]
    );
}

async fn two_servers_charge_each_period_once(a: TestApp) {
    let b = a.second_server(crate::events::QUICK).await;
    let p = PoolWorld::new(a, TWO_GROUPS()).await;
    let van = asset(&p, "Van").await;
    let l = offered(
        &p,
        json!({ "assetId": van, "poolId": p.pool, "rent": 1_000, "period": "MONTH", "startsOn": date(months_ago(3)) }),
    )
    .await;
    lease_call(
        &p,
        &p.w.founder,
        "acceptLease",
        json!({ "leaseId": l["id"] }),
    )
    .await;
    // Eight more charging jobs for the same lease, for both servers' workers
    // to take at once.
    let lease_id = uuid::Uuid::parse_str(l["id"].as_str().unwrap()).unwrap();
    api::services::jobs::enqueue_many(
        &b.db,
        (0..8).map(|_| api::services::commons::rent::ChargeRent { lease_id }),
        Utc::now(),
    )
    .await
    .unwrap();
    charged(&p, &l["id"], 4).await;
    // Every due job has run, each once and without an error: the lock, not
    // a failed insert, kept a second charge out.
    use entities::job::{self, JobStatus};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let jobs = eventually("every due charging job has run", || async {
        let jobs = job::Entity::find()
            .filter(job::Column::Kind.eq("charge_rent"))
            .all(&b.db)
            .await
            .unwrap();
        let due = jobs
            .iter()
            .filter(|j| j.status != JobStatus::Done && j.run_at <= Utc::now())
            .count();
        if due == 0 { Ok(jobs) } else { Err(due) }
    })
    .await;
    assert_eq!(
        jobs.len(),
        10,
        "9 charging jobs and the next period's: {jobs:#?}"
    );
    let (done, waiting): (Vec<_>, Vec<_>) = jobs.iter().partition(|j| j.status == JobStatus::Done);
    assert_eq!(done.len(), 9);
    assert!(done.iter().all(|j| j.attempts == 1), "{done:#?}");
    assert_eq!(waiting.len(), 1, "one job waits for the next period");
    assert_eq!(waiting[0].status, JobStatus::Pending);
    let l = lease(&p, &p.w.founder, &l["id"]).await;
    assert_eq!(l["periodsCharged"], 4, "still four");
    assert_eq!(
        pool_balance(&p).await,
        json!([{ "amount": -4_000, "currency": "EUR" }])
    );
    let f = fund(&p).await;
    assert_eq!(
        f["ledger"]["balances"],
        json!([{ "amount": 4_000, "currency": "EUR" }])
    );
}
