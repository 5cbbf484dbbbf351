//! One live contribution per member and pool, held by the database; a failed
//! start's code and a start's request fingerprint for idempotent replays;
//! Stripe events that wait for their subscription to be known.
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Starts that raced before this index existed left several live
/// contributions for one member: all but the newest are closed here (kept,
/// not deleted), and reconciliation cancels their subscriptions at Stripe.
const CLOSE_DUPLICATES: &str = "UPDATE contributions
    SET status = 'CANCELED', canceled_at = updated_at,
        failure_reason = 'a second live contribution of the same member, closed when one live contribution per member became a rule'
    WHERE id IN (
      SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (PARTITION BY pool_id, user_id ORDER BY created_at DESC, id DESC) AS n
        FROM contributions WHERE status <> 'CANCELED') ranked
      WHERE n > 1)";

const ONE_LIVE: &str = "CREATE UNIQUE INDEX uq_contributions_one_live ON contributions (pool_id, user_id) WHERE status <> 'CANCELED'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(CLOSE_DUPLICATES).await?;
        db.execute_unprepared(ONE_LIVE).await?;
        // SQLite adds one column per statement.
        for column in [
            string_len_null(Contributions::FailureCode, 32),
            string_len_null(Contributions::RequestFingerprint, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Contributions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            string_len(StripeEvents::Status, 16)
                .default("APPLIED")
                .to_owned(),
            string_len_null(StripeEvents::SubscriptionId, 255),
            text_null(StripeEvents::Payload),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(StripeEvents::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        index(
            manager,
            "idx_stripe_events_subscription",
            StripeEvents::Table,
            &[StripeEvents::SubscriptionId, StripeEvents::Status],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_stripe_events_subscription")
                    .table(StripeEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            StripeEvents::Payload,
            StripeEvents::SubscriptionId,
            StripeEvents::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(StripeEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Contributions::RequestFingerprint,
            Contributions::FailureCode,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Contributions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("uq_contributions_one_live")
                    .table(Contributions::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Contributions {
    Table,
    FailureCode,
    RequestFingerprint,
}

#[derive(DeriveIden, Clone, Copy)]
enum StripeEvents {
    Table,
    Status,
    SubscriptionId,
    Payload,
}
