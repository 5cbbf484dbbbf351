//! Parsed queries kept between requests, keyed by their text: clients send
//! the same few queries over and over, and parsing is a good part of a small
//! request's cost. Validation still runs for every request, since its rules
//! read the request's variables (the complexity of `first: $n`).

use std::{num::NonZeroUsize, sync::Arc};

use async_graphql::{Request, parser::types::ExecutableDocument};
use lru::LruCache;
use std::sync::Mutex;

/// Queries kept at most.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(512).unwrap();
/// Longer queries are parsed each time: with both bounds, a client sending
/// a stream of distinct queries can hold at most 512 × 8 KiB of text (and
/// its parsed form) and only pushes others out.
const MAX_QUERY_BYTES: usize = 8 * 1024;

#[derive(Clone)]
pub struct Documents(Arc<Mutex<LruCache<String, ExecutableDocument>>>);

impl Default for Documents {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(CAPACITY))))
    }
}

impl Documents {
    /// Gives `request` its parsed query: the one kept for its text, or the
    /// one parsed now, which is kept if it parsed and is short enough. A
    /// query that does not parse is left for the schema to report.
    pub fn parse(&self, request: &mut Request) {
        if request.query.len() > MAX_QUERY_BYTES {
            return;
        }
        let kept = self.lock().get(&request.query).cloned();
        if let Some(document) = kept {
            request.set_parsed_query(document);
            return;
        }
        if let Ok(document) = request.parsed_query() {
            let document = document.clone();
            self.lock().put(request.query.clone(), document);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, ExecutableDocument>> {
        // A panic while holding the lock cannot leave the map half-changed
        // in a way that matters: every entry is a complete parse.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_query_is_the_same_document() {
        let documents = Documents::default();
        let query = "query Q($id: ID!) { pool(id: $id) { name members(first: 2) { edges { node { id } } } } }";
        let mut first = Request::new(query);
        documents.parse(&mut first);
        let mut second = Request::new(query);
        documents.parse(&mut second);
        let parsed = async_graphql::parser::parse_query(query).unwrap();
        assert_eq!(
            format!("{:?}", second.parsed_query().unwrap()),
            format!("{parsed:?}")
        );
        assert_eq!(documents.lock().len(), 1);
    }

    #[test]
    fn broken_and_long_queries_are_not_kept() {
        let documents = Documents::default();
        documents.parse(&mut Request::new("{ pool(id: "));
        let long = format!("{{ me {{ id }} }}{}", " ".repeat(MAX_QUERY_BYTES));
        documents.parse(&mut Request::new(long));
        assert_eq!(documents.lock().len(), 0);
    }

    #[test]
    fn it_holds_at_most_its_capacity() {
        let documents = Documents::default();
        for n in 0..CAPACITY.get() + 10 {
            documents.parse(&mut Request::new(format!("{{ me {{ id }} }} # {n}")));
        }
        assert_eq!(documents.lock().len(), CAPACITY.get());
    }
}
