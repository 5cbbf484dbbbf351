//! Contributions of work, care and kind: what members give a pool beside
//! money, each confirmed by other members or the admins as the pool's rules
//! say, one row per confirmation so that no one confirms twice.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers,
    m20261122_000003_formations_and_pools::{Memberships, Pools},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkContributions::Table)
                    .col(pk_uuid(WorkContributions::Id))
                    .col(uuid(WorkContributions::PoolId))
                    .col(uuid(WorkContributions::MembershipId))
                    .col(string_len(WorkContributions::Kind, 16))
                    .col(string_len_null(WorkContributions::Label, 40))
                    .col(date(WorkContributions::OccurredOn))
                    .col(integer_null(WorkContributions::QuarterHours))
                    .col(big_integer_null(WorkContributions::Quantity))
                    .col(string_len_null(WorkContributions::Unit, 40))
                    .col(text(WorkContributions::Description))
                    .col(big_integer_null(WorkContributions::ValueMinor))
                    .col(string_len_null(WorkContributions::Currency, 3))
                    .col(string_len(WorkContributions::Status, 16))
                    .col(integer(WorkContributions::Confirmations).default(0))
                    .col(integer(WorkContributions::ConfirmationsRequired))
                    .col(uuid_null(WorkContributions::RefusedByMembershipId))
                    .col(text_null(WorkContributions::RefusalReason))
                    .col(timestamp_with_time_zone_null(WorkContributions::DecidedAt))
                    .col(integer(WorkContributions::Version).default(1))
                    .col(timestamp_with_time_zone(WorkContributions::CreatedAt))
                    .col(timestamp_with_time_zone(WorkContributions::UpdatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_work_contributions_pool",
                        WorkContributions::Table,
                        WorkContributions::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_work_contributions_membership",
                        WorkContributions::Table,
                        WorkContributions::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_work_contributions_pool_status",
            WorkContributions::Table,
            &[WorkContributions::PoolId, WorkContributions::Status],
        )
        .await?;
        helpers::index(
            manager,
            "idx_work_contributions_pool_date",
            WorkContributions::Table,
            &[WorkContributions::PoolId, WorkContributions::OccurredOn],
        )
        .await?;
        helpers::index(
            manager,
            "idx_work_contributions_membership",
            WorkContributions::Table,
            &[WorkContributions::MembershipId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Confirmations::Table)
                    .col(pk_uuid(Confirmations::Id))
                    .col(uuid(Confirmations::WorkContributionId))
                    .col(uuid(Confirmations::MembershipId))
                    .col(timestamp_with_time_zone(Confirmations::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_work_contribution_confirmations_contribution",
                        Confirmations::Table,
                        Confirmations::WorkContributionId,
                        WorkContributions::Table,
                        WorkContributions::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_work_contribution_confirmations_membership",
                        Confirmations::Table,
                        Confirmations::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_work_contribution_confirmations",
            Confirmations::Table,
            &[
                Confirmations::WorkContributionId,
                Confirmations::MembershipId,
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Confirmations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WorkContributions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum WorkContributions {
    Table,
    Id,
    PoolId,
    MembershipId,
    Kind,
    Label,
    OccurredOn,
    QuarterHours,
    Quantity,
    Unit,
    Description,
    ValueMinor,
    Currency,
    Status,
    Confirmations,
    ConfirmationsRequired,
    RefusedByMembershipId,
    RefusalReason,
    DecidedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Confirmations {
    #[sea_orm(iden = "work_contribution_confirmations")]
    Table,
    Id,
    WorkContributionId,
    MembershipId,
    CreatedAt,
}
