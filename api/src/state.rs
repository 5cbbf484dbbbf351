//! Shared application state, cloned into every request.

use std::sync::{Arc, atomic::AtomicU64};

use sea_orm::DatabaseConnection;

use crate::{catalogue::Catalogue, config::Config};

#[derive(Clone)]
pub struct AppState {
    /// The connection pool (PostgreSQL or SQLite).
    pub db: DatabaseConnection,
    /// Settings read at start.
    pub config: Arc<Config>,
    /// Legal templates and apps, loaded and checked at start.
    pub catalogue: Arc<Catalogue>,
    /// SQL statements run since start: diagnostics, and the measure that
    /// tests use to prove relations load without N+1 queries.
    pub sql_statements: Arc<AtomicU64>,
}
