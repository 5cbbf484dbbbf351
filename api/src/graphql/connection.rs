//! Relay connections built from service pages.

use async_graphql::{
    ID, OutputType,
    connection::{Connection, Edge},
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    services::pagination::{Page, encode_cursor},
};

pub type Conn<N> = Connection<String, N>;

/// Wraps a page as a connection: `id` gives each row's cursor, `node` its
/// GraphQL type.
pub fn connection<T, N: OutputType>(
    page: Page<T>,
    id: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Conn<N> {
    let mut conn = Connection::new(page.has_previous_page, page.has_next_page);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(encode_cursor(id(&item)), node(item))),
    );
    conn
}

/// Complexity of a connection field: its children, once per row asked for.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let rows = first.or(last).unwrap_or(20).clamp(1, 100) as usize;
    rows.saturating_mul(child).saturating_add(1)
}

/// Parses a GraphQL `ID` argument holding a UUID.
pub fn parse_id(id: &ID, path: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::invalid(path, "is not an id from this API"))
}
