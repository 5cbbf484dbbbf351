//! Payment reconciliation: each run comparing Stripe's subscriptions and
//! invoices with the contributions and the ledger, and what it repaired.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers::{fk, index},
    m20261122_000002_parent_entities::ParentEntities,
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
                    .table(PaymentReconciliations::Table)
                    .col(pk_uuid(PaymentReconciliations::Id))
                    .col(timestamp_with_time_zone(PaymentReconciliations::StartedAt))
                    .col(timestamp_with_time_zone_null(
                        PaymentReconciliations::FinishedAt,
                    ))
                    .col(string_len(PaymentReconciliations::Status, 16))
                    .col(integer(PaymentReconciliations::SubscriptionsChecked).default(0))
                    .col(integer(PaymentReconciliations::InvoicesChecked).default(0))
                    .col(integer(PaymentReconciliations::Repairs).default(0))
                    .col(text_null(PaymentReconciliations::Error))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_payment_reconciliations_finished",
            PaymentReconciliations::Table,
            &[PaymentReconciliations::FinishedAt],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Findings::Table)
                    .col(pk_uuid(Findings::Id))
                    .col(uuid(Findings::ReconciliationId))
                    .col(uuid_null(Findings::ParentEntityId))
                    .col(uuid_null(Findings::PoolId))
                    .col(uuid_null(Findings::ContributionId))
                    .col(string_len(Findings::Kind, 32))
                    .col(string_len(Findings::StripeId, 100))
                    .col(big_integer_null(Findings::Amount))
                    .col(string_len_null(Findings::Currency, 3))
                    .col(string_len(Findings::Detail, 1000))
                    .col(timestamp_with_time_zone(Findings::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_reconciliation_findings_run",
                        Findings::Table,
                        Findings::ReconciliationId,
                        PaymentReconciliations::Table,
                        PaymentReconciliations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reconciliation_findings_pool",
                        Findings::Table,
                        Findings::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reconciliation_findings_parent",
                        Findings::Table,
                        Findings::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_reconciliation_findings_run",
            Findings::Table,
            &[Findings::ReconciliationId],
        )
        .await?;
        index(
            manager,
            "idx_reconciliation_findings_pool",
            Findings::Table,
            &[Findings::PoolId, Findings::CreatedAt],
        )
        .await?;
        index(
            manager,
            "idx_reconciliation_findings_parent",
            Findings::Table,
            &[Findings::ParentEntityId, Findings::CreatedAt],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Findings::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(PaymentReconciliations::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PaymentReconciliations {
    Table,
    Id,
    StartedAt,
    FinishedAt,
    Status,
    SubscriptionsChecked,
    InvoicesChecked,
    Repairs,
    Error,
}

#[derive(DeriveIden, Clone, Copy)]
enum Findings {
    #[sea_orm(iden = "payment_reconciliation_findings")]
    Table,
    Id,
    ReconciliationId,
    ParentEntityId,
    PoolId,
    ContributionId,
    Kind,
    StripeId,
    Amount,
    Currency,
    Detail,
    CreatedAt,
}
