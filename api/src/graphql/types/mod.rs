//! GraphQL output and input types. Outputs wrap entity models; inputs are
//! plain shapes that the services parse into domain types.

mod accounts;
mod parent_entities;

pub use accounts::*;
pub use parent_entities::*;

use std::sync::Arc;

use crate::error::AppError;

/// A DataLoader's database error, as the API reports it.
pub fn loader_error(err: Arc<sea_orm::DbErr>) -> AppError {
    AppError::internal(anyhow::anyhow!("loading a relation: {err}"))
}
