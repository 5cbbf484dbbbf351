//! One answer per provisioning request: the operator's accepted callback,
//! keyed by the job it answers, so a repeat (or a replay) finds it taken.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{helpers::fk, m20261122_000003_formations_and_pools::PoolApps};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProvisioningCallbacks::Table)
                    .col(pk_uuid(ProvisioningCallbacks::JobId))
                    .col(uuid(ProvisioningCallbacks::PoolAppId))
                    .col(string_len(ProvisioningCallbacks::Status, 16))
                    .col(timestamp_with_time_zone(ProvisioningCallbacks::SignedAt))
                    .col(timestamp_with_time_zone(ProvisioningCallbacks::ReceivedAt))
                    .foreign_key(&mut fk(
                        "fk_provisioning_callbacks_pool_app",
                        ProvisioningCallbacks::Table,
                        ProvisioningCallbacks::PoolAppId,
                        PoolApps::Table,
                        PoolApps::Id,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProvisioningCallbacks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ProvisioningCallbacks {
    Table,
    JobId,
    PoolAppId,
    Status,
    SignedAt,
    ReceivedAt,
}
