//! Sliding-scale contributions: scales, contributions, the Stripe objects
//! they map to, processed webhook events, and the parent's share.
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
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .add_column(integer(ParentEntities::ParentShareBasisPoints).default(0))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SlidingScales::Table)
                    .col(pk_uuid(SlidingScales::Id))
                    .col(uuid(SlidingScales::PoolId))
                    .col(uuid_null(SlidingScales::StakeholderGroupId))
                    .col(string_len(SlidingScales::Currency, 3))
                    .col(string_len(SlidingScales::Interval, 8))
                    .col(big_integer(SlidingScales::Minimum))
                    .col(big_integer(SlidingScales::Maximum))
                    .col(big_integer(SlidingScales::Suggested))
                    .col(boolean(SlidingScales::AllowZero))
                    .col(uuid(SlidingScales::SetBy))
                    .col(timestamp_with_time_zone(SlidingScales::CreatedAt))
                    .col(timestamp_with_time_zone_null(SlidingScales::SupersededAt))
                    .foreign_key(&mut fk(
                        "fk_sliding_scales_pool",
                        SlidingScales::Table,
                        SlidingScales::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_sliding_scales_group",
                        SlidingScales::Table,
                        SlidingScales::StakeholderGroupId,
                        StakeholderGroups::Table,
                        StakeholderGroups::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_sliding_scales_pool",
            SlidingScales::Table,
            &[SlidingScales::PoolId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contributions::Table)
                    .col(pk_uuid(Contributions::Id))
                    .col(uuid(Contributions::PoolId))
                    .col(uuid(Contributions::MembershipId))
                    .col(uuid(Contributions::UserId))
                    .col(big_integer(Contributions::Amount))
                    .col(string_len(Contributions::Currency, 3))
                    .col(string_len(Contributions::Interval, 8))
                    .col(big_integer(Contributions::SuggestedAtStart))
                    .col(string_len(Contributions::Provider, 16))
                    .col(string_len(Contributions::Status, 16))
                    .col(string_len_null(Contributions::IdempotencyKey, 200))
                    .col(string_len_null(Contributions::StripeSubscriptionId, 100))
                    .col(string_len_null(
                        Contributions::StripeSubscriptionItemId,
                        100,
                    ))
                    .col(string_len_null(Contributions::StripePlanId, 100))
                    .col(text_null(Contributions::FailureReason))
                    .col(boolean(Contributions::CancelAtPeriodEnd).default(false))
                    .col(timestamp_with_time_zone_null(Contributions::LastEventAt))
                    .col(timestamp_with_time_zone_null(Contributions::CanceledAt))
                    .col(timestamp_with_time_zone(Contributions::CreatedAt))
                    .col(timestamp_with_time_zone(Contributions::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_contributions_pool",
                        Contributions::Table,
                        Contributions::PoolId,
                        Pools::Table,
                        Pools::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contributions_membership",
                        Contributions::Table,
                        Contributions::MembershipId,
                        Memberships::Table,
                        Memberships::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contributions_user",
                        Contributions::Table,
                        Contributions::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_contributions_pool",
            Contributions::Table,
            &[Contributions::PoolId],
        )
        .await?;
        index(
            manager,
            "idx_contributions_membership",
            Contributions::Table,
            &[Contributions::MembershipId],
        )
        .await?;
        let conn = manager.get_connection();
        // A client's retry with the same key finds the same contribution.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX uq_contributions_idempotency ON contributions (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX uq_contributions_subscription ON contributions (stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(StripeObjects::Table)
                    .col(string_len(StripeObjects::Key, 200).primary_key())
                    .col(string_len(StripeObjects::StripeId, 100))
                    .col(timestamp_with_time_zone(StripeObjects::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StripeEvents::Table)
                    .col(string_len(StripeEvents::Id, 100).primary_key())
                    .col(string_len(StripeEvents::Kind, 100))
                    .col(timestamp_with_time_zone(StripeEvents::CreatedAt))
                    .col(timestamp_with_time_zone(StripeEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        // Ledger entries from Stripe invoices are written once per invoice and kind.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX uq_ledger_entries_invoice ON ledger_entries (pool_id, kind, reference) WHERE kind IN ('CONTRIBUTION', 'PARENT_SHARE')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_ledger_entries_invoice")
            .await?;
        for table in [
            StripeEvents::Table.into_iden(),
            StripeObjects::Table.into_iden(),
            Contributions::Table.into_iden(),
            SlidingScales::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .drop_column(ParentEntities::ParentShareBasisPoints)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SlidingScales {
    Table,
    Id,
    PoolId,
    StakeholderGroupId,
    Currency,
    Interval,
    Minimum,
    Maximum,
    Suggested,
    AllowZero,
    SetBy,
    CreatedAt,
    SupersededAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Contributions {
    Table,
    Id,
    PoolId,
    MembershipId,
    UserId,
    Amount,
    Currency,
    Interval,
    SuggestedAtStart,
    Provider,
    Status,
    IdempotencyKey,
    StripeSubscriptionId,
    StripeSubscriptionItemId,
    StripePlanId,
    FailureReason,
    CancelAtPeriodEnd,
    LastEventAt,
    CanceledAt,
    CreatedAt,
    UpdatedAt,
}

/// Our ids → Stripe ids (customers per user, products per pool, plans per
/// amount): what was created once is reused.
#[derive(DeriveIden, Clone, Copy)]
enum StripeObjects {
    Table,
    Key,
    StripeId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum StripeEvents {
    Table,
    Id,
    Kind,
    CreatedAt,
    ReceivedAt,
}
