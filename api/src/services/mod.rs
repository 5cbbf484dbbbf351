//! The business rules, one module per domain. Public functions check
//! permissions, own their transaction, and return entity models.

pub mod accounts;
pub mod api_tokens;
pub mod pagination;
pub mod parent_entities;

use sea_orm::{DbErr, SqlErr};

use crate::error::AppError;

/// Maps a unique-constraint violation to `CONFLICT` with a message a person
/// can act on; any other database error stays internal.
pub trait OnConflict<T> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, AppError>;
}

impl<T> OnConflict<T> for Result<T, DbErr> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, AppError> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(message()),
            _ => err.into(),
        })
    }
}
