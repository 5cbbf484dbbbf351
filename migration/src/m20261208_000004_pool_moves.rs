//! Pools moving from one parent entity to another: decided by the members,
//! then accepted by the receiving parent and released by the releasing one.
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
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .add_column(uuid_null(Moves::MoveToParentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Moves::Table)
                    .col(pk_uuid(Moves::Id))
                    .col(uuid(Moves::PoolId))
                    .col(uuid(Moves::FromParentId))
                    .col(uuid(Moves::ToParentId))
                    .col(uuid(Moves::ProposalId))
                    .col(string_len(Moves::Status, 16))
                    .col(uuid_null(Moves::AcceptedBy))
                    .col(timestamp_with_time_zone_null(Moves::AcceptedAt))
                    .col(uuid_null(Moves::ReleasedBy))
                    .col(timestamp_with_time_zone_null(Moves::ReleasedAt))
                    .col(text_null(Moves::DeclineReason))
                    .col(timestamp_with_time_zone(Moves::CreatedAt))
                    .col(timestamp_with_time_zone_null(Moves::CompletedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_moves_pool",
                        Moves::Table,
                        Moves::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_moves_from",
                        Moves::Table,
                        Moves::FromParentId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_moves_to",
                        Moves::Table,
                        Moves::ToParentId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_moves_proposal",
                        Moves::Table,
                        Moves::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_pool_moves_proposal",
            Moves::Table,
            &[Moves::ProposalId],
        )
        .await?;
        helpers::index(
            manager,
            "idx_pool_moves_pool",
            Moves::Table,
            &[Moves::PoolId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Moves::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .drop_column(Moves::MoveToParentId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Moves {
    #[sea_orm(iden = "pool_moves")]
    Table,
    Id,
    PoolId,
    FromParentId,
    ToParentId,
    ProposalId,
    Status,
    AcceptedBy,
    AcceptedAt,
    ReleasedBy,
    ReleasedAt,
    DeclineReason,
    CreatedAt,
    CompletedAt,
    MoveToParentId,
}
