//! Relay connections built from service pages.

use async_graphql::{
    Lookahead, OutputType,
    connection::{Connection, Edge},
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    services::pagination::{Page, encode_cursor},
};

pub type Conn<N> = Connection<String, N>;

/// Whether the selection of a connection asks its nodes for `field`,
/// through `edges { node }` or `nodes`: what a page primes its loaders by.
pub fn nodes_select(connection: Lookahead<'_>, field: &str) -> bool {
    connection
        .field("edges")
        .field("node")
        .field(field)
        .exists()
        || connection.field("nodes").field(field).exists()
}

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

/// A connection over a list held in memory (the catalogue), keyed by a
/// string id; the same arguments and limits as database lists.
pub fn in_memory<T, N: OutputType>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    node: impl Fn(T) -> N,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> AppResult<Conn<N>> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let encode = |k: &str| URL_SAFE_NO_PAD.encode(k);
    let decode = |c: &str, path: &str| {
        URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| AppError::invalid(path, "is not a cursor from this list"))
    };
    // Reuse the argument rules of database lists (sizes, first xor last).
    crate::services::pagination::PageRequest::parse(first, None, last, None)?;
    let mut start = 0;
    let mut end = items.len();
    if let Some(after) = after {
        let k = decode(&after, "after")?;
        start = items
            .iter()
            .position(|i| key(i) == k)
            .map_or(end, |p| p + 1);
    }
    if let Some(before) = before {
        let k = decode(&before, "before")?;
        end = items
            .iter()
            .position(|i| key(i) == k)
            .unwrap_or(end)
            .max(start);
    }
    let size = first.or(last).unwrap_or(20) as usize;
    let (from, to) = if last.is_some() {
        (end.saturating_sub(size).max(start), end)
    } else {
        (start, (start + size).min(end))
    };
    let mut conn = Connection::new(from > 0, to < items.len());
    conn.edges.extend(
        items
            .into_iter()
            .skip(from)
            .take(to - from)
            .map(|item| Edge::new(encode(key(&item)), node(item))),
    );
    Ok(conn)
}
