//! The parent entity's commons of assets: what it owns (equipment,
//! premises, servers, licences, a brand), the leases on which its pools
//! use them, and the rent charged for each period of a lease, at most once
//! per period (the unique key holds against two workers charging at once).
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
                    .table(Assets::Table)
                    .col(pk_uuid(Assets::Id))
                    .col(uuid(Assets::ParentEntityId))
                    .col(string_len(Assets::Name, 200))
                    .col(string_len(Assets::Kind, 16))
                    .col(text(Assets::Description))
                    .col(big_integer(Assets::ValueMinor))
                    .col(string_len(Assets::Currency, 3))
                    .col(string_len(Assets::Status, 16))
                    .col(timestamp_with_time_zone_null(Assets::RetiredAt))
                    .col(uuid(Assets::CreatedBy))
                    .col(integer(Assets::Version).default(1))
                    .col(timestamp_with_time_zone(Assets::CreatedAt))
                    .col(timestamp_with_time_zone(Assets::UpdatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_assets_parent",
                        Assets::Table,
                        Assets::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_assets_parent",
            Assets::Table,
            &[Assets::ParentEntityId, Assets::Id],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(pk_uuid(Leases::Id))
                    .col(uuid(Leases::AssetId))
                    .col(uuid(Leases::ParentEntityId))
                    .col(uuid(Leases::PoolId))
                    .col(big_integer(Leases::RentMinor))
                    .col(string_len(Leases::Currency, 3))
                    .col(string_len(Leases::Period, 16))
                    .col(date(Leases::StartsOn))
                    .col(date_null(Leases::EndsOn))
                    .col(text(Leases::Terms))
                    .col(string_len(Leases::Status, 16))
                    .col(integer(Leases::PeriodsCharged).default(0))
                    .col(uuid(Leases::OfferedBy))
                    .col(uuid_null(Leases::AnsweredBy))
                    .col(timestamp_with_time_zone_null(Leases::AnsweredAt))
                    .col(timestamp_with_time_zone_null(Leases::EndedAt))
                    .col(integer(Leases::Version).default(1))
                    .col(timestamp_with_time_zone(Leases::CreatedAt))
                    .col(timestamp_with_time_zone(Leases::UpdatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_leases_asset",
                        Leases::Table,
                        Leases::AssetId,
                        Assets::Table,
                        Assets::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_leases_parent",
                        Leases::Table,
                        Leases::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_leases_pool",
                        Leases::Table,
                        Leases::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_leases_asset",
            Leases::Table,
            &[Leases::AssetId, Leases::Id],
        )
        .await?;
        helpers::index(
            manager,
            "idx_leases_pool",
            Leases::Table,
            &[Leases::PoolId, Leases::Id],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(RentCharges::Table)
                    .col(pk_uuid(RentCharges::Id))
                    .col(uuid(RentCharges::LeaseId))
                    .col(uuid(RentCharges::PoolId))
                    .col(uuid(RentCharges::ParentEntityId))
                    .col(integer(RentCharges::PeriodNumber))
                    .col(date(RentCharges::PeriodStart))
                    .col(date(RentCharges::PeriodEnd))
                    .col(big_integer(RentCharges::AmountMinor))
                    .col(string_len(RentCharges::Currency, 3))
                    .col(uuid(RentCharges::PoolLedgerEntryId))
                    .col(uuid(RentCharges::ParentLedgerEntryId))
                    .col(timestamp_with_time_zone(RentCharges::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_rent_charges_lease",
                        RentCharges::Table,
                        RentCharges::LeaseId,
                        Leases::Table,
                        Leases::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_rent_charges_period",
            RentCharges::Table,
            &[RentCharges::LeaseId, RentCharges::PeriodNumber],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RentCharges::Table.into_iden(),
            Leases::Table.into_iden(),
            Assets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Assets {
    Table,
    Id,
    ParentEntityId,
    Name,
    Kind,
    Description,
    ValueMinor,
    Currency,
    Status,
    RetiredAt,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leases {
    Table,
    Id,
    AssetId,
    ParentEntityId,
    PoolId,
    RentMinor,
    Currency,
    Period,
    StartsOn,
    EndsOn,
    Terms,
    Status,
    PeriodsCharged,
    OfferedBy,
    AnsweredBy,
    AnsweredAt,
    EndedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RentCharges {
    Table,
    Id,
    LeaseId,
    PoolId,
    ParentEntityId,
    PeriodNumber,
    PeriodStart,
    PeriodEnd,
    AmountMinor,
    Currency,
    PoolLedgerEntryId,
    ParentLedgerEntryId,
    CreatedAt,
}
