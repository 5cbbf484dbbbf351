//! The signed audit pack each end-of-life step of a pool produces (a
//! suspension, a reinstatement, a move, a spin-out, a dissolution), kept
//! with its signature so that the pack as it stood then can be handed to
//! anyone later. Never deleted.
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
                    .table(LifePacks::Table)
                    .col(pk_uuid(LifePacks::Id))
                    .col(uuid(LifePacks::PoolId))
                    .col(uuid(LifePacks::ParentEntityId))
                    .col(string_len(LifePacks::Step, 16))
                    .col(uuid(LifePacks::EventId))
                    .col(string_len(LifePacks::EventHash, 64))
                    .col(big_integer(LifePacks::SizeBytes))
                    .col(string_len(LifePacks::BodySha256, 64))
                    .col(string_len(LifePacks::Signature, 128))
                    .col(string_len(LifePacks::KeyId, 16))
                    .col(blob_null(LifePacks::BodyGzip))
                    .col(timestamp_with_time_zone(LifePacks::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_life_packs_pool",
                        LifePacks::Table,
                        LifePacks::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_life_packs_parent",
                        LifePacks::Table,
                        LifePacks::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_pool_life_packs_pool",
            LifePacks::Table,
            &[LifePacks::PoolId, LifePacks::Id],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LifePacks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LifePacks {
    #[sea_orm(iden = "pool_life_packs")]
    Table,
    Id,
    PoolId,
    ParentEntityId,
    Step,
    EventId,
    EventHash,
    SizeBytes,
    BodySha256,
    Signature,
    KeyId,
    BodyGzip,
    CreatedAt,
}
