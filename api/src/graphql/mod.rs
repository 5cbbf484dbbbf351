//! The GraphQL schema: roots merged from one object per domain, limits, and
//! the per-request context helpers that resolvers use.

pub mod accept;
pub mod codes;
pub mod connection;
pub mod context;
pub mod denials;
pub mod documents;
pub mod graphiql;
pub mod http;
pub mod ids;
pub mod loaders;
pub mod metrics;
pub mod mutation;
pub mod persisted;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;
pub mod ws;

use async_graphql::{SDLExportOptions, Schema, SchemaBuilder};

use crate::state::AppState;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::SubscriptionRoot;

pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Deepest selection accepted. Introspection's own deepest query
/// (`ofType` chains) fits.
pub const MAX_DEPTH: usize = 15;
/// Complexity budget: each field costs 1, a list field multiplies its
/// children by the page size asked for. One page of the largest size (100)
/// of any list, with every field of its rows and of the objects they link
/// to, costs under 12,000; a page of pages at that size costs over 30,000
/// even with one field per row. A test asks every list for a full page.
pub const MAX_COMPLEXITY: usize = 20_000;
/// Most operations accepted in one batched HTTP request.
pub const MAX_BATCH: usize = 10;

/// The limits are enforced by [`codes::ErrorCodes`], not by the library,
/// so that going over one is told apart from other invalid queries without
/// reading messages.
fn schema_builder(
    panic_operation: Option<String>,
) -> SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
        .disable_suggestions()
        .extension(codes::ErrorCodes {
            max_depth: MAX_DEPTH,
            max_complexity: MAX_COMPLEXITY,
            panic_operation,
        })
}

/// The schema served over HTTP, with the application state every resolver
/// reads. Its only extension has no per-field hook: with one, every field
/// of every answer would go through it (argument errors are coded after
/// execution instead, `codes::code_argument_errors`). Introspection is off
/// when `GRAPHQL_INTROSPECTION` says so (production's default): a public
/// server need not hand out its whole schema.
pub fn build_schema(state: AppState) -> AppSchema {
    finish(
        schema_builder(state.config.test_panic_operation.clone()),
        state,
    )
}

/// The same schema for WebSockets, which refuse mutations and code argument
/// errors as they arise.
pub fn build_socket_schema(state: AppState) -> AppSchema {
    let builder = schema_builder(state.config.test_panic_operation.clone())
        .extension(ws::WebSocketErrorCodes)
        .extension(codes::ArgumentErrorCodes);
    finish(builder, state)
}

fn finish(builder: SchemaBuilder<Query, Mutation, SubscriptionRoot>, state: AppState) -> AppSchema {
    let builder = if state.config.introspection {
        builder
    } else {
        builder.disable_introspection()
    };
    builder.data(state).finish()
}

/// The schema's SDL, as committed in `schema.graphql`, with each custom
/// scalar's `@specifiedBy` (which async-graphql leaves out by default).
pub fn sdl() -> String {
    schema_builder(None)
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
