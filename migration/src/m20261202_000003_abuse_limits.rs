//! Abuse limits: failed sign-ins are counted per client address as well as
//! per email, and repeated refusals are counted per window instead of each
//! being written into the audit trail.
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Older failures have no address; they still count for the email.
        manager
            .alter_table(
                Table::alter()
                    .table(SignInFailures::Table)
                    .add_column(string_len(SignInFailures::ClientAddress, 64).default(""))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_sign_in_failures_email_address_time",
            SignInFailures::Table,
            &[
                SignInFailures::Email,
                SignInFailures::ClientAddress,
                SignInFailures::AttemptedAt,
            ],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditRefusalWindows::Table)
                    .col(string_len(AuditRefusalWindows::ChainKey, 64))
                    .col(string_len(AuditRefusalWindows::ActorKey, 80))
                    .col(string_len(AuditRefusalWindows::Mutation, 100))
                    .col(timestamp_with_time_zone(AuditRefusalWindows::WindowStart))
                    .col(big_integer(AuditRefusalWindows::Refusals))
                    .col(uuid_null(AuditRefusalWindows::EventId))
                    .col(timestamp_with_time_zone(AuditRefusalWindows::LastAt))
                    .primary_key(
                        Index::create()
                            .col(AuditRefusalWindows::ChainKey)
                            .col(AuditRefusalWindows::ActorKey)
                            .col(AuditRefusalWindows::Mutation)
                            .col(AuditRefusalWindows::WindowStart),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_audit_refusal_windows_start",
            AuditRefusalWindows::Table,
            &[AuditRefusalWindows::WindowStart],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditRefusalWindows::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_sign_in_failures_email_address_time")
                    .table(SignInFailures::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SignInFailures::Table)
                    .drop_column(SignInFailures::ClientAddress)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SignInFailures {
    Table,
    Email,
    ClientAddress,
    AttemptedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditRefusalWindows {
    Table,
    ChainKey,
    ActorKey,
    Mutation,
    WindowStart,
    Refusals,
    EventId,
    LastAt,
}
