//! GraphQL output and input types. Outputs wrap entity models; inputs are
//! plain shapes that the services parse into domain types.

mod accounts;
mod audit;
mod catalogue;
mod contributions;
mod events;
mod formations;
mod membership;
mod money;
mod parent_entities;
mod pools;
mod proposals;
mod reconciliation;
mod reports;

pub use accounts::*;
pub use audit::*;
pub use catalogue::*;
pub use contributions::*;
pub use events::*;
pub use formations::*;
pub use membership::*;
pub use money::*;
pub use parent_entities::*;
pub use pools::*;
pub use proposals::*;
pub use reconciliation::*;
pub use reports::*;

use std::sync::Arc;

use crate::error::AppError;

/// A DataLoader's database error, as the API reports it.
pub fn loader_error(err: Arc<sea_orm::DbErr>) -> AppError {
    if crate::error::database_unavailable(&err) {
        return AppError::from(Arc::unwrap_or_clone(err));
    }
    AppError::internal(anyhow::anyhow!("loading a relation: {err}"))
}
