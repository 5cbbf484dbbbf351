//! The commons fund's decisions: pools (or formations, paid once their pool
//! exists) apply for a grant or a loan, the
//! parent's assembly of pools votes on each application (one vote per
//! pool, the unique key holds it), a pool may name a delegate who casts its
//! vote, and a loan's instalments are collected at most once each.
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
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .add_column(
                        string_len(Added::AssemblyWeighting, 24).default("ONE_POOL_ONE_VOTE"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FundApplications::Table)
                    .col(pk_uuid(FundApplications::Id))
                    .col(uuid(FundApplications::ParentEntityId))
                    .col(uuid_null(FundApplications::PoolId))
                    .col(uuid_null(FundApplications::FormationId))
                    .col(string_len(FundApplications::Kind, 16))
                    .col(big_integer(FundApplications::AmountMinor))
                    .col(string_len(FundApplications::Currency, 3))
                    .col(text(FundApplications::Purpose))
                    .col(string_len_null(FundApplications::RepaymentPeriod, 16))
                    .col(integer_null(FundApplications::Instalments))
                    .col(date_null(FundApplications::RepaymentStartsOn))
                    .col(string_len(FundApplications::Status, 16))
                    .col(string_len(FundApplications::Weighting, 24))
                    .col(timestamp_with_time_zone(FundApplications::ClosesAt))
                    .col(integer_null(FundApplications::EligiblePools))
                    .col(integer_null(FundApplications::PoolsVoted))
                    .col(big_integer_null(FundApplications::WeightFor))
                    .col(big_integer_null(FundApplications::WeightAgainst))
                    .col(timestamp_with_time_zone_null(FundApplications::DecidedAt))
                    .col(uuid_null(FundApplications::ParentLedgerEntryId))
                    .col(integer(FundApplications::InstalmentsPaid).default(0))
                    .col(uuid(FundApplications::AppliedBy))
                    .col(integer(FundApplications::Version).default(1))
                    .col(timestamp_with_time_zone(FundApplications::CreatedAt))
                    .col(timestamp_with_time_zone(FundApplications::UpdatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_fund_applications_parent",
                        FundApplications::Table,
                        FundApplications::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_fund_applications_pool",
                        FundApplications::Table,
                        FundApplications::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_fund_applications_parent",
            FundApplications::Table,
            &[FundApplications::ParentEntityId, FundApplications::Id],
        )
        .await?;
        helpers::index(
            manager,
            "idx_fund_applications_pool",
            FundApplications::Table,
            &[FundApplications::PoolId, FundApplications::Id],
        )
        .await?;
        helpers::index(
            manager,
            "idx_fund_applications_formation",
            FundApplications::Table,
            &[FundApplications::FormationId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssemblyVotes::Table)
                    .col(pk_uuid(AssemblyVotes::Id))
                    .col(uuid(AssemblyVotes::ApplicationId))
                    .col(uuid(AssemblyVotes::PoolId))
                    .col(string_len(AssemblyVotes::Choice, 16))
                    .col(uuid(AssemblyVotes::CastBy))
                    .col(timestamp_with_time_zone(AssemblyVotes::CreatedAt))
                    .col(timestamp_with_time_zone(AssemblyVotes::UpdatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_assembly_votes_application",
                        AssemblyVotes::Table,
                        AssemblyVotes::ApplicationId,
                        FundApplications::Table,
                        FundApplications::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_assembly_votes_pool",
                        AssemblyVotes::Table,
                        AssemblyVotes::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_assembly_votes_pool",
            AssemblyVotes::Table,
            &[AssemblyVotes::ApplicationId, AssemblyVotes::PoolId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssemblyDelegates::Table)
                    .col(pk_uuid(AssemblyDelegates::Id))
                    .col(uuid(AssemblyDelegates::PoolId))
                    .col(uuid(AssemblyDelegates::UserId))
                    .col(uuid(AssemblyDelegates::SetBy))
                    .col(timestamp_with_time_zone(AssemblyDelegates::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_assembly_delegates_pool",
                        AssemblyDelegates::Table,
                        AssemblyDelegates::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_assembly_delegates_pool",
            AssemblyDelegates::Table,
            &[AssemblyDelegates::PoolId],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoanRepayments::Table)
                    .col(pk_uuid(LoanRepayments::Id))
                    .col(uuid(LoanRepayments::ApplicationId))
                    .col(uuid(LoanRepayments::PoolId))
                    .col(uuid(LoanRepayments::ParentEntityId))
                    .col(integer(LoanRepayments::InstalmentNumber))
                    .col(date(LoanRepayments::DueOn))
                    .col(big_integer(LoanRepayments::AmountMinor))
                    .col(string_len(LoanRepayments::Currency, 3))
                    .col(uuid(LoanRepayments::PoolLedgerEntryId))
                    .col(uuid(LoanRepayments::ParentLedgerEntryId))
                    .col(timestamp_with_time_zone(LoanRepayments::CreatedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_loan_repayments_application",
                        LoanRepayments::Table,
                        LoanRepayments::ApplicationId,
                        FundApplications::Table,
                        FundApplications::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_loan_repayments_instalment",
            LoanRepayments::Table,
            &[
                LoanRepayments::ApplicationId,
                LoanRepayments::InstalmentNumber,
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoanRepayments::Table.into_iden(),
            AssemblyDelegates::Table.into_iden(),
            AssemblyVotes::Table.into_iden(),
            FundApplications::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .drop_column(Added::AssemblyWeighting)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    AssemblyWeighting,
}

#[derive(DeriveIden, Clone, Copy)]
enum FundApplications {
    Table,
    Id,
    ParentEntityId,
    PoolId,
    FormationId,
    Kind,
    AmountMinor,
    Currency,
    Purpose,
    RepaymentPeriod,
    Instalments,
    RepaymentStartsOn,
    Status,
    Weighting,
    ClosesAt,
    EligiblePools,
    PoolsVoted,
    WeightFor,
    WeightAgainst,
    DecidedAt,
    ParentLedgerEntryId,
    InstalmentsPaid,
    AppliedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AssemblyVotes {
    Table,
    Id,
    ApplicationId,
    PoolId,
    Choice,
    CastBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AssemblyDelegates {
    Table,
    Id,
    PoolId,
    UserId,
    SetBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LoanRepayments {
    Table,
    Id,
    ApplicationId,
    PoolId,
    ParentEntityId,
    InstalmentNumber,
    DueOn,
    AmountMinor,
    Currency,
    PoolLedgerEntryId,
    ParentLedgerEntryId,
    CreatedAt,
}
