//! Rules that members change by vote: every adopted version of a pool's
//! rules, the typed change a `RULES_CHANGE` proposal carries, groups that
//! are retired rather than deleted (members and votes point at them), and
//! the parent's policy on which changes it forbids or must approve.
//!
//! Each existing pool's rules become its version 1, adopted when the pool
//! was created.
use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, prelude::Uuid, sea_query::ExprTrait},
};

use crate::{
    helpers,
    m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::{Pools, StakeholderGroups},
    m20261122_000004_pool_governance::Proposals,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RulesVersions::Table)
                    .col(pk_uuid(RulesVersions::Id))
                    .col(uuid(RulesVersions::PoolId))
                    .col(integer(RulesVersions::Version))
                    .col(text(RulesVersions::Document))
                    .col(json_binary(RulesVersions::Governance))
                    .col(timestamp_with_time_zone(RulesVersions::AdoptedAt))
                    .col(uuid_null(RulesVersions::ProposalId))
                    .col(text_null(RulesVersions::Diff))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_rules_versions_pool",
                        RulesVersions::Table,
                        RulesVersions::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut helpers::fk(
                        "fk_pool_rules_versions_proposal",
                        RulesVersions::Table,
                        RulesVersions::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::unique(
            manager,
            "uq_pool_rules_versions_pool_version",
            RulesVersions::Table,
            &[RulesVersions::PoolId, RulesVersions::Version],
        )
        .await?;
        founding_versions(manager).await?;
        // One column per statement: SQLite alters one at a time.
        for column in [
            json_binary_null(NewColumns::RulesChange),
            integer_null(NewColumns::RulesBaseVersion),
            string_len_null(NewColumns::RulesChangeStatus, 24),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Proposals::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(StakeholderGroups::Table)
                    .add_column(timestamp_with_time_zone_null(NewColumns::RetiredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .add_column(json_binary_null(NewColumns::RulesChangePolicy))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (
                ParentEntities::Table.into_iden(),
                NewColumns::RulesChangePolicy,
            ),
            (StakeholderGroups::Table.into_iden(), NewColumns::RetiredAt),
            (Proposals::Table.into_iden(), NewColumns::RulesChangeStatus),
            (Proposals::Table.into_iden(), NewColumns::RulesBaseVersion),
            (Proposals::Table.into_iden(), NewColumns::RulesChange),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(RulesVersions::Table).to_owned())
            .await
    }
}

/// Each existing pool's rules, as version 1 adopted at its creation.
async fn founding_versions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let rows = manager
        .get_connection()
        .query_all(
            &Query::select()
                .column(Pools::Id)
                .from(Pools::Table)
                .order_by(Pools::Id, Order::Asc)
                .to_owned(),
        )
        .await?;
    for row in rows {
        let pool: Uuid = row.try_get("", "id")?;
        let copy = Query::select()
            .expr(Expr::val(Uuid::now_v7()))
            .column(Pools::Id)
            .expr(Expr::val(1))
            .columns([Pools::RulesDocument, Pools::Governance, Pools::CreatedAt])
            .from(Pools::Table)
            .and_where(Expr::col(Pools::Id).eq(pool))
            .to_owned();
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(RulesVersions::Table)
                    .columns([
                        RulesVersions::Id,
                        RulesVersions::PoolId,
                        RulesVersions::Version,
                        RulesVersions::Document,
                        RulesVersions::Governance,
                        RulesVersions::AdoptedAt,
                    ])
                    .select_from(copy)
                    .map_err(|e| DbErr::Custom(e.to_string()))?
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum RulesVersions {
    #[sea_orm(iden = "pool_rules_versions")]
    Table,
    Id,
    PoolId,
    Version,
    Document,
    Governance,
    AdoptedAt,
    ProposalId,
    Diff,
}

#[derive(DeriveIden)]
enum NewColumns {
    RulesChange,
    RulesBaseVersion,
    RulesChangeStatus,
    RetiredAt,
    RulesChangePolicy,
}
