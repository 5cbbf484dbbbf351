//! The audit trail: an append-only, hash-chained event per change, one chain
//! per parent entity; categories on ledger entries and expenses for each
//! pool's accounts; the indexes the parent's reports need.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::{
    helpers::{index, unique},
    m20261122_000003_formations_and_pools::Memberships,
    m20261122_000004_pool_governance::{Expenses, LedgerEntries},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    // The parent entity's id, or "platform" for events outside any parent.
                    .col(string_len(AuditEvents::ChainKey, 36))
                    .col(big_integer(AuditEvents::Seq))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len_null(AuditEvents::PoolPrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(string_len(AuditEvents::ActorKind, 16))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(uuid_null(AuditEvents::ActorTokenId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::Outcome, 16))
                    .col(string_len(AuditEvents::EntityType, 32))
                    .col(uuid_null(AuditEvents::EntityId))
                    .col(uuid_null(AuditEvents::PoolId))
                    .col(uuid_null(AuditEvents::ParentEntityId))
                    .col(text(AuditEvents::Changes))
                    .col(string_len_null(AuditEvents::RequestId, 64))
                    .col(string_len_null(AuditEvents::ClientAddress, 64))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_audit_events_chain_seq",
            AuditEvents::Table,
            &[AuditEvents::ChainKey, AuditEvents::Seq],
        )
        .await?;
        // Every listing is keyset-paginated on id within one of these scopes.
        for (name, columns) in [
            (
                "idx_audit_events_parent",
                &[AuditEvents::ParentEntityId, AuditEvents::Id][..],
            ),
            (
                "idx_audit_events_parent_action",
                &[
                    AuditEvents::ParentEntityId,
                    AuditEvents::Action,
                    AuditEvents::Id,
                ][..],
            ),
            (
                "idx_audit_events_parent_entity_type",
                &[
                    AuditEvents::ParentEntityId,
                    AuditEvents::EntityType,
                    AuditEvents::Id,
                ][..],
            ),
            (
                "idx_audit_events_pool",
                &[AuditEvents::PoolId, AuditEvents::Id][..],
            ),
            (
                // The pool's previous event, when a new one is linked to it.
                "idx_audit_events_pool_seq",
                &[AuditEvents::PoolId, AuditEvents::Seq][..],
            ),
            (
                "idx_audit_events_actor",
                &[AuditEvents::ActorUserId, AuditEvents::Id][..],
            ),
        ] {
            index(manager, name, AuditEvents::Table, columns).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditChainHeads::Table)
                    .col(string_len(AuditChainHeads::ChainKey, 36).primary_key())
                    .col(big_integer(AuditChainHeads::Seq))
                    .col(string_len(AuditChainHeads::Hash, 64))
                    .to_owned(),
            )
            .await?;

        // Append-only: the database itself refuses to change or remove an
        // event, whatever code runs against it.
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
                     BEGIN RAISE EXCEPTION 'audit events are append-only'; END;
                     $$ LANGUAGE plpgsql",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
            _ => {
                for op in ["UPDATE", "DELETE"] {
                    conn.execute_unprepared(&format!(
                        "CREATE TRIGGER audit_events_no_{} BEFORE {op} ON audit_events
                         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                        op.to_lowercase()
                    ))
                    .await?;
                }
            }
        }

        // Categories for each pool's analytical accounts.
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .add_column(string_len(LedgerEntries::Category, 64).default("general"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Expenses::Table)
                    .add_column(string_len(Expenses::Category, 64).default("general"))
                    .to_owned(),
            )
            .await?;
        conn.execute_unprepared(
            "UPDATE ledger_entries SET category = CASE kind
               WHEN 'CONTRIBUTION' THEN 'contributions'
               WHEN 'PARENT_SHARE' THEN 'parent share'
               WHEN 'ADJUSTMENT' THEN 'adjustment'
               ELSE 'general' END",
        )
        .await?;

        // Reports sum a period per pool: these let the database read only
        // the index, in pool and time order.
        index(
            manager,
            "idx_ledger_entries_pool_time",
            LedgerEntries::Table,
            &[
                LedgerEntries::PoolId,
                LedgerEntries::OccurredAt,
                LedgerEntries::Currency,
                LedgerEntries::Kind,
                LedgerEntries::AmountMinor,
            ],
        )
        .await?;
        index(
            manager,
            "idx_memberships_pool_dates",
            Memberships::Table,
            &[
                Memberships::PoolId,
                Memberships::JoinedAt,
                Memberships::LeftAt,
                Memberships::StakeholderGroupId,
            ],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_ledger_entries_pool_time", "idx_memberships_pool_dates"] {
            let table = if name.contains("ledger") {
                LedgerEntries::Table.into_iden()
            } else {
                Memberships::Table.into_iden()
            };
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Expenses::Table)
                    .drop_column(Expenses::Category)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .drop_column(LedgerEntries::Category)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AuditChainHeads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_events_append_only()")
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuditEvents {
    Table,
    Id,
    ChainKey,
    Seq,
    PrevHash,
    PoolPrevHash,
    Hash,
    OccurredAt,
    ActorKind,
    ActorUserId,
    ActorTokenId,
    Action,
    Outcome,
    EntityType,
    EntityId,
    PoolId,
    ParentEntityId,
    Changes,
    RequestId,
    ClientAddress,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditChainHeads {
    Table,
    ChainKey,
    Seq,
    Hash,
}
