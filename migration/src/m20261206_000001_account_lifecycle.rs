//! What an account needs to be kept: a confirmed email, a locale, the
//! single-use links sent by email (confirmation, password reset, change of
//! email), the optional messages a person turned off, what a session was
//! opened from, and the mark left by a deleted account.
//!
//! Existing accounts are left unconfirmed: their email was never proven,
//! and invitations are matched by email.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{helpers, m20261122_000001_accounts::Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            timestamp_with_time_zone_null(Lifecycle::EmailConfirmedAt),
            string_len(Lifecycle::Locale, 16).default("en").to_owned(),
            timestamp_with_time_zone_null(Lifecycle::DeletedAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            string_len_null(Sessions::UserAgent, 300),
            string_len_null(Sessions::ClientAddress, 64),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AccountTokens::Table)
                    .col(pk_uuid(AccountTokens::Id))
                    .col(uuid(AccountTokens::UserId))
                    .col(string_len(AccountTokens::Purpose, 16))
                    .col(string_len(AccountTokens::Email, 320))
                    .col(string_len_uniq(AccountTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(AccountTokens::CreatedAt))
                    .col(timestamp_with_time_zone(AccountTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountTokens::UsedAt))
                    .foreign_key(&mut helpers::fk(
                        "fk_account_tokens_user",
                        AccountTokens::Table,
                        AccountTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        helpers::index(
            manager,
            "idx_account_tokens_user_purpose",
            AccountTokens::Table,
            &[AccountTokens::UserId, AccountTokens::Purpose],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationOptOuts::Table)
                    .col(uuid(NotificationOptOuts::UserId))
                    .col(string_len(NotificationOptOuts::Topic, 32))
                    .col(timestamp_with_time_zone(NotificationOptOuts::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(NotificationOptOuts::UserId)
                            .col(NotificationOptOuts::Topic),
                    )
                    .foreign_key(&mut helpers::fk(
                        "fk_notification_opt_outs_user",
                        NotificationOptOuts::Table,
                        NotificationOptOuts::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NotificationOptOuts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AccountTokens::Table).to_owned())
            .await?;
        for column in [Sessions::UserAgent, Sessions::ClientAddress] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Lifecycle::EmailConfirmedAt,
            Lifecycle::Locale,
            Lifecycle::DeletedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Lifecycle {
    EmailConfirmedAt,
    Locale,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    #[sea_orm(iden = "access_tokens")]
    Table,
    UserAgent,
    ClientAddress,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccountTokens {
    Table,
    Id,
    UserId,
    Purpose,
    Email,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum NotificationOptOuts {
    Table,
    UserId,
    Topic,
    CreatedAt,
}
