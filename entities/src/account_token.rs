//! Single-use links sent by email: confirming an address, resetting a
//! password, moving an account to a new address. Only a keyed hash of the
//! secret is stored; the secret is derived again from the id when the
//! message is sent (see `auth::tokens::derived`), so no job holds it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    /// Proves the account's address (at sign-up, or on request).
    #[sea_orm(string_value = "CONFIRM_EMAIL")]
    ConfirmEmail,
    /// Sets a new password without the old one.
    #[sea_orm(string_value = "RESET_PASSWORD")]
    ResetPassword,
    /// Moves the account to `email`, once that address proves it is theirs.
    #[sea_orm(string_value = "CHANGE_EMAIL")]
    ChangeEmail,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: Purpose,
    /// The address the link was sent to (the new one for a change).
    pub email: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set when the link was used, or when a newer link or a change of
    /// password retired it: a link works once.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
