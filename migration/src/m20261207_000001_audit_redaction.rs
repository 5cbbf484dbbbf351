//! Erasable personal data in a tamper-evident trail.
//!
//! From this migration on, an event's hash covers a salted digest of its
//! `changes` and `client_address` instead of the values themselves
//! (recipe `pools-audit/2`). Erasing a person's data then replaces those
//! two values, drops the salt and sets `redacted_at`; the digest, and so
//! the chain, stay as they were. Events written before keep recipe 1 and
//! cannot be redacted.
//!
//! The append-only triggers now let exactly that through: one update of
//! an unredacted recipe-2 event that sets `redacted_at` and leaves every
//! hashed column alone. Anything else is still refused.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns an update may never change (everything the hash covers).
const FIXED: &[&str] = &[
    "id",
    "chain_key",
    "seq",
    "prev_hash",
    "pool_prev_hash",
    "hash",
    "occurred_at",
    "actor_kind",
    "actor_user_id",
    "actor_token_id",
    "action",
    "outcome",
    "entity_type",
    "entity_id",
    "pool_id",
    "parent_entity_id",
    "request_id",
    "content_digest",
];

fn redaction_only(null_safe_eq: &str) -> String {
    let same = FIXED
        .iter()
        .map(|c| format!("NEW.{c} {null_safe_eq} OLD.{c}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!(
        "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL \
         AND OLD.content_digest IS NOT NULL AND {same}"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null(Redaction::ContentSalt, 32),
            string_len_null(Redaction::ContentDigest, 64),
            timestamp_with_time_zone_null(Redaction::RedactedAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Redaction::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
                     BEGIN
                       IF TG_OP = 'UPDATE' AND {} THEN RETURN NEW; END IF;
                       RAISE EXCEPTION 'audit events are append-only';
                     END;
                     $$ LANGUAGE plpgsql",
                    redaction_only("IS NOT DISTINCT FROM")
                ))
                .await?;
            }
            _ => {
                // One call, so both run on one connection: another one's
                // cached schema would still hold the dropped trigger.
                conn.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS audit_events_no_update;
                     CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                     WHEN NOT ({})
                     BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                    redaction_only("IS")
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
                     BEGIN RAISE EXCEPTION 'audit events are append-only'; END;
                     $$ LANGUAGE plpgsql",
                )
                .await?;
            }
            _ => {
                // Byte for byte the trigger the audit trail's migration made.
                conn.execute_unprepared(concat!(
                    "DROP TRIGGER IF EXISTS audit_events_no_update;\n",
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events\n",
                    "                         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                ))
                .await?;
            }
        }
        for column in [
            Redaction::ContentSalt,
            Redaction::ContentDigest,
            Redaction::RedactedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Redaction::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Redaction {
    #[sea_orm(iden = "audit_events")]
    Table,
    ContentSalt,
    ContentDigest,
    RedactedAt,
}
