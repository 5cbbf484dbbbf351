//! Roles by consent and verified parent entities.
//!
//! A role at a parent entity starts as an invitation to an email and becomes
//! a person's only when they accept it, so `user_id` is empty until then.
//! Existing roles were given without an invitation: they become ACTIVE (or
//! REVOKED where revoked), with the holder's email.
//!
//! A platform admin may mark a parent entity verified; a normalised copy of
//! its registration number then holds that number against other verified
//! parents in the same jurisdiction.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::{
    helpers::index, m20261122_000001_accounts::Users,
    m20261122_000002_parent_entities::ParentEntities,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// At most one ACTIVE role per person and parent entity.
const ONE_ROLE_PER_PERSON: &str = "CREATE UNIQUE INDEX uq_parent_entity_roles_active \
     ON parent_entity_roles (parent_entity_id, user_id) WHERE status = 'ACTIVE'";
/// At most one open (pending or active) role per email and parent entity:
/// the grant refuses a second one on what the steward already sees.
const ONE_OPEN_ROLE_PER_EMAIL: &str = "CREATE UNIQUE INDEX uq_parent_entity_roles_open_email \
     ON parent_entity_roles (parent_entity_id, email) WHERE status IN ('PENDING', 'ACTIVE')";
/// A registration number is held by at most one verified parent entity in a
/// jurisdiction, compared after normalising.
const ONE_VERIFIED_PER_NUMBER: &str = "CREATE UNIQUE INDEX uq_parent_entities_verified_registration \
     ON parent_entities (jurisdiction, registration_key) WHERE verified_at IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on both backends: SQLite rebuilds a table here, and
    /// each step must see the one before on the same connection (another
    /// pooled connection may still read the old schema).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for column in [
                    string_len(ParentEntityRoles::Email, 320).default("").take(),
                    string_len(ParentEntityRoles::Status, 16)
                        .default("ACTIVE")
                        .take(),
                    timestamp_with_time_zone_null(ParentEntityRoles::AcceptedAt),
                    timestamp_with_time_zone_null(ParentEntityRoles::DeclinedAt),
                    timestamp_with_time_zone_null(ParentEntityRoles::ExpiresAt),
                ] {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(ParentEntityRoles::Table)
                                .add_column(column)
                                .to_owned(),
                        )
                        .await?;
                }
                conn.execute_unprepared(
                    "UPDATE parent_entity_roles SET \
                       email = (SELECT email FROM users WHERE users.id = parent_entity_roles.user_id), \
                       accepted_at = granted_at, \
                       status = CASE WHEN revoked_at IS NULL THEN 'ACTIVE' ELSE 'REVOKED' END",
                )
                .await?;
                conn.execute_unprepared(
                    "ALTER TABLE parent_entity_roles ALTER COLUMN user_id DROP NOT NULL",
                )
                .await?;
                conn.execute_unprepared("DROP INDEX uq_parent_entity_roles_active")
                    .await?;
            }
            _ => {
                // SQLite cannot make a column nullable in place: the table is
                // rebuilt with the new columns and its rows copied over.
                manager
                    .create_table(roles_table(ParentEntityRoles::New))
                    .await?;
                conn.execute_unprepared(
                    "INSERT INTO parent_entity_roles_new \
                       (id, parent_entity_id, user_id, email, role, status, granted_by, granted_at, \
                        accepted_at, declined_at, expires_at, revoked_by, revoked_at) \
                     SELECT r.id, r.parent_entity_id, r.user_id, u.email, r.role, \
                        CASE WHEN r.revoked_at IS NULL THEN 'ACTIVE' ELSE 'REVOKED' END, \
                        r.granted_by, r.granted_at, r.granted_at, NULL, NULL, r.revoked_by, r.revoked_at \
                     FROM parent_entity_roles r JOIN users u ON u.id = r.user_id",
                )
                .await?;
                for statement in [
                    "DROP TABLE parent_entity_roles",
                    "ALTER TABLE parent_entity_roles_new RENAME TO parent_entity_roles",
                    "CREATE INDEX idx_parent_entity_roles_user ON parent_entity_roles (user_id)",
                ] {
                    conn.execute_unprepared(statement).await?;
                }
            }
        }
        conn.execute_unprepared(ONE_ROLE_PER_PERSON).await?;
        conn.execute_unprepared(ONE_OPEN_ROLE_PER_EMAIL).await?;
        // Pending invitations are looked up by the invitee's email.
        index(
            manager,
            "idx_parent_entity_roles_email",
            ParentEntityRoles::Table,
            &[ParentEntityRoles::Email],
        )
        .await?;

        // The verifying admin is kept for the record only (SQLite cannot
        // add a foreign key to an existing table); the trail names them too.
        for column in [
            string_len_null(ParentEntities::RegistrationKey, 100),
            timestamp_with_time_zone_null(ParentEntities::VerifiedAt),
            uuid_null(ParentEntities::VerifiedBy),
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
        conn.execute_unprepared(ONE_VERIFIED_PER_NUMBER).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX uq_parent_entities_verified_registration")
            .await?;
        for column in [
            ParentEntities::VerifiedBy,
            ParentEntities::VerifiedAt,
            ParentEntities::RegistrationKey,
        ] {
            drop_column(manager, ParentEntities::Table, column).await?;
        }
        // Invitations that were never accepted have no holder to go back to.
        conn.execute_unprepared("DELETE FROM parent_entity_roles WHERE user_id IS NULL")
            .await?;
        for name in [
            "idx_parent_entity_roles_email",
            "uq_parent_entity_roles_open_email",
            "uq_parent_entity_roles_active",
        ] {
            conn.execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for column in [
                    ParentEntityRoles::Email,
                    ParentEntityRoles::Status,
                    ParentEntityRoles::AcceptedAt,
                    ParentEntityRoles::DeclinedAt,
                    ParentEntityRoles::ExpiresAt,
                ] {
                    drop_column(manager, ParentEntityRoles::Table, column).await?;
                }
                conn.execute_unprepared(
                    "ALTER TABLE parent_entity_roles ALTER COLUMN user_id SET NOT NULL",
                )
                .await?;
            }
            _ => {
                // SQLite cannot make a column NOT NULL in place: the table
                // is rebuilt as it was before, as `up` rebuilt it.
                manager
                    .create_table(roles_table_before(ParentEntityRoles::New))
                    .await?;
                for statement in [
                    "INSERT INTO parent_entity_roles_new \
                       (id, parent_entity_id, user_id, role, granted_by, granted_at, revoked_by, revoked_at) \
                     SELECT id, parent_entity_id, user_id, role, granted_by, granted_at, revoked_by, revoked_at \
                     FROM parent_entity_roles",
                    "DROP TABLE parent_entity_roles",
                    "ALTER TABLE parent_entity_roles_new RENAME TO parent_entity_roles",
                    "CREATE INDEX idx_parent_entity_roles_user ON parent_entity_roles (user_id)",
                ] {
                    conn.execute_unprepared(statement).await?;
                }
            }
        }
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX uq_parent_entity_roles_active \
             ON parent_entity_roles (parent_entity_id, user_id) WHERE revoked_at IS NULL",
        )
        .await?;
        Ok(())
    }
}

async fn drop_column<T: IntoIden + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    column: C,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

/// The roles table as this migration leaves it, created under `name`.
fn roles_table(name: ParentEntityRoles) -> TableCreateStatement {
    with_role_keys(
        Table::create()
            .table(name)
            .col(pk_uuid(ParentEntityRoles::Id))
            .col(uuid(ParentEntityRoles::ParentEntityId))
            .col(uuid_null(ParentEntityRoles::UserId))
            .col(string_len(ParentEntityRoles::Email, 320))
            .col(string_len(ParentEntityRoles::Role, 16))
            .col(string_len(ParentEntityRoles::Status, 16))
            .col(uuid(ParentEntityRoles::GrantedBy))
            .col(timestamp_with_time_zone(ParentEntityRoles::GrantedAt))
            .col(timestamp_with_time_zone_null(ParentEntityRoles::AcceptedAt))
            .col(timestamp_with_time_zone_null(ParentEntityRoles::DeclinedAt))
            .col(timestamp_with_time_zone_null(ParentEntityRoles::ExpiresAt))
            .col(uuid_null(ParentEntityRoles::RevokedBy))
            .col(timestamp_with_time_zone_null(ParentEntityRoles::RevokedAt)),
        name,
    )
}

/// The roles table as it was before this migration, created under `name`.
fn roles_table_before(name: ParentEntityRoles) -> TableCreateStatement {
    with_role_keys(
        Table::create()
            .table(name)
            .col(pk_uuid(ParentEntityRoles::Id))
            .col(uuid(ParentEntityRoles::ParentEntityId))
            .col(uuid(ParentEntityRoles::UserId))
            .col(string_len(ParentEntityRoles::Role, 16))
            .col(uuid(ParentEntityRoles::GrantedBy))
            .col(timestamp_with_time_zone(ParentEntityRoles::GrantedAt))
            .col(uuid_null(ParentEntityRoles::RevokedBy))
            .col(timestamp_with_time_zone_null(ParentEntityRoles::RevokedAt)),
        name,
    )
}

/// The roles table's foreign keys, on `table` created under `name`.
fn with_role_keys(
    table: &mut TableCreateStatement,
    name: ParentEntityRoles,
) -> TableCreateStatement {
    table
        .foreign_key(
            ForeignKey::create()
                .name("fk_parent_entity_roles_parent")
                .from(name, ParentEntityRoles::ParentEntityId)
                .to(ParentEntities::Table, ParentEntities::Id),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_parent_entity_roles_user")
                .from(name, ParentEntityRoles::UserId)
                .to(Users::Table, Users::Id),
        )
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum ParentEntityRoles {
    Table,
    #[sea_orm(iden = "parent_entity_roles_new")]
    New,
    Id,
    ParentEntityId,
    UserId,
    Email,
    Role,
    Status,
    GrantedBy,
    GrantedAt,
    AcceptedAt,
    DeclinedAt,
    ExpiresAt,
    RevokedBy,
    RevokedAt,
}
