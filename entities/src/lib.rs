//! sea-orm entities: one module per table, no business logic.
//!
//! Enumerations are stored as short upper-case strings so that the same
//! migrations work on PostgreSQL and SQLite and rows stay readable in `psql`.

pub mod access_token;
pub mod parent_entity;
pub mod parent_entity_role;
pub mod sign_in_failure;
pub mod user;

pub mod prelude {
    pub use super::access_token::Entity as AccessToken;
    pub use super::parent_entity::Entity as ParentEntity;
    pub use super::parent_entity_role::Entity as ParentEntityRole;
    pub use super::sign_in_failure::Entity as SignInFailure;
    pub use super::user::Entity as User;
}
