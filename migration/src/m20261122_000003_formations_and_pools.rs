//! Formations (drafts of new pools), pools and what approval creates in
//! them, and the parent entity's policy for its pools.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers::{index, unique},
    m20261122_000001_accounts::Users,
    m20261122_000002_parent_entities::ParentEntities,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for column in [
            json_binary_null(ParentEntities::AllowedTemplateIds),
            json_binary_null(ParentEntities::AllowedAppIds),
            boolean(ParentEntities::AllowsPrincipleExceptions)
                .default(false)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ParentEntities::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Formations::Table)
                    .col(pk_uuid(Formations::Id))
                    .col(uuid(Formations::ParentEntityId))
                    .col(uuid(Formations::FounderId))
                    .col(string_len(Formations::WorkingName, 100))
                    .col(string_len(Formations::Status, 16))
                    .col(json_binary_null(Formations::StakeholderGroups))
                    .col(boolean(Formations::FoundingMembersSet).default(false))
                    .col(json_binary_null(Formations::FinancialProfile))
                    .col(string_len_null(Formations::LegalTemplateId, 100))
                    .col(string_len_null(Formations::Name, 200))
                    .col(string_len_null(Formations::Slug, 100))
                    .col(string_len_null(Formations::NameKey, 200))
                    .col(json_binary_null(Formations::AppIds))
                    .col(json_binary(Formations::AppConfigs))
                    .col(timestamp_with_time_zone_null(Formations::SubmittedAt))
                    .col(timestamp_with_time_zone_null(Formations::DecidedAt))
                    .col(uuid_null(Formations::DecidedBy))
                    .col(text_null(Formations::RejectionReason))
                    .col(uuid_null(Formations::PoolId))
                    .col(timestamp_with_time_zone(Formations::CreatedAt))
                    .col(timestamp_with_time_zone(Formations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_formations_parent")
                            .from(Formations::Table, Formations::ParentEntityId)
                            .to(ParentEntities::Table, ParentEntities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_formations_founder")
                            .from(Formations::Table, Formations::FounderId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_formations_parent_status",
            Formations::Table,
            &[Formations::ParentEntityId, Formations::Status],
        )
        .await?;
        index(
            manager,
            "idx_formations_founder",
            Formations::Table,
            &[Formations::FounderId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(FormationFoundingMembers::Table)
                    .col(pk_uuid(FormationFoundingMembers::Id))
                    .col(uuid(FormationFoundingMembers::FormationId))
                    .col(integer(FormationFoundingMembers::Position))
                    .col(string_len(FormationFoundingMembers::Email, 320))
                    .col(string_len(FormationFoundingMembers::DisplayName, 100))
                    .col(string_len(
                        FormationFoundingMembers::StakeholderGroupKey,
                        40,
                    ))
                    .col(string_len(FormationFoundingMembers::Role, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_formation_founding_members_formation")
                            .from(
                                FormationFoundingMembers::Table,
                                FormationFoundingMembers::FormationId,
                            )
                            .to(Formations::Table, Formations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_formation_founding_members_formation",
            FormationFoundingMembers::Table,
            &[FormationFoundingMembers::FormationId],
        )
        .await?;
        index(
            manager,
            "idx_formation_founding_members_email",
            FormationFoundingMembers::Table,
            &[FormationFoundingMembers::Email],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Pools::Table)
                    .col(pk_uuid(Pools::Id))
                    .col(uuid(Pools::ParentEntityId))
                    .col(uuid_uniq(Pools::FormationId))
                    .col(string_len(Pools::Name, 200))
                    .col(string_len(Pools::Slug, 100))
                    .col(string_len(Pools::NameKey, 200))
                    .col(string_len(Pools::Status, 16))
                    .col(string_len(Pools::LegalTemplateId, 100))
                    .col(integer(Pools::LegalTemplateVersion))
                    .col(string_len(Pools::Currency, 3))
                    .col(text(Pools::RulesDocument))
                    .col(json_binary(Pools::Governance))
                    .col(timestamp_with_time_zone(Pools::CreatedAt))
                    .col(timestamp_with_time_zone(Pools::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pools_parent")
                            .from(Pools::Table, Pools::ParentEntityId)
                            .to(ParentEntities::Table, ParentEntities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pools_formation")
                            .from(Pools::Table, Pools::FormationId)
                            .to(Formations::Table, Formations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_pools_parent_name_key",
            Pools::Table,
            &[Pools::ParentEntityId, Pools::NameKey],
        )
        .await?;
        unique(
            manager,
            "uq_pools_parent_slug",
            Pools::Table,
            &[Pools::ParentEntityId, Pools::Slug],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(StakeholderGroups::Table)
                    .col(pk_uuid(StakeholderGroups::Id))
                    .col(uuid(StakeholderGroups::PoolId))
                    .col(string_len(StakeholderGroups::Key, 40))
                    .col(string_len(StakeholderGroups::Name, 100))
                    .col(string_len(StakeholderGroups::Kind, 16))
                    .col(integer(StakeholderGroups::VotingWeight))
                    .col(big_integer_null(StakeholderGroups::SharePriceMinor))
                    .col(string_len(StakeholderGroups::Admission, 16))
                    .col(timestamp_with_time_zone(StakeholderGroups::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_stakeholder_groups_pool")
                            .from(StakeholderGroups::Table, StakeholderGroups::PoolId)
                            .to(Pools::Table, Pools::Id),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_stakeholder_groups_pool_key",
            StakeholderGroups::Table,
            &[StakeholderGroups::PoolId, StakeholderGroups::Key],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::PoolId))
                    .col(uuid_null(Memberships::UserId))
                    .col(string_len(Memberships::Email, 320))
                    .col(string_len(Memberships::DisplayName, 100))
                    .col(uuid(Memberships::StakeholderGroupId))
                    .col(string_len(Memberships::Role, 16))
                    .col(string_len(Memberships::Status, 16))
                    .col(string_len(Memberships::JoinedVia, 16))
                    .col(timestamp_with_time_zone_null(Memberships::JoinedAt))
                    .col(timestamp_with_time_zone_null(Memberships::LeftAt))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_pool")
                            .from(Memberships::Table, Memberships::PoolId)
                            .to(Pools::Table, Pools::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_user")
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_group")
                            .from(Memberships::Table, Memberships::StakeholderGroupId)
                            .to(StakeholderGroups::Table, StakeholderGroups::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_memberships_pool",
            Memberships::Table,
            &[Memberships::PoolId],
        )
        .await?;
        index(
            manager,
            "idx_memberships_user",
            Memberships::Table,
            &[Memberships::UserId],
        )
        .await?;
        index(
            manager,
            "idx_memberships_email",
            Memberships::Table,
            &[Memberships::Email],
        )
        .await?;
        // One current membership per person and pool; ended ones stay as the register's history.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_memberships_current ON memberships (pool_id, email) WHERE left_at IS NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PoolApps::Table)
                    .col(pk_uuid(PoolApps::Id))
                    .col(uuid(PoolApps::PoolId))
                    .col(string_len(PoolApps::AppId, 100))
                    .col(string_len(PoolApps::AppVersion, 40))
                    .col(json_binary(PoolApps::Settings))
                    .col(json_binary(PoolApps::RoleMapping))
                    .col(string_len(PoolApps::ProvisioningState, 16))
                    .col(timestamp_with_time_zone(PoolApps::CreatedAt))
                    .col(timestamp_with_time_zone(PoolApps::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pool_apps_pool")
                            .from(PoolApps::Table, PoolApps::PoolId)
                            .to(Pools::Table, Pools::Id),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_pool_apps_pool_app",
            PoolApps::Table,
            &[PoolApps::PoolId, PoolApps::AppId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PoolApps::Table.into_iden(),
            Memberships::Table.into_iden(),
            StakeholderGroups::Table.into_iden(),
            Pools::Table.into_iden(),
            FormationFoundingMembers::Table.into_iden(),
            Formations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            ParentEntities::AllowedTemplateIds,
            ParentEntities::AllowedAppIds,
            ParentEntities::AllowsPrincipleExceptions,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ParentEntities::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Formations {
    Table,
    Id,
    ParentEntityId,
    FounderId,
    WorkingName,
    Status,
    StakeholderGroups,
    FoundingMembersSet,
    FinancialProfile,
    LegalTemplateId,
    Name,
    Slug,
    NameKey,
    AppIds,
    AppConfigs,
    SubmittedAt,
    DecidedAt,
    DecidedBy,
    RejectionReason,
    PoolId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum FormationFoundingMembers {
    Table,
    Id,
    FormationId,
    Position,
    Email,
    DisplayName,
    StakeholderGroupKey,
    Role,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Pools {
    Table,
    Id,
    ParentEntityId,
    FormationId,
    Name,
    Slug,
    NameKey,
    Status,
    LegalTemplateId,
    LegalTemplateVersion,
    Currency,
    RulesDocument,
    Governance,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum StakeholderGroups {
    Table,
    Id,
    PoolId,
    Key,
    Name,
    Kind,
    VotingWeight,
    SharePriceMinor,
    Admission,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Memberships {
    Table,
    Id,
    PoolId,
    UserId,
    Email,
    DisplayName,
    StakeholderGroupId,
    Role,
    Status,
    JoinedVia,
    JoinedAt,
    LeftAt,
    CreatedAt,
    UpdatedAt,
    SharesHeld,
    EndReason,
    EndedBy,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum PoolApps {
    Table,
    Id,
    PoolId,
    AppId,
    AppVersion,
    Settings,
    RoleMapping,
    ProvisioningState,
    CreatedAt,
    UpdatedAt,
    Url,
    Handover,
    StatusMessage,
}
