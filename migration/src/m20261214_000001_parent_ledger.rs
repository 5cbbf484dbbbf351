//! The parent entity's own ledger: the commons fund. What pools pay it
//! (rent, loan repayments, its share of contributions) and what it gives
//! (grants, loans) is one entry here and, for a pool's side, one in the
//! pool's ledger, written in the same transaction. Entries are only added.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers, m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::Pools,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ParentLedgerEntries::Table)
                    .col(pk_uuid(ParentLedgerEntries::Id))
                    .col(uuid(ParentLedgerEntries::ParentEntityId))
                    .col(string_len(ParentLedgerEntries::Kind, 16))
                    .col(big_integer(ParentLedgerEntries::AmountMinor))
                    .col(string_len(ParentLedgerEntries::Currency, 3))
                    .col(string_len(ParentLedgerEntries::Category, 64))
                    .col(string_len(ParentLedgerEntries::Reference, 200))
                    .col(text(ParentLedgerEntries::Description))
                    .col(uuid_null(ParentLedgerEntries::PoolId))
                    .col(uuid_null(ParentLedgerEntries::PoolLedgerEntryId))
                    .col(uuid_null(ParentLedgerEntries::RecordedBy))
                    .col(timestamp_with_time_zone(ParentLedgerEntries::OccurredAt))
                    .col(timestamp_with_time_zone(ParentLedgerEntries::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_parent_ledger_entries_parent",
                        ParentLedgerEntries::Table,
                        ParentLedgerEntries::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_parent_ledger_entries_pool",
                        ParentLedgerEntries::Table,
                        ParentLedgerEntries::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_parent_ledger_entries_parent",
            ParentLedgerEntries::Table,
            &[ParentLedgerEntries::ParentEntityId, ParentLedgerEntries::Id],
        )
        .await?;
        helpers::index(
            manager,
            "idx_parent_ledger_entries_pool",
            ParentLedgerEntries::Table,
            &[ParentLedgerEntries::PoolId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ParentLedgerEntries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ParentLedgerEntries {
    Table,
    Id,
    ParentEntityId,
    Kind,
    AmountMinor,
    Currency,
    Category,
    Reference,
    Description,
    PoolId,
    PoolLedgerEntryId,
    RecordedBy,
    OccurredAt,
    CreatedAt,
}
