//! Parent entities and the roles people hold at them.
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ParentEntities::Table)
                    .col(pk_uuid(ParentEntities::Id))
                    .col(string_len(ParentEntities::Name, 200))
                    .col(string_len(ParentEntities::Jurisdiction, 2))
                    .col(string_len(ParentEntities::LegalForm, 200))
                    .col(string_len(ParentEntities::RegistrationNumber, 100))
                    .col(string_len(ParentEntities::ApprovalPolicy, 16))
                    .col(uuid(ParentEntities::CreatedBy))
                    .col(timestamp_with_time_zone(ParentEntities::CreatedAt))
                    .col(timestamp_with_time_zone(ParentEntities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parent_entities_created_by")
                            .from(ParentEntities::Table, ParentEntities::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One legal entity per registration number within a jurisdiction.
        manager
            .create_index(
                Index::create()
                    .name("uq_parent_entities_registration")
                    .table(ParentEntities::Table)
                    .col(ParentEntities::Jurisdiction)
                    .col(ParentEntities::RegistrationNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ParentEntityRoles::Table)
                    .col(pk_uuid(ParentEntityRoles::Id))
                    .col(uuid(ParentEntityRoles::ParentEntityId))
                    .col(uuid(ParentEntityRoles::UserId))
                    .col(string_len(ParentEntityRoles::Role, 16))
                    .col(uuid(ParentEntityRoles::GrantedBy))
                    .col(timestamp_with_time_zone(ParentEntityRoles::GrantedAt))
                    .col(uuid_null(ParentEntityRoles::RevokedBy))
                    .col(timestamp_with_time_zone_null(ParentEntityRoles::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parent_entity_roles_parent")
                            .from(ParentEntityRoles::Table, ParentEntityRoles::ParentEntityId)
                            .to(ParentEntities::Table, ParentEntities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parent_entity_roles_user")
                            .from(ParentEntityRoles::Table, ParentEntityRoles::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // At most one active role per person and parent entity; revoked rows stay
        // as history. Partial indexes read the same on PostgreSQL and SQLite.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_parent_entity_roles_active \
                 ON parent_entity_roles (parent_entity_id, user_id) \
                 WHERE revoked_at IS NULL",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_parent_entity_roles_user")
                    .table(ParentEntityRoles::Table)
                    .col(ParentEntityRoles::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ParentEntityRoles::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ParentEntities::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ParentEntities {
    Table,
    Id,
    Name,
    Jurisdiction,
    LegalForm,
    RegistrationNumber,
    ApprovalPolicy,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    AllowedTemplateIds,
    AllowedAppIds,
    AllowsPrincipleExceptions,
    ExpenseApprovalAboveMinor,
    ExpenseMinApprovals,
    ParentShareBasisPoints,
    RegistrationKey,
    VerifiedAt,
    VerifiedBy,
}

#[derive(DeriveIden)]
enum ParentEntityRoles {
    Table,
    Id,
    ParentEntityId,
    UserId,
    Role,
    GrantedBy,
    GrantedAt,
    RevokedBy,
    RevokedAt,
}
