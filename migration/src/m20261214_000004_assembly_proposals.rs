//! A pool decides its vote in the parent's assembly by a proposal of its
//! own: the proposal names the fund application it decides on.
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000004_pool_governance::Proposals;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .add_column(uuid_null(Added::FundApplicationId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Proposals::Table)
                    .drop_column(Added::FundApplicationId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    FundApplicationId,
}
