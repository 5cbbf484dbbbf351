//! The migrations both ways, on an empty SQLite and PostgreSQL database:
//! each migration's `down` undoes exactly what its `up` did, so after it
//! the schema is what it was before that `up`; all the way down leaves
//! only sea-orm's bookkeeping table; up again gives the same schema.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_migration_goes_down_to_the_schema_before_it_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    up_down_and_up_again(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
async fn every_migration_goes_down_to_the_schema_before_it_on_postgres() {
    up_down_and_up_again(&crate::databases::empty_postgres_database().await).await;
}

async fn up_down_and_up_again(url: &str) {
    let db = Database::connect(url).await.unwrap();
    Migrator::install(&db).await.unwrap();
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();

    // before[i]: the schema before migration i, after[i]: after it.
    let mut before = Vec::new();
    for name in &names {
        before.push(schema(&db).await);
        Migrator::up(&db, Some(1))
            .await
            .unwrap_or_else(|e| panic!("{name} up: {e}"));
    }
    let migrated = schema(&db).await;
    assert!(
        migrated.iter().filter(|o| o.starts_with("table ")).count() > 20,
        "{migrated:#?}"
    );

    for (name, expected) in names.iter().zip(&before).rev() {
        Migrator::down(&db, Some(1))
            .await
            .unwrap_or_else(|e| panic!("{name} down: {e}"));
        let found = schema(&db).await;
        let left: Vec<&String> = found.iter().filter(|o| !expected.contains(o)).collect();
        let lost: Vec<&String> = expected.iter().filter(|o| !found.contains(o)).collect();
        assert!(
            left.is_empty() && lost.is_empty(),
            "{name} down left {left:#?} and did not restore {lost:#?}"
        );
    }
    assert_eq!(
        schema(&db).await,
        ["table seaql_migrations"],
        "nothing but the migrations table is left"
    );
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        names.len()
    );

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(
        schema(&db).await,
        migrated,
        "up again makes the same schema"
    );
    db.close().await.unwrap();
}

/// Every table, column, index, constraint, trigger, function, type and
/// sequence, one line each, sorted (sea-orm's own table by name only).
async fn schema(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let queries: &[&str] = match backend {
        DbBackend::Sqlite => &[
            "SELECT 'table ' || name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            "SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type
                 || CASE WHEN p.\"notnull\" THEN ' not null' ELSE '' END
                 || coalesce(' default ' || p.dflt_value, '')
                 || CASE WHEN p.pk > 0 THEN ' primary key' ELSE '' END
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'seaql_migrations'",
            "SELECT 'foreign key ' || m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || '.' || f.\"to\"
                 || ' on delete ' || f.on_delete
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            // Without quotes: `CREATE INDEX "i" ON "t"` and `CREATE INDEX i ON t` are one index.
            "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || replace(coalesce(sql, ''), '\"', '')
             FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND name NOT LIKE 'sqlite_%'",
        ],
        DbBackend::Postgres => &[
            "SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = 'public'",
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
                 || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
                 || coalesce(' default ' || column_default, '')
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'",
            "SELECT 'index ' || indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'",
            "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ': '
                 || pg_get_constraintdef(oid)
             FROM pg_constraint
             WHERE connamespace = 'public'::regnamespace AND conrelid <> 'seaql_migrations'::regclass",
            "SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger
             WHERE NOT tgisinternal",
            "SELECT 'function ' || proname || ': ' || md5(prosrc) FROM pg_proc
             WHERE pronamespace = 'public'::regnamespace",
            "SELECT 'type ' || typname FROM pg_type
             WHERE typnamespace = 'public'::regnamespace AND typtype IN ('d', 'e')",
            "SELECT 'sequence ' || sequencename FROM pg_sequences WHERE schemaname = 'public'",
        ],
        other => panic!("no schema listing for {other:?}"),
    };
    let mut objects = Vec::new();
    for sql in queries {
        for row in db
            .query_all_raw(Statement::from_string(backend, *sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        {
            objects.push(row.try_get_by_index::<String>(0).unwrap());
        }
    }
    objects.sort();
    objects
}
