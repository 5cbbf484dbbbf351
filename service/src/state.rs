//! Shared application state, cloned into every request.

use std::sync::{Arc, atomic::AtomicU64};

use crate::{
    catalogue::Catalogue, config::Config, limits::Limits, mail::Mailer, metrics::Metrics,
    outbound::GuardedClient, payments::StripeGateway, services::signals::Signals,
    shutdown::Shutdown, signing::PackSigner,
};

#[derive(Clone)]
pub struct AppState {
    /// The connection pool (PostgreSQL or SQLite).
    pub db: crate::connection::Db,
    /// The heavy reads that need not see the caller's own latest write
    /// (reports, exports, the audit trail and its verification): the pool
    /// of the replica at `DATABASE_READ_URL`, or `db` itself when unset.
    /// Nothing that writes, runs in a transaction, follows a write in the
    /// same request or decides who may read uses it: a replica lags.
    pub reads: crate::connection::Db,
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
    /// Where operators call back: `PUBLIC_URL`, or the address listened on.
    pub public_url: String,
    /// Names this server's worker in the jobs it claims.
    pub worker_id: String,
    /// The one door for outbound HTTP (provisioners, webhook endpoints):
    /// refuses private and special addresses, follows no redirect.
    pub http: GuardedClient,
    /// Wake-ups for the worker and live subscriptions.
    pub signals: Signals,
    /// What one caller may cost: hashing slots, attempts per address,
    /// WebSocket connections.
    pub limits: Arc<Limits>,
    /// Where email goes: SMTP, or a folder of files.
    pub mailer: Arc<Mailer>,
    /// The frontend that links in emails open: `APP_URL`, or `public_url`.
    pub app_url: String,
    /// Triggered on SIGTERM: the worker stops claiming, WebSockets close.
    pub shutdown: Shutdown,
    /// The platform's key that signs audit packs (`PACK_SIGNING_KEY`).
    pub pack_signer: Arc<PackSigner>,
    /// What this server counts for `/metrics` (its own registry).
    pub metrics: Metrics,
}
