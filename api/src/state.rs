//! Shared application state, cloned into every request.

use std::sync::{Arc, atomic::AtomicU64};

use sea_orm::DatabaseConnection;

use crate::{catalogue::Catalogue, config::Config, payments::StripeGateway};

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
    /// Stripe, when `STRIPE_SECRET_KEY` is set; contributions are manual
    /// pledges otherwise.
    pub stripe: Option<Arc<StripeGateway>>,
}
