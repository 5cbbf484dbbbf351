//! Pools spinning out into legal entities of their own: decided by the
//! members choosing a standalone template, then reported registered by the
//! founders, when the pool's funds go to the new entity.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers, m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::Pools, m20261122_000004_pool_governance::Proposals,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [SpinOuts::SpinOutTemplateId, SpinOuts::SpinOutEntityName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Proposals::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SpinOuts::Table)
                    .col(pk_uuid(SpinOuts::Id))
                    .col(uuid(SpinOuts::PoolId))
                    .col(uuid(SpinOuts::ProposalId))
                    .col(string_len(SpinOuts::Status, 24))
                    .col(string(SpinOuts::LegalTemplateId))
                    .col(integer(SpinOuts::LegalTemplateVersion))
                    .col(string(SpinOuts::EntityName))
                    .col(string_null(SpinOuts::RegistrationNumber))
                    .col(string_null(SpinOuts::RegisteredName))
                    .col(timestamp_with_time_zone_null(SpinOuts::RegisteredAt))
                    .col(uuid_null(SpinOuts::RegisteredBy))
                    .col(uuid_null(SpinOuts::ParentEntityId))
                    .col(timestamp_with_time_zone(SpinOuts::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_spin_outs_pool",
                        SpinOuts::Table,
                        SpinOuts::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_spin_outs_proposal",
                        SpinOuts::Table,
                        SpinOuts::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_spin_outs_parent",
                        SpinOuts::Table,
                        SpinOuts::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_pool_spin_outs_proposal",
            SpinOuts::Table,
            &[SpinOuts::ProposalId],
        )
        .await?;
        // A new parent entity comes from one spin-out at most.
        helpers::unique(
            manager,
            "uq_pool_spin_outs_parent",
            SpinOuts::Table,
            &[SpinOuts::ParentEntityId],
        )
        .await?;
        helpers::index(
            manager,
            "idx_pool_spin_outs_pool",
            SpinOuts::Table,
            &[SpinOuts::PoolId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SpinOuts::Table).to_owned())
            .await?;
        for column in [SpinOuts::SpinOutTemplateId, SpinOuts::SpinOutEntityName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Proposals::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SpinOuts {
    #[sea_orm(iden = "pool_spin_outs")]
    Table,
    Id,
    PoolId,
    ProposalId,
    Status,
    LegalTemplateId,
    LegalTemplateVersion,
    EntityName,
    RegistrationNumber,
    RegisteredName,
    RegisteredAt,
    RegisteredBy,
    ParentEntityId,
    CreatedAt,
    SpinOutTemplateId,
    SpinOutEntityName,
}
