//! The business rules of one-click co-op pools, below any transport: the
//! services (formations, pools, membership, governance, contributions,
//! audit, events) and what they stand on (settings, errors, domain types,
//! the catalogue, authorization, payments, the guarded outbound client,
//! the shared state). The `api` crate puts GraphQL and HTTP on top, so a
//! change there does not recompile these.

pub mod auth;
pub mod catalogue;
pub mod config;
pub mod connection;
pub mod domain;
pub mod error;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod payments;
pub mod services;
pub mod shutdown;
pub mod signing;
pub mod state;
pub mod trace_context;
