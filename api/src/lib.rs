//! The GraphQL backend for one-click co-op pools.
//!
//! `startup::Application` builds the server; `graphql::sdl()` prints the
//! schema; everything else is reached through the router.

// The business rules live in the `service` crate; its modules keep their
// paths here, so the transport code names them as before.
pub use service::{
    auth, catalogue, config, connection, domain, error, limits, mail, metrics, outbound, payments,
    services, shutdown, signing, state, trace_context,
};

pub mod db;
pub mod graphql;
pub mod request;
pub mod routes;
pub mod startup;
pub mod telemetry;
