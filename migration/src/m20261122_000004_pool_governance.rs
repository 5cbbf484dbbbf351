//! Running a pool: invitations, applications, the member register's extra
//! facts, proposals and votes, delegations, expenses and the ledger.
use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers::{fk, index},
    m20261122_000001_accounts::Users,
    m20261122_000002_parent_entities::ParentEntities,
    m20261122_000003_formations_and_pools::{Memberships, Pools, StakeholderGroups},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            big_integer(Memberships::SharesHeld).default(0).to_owned(),
            text_null(Memberships::EndReason),
            uuid_null(Memberships::EndedBy),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Memberships::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            big_integer_null(ParentEntities::ExpenseApprovalAboveMinor),
            integer_null(ParentEntities::ExpenseMinApprovals),
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
                    .table(Invitations::Table)
                    .col(pk_uuid(Invitations::Id))
                    .col(uuid(Invitations::PoolId))
                    .col(uuid(Invitations::MembershipId))
                    .col(string_len(Invitations::Email, 320))
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(uuid_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_invitations_pool",
                        Invitations::Table,
                        Invitations::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_invitations_membership",
                        Invitations::Table,
                        Invitations::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_invitations_membership",
            Invitations::Table,
            &[Invitations::MembershipId],
        )
        .await?;
        index(
            manager,
            "idx_invitations_email",
            Invitations::Table,
            &[Invitations::Email],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(pk_uuid(Applications::Id))
                    .col(uuid(Applications::PoolId))
                    .col(uuid(Applications::UserId))
                    .col(uuid(Applications::StakeholderGroupId))
                    .col(text(Applications::Message))
                    .col(string_len(Applications::Status, 16))
                    .col(uuid_null(Applications::DecidedBy))
                    .col(timestamp_with_time_zone_null(Applications::DecidedAt))
                    .col(text_null(Applications::Reason))
                    .col(uuid_null(Applications::MembershipId))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_applications_pool",
                        Applications::Table,
                        Applications::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_applications_user",
                        Applications::Table,
                        Applications::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_applications_group",
                        Applications::Table,
                        Applications::StakeholderGroupId,
                        StakeholderGroups::Table,
                        StakeholderGroups::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_applications_pool",
            Applications::Table,
            &[Applications::PoolId],
        )
        .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_applications_pending ON applications (pool_id, user_id) WHERE status = 'PENDING'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Proposals::Table)
                    .col(pk_uuid(Proposals::Id))
                    .col(uuid(Proposals::PoolId))
                    .col(uuid(Proposals::AuthorMembershipId))
                    .col(string_len(Proposals::Title, 200))
                    .col(text(Proposals::Body))
                    .col(string_len(Proposals::Kind, 16))
                    .col(json_binary(Proposals::Options))
                    .col(timestamp_with_time_zone(Proposals::ClosesAt))
                    .col(integer(Proposals::QuorumPercent))
                    .col(integer(Proposals::PassThresholdPercent))
                    .col(string_len(Proposals::VotingRule, 32))
                    .col(json_binary(Proposals::EligibleGroupIds))
                    .col(string_len(Proposals::Status, 16))
                    .col(string_len_null(Proposals::Outcome, 16))
                    .col(json_binary_null(Proposals::Result))
                    .col(timestamp_with_time_zone_null(Proposals::ClosedAt))
                    .col(timestamp_with_time_zone(Proposals::CreatedAt))
                    .col(timestamp_with_time_zone(Proposals::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_proposals_pool",
                        Proposals::Table,
                        Proposals::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_proposals_author",
                        Proposals::Table,
                        Proposals::AuthorMembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_proposals_pool",
            Proposals::Table,
            &[Proposals::PoolId],
        )
        .await?;
        index(
            manager,
            "idx_proposals_status_closes",
            Proposals::Table,
            &[Proposals::Status],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Votes::Table)
                    .col(pk_uuid(Votes::Id))
                    .col(uuid(Votes::ProposalId))
                    .col(uuid(Votes::MembershipId))
                    .col(string_len(Votes::Choice, 200))
                    .col(text_null(Votes::Reason))
                    .col(timestamp_with_time_zone(Votes::CastAt))
                    .col(timestamp_with_time_zone(Votes::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_votes_proposal",
                        Votes::Table,
                        Votes::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_votes_membership",
                        Votes::Table,
                        Votes::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_votes_proposal_member")
                    .table(Votes::Table)
                    .col(Votes::ProposalId)
                    .col(Votes::MembershipId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Delegations::Table)
                    .col(pk_uuid(Delegations::Id))
                    .col(uuid(Delegations::PoolId))
                    .col(uuid_null(Delegations::ProposalId))
                    .col(uuid(Delegations::DelegatorMembershipId))
                    .col(uuid(Delegations::DelegateMembershipId))
                    .col(timestamp_with_time_zone(Delegations::CreatedAt))
                    .col(timestamp_with_time_zone_null(Delegations::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_delegations_pool",
                        Delegations::Table,
                        Delegations::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_delegations_delegator",
                        Delegations::Table,
                        Delegations::DelegatorMembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_delegations_delegate",
                        Delegations::Table,
                        Delegations::DelegateMembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_delegations_pool",
            Delegations::Table,
            &[Delegations::PoolId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Expenses::Table)
                    .col(pk_uuid(Expenses::Id))
                    .col(uuid(Expenses::PoolId))
                    .col(uuid_uniq(Expenses::ProposalId))
                    .col(uuid(Expenses::SubmittedByMembershipId))
                    .col(string_len(Expenses::Title, 200))
                    .col(text(Expenses::Description))
                    .col(big_integer(Expenses::AmountMinor))
                    .col(string_len(Expenses::Currency, 3))
                    .col(string_len(Expenses::Payee, 200))
                    .col(string_len(Expenses::Status, 16))
                    .col(uuid_null(Expenses::PaidByMembershipId))
                    .col(timestamp_with_time_zone_null(Expenses::PaidAt))
                    .col(string_len_null(Expenses::Reference, 200))
                    .col(timestamp_with_time_zone(Expenses::CreatedAt))
                    .col(timestamp_with_time_zone(Expenses::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_expenses_pool",
                        Expenses::Table,
                        Expenses::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_expenses_proposal",
                        Expenses::Table,
                        Expenses::ProposalId,
                        Proposals::Table,
                        Proposals::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_expenses_pool",
            Expenses::Table,
            &[Expenses::PoolId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .col(pk_uuid(LedgerEntries::Id))
                    .col(uuid(LedgerEntries::PoolId))
                    .col(string_len(LedgerEntries::Kind, 16))
                    .col(big_integer(LedgerEntries::AmountMinor))
                    .col(string_len(LedgerEntries::Currency, 3))
                    .col(string_len(LedgerEntries::Reference, 200))
                    .col(text(LedgerEntries::Description))
                    .col(uuid_null(LedgerEntries::ExpenseId))
                    .col(uuid_null(LedgerEntries::RecordedBy))
                    .col(timestamp_with_time_zone(LedgerEntries::OccurredAt))
                    .col(timestamp_with_time_zone(LedgerEntries::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_ledger_entries_pool",
                        LedgerEntries::Table,
                        LedgerEntries::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_ledger_entries_pool",
            LedgerEntries::Table,
            &[LedgerEntries::PoolId],
        )
        .await?;
        // An expense is paid once: one ledger entry per expense.
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX uq_ledger_entries_expense ON ledger_entries (expense_id) WHERE expense_id IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LedgerEntries::Table.into_iden(),
            Expenses::Table.into_iden(),
            Delegations::Table.into_iden(),
            Votes::Table.into_iden(),
            Proposals::Table.into_iden(),
            Applications::Table.into_iden(),
            Invitations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Memberships::SharesHeld,
            Memberships::EndReason,
            Memberships::EndedBy,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Memberships::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            ParentEntities::ExpenseApprovalAboveMinor,
            ParentEntities::ExpenseMinApprovals,
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
enum Invitations {
    Table,
    Id,
    PoolId,
    MembershipId,
    Email,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Applications {
    Table,
    Id,
    PoolId,
    UserId,
    StakeholderGroupId,
    Message,
    Status,
    DecidedBy,
    DecidedAt,
    Reason,
    MembershipId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Proposals {
    Table,
    Id,
    PoolId,
    AuthorMembershipId,
    Title,
    Body,
    Kind,
    Options,
    ClosesAt,
    QuorumPercent,
    PassThresholdPercent,
    VotingRule,
    EligibleGroupIds,
    Status,
    Outcome,
    Result,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Votes {
    Table,
    Id,
    ProposalId,
    MembershipId,
    Choice,
    Reason,
    CastAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Delegations {
    Table,
    Id,
    PoolId,
    ProposalId,
    DelegatorMembershipId,
    DelegateMembershipId,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Expenses {
    Table,
    Id,
    PoolId,
    ProposalId,
    SubmittedByMembershipId,
    Title,
    Description,
    AmountMinor,
    Currency,
    Payee,
    Status,
    PaidByMembershipId,
    PaidAt,
    Reference,
    CreatedAt,
    UpdatedAt,
    Category,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum LedgerEntries {
    Table,
    Id,
    PoolId,
    Kind,
    AmountMinor,
    Currency,
    Reference,
    Description,
    ExpenseId,
    RecordedBy,
    OccurredAt,
    CreatedAt,
    Category,
}
