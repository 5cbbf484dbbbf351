//! Integration tests: each starts the real server on a free port against a
//! fresh database and talks HTTP to it. Every test runs on SQLite and on
//! PostgreSQL at `TEST_POSTGRES_URL` (the test command sets it); without it
//! the PostgreSQL half fails, unless `SKIP_POSTGRES=1` (see `databases.rs`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test that meets the unexpected should stop there and show it"
)]

#[macro_use]
mod helpers;

mod abuse;
mod accounts;
mod accounts_mail;
mod api_tokens;
mod architecture;
mod audit;
mod audit_books;
mod audit_pack;
mod auditors;
mod browsers;
mod cluster;
mod commons;
mod commons_fund;
mod complexity;
mod contributions;
mod databases;
mod dissolution;
mod erasure;
mod events;
mod faults;
mod formations;
mod http;
mod input;
mod life_packs;
mod links;
mod media_types;
mod metrics;
mod migrations;
mod moves;
mod nodes;
mod outbound;
mod parent_entities;
mod payloads;
mod payments;
mod persisted;
mod pooler;
mod pools;
mod provisioning_callbacks;
mod races;
mod reconciliation;
mod replica;
mod rules;
mod sanctions;
mod schema;
mod spin_out;
mod standing;
mod stripe_proxy;
mod stub;
mod traces;
mod viewer;
mod visibility;
mod work_contributions;
