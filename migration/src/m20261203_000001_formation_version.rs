//! A version on formations: +1 on every change, so an edit made from a stale
//! copy (a second browser tab) is refused instead of silently overwriting.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Formations::Table)
                    .add_column(integer(Formations::Version).default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Formations::Table)
                    .drop_column(Formations::Version)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Formations {
    Table,
    Version,
}
