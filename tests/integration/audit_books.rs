//! Books you can trust: every ledger entry is bound into the audit event
//! that records it, and `verifyAuditTrail` finds an entry edited, inserted
//! or deleted straight in the database, at its row.

use std::collections::{BTreeSet, HashMap};

use chrono::{SubsecRound, Utc};
use entities::ledger_entry::{self, LedgerKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{audit::Busy, audit::all_events, helpers::TestApp};

on_both_databases!(
    every_entry_is_bound_into_the_event_that_records_it,
    an_entry_edited_inserted_or_deleted_is_found_at_its_row,
);

const VERIFY: &str = "query($id: ID!, $after: ID) {
    verifyAuditTrail(parentEntityId: $id, ledgerAfter: $after) {
        valid firstBreak { seq }
        ledger { valid poolsChecked entriesChecked entriesBound entriesUnbound findingCount
                 resumeAfter findings { kind entryId poolId eventId seq problem } } } }";

async fn verify(app: &TestApp, token: &str, parent: &str, after: Value) -> Value {
    app.ok(Some(token), VERIFY, json!({ "id": parent, "after": after }))
        .await["verifyAuditTrail"]
        .clone()
}

async fn entries(app: &TestApp, pool: &str) -> Vec<ledger_entry::Model> {
    ledger_entry::Entity::find()
        .filter(ledger_entry::Column::PoolId.eq(Uuid::parse_str(pool).unwrap()))
        .order_by_asc(ledger_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// Runs `sql` straight on the database, as someone with its password could.
async fn run(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, sea_orm::DbErr> {
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map(|r| r.rows_affected())
}

/// An entry's digest, computed here from the README's recipe
/// (`pools-ledger/1`), independently of the server's code.
fn recompute_digest(e: &ledger_entry::Model) -> String {
    let time = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let kind = match e.kind {
        LedgerKind::Contribution => "CONTRIBUTION",
        LedgerKind::ParentShare => "PARENT_SHARE",
        LedgerKind::Expense => "EXPENSE",
        LedgerKind::Adjustment => "ADJUSTMENT",
        LedgerKind::TransferOut => "TRANSFER_OUT",
        LedgerKind::Distribution => "DISTRIBUTION",
        LedgerKind::Rent => "RENT",
        LedgerKind::Grant => "GRANT",
        LedgerKind::Loan => "LOAN",
        LedgerKind::Repayment => "REPAYMENT",
        LedgerKind::Donation => "DONATION",
    };
    let canonical = json!([
        "pools-ledger/1",
        e.id.to_string(),
        e.pool_id.to_string(),
        kind,
        e.amount_minor,
        e.currency,
        e.reference,
        e.description,
        e.expense_id.map(|u| u.to_string()),
        e.recorded_by.map(|u| u.to_string()),
        time(e.occurred_at),
        time(e.created_at),
        e.category,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

async fn every_entry_is_bound_into_the_event_that_records_it(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let parent = &b.p.w.parent;
    let ledger = entries(app, &b.p.pool).await;
    assert_eq!(
        ledger.len(),
        6,
        "two contributions, two shares, an adjustment, an expense"
    );

    // The events that wrote the entries carry each one's id and digest.
    let events = all_events(app, &b.p.w.steward, json!({ "parentEntityId": parent })).await;
    let mut bound: HashMap<String, String> = HashMap::new();
    for e in &events {
        let Some(bindings) = e["changes"]["ledgerEntries"].as_array() else {
            continue;
        };
        let expected = match e["action"].as_str().unwrap() {
            "contribution.paid" => 2,
            "expense.paid" | "ledger.adjusted" => 1,
            other => panic!("{other} binds ledger entries"),
        };
        assert_eq!(bindings.len(), expected, "{e:#}");
        for binding in bindings {
            let id = binding["id"].as_str().unwrap().to_owned();
            assert!(
                bound
                    .insert(id, binding["digest"].as_str().unwrap().to_owned())
                    .is_none()
            );
        }
    }
    for entry in &ledger {
        assert_eq!(
            bound.get(&entry.id.to_string()),
            Some(&recompute_digest(entry)),
            "{entry:?}"
        );
    }
    assert_eq!(bound.len(), ledger.len());

    let ok = verify(app, &b.p.w.auditor, parent, Value::Null).await;
    assert_eq!(ok["valid"], true, "{ok:#}");
    assert_eq!(
        ok["ledger"],
        json!({ "valid": true, "poolsChecked": 1, "entriesChecked": 6, "entriesBound": 6,
                "entriesUnbound": 0, "findingCount": 0, "resumeAfter": null, "findings": [] })
    );
    let after = verify(app, &b.p.w.auditor, parent, json!(b.p.pool)).await;
    assert_eq!(after["ledger"]["poolsChecked"], 0, "{after:#}");
    assert_eq!(after["ledger"]["entriesChecked"], 0);

    // Entries written before binding existed are marked so by the
    // migration; nothing can mark one since. Marked with the guard
    // removed, one is unbound, and no finding.
    let pool = Uuid::parse_str(&b.p.pool).unwrap();
    let old = forge(app, pool, "OLD-1").await;
    let refused = run(
        app,
        "INSERT INTO ledger_bindings (ledger_entry_id, event_id) VALUES ($1, NULL)",
        vec![old.into()],
    )
    .await;
    assert!(
        refused.is_err(),
        "only the migration marks entries as unbound"
    );
    let unguard = match app.db.get_database_backend() {
        DbBackend::Postgres => {
            "ALTER TABLE ledger_bindings DISABLE TRIGGER ledger_bindings_append_only"
        }
        _ => "DROP TRIGGER ledger_bindings_no_unbound",
    };
    app.db.execute_unprepared(unguard).await.unwrap();
    run(
        app,
        "INSERT INTO ledger_bindings (ledger_entry_id, event_id) VALUES ($1, NULL)",
        vec![old.into()],
    )
    .await
    .unwrap();
    let before_binding = verify(app, &b.p.w.auditor, parent, Value::Null).await;
    assert_eq!(before_binding["valid"], true, "{before_binding:#}");
    assert_eq!(before_binding["ledger"]["entriesChecked"], 7);
    assert_eq!(before_binding["ledger"]["entriesUnbound"], 1);
    assert_eq!(before_binding["ledger"]["findingCount"], 0);
}

/// Writes an entry straight into the database, as no server does.
async fn forge(app: &TestApp, pool: Uuid, reference: &str) -> Uuid {
    let now = Utc::now().trunc_subsecs(6);
    ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool),
        kind: Set(LedgerKind::Contribution),
        amount_minor: Set(99_999),
        currency: Set("EUR".to_owned()),
        reference: Set(reference.to_owned()),
        description: Set("a contribution nobody paid".to_owned()),
        expense_id: Set(None),
        recorded_by: Set(None),
        occurred_at: Set(now),
        created_at: Set(now),
        category: Set("contributions".to_owned()),
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

async fn an_entry_edited_inserted_or_deleted_is_found_at_its_row(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let parent = &b.p.w.parent;
    let pool = Uuid::parse_str(&b.p.pool).unwrap();
    let ledger = entries(app, &b.p.pool).await;
    let of_kind = |kind| ledger.iter().find(|e| e.kind == kind).unwrap().id;
    let (edited, deleted) = (
        of_kind(LedgerKind::Adjustment),
        of_kind(LedgerKind::Expense),
    );
    let events = all_events(app, &b.p.w.steward, json!({ "parentEntityId": parent })).await;
    let event_of = |action: &str| {
        events
            .iter()
            .find(|e| e["action"] == action)
            .map(|e| (e["id"].clone(), e["seq"].clone()))
            .unwrap()
    };

    assert_eq!(
        run(
            app,
            "UPDATE ledger_entries SET amount_minor = 50000 WHERE id = $1",
            vec![edited.into()],
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        run(
            app,
            "DELETE FROM ledger_entries WHERE id = $1",
            vec![deleted.into()]
        )
        .await
        .unwrap(),
        1
    );
    let inserted = forge(app, pool, "FORGED-1").await;
    // A forged binding to a real event does not help: that event does not
    // record the entry.
    let disguised = forge(app, pool, "FORGED-2").await;
    let (adjusted_event, _) = event_of("ledger.adjusted");
    run(
        app,
        "INSERT INTO ledger_bindings (ledger_entry_id, event_id) VALUES ($1, $2)",
        vec![
            disguised.into(),
            Uuid::parse_str(adjusted_event.as_str().unwrap())
                .unwrap()
                .into(),
        ],
    )
    .await
    .unwrap();
    // Bindings themselves are append-only.
    for sql in [
        "UPDATE ledger_bindings SET event_id = NULL WHERE ledger_entry_id = $1",
        "DELETE FROM ledger_bindings WHERE ledger_entry_id = $1",
    ] {
        assert!(run(app, sql, vec![deleted.into()]).await.is_err(), "{sql}");
    }

    let found = verify(app, &b.p.w.auditor, parent, Value::Null).await;
    assert_eq!(found["valid"], false, "{found:#}");
    assert_eq!(found["firstBreak"], Value::Null, "the chain itself holds");
    let check = &found["ledger"];
    assert_eq!(check["valid"], false);
    assert_eq!(check["entriesChecked"], 7, "5 left of 6, and 2 forged");
    assert_eq!(check["entriesBound"], 4);
    assert_eq!(check["findingCount"], 4);
    let findings: HashMap<String, &Value> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["entryId"].as_str().unwrap().to_owned(), f))
        .collect();
    let at = |id: Uuid| findings[&id.to_string()];
    for (id, kind, event) in [
        (edited, "EDITED", Some(event_of("ledger.adjusted"))),
        (deleted, "DELETED", Some(event_of("expense.paid"))),
        (inserted, "INSERTED", None),
        (disguised, "INSERTED", None),
    ] {
        let f = at(id);
        assert_eq!(f["kind"], kind, "{f:#}");
        assert_eq!(f["poolId"], b.p.pool.as_str());
        if let Some((event_id, seq)) = event {
            assert_eq!(f["eventId"], event_id, "{f:#}");
            assert_eq!(f["seq"], seq);
        }
    }
    assert_eq!(at(inserted)["eventId"], Value::Null);
    assert!(
        at(edited)["problem"]
            .as_str()
            .unwrap()
            .contains("changed after it was written"),
        "{check:#}"
    );
    assert!(
        at(disguised)["problem"]
            .as_str()
            .unwrap()
            .contains("does not record this entry"),
        "{check:#}"
    );
    let kinds: BTreeSet<&str> = findings
        .values()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["DELETED", "EDITED", "INSERTED"]));

    // Members may not verify; the findings are for stewards and auditors.
    let refused = app
        .gql(Some(&b.ann), VERIFY, json!({ "id": parent, "after": null }))
        .await;
    assert_eq!(crate::helpers::error_code(&refused), "FORBIDDEN");
}
