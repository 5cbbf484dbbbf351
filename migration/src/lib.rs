//! Schema migrations. Every migration runs on PostgreSQL and SQLite alike.
pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261122_000001_accounts;
mod m20261122_000002_parent_entities;
mod m20261122_000003_formations_and_pools;
mod m20261122_000004_pool_governance;
mod m20261122_000005_contributions;
mod m20261122_000006_audit_trail;
mod m20261122_000007_jobs_and_webhooks;
mod m20261202_000001_provisioning_callbacks;
mod m20261202_000002_role_invitations_and_verification;
mod m20261202_000003_abuse_limits;
mod m20261203_000001_formation_version;
mod m20261204_000001_live_contributions;
mod m20261204_000002_payment_reconciliations;
mod m20261205_000001_parent_entity_slugs;
mod m20261206_000001_account_lifecycle;
mod m20261207_000001_audit_redaction;
mod m20261208_000001_rules_versions;
mod m20261208_000002_sanctions;
mod m20261208_000003_pool_standing;
mod m20261208_000004_pool_moves;
mod m20261209_000001_ledger_bindings;
mod m20261210_000002_spin_outs;
mod m20261210_000003_life_packs;
mod m20261211_000001_dissolutions;
mod m20261212_000001_job_trace_context;
mod m20261213_000001_work_contributions;
mod m20261214_000001_parent_ledger;
mod m20261214_000002_commons_assets;
mod m20261214_000003_commons_fund;
mod m20261214_000004_assembly_proposals;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_parent_entities::Migration),
            Box::new(m20261122_000003_formations_and_pools::Migration),
            Box::new(m20261122_000004_pool_governance::Migration),
            Box::new(m20261122_000005_contributions::Migration),
            Box::new(m20261122_000006_audit_trail::Migration),
            Box::new(m20261122_000007_jobs_and_webhooks::Migration),
            Box::new(m20261202_000001_provisioning_callbacks::Migration),
            Box::new(m20261202_000002_role_invitations_and_verification::Migration),
            Box::new(m20261202_000003_abuse_limits::Migration),
            Box::new(m20261203_000001_formation_version::Migration),
            Box::new(m20261204_000001_live_contributions::Migration),
            Box::new(m20261204_000002_payment_reconciliations::Migration),
            Box::new(m20261205_000001_parent_entity_slugs::Migration),
            Box::new(m20261206_000001_account_lifecycle::Migration),
            Box::new(m20261207_000001_audit_redaction::Migration),
            Box::new(m20261208_000001_rules_versions::Migration),
            Box::new(m20261208_000002_sanctions::Migration),
            Box::new(m20261208_000003_pool_standing::Migration),
            Box::new(m20261208_000004_pool_moves::Migration),
            Box::new(m20261209_000001_ledger_bindings::Migration),
            Box::new(m20261210_000002_spin_outs::Migration),
            Box::new(m20261210_000003_life_packs::Migration),
            Box::new(m20261211_000001_dissolutions::Migration),
            Box::new(m20261212_000001_job_trace_context::Migration),
            Box::new(m20261213_000001_work_contributions::Migration),
            Box::new(m20261214_000001_parent_ledger::Migration),
            Box::new(m20261214_000002_commons_assets::Migration),
            Box::new(m20261214_000003_commons_fund::Migration),
            Box::new(m20261214_000004_assembly_proposals::Migration),
        ]
    }
}
