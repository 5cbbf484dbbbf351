//! A person's account.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Normalised (trimmed, lower-cased); unique.
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// Argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the person proved the address by following the link sent to
    /// it; `None` until then (and after a change, until the new one is).
    pub email_confirmed_at: Option<DateTimeUtc>,
    /// The language messages are written in (`en`, `es`).
    pub locale: String,
    /// Set when the account was deleted: its personal data is erased and
    /// it can no longer sign in; the row stays for the register and trail.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
