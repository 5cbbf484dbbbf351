//! Payment reconciliation against localstripe: orphans canceled, lost
//! subscription ids linked again, lost invoices booked once.

use chrono::Utc;
use entities::{
    audit_event, contribution, ledger_entry,
    payment_reconciliation_finding::{self as finding, FindingKind},
    stripe_object,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    contributions::{euro_scale, payment_method, start, stripe_url},
    helpers::{TestApp, error_code, eventually},
    pools::{PoolWorld, TWO_GROUPS},
};

macro_rules! reconciling {
    ($($name:ident),*) => {
        on_both_databases!(
            settings: &[
                ("STRIPE_SECRET_KEY", "sk_test_12345"),
                ("STRIPE_API_BASE", "env:TEST_STRIPE_URL"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_test_secret"),
                ("PAYMENT_RECONCILE_INTERVAL_SECS", "1"),
            ];
            needs stripe;
            $($name),*
        );
    };
}

reconciling!(
    an_orphan_subscription_is_canceled_and_reported,
    a_lost_subscription_id_is_linked_again,
    a_lost_invoice_is_booked_once
);

const FINDINGS: &str = "query($id: ID!) { pool(id: $id) { paymentReconciliation { status
    subscriptionsChecked findings(first: 50) { edges { node { id kind stripeId detail } } } } } }";

/// A member paying 5.00 EUR a month through Stripe; returns the contribution.
async fn paying_member(p: &PoolWorld) -> (String, contribution::Model) {
    euro_scale(p, false).await;
    let (member, _) = p.join("payer@example.org", "users").await;
    let card = payment_method(p.app(), "4242424242424242").await;
    let started = start(
        p,
        &member,
        json!({ "amount": 500, "paymentMethodId": card }),
    )
    .await;
    assert_eq!(
        started["data"]["startContribution"]["contribution"]["status"], "ACTIVE",
        "{started:#}"
    );
    let c = contribution::Entity::find()
        .one(&p.app().db)
        .await
        .unwrap()
        .unwrap();
    (member, c)
}

async fn stripe_get(app: &TestApp, path: &str) -> Value {
    app.client
        .get(stripe_url(path))
        .basic_auth("sk_test_12345", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn stored(app: &TestApp, prefix: &str) -> String {
    stripe_object::Entity::find()
        .filter(stripe_object::Column::Key.starts_with(prefix))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .stripe_id
}

async fn an_orphan_subscription_is_canceled_and_reported(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (member, c) = paying_member(&p).await;
    let customer = stored(p.app(), "customer:").await;
    let plan = stored(p.app(), "plan:").await;
    // Made behind the server's back: no contribution knows it.
    let orphan: Value = p
        .app()
        .client
        .post(stripe_url("/v1/subscriptions"))
        .basic_auth("sk_test_12345", Some(""))
        .form(&[
            ("customer", customer.as_str()),
            ("items[0][plan]", plan.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let orphan = orphan["id"].as_str().unwrap().to_owned();
    eventually("the orphan is canceled at Stripe", || async {
        let sub = stripe_get(p.app(), &format!("/v1/subscriptions/{orphan}")).await;
        if sub["status"] == "canceled" {
            Ok(())
        } else {
            Err(sub["status"].clone())
        }
    })
    .await;
    // The admin sees it among the last run's findings (that run, or none
    // later yet: a run repairs once, so poll until the finding's run is last).
    let finding = eventually("the pool's admin sees the finding", || async {
        let seen = p
            .app()
            .ok(Some(&p.w.founder), FINDINGS, json!({ "id": p.pool }))
            .await;
        let edges = &seen["pool"]["paymentReconciliation"]["findings"]["edges"];
        let found = edges.as_array().and_then(|e| {
            e.iter().find(|f| {
                f["node"]["kind"] == "ORPHAN_CANCELED" && f["node"]["stripeId"] == orphan.as_str()
            })
        });
        match found {
            Some(f) => Ok(f["node"]["id"].clone()),
            None => Err(seen),
        }
    })
    .await;
    // The finding is a Node for those who read the pool's reconciliation.
    let node = "query($id: ID!) { node(id: $id) { __typename ... on PaymentReconciliationFinding { kind } } }";
    let seen = p
        .app()
        .ok(Some(&p.w.founder), node, json!({ "id": finding }))
        .await;
    assert_eq!(seen["node"]["kind"], "ORPHAN_CANCELED");
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("contribution.reconciled"))
        .all(&p.app().db)
        .await
        .unwrap();
    assert!(
        audited.iter().any(|e| e.changes.contains(&orphan)),
        "{audited:#?}"
    );
    // The member's own subscription is left alone.
    let own = stripe_get(
        p.app(),
        &format!("/v1/subscriptions/{}", c.stripe_subscription_id.unwrap()),
    )
    .await;
    assert_eq!(own["status"], "active");
    // A plain member is refused as for every admin read: FORBIDDEN, saying who may.
    let refused = p
        .app()
        .gql(Some(&member), FINDINGS, json!({ "id": p.pool }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused:#}");
    let hidden = p
        .app()
        .ok(Some(&member), node, json!({ "id": finding }))
        .await;
    assert_eq!(hidden["node"], Value::Null);
    let parent = p
        .app()
        .gql(
            Some(&member),
            "query($id: ID!) { parentEntity(id: $id) { paymentReconciliation { status } } }",
            json!({ "id": p.w.parent }),
        )
        .await;
    assert_eq!(error_code(&parent), "FORBIDDEN", "{parent:#}");
}

async fn a_lost_subscription_id_is_linked_again(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (_, c) = paying_member(&p).await;
    let sub = c.stripe_subscription_id.clone().unwrap();
    contribution::Entity::update_many()
        .col_expr(
            contribution::Column::StripeSubscriptionId,
            Expr::value(Option::<String>::None),
        )
        .filter(contribution::Column::Id.eq(c.id))
        .exec(&p.app().db)
        .await
        .unwrap();
    eventually("the subscription is linked again", || async {
        let row = contribution::Entity::find_by_id(c.id)
            .one(&p.app().db)
            .await
            .unwrap()
            .unwrap();
        if row.stripe_subscription_id.as_deref() == Some(sub.as_str()) {
            Ok(row)
        } else {
            Err(row)
        }
    })
    .await;
    let linked = finding::Entity::find()
        .filter(finding::Column::Kind.eq(FindingKind::SubscriptionLinked))
        .filter(finding::Column::ContributionId.eq(c.id))
        .all(&p.app().db)
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].stripe_id, sub);
    // Not canceled as an orphan meanwhile.
    let at_stripe = stripe_get(p.app(), &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(at_stripe["status"], "active");
}

async fn a_lost_invoice_is_booked_once(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (_, c) = paying_member(&p).await;
    let sub = c.stripe_subscription_id.clone().unwrap();
    let invoices = stripe_get(p.app(), &format!("/v1/invoices?subscription={sub}")).await;
    let invoice = invoices["data"][0]["id"].as_str().unwrap().to_owned();
    let entries = || async {
        ledger_entry::Entity::find()
            .filter(ledger_entry::Column::Reference.eq(invoice.as_str()))
            .filter(ledger_entry::Column::Kind.eq(ledger_entry::LedgerKind::Contribution))
            .all(&p.app().db)
            .await
            .unwrap()
    };
    // No webhook reaches this server: the first booking is reconciliation's.
    eventually("the invoice is booked", || async {
        if entries().await.len() == 1 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await;
    // A lost webhook, simulated.
    ledger_entry::Entity::delete_many()
        .filter(ledger_entry::Column::Reference.eq(invoice.as_str()))
        .exec(&p.app().db)
        .await
        .unwrap();
    let lost_at = Utc::now();
    let booked_since = || async {
        finding::Entity::find()
            .filter(finding::Column::Kind.eq(FindingKind::InvoiceBooked))
            .filter(finding::Column::StripeId.eq(invoice.as_str()))
            .filter(finding::Column::CreatedAt.gt(lost_at))
            .all(&p.app().db)
            .await
            .unwrap()
    };
    let booking = eventually("the lost invoice is booked again", || async {
        match booked_since().await.pop() {
            Some(f) if entries().await.len() == 1 => Ok(f),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(booking.amount, Some(500));
    assert_eq!(booking.currency.as_deref(), Some("EUR"));
    // A later run finishes and books nothing more.
    eventually("a later run finishes", || async {
        let later = entities::payment_reconciliation::Entity::find()
            .filter(entities::payment_reconciliation::Column::StartedAt.gt(booking.created_at))
            .filter(entities::payment_reconciliation::Column::FinishedAt.is_not_null())
            .all(&p.app().db)
            .await
            .unwrap();
        if later.is_empty() { Err(()) } else { Ok(()) }
    })
    .await;
    assert_eq!(entries().await.len(), 1, "booked once");
    assert_eq!(booked_since().await.len(), 1);
}
