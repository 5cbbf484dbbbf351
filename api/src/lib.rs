//! The GraphQL backend for one-click co-op pools.
//!
//! `startup::Application` builds the server; `graphql::sdl()` prints the
//! schema; everything else is reached through the router.

pub mod auth;
pub mod catalogue;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod limits;
pub mod outbound;
pub mod payments;
pub mod request;
pub mod routes;
pub mod services;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
