//! Dissolving a pool: decided by the members (and consented to by the
//! parent where its policy says so), then wound up: contributions canceled,
//! apps deprovisioned, the remaining funds distributed as the rules' asset
//! lock allows, each distribution confirmed paid by a steward.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers, m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::Pools, m20261122_000004_pool_governance::Proposals,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PROPOSAL_COLUMNS: [Added; 4] = [
    Added::DissolutionRecipient,
    Added::DissolutionCoopName,
    Added::DissolutionCoopNumber,
    Added::DissolutionCoopJurisdiction,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in PROPOSAL_COLUMNS {
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
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .add_column(boolean(Added::DissolutionsNeedConsent).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Dissolutions::Table)
                    .col(pk_uuid(Dissolutions::Id))
                    .col(uuid(Dissolutions::PoolId))
                    .col(uuid(Dissolutions::ProposalId))
                    .col(uuid(Dissolutions::ParentEntityId))
                    .col(string_len(Dissolutions::Status, 24))
                    .col(string_len(Dissolutions::Recipient, 16))
                    .col(string_null(Dissolutions::CoopName))
                    .col(string_null(Dissolutions::CoopRegistrationNumber))
                    .col(string_null(Dissolutions::CoopJurisdiction))
                    .col(boolean(Dissolutions::NeedsConsent))
                    .col(uuid_null(Dissolutions::DecidedBy))
                    .col(timestamp_with_time_zone_null(Dissolutions::DecidedAt))
                    .col(text_null(Dissolutions::RefusalReason))
                    .col(json_binary_null(Dissolutions::FinalBalances))
                    .col(timestamp_with_time_zone_null(Dissolutions::StartedAt))
                    .col(uuid_null(Dissolutions::CompletedBy))
                    .col(timestamp_with_time_zone_null(Dissolutions::CompletedAt))
                    .col(timestamp_with_time_zone(Dissolutions::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_dissolutions_pool",
                        Dissolutions::Table,
                        Dissolutions::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_dissolutions_proposal",
                        Dissolutions::Table,
                        Dissolutions::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_dissolutions_parent",
                        Dissolutions::Table,
                        Dissolutions::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_pool_dissolutions_proposal",
            Dissolutions::Table,
            &[Dissolutions::ProposalId],
        )
        .await?;
        helpers::index(
            manager,
            "idx_pool_dissolutions_pool",
            Dissolutions::Table,
            &[Dissolutions::PoolId],
        )
        .await?;
        helpers::index(
            manager,
            "idx_pool_dissolutions_parent",
            Dissolutions::Table,
            &[Dissolutions::ParentEntityId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Distributions::Table)
                    .col(pk_uuid(Distributions::Id))
                    .col(uuid(Distributions::DissolutionId))
                    .col(uuid(Distributions::PoolId))
                    .col(string_len(Distributions::Currency, 3))
                    .col(big_integer(Distributions::AmountMinor))
                    .col(string_len(Distributions::RecipientKind, 16))
                    .col(string(Distributions::RecipientName))
                    .col(uuid_null(Distributions::MembershipId))
                    .col(string_len(Distributions::Status, 16))
                    .col(string_null(Distributions::Reference))
                    .col(uuid_null(Distributions::LedgerEntryId))
                    .col(uuid_null(Distributions::PaidBy))
                    .col(timestamp_with_time_zone_null(Distributions::PaidAt))
                    .col(timestamp_with_time_zone(Distributions::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_distributions_dissolution",
                        Distributions::Table,
                        Distributions::DissolutionId,
                        Dissolutions::Table,
                        Dissolutions::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_pool_distributions_dissolution",
            Distributions::Table,
            &[Distributions::DissolutionId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Distributions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Dissolutions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .drop_column(Added::DissolutionsNeedConsent)
                    .to_owned(),
            )
            .await?;
        for column in PROPOSAL_COLUMNS {
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
enum Dissolutions {
    #[sea_orm(iden = "pool_dissolutions")]
    Table,
    Id,
    PoolId,
    ProposalId,
    ParentEntityId,
    Status,
    Recipient,
    CoopName,
    CoopRegistrationNumber,
    CoopJurisdiction,
    NeedsConsent,
    DecidedBy,
    DecidedAt,
    RefusalReason,
    FinalBalances,
    StartedAt,
    CompletedBy,
    CompletedAt,
    CreatedAt,
}

/// The columns added to proposals and parent entities.
#[derive(DeriveIden, Clone, Copy)]
enum Added {
    DissolutionRecipient,
    DissolutionCoopName,
    DissolutionCoopNumber,
    DissolutionCoopJurisdiction,
    DissolutionsNeedConsent,
}

#[derive(DeriveIden, Clone, Copy)]
enum Distributions {
    #[sea_orm(iden = "pool_distributions")]
    Table,
    Id,
    DissolutionId,
    PoolId,
    Currency,
    AmountMinor,
    RecipientKind,
    RecipientName,
    MembershipId,
    Status,
    Reference,
    LedgerEntryId,
    PaidBy,
    PaidAt,
    CreatedAt,
}
