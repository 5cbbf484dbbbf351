//! Why a pool's status last changed (a suspension's reason) and when (the
//! audit trail keeps every change before it), and which contributions have
//! their collection paused by a suspension.
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000003_formations_and_pools::Pools;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            text_null(Standing::StatusReason),
            timestamp_with_time_zone_null(Standing::StatusChangedAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Pools::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Contributions)
                    .add_column(timestamp_with_time_zone_null(Standing::CollectionPausedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Contributions)
                    .drop_column(Standing::CollectionPausedAt)
                    .to_owned(),
            )
            .await?;
        for column in [Standing::StatusChangedAt, Standing::StatusReason] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pools::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Standing {
    StatusReason,
    StatusChangedAt,
    CollectionPausedAt,
}

#[derive(DeriveIden)]
struct Contributions;
