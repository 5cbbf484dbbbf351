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

/// The roots and what every schema shares.
fn base_builder() -> SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot).disable_suggestions()
}

/// The limits and codes of the library's own errors, enforced by
/// [`codes::ErrorCodes`] so that going over a limit is told apart from
/// other invalid queries without reading messages.
fn coded_errors(execution: codes::Execution) -> codes::ErrorCodes {
    codes::ErrorCodes {
        max_depth: MAX_DEPTH,
        max_complexity: MAX_COMPLEXITY,
        execution,
    }
}

/// The schema served over HTTP, with the application state every resolver
/// reads. It has no extension at all: with one, async-graphql puts every
/// field of every answer through the extension chain (a boxed future and
/// two registry lookups per field). The library enforces the same limits;
/// a request it refuses before running is asked again of the
/// [`build_diagnosis_schema`] for its codes, and errors from parsing
/// arguments are coded after execution (`codes::code_argument_errors`).
/// Introspection is off when `GRAPHQL_INTROSPECTION` says so (production's
/// default): a public server need not hand out its whole schema.
pub fn build_schema(state: AppState) -> AppSchema {
    let builder = base_builder()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    finish(builder, state)
}

/// The same schema with the coding extension, which never runs an
/// operation: it tells why [`build_schema`] refused a request (a parse or
/// validation error, or which limit and by how much).
pub fn build_diagnosis_schema(state: AppState) -> AppSchema {
    finish(
        base_builder().extension(coded_errors(codes::Execution::Refused)),
        state,
    )
}

/// The same schema for WebSockets, which refuse mutations and code errors
/// as they arise: a subscription's events have no request to ask again.
pub fn build_socket_schema(state: AppState) -> AppSchema {
    let execution = codes::Execution::Runs {
        panic_operation: state.config.test_panic_operation.clone(),
    };
    let builder = base_builder()
        .extension(coded_errors(execution))
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
    base_builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
