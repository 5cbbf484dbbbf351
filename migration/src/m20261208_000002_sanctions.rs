//! Obligations and sanctions: the version of the pool's code of conduct a
//! member accepted (on the membership, and on an application until it is
//! decided), and suspensions with their reason, period, appeal and end.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers,
    m20261122_000003_formations_and_pools::{Memberships, Pools},
    m20261122_000004_pool_governance::Proposals,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for (table, column) in [
            (
                Memberships::Table.into_iden(),
                integer_null(Added::ConductVersion),
            ),
            (
                Memberships::Table.into_iden(),
                timestamp_with_time_zone_null(Added::ConductAcceptedAt),
            ),
            (
                Added::Applications.into_iden(),
                integer_null(Added::ConductVersion),
            ),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Suspensions::Table)
                    .col(pk_uuid(Suspensions::Id))
                    .col(uuid(Suspensions::PoolId))
                    .col(uuid(Suspensions::MembershipId))
                    .col(text(Suspensions::Reason))
                    .col(uuid(Suspensions::SuspendedBy))
                    .col(timestamp_with_time_zone(Suspensions::StartsAt))
                    .col(timestamp_with_time_zone(Suspensions::EndsAt))
                    .col(timestamp_with_time_zone_null(Suspensions::LiftedAt))
                    .col(text_null(Suspensions::LiftReason))
                    .col(uuid_null(Suspensions::AppealProposalId))
                    .foreign_key(&mut helpers::fk(
                        "fk_member_suspensions_pool",
                        Suspensions::Table,
                        Suspensions::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_member_suspensions_membership",
                        Suspensions::Table,
                        Suspensions::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_member_suspensions_appeal",
                        Suspensions::Table,
                        Suspensions::AppealProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_member_suspensions_membership",
            Suspensions::Table,
            &[Suspensions::MembershipId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Suspensions::Table).to_owned())
            .await?;
        for (table, column) in [
            (Added::Applications.into_iden(), Added::ConductVersion),
            (Memberships::Table.into_iden(), Added::ConductAcceptedAt),
            (Memberships::Table.into_iden(), Added::ConductVersion),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Added {
    Applications,
    ConductVersion,
    ConductAcceptedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Suspensions {
    #[sea_orm(iden = "member_suspensions")]
    Table,
    Id,
    PoolId,
    MembershipId,
    Reason,
    SuspendedBy,
    StartsAt,
    EndsAt,
    LiftedAt,
    LiftReason,
    AppealProposalId,
}
