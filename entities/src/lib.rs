//! sea-orm entities: one module per table, no business logic.
//!
//! Enumerations are stored as short upper-case strings so that the same
//! migrations work on PostgreSQL and SQLite and rows stay readable in `psql`.

pub mod access_token;
pub mod account_token;
pub mod app_provisioner;
pub mod application;
pub mod assembly_delegate;
pub mod assembly_vote;
pub mod asset;
pub mod audit_chain_head;
pub mod audit_event;
pub mod audit_refusal_window;
pub mod billing_period;
pub mod contribution;
pub mod delegation;
pub mod expense;
pub mod formation;
pub mod formation_founding_member;
pub mod fund_application;
pub mod invitation;
pub mod job;
pub mod lease;
pub mod ledger_binding;
pub mod ledger_entry;
pub mod loan_repayment;
pub mod member_suspension;
pub mod membership;
pub mod notification_opt_out;
pub mod parent_entity;
pub mod parent_entity_role;
pub mod parent_ledger_entry;
pub mod payment_reconciliation;
pub mod payment_reconciliation_finding;
pub mod pool;
pub mod pool_app;
pub mod pool_dissolution;
pub mod pool_distribution;
pub mod pool_life_pack;
pub mod pool_move;
pub mod pool_rules_version;
pub mod pool_spin_out;
pub mod proposal;
pub mod provisioning_callback;
pub mod rent_charge;
pub mod sign_in_failure;
pub mod sliding_scale;
pub mod stakeholder_group;
pub mod stripe_event;
pub mod stripe_object;
pub mod user;
pub mod vote;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_event;
pub mod work_contribution;
pub mod work_contribution_confirmation;

pub mod prelude {
    pub use super::access_token::Entity as AccessToken;
    pub use super::formation::Entity as Formation;
    pub use super::formation_founding_member::Entity as FormationFoundingMember;
    pub use super::membership::Entity as Membership;
    pub use super::parent_entity::Entity as ParentEntity;
    pub use super::parent_entity_role::Entity as ParentEntityRole;
    pub use super::pool::Entity as Pool;
    pub use super::pool_app::Entity as PoolApp;
    pub use super::sign_in_failure::Entity as SignInFailure;
    pub use super::stakeholder_group::Entity as StakeholderGroup;
    pub use super::user::Entity as User;
}
