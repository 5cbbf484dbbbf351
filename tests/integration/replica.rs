//! Heavy reads on a read replica (`DATABASE_READ_URL`): a real streaming
//! standby of a throwaway primary, whose replay the test pauses to see
//! which reads it serves. PostgreSQL only.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

use crate::{
    audit::{all_events, verify},
    cluster::Cluster,
    helpers::{TestApp, error_code, eventually},
    pools::{PoolWorld, TWO_GROUPS},
};

async fn text(db: &DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row")
        .try_get_by_index::<String>(0)
        .expect("a text column")
}

/// Waits until the standby has replayed everything the primary has written
/// so far.
async fn replayed(primary: &DatabaseConnection, standby: &DatabaseConnection) {
    let lsn = text(primary, "SELECT pg_current_wal_lsn()::text").await;
    let caught_up =
        format!("SELECT (COALESCE(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false))::text");
    eventually("the standby replays the primary's writes", || async {
        match text(standby, &caught_up).await.as_str() {
            "true" => Ok(()),
            other => Err(other.to_owned()),
        }
    })
    .await;
}

async fn pause_replay(standby: &DatabaseConnection) {
    text(standby, "SELECT pg_wal_replay_pause()::text").await;
    // The request is taken up between records; only `paused` means no
    // further write will show.
    eventually("the standby's replay pauses", || async {
        match text(standby, "SELECT pg_get_wal_replay_pause_state()")
            .await
            .as_str()
        {
            "paused" => Ok(()),
            other => Err(other.to_owned()),
        }
    })
    .await;
}

const REPORT: &str = "query($id: ID!, $from: DateTime!, $to: DateTime!) {
    parentEntity(id: $id) { report(from: $from, to: $to) { totals { members joins } } } }";

async fn report(app: &TestApp, token: &str, parent: &str) -> Value {
    let (from, to) = (
        Utc::now() - Duration::days(1),
        Utc::now() + Duration::days(1),
    );
    app.gql(
        Some(token),
        REPORT,
        json!({ "id": parent, "from": from.to_rfc3339(), "to": to.to_rfc3339() }),
    )
    .await
}

async fn reported_members(app: &TestApp, token: &str, parent: &str) -> i64 {
    let res = report(app, token, parent).await;
    res["data"]["parentEntity"]["report"]["totals"]["members"]
        .as_i64()
        .unwrap_or_else(|| panic!("{res:#}"))
}

async fn pool_members(p: &PoolWorld) -> usize {
    let data = p
        .app()
        .ok(
            Some(&p.w.founder),
            "query($id: ID!) { pool(id: $id) { members(first: 100) { edges { node { id } } } } }",
            json!({ "id": p.pool }),
        )
        .await;
    data["pool"]["members"]["edges"].as_array().unwrap().len()
}

/// The register's CSV rows (its header left out).
async fn register_rows(p: &PoolWorld) -> usize {
    let res = p
        .app()
        .client
        .get(
            p.app()
                .url(&format!("/exports/pools/{}/register.csv", p.pool)),
        )
        .bearer_auth(&p.w.founder)
        .send()
        .await
        .expect("request sent");
    assert_eq!(res.status(), 200);
    res.text().await.unwrap().lines().count() - 1
}

#[tokio::test]
#[cfg_attr(
    skip_postgres,
    ignore = "SKIP_POSTGRES=1: needs PostgreSQL's server programs"
)]
async fn heavy_reads_come_from_the_replica_and_everything_else_from_the_primary() {
    let primary = Cluster::start().await;
    let standby = primary.standby().await;
    let standby_db = Database::connect(standby.url()).await.expect("the standby");
    assert_eq!(
        text(&standby_db, "SELECT pg_is_in_recovery()::text").await,
        "true"
    );
    let app = TestApp::on_database(
        primary.url(),
        &[("DATABASE_READ_URL", standby.url().as_str())],
    )
    .await;
    let streaming =
        "SELECT (count(*) > 0)::text FROM pg_stat_replication WHERE state = 'streaming'";
    eventually("the primary streams to the standby", || async {
        match text(&app.db, streaming).await.as_str() {
            "true" => Ok(()),
            other => Err(other.to_owned()),
        }
    })
    .await;
    // The server migrated the primary; the standby must have replayed that
    // before anything is read there.
    replayed(&app.db, &standby_db).await;

    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let (app, parent) = (p.app(), p.w.parent.clone());
    replayed(&app.db, &standby_db).await;
    assert_eq!(reported_members(app, &p.w.auditor, &parent).await, 1);
    let events = all_events(app, &p.w.steward, json!({ "parentEntityId": parent })).await;
    let rows = register_rows(&p).await;
    let verified = verify(app, &p.w.steward, &parent).await;
    assert_eq!(verified["valid"], true, "{verified:#}");

    pause_replay(&standby_db).await;
    let (_, member) = p.join("ann@example.org", "workers").await;
    assert!(
        !member.is_empty(),
        "the mutation's own result shows the member"
    );
    // An ordinary read is the primary's: Ann is there.
    assert_eq!(pool_members(&p).await, 2);
    // The heavy reads are the replica's: not yet.
    assert_eq!(reported_members(app, &p.w.auditor, &parent).await, 1);
    assert_eq!(register_rows(&p).await, rows);
    let during = all_events(app, &p.w.steward, json!({ "parentEntityId": parent })).await;
    assert_eq!(during.len(), events.len());
    // Verification walks the trail up to the replica's position.
    let lagging = verify(app, &p.w.steward, &parent).await;
    assert_eq!(lagging, verified);

    // Who may read is decided on the primary: a revoked auditor is refused
    // at once, though the replica still holds the role.
    p.app()
        .ok(
            Some(&p.w.steward),
            "mutation($i: RevokeParentEntityRoleInput!) { revokeParentEntityRole(input: $i) { status } }",
            json!({ "i": { "parentEntityId": parent, "email": "auditor@example.org", "role": "AUDITOR" } }),
        )
        .await;
    assert_eq!(
        error_code(&report(app, &p.w.auditor, &parent).await),
        "FORBIDDEN"
    );
    assert_eq!(reported_members(app, &p.w.steward, &parent).await, 1);

    text(&standby_db, "SELECT pg_wal_replay_resume()::text").await;
    eventually("the report shows Ann once the replica replays", || async {
        match reported_members(app, &p.w.steward, &parent).await {
            2 => Ok(()),
            other => Err(other),
        }
    })
    .await;
    replayed(&app.db, &standby_db).await;
    assert_eq!(register_rows(&p).await, rows + 1);
    let after = all_events(app, &p.w.steward, json!({ "parentEntityId": parent })).await;
    assert!(after.len() > events.len());
    let caught_up = verify(app, &p.w.steward, &parent).await;
    assert_eq!(caught_up["valid"], true, "{caught_up:#}");
    assert!(
        caught_up["eventsChecked"].as_i64() > verified["eventsChecked"].as_i64(),
        "{caught_up:#} {verified:#}"
    );
    p.app().shut_down().await;
}
