//! The server behind PgBouncer in transaction mode, which hands a server
//! connection to another client after every transaction: it starts and
//! migrates (over the direct URL), answers, commits and rolls back, hears
//! NOTIFY (over the direct URL), and PostgreSQL still stops a statement
//! that outlives its request. Every other test also runs this way, as
//! `<name>::pgbouncer`.

use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, Statement, TransactionTrait,
};
use serde_json::json;

use crate::helpers::{TestApp, error_code, eventually};

const ME: &str = "{ me { email } }";

/// How many sessions of the test's database wait for a lock, or LISTEN.
async fn sessions(app: &TestApp, condition: &str) -> i64 {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND {condition}"
    );
    app.db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
#[cfg_attr(
    all(skip_pgbouncer, not(skip_postgres)),
    ignore = "SKIP_PGBOUNCER=1: needs PgBouncer"
)]
async fn the_server_works_behind_pgbouncer_in_transaction_mode() {
    // An empty database: the server migrates it at start.
    let direct = crate::databases::empty_postgres_database().await;
    let app = TestApp::pgbouncer_on(
        direct,
        &[
            // One connection, so every request below reuses it.
            ("DATABASE_MAX_CONNECTIONS", "1"),
            // Statements stop a second later, at 3 s.
            ("REQUEST_TIMEOUT_SECS", "2"),
            // Jobs are found by NOTIFY alone within the test.
            ("JOB_POLL_INTERVAL_MS", "60000"),
        ],
    )
    .await;
    assert!(
        sessions(&app, "query LIKE 'LISTEN %'").await <= 1,
        "one listener at most"
    );

    // A mutation and a query.
    let (steward, _) = app.sign_up("steward@example.org").await;
    let me = app.ok(Some(&steward), ME, json!({})).await;
    assert_eq!(me["me"]["email"], "steward@example.org");

    // A transaction of several statements (the entity, its steward, the
    // audit trail) commits: the next request sees it.
    let parent = app.register_parent(&steward, "F-12345678").await;
    let found = app
        .ok(
            Some(&steward),
            "query($id: ID!) { parentEntity(id: $id) { id name } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(found["parentEntity"]["id"], parent.as_str());

    // One that fails rolls back, and leaves the connection usable.
    let again = app
        .gql(
            Some(&steward),
            "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
            json!({ "i": {
                "name": "Otra",
                "jurisdiction": "ES",
                "legalForm": "sociedad cooperativa",
                "registrationNumber": "F-12345678",
                "approvalPolicy": "MANUAL",
            } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let me = app.ok(Some(&steward), ME, json!({})).await;
    assert_eq!(me["me"]["email"], "steward@example.org");
    let parents = entities::parent_entity::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(parents, 1, "the failed registration left nothing");

    // The listener's NOTIFY wakes the worker: the confirmation mail of a
    // new account goes out long before the next poll.
    eventually("the server listens", || async {
        match sessions(&app, "query LIKE 'LISTEN %'").await {
            1 => Ok(()),
            n => Err(n),
        }
    })
    .await;
    app.sign_up_unconfirmed("member@example.org").await;
    app.jobs_settled("send_mail").await;

    // A statement stuck behind a lock stops at the statement timeout,
    // after its request answered TIMEOUT, while the lock is still held.
    let lock = app.db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE access_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let stuck = app.gql(Some(&steward), ME, json!({})).await;
    assert_eq!(error_code(&stuck), "TIMEOUT");
    eventually("the stuck statement is stopped", || async {
        match sessions(&app, "wait_event_type = 'Lock'").await {
            0 => Ok(()),
            n => Err(n),
        }
    })
    .await;
    lock.rollback().await.unwrap();
    let me = app.ok(Some(&steward), ME, json!({})).await;
    assert_eq!(me["me"]["email"], "steward@example.org");
    // The listener is still there: it did not go through the pooler.
    assert_eq!(sessions(&app, "query LIKE 'LISTEN %'").await, 1);
}
