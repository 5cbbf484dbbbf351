//! Events out: a durable job queue, app provisioners and their results on
//! pool apps, and integrators' webhook endpoints with their deliveries.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers::{fk, index, unique},
    m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::{PoolApps, Pools},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(string_len(Jobs::Kind, 32))
                    .col(text(Jobs::Payload))
                    .col(string_len(Jobs::Status, 16))
                    .col(integer(Jobs::Attempts))
                    .col(integer(Jobs::MaxAttempts))
                    .col(timestamp_with_time_zone(Jobs::RunAt))
                    .col(timestamp_with_time_zone_null(Jobs::LockedAt))
                    .col(string_len_null(Jobs::LockedBy, 64))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // Workers look for due work by state and time.
        index(
            manager,
            "idx_jobs_status_run_at",
            Jobs::Table,
            &[Jobs::Status, Jobs::RunAt],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppProvisioners::Table)
                    .col(pk_uuid(AppProvisioners::Id))
                    .col(uuid(AppProvisioners::ParentEntityId))
                    .col(string_len(AppProvisioners::AppId, 64))
                    .col(text(AppProvisioners::Url))
                    .col(uuid(AppProvisioners::CreatedBy))
                    .col(timestamp_with_time_zone(AppProvisioners::CreatedAt))
                    .col(timestamp_with_time_zone(AppProvisioners::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_app_provisioners_parent",
                        AppProvisioners::Table,
                        AppProvisioners::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_app_provisioners_parent_app",
            AppProvisioners::Table,
            &[AppProvisioners::ParentEntityId, AppProvisioners::AppId],
        )
        .await?;

        for column in [PoolApps::Url, PoolApps::Handover, PoolApps::StatusMessage] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PoolApps::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid_null(WebhookEndpoints::ParentEntityId))
                    .col(uuid_null(WebhookEndpoints::PoolId))
                    .col(text(WebhookEndpoints::Url))
                    .col(text(WebhookEndpoints::Events))
                    .col(uuid(WebhookEndpoints::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DeletedAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoints_parent",
                        WebhookEndpoints::Table,
                        WebhookEndpoints::ParentEntityId,
                        ParentEntities::Table,
                        ParentEntities::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoints_pool",
                        WebhookEndpoints::Table,
                        WebhookEndpoints::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_webhook_endpoints_parent",
            WebhookEndpoints::Table,
            &[WebhookEndpoints::ParentEntityId],
        )
        .await?;
        index(
            manager,
            "idx_webhook_endpoints_pool",
            WebhookEndpoints::Table,
            &[WebhookEndpoints::PoolId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(pk_uuid(WebhookEvents::Id))
                    .col(string_len(WebhookEvents::Kind, 64))
                    .col(uuid_null(WebhookEvents::PoolId))
                    .col(uuid_null(WebhookEvents::ParentEntityId))
                    .col(text(WebhookEvents::Payload))
                    .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_endpoint",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EndpointId,
                        WebhookEndpoints::Table,
                        WebhookEndpoints::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_event",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EventId,
                        WebhookEvents::Table,
                        WebhookEvents::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_webhook_deliveries_endpoint",
            WebhookDeliveries::Table,
            &[WebhookDeliveries::EndpointId, WebhookDeliveries::Id],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            AppProvisioners::Table.into_iden(),
            Jobs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [PoolApps::Url, PoolApps::Handover, PoolApps::StatusMessage] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PoolApps::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedAt,
    LockedBy,
    LastError,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AppProvisioners {
    Table,
    Id,
    ParentEntityId,
    AppId,
    Url,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookEndpoints {
    Table,
    Id,
    ParentEntityId,
    PoolId,
    Url,
    Events,
    CreatedBy,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookEvents {
    Table,
    Id,
    Kind,
    PoolId,
    ParentEntityId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    EventId,
    Status,
    Attempts,
    LastStatusCode,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}
