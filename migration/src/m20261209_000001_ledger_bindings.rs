//! Books you can trust: every ledger entry is bound into the audit event
//! that records it. The event's changes carry the entry's id and a digest
//! of its columns (`pools-ledger/1`), which the event's hash covers; this
//! table says which event binds which entry, so that verification finds a
//! row's event without reading the whole trail.
//!
//! Entries already in the ledger were written before binding: they are
//! marked here, with no event, and verification reports them as unbound
//! (before binding) rather than as inserted. Like the trail, the table is
//! append-only, and no entry can be marked as written before binding after
//! this migration: the database refuses both, whatever code runs against
//! it.
//!
//! No foreign keys: a binding outlives a deleted entry, which is how the
//! deletion shows.
//!
//! Verification reads each pool's entries in id order, a page at a time:
//! an index on (pool_id, id) serves that without sorting the pool's rows
//! for every page.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::{helpers, m20261122_000004_pool_governance::LedgerEntries};

const POOL_ID_INDEX: &str = "idx_ledger_entries_pool_id";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerBindings::Table)
                    .col(pk_uuid(LedgerBindings::LedgerEntryId))
                    .col(uuid_null(LedgerBindings::EventId))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            POOL_ID_INDEX,
            LedgerEntries::Table,
            &[LedgerEntries::PoolId, LedgerEntries::Id],
        )
        .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "INSERT INTO ledger_bindings (ledger_entry_id, event_id)
             SELECT id, NULL FROM ledger_entries",
        )
        .await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(
                    "CREATE FUNCTION ledger_bindings_append_only() RETURNS trigger AS $$
                     BEGIN
                       IF TG_OP = 'INSERT' AND NEW.event_id IS NOT NULL THEN RETURN NEW; END IF;
                       RAISE EXCEPTION 'ledger bindings are append-only and name their event';
                     END;
                     $$ LANGUAGE plpgsql",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER ledger_bindings_append_only
                     BEFORE INSERT OR UPDATE OR DELETE ON ledger_bindings
                     FOR EACH ROW EXECUTE FUNCTION ledger_bindings_append_only()",
                )
                .await?;
            }
            _ => {
                for (name, when) in [
                    ("no_update", "UPDATE"),
                    ("no_delete", "DELETE"),
                    ("no_unbound", "INSERT"),
                ] {
                    let condition = if when == "INSERT" {
                        " WHEN NEW.event_id IS NULL"
                    } else {
                        ""
                    };
                    conn.execute_unprepared(&format!(
                        "CREATE TRIGGER ledger_bindings_{name} BEFORE {when} ON ledger_bindings{condition}
                         BEGIN SELECT RAISE(ABORT, 'ledger bindings are append-only and name their event'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its triggers; PostgreSQL's function stays.
        manager
            .drop_table(Table::drop().table(LedgerBindings::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION ledger_bindings_append_only()")
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(POOL_ID_INDEX)
                    .table(LedgerEntries::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LedgerBindings {
    Table,
    LedgerEntryId,
    EventId,
}
