//! Automatic persisted queries, as Apollo's clients speak them: a request
//! names its query by `extensions.persistedQuery = {version: 1, sha256Hash}`
//! and leaves the query out; until the server knows that hash it answers
//! `PersistedQueryNotFound`, and the client sends the query with its hash.
//!
//! Resolved in `http` before anything reads the query (its operation type,
//! the mutations it calls), so a request by hash is handled exactly as the
//! same request with its text. async-graphql's own extension is not used:
//! it resolves the hash during execution, after that reading, and its store
//! keeps parsed documents bounded in number only.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

use crate::{error::code, graphql::codes::coded};

/// What Apollo's link looks for to send the query.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
/// The message Apollo's servers give, which clients may match on.
pub const MISMATCH_MESSAGE: &str = "provided sha does not match query";

/// The queries registered by hash: bounded in number (the least recently
/// used go first) and in the length of each.
pub struct PersistedQueries {
    queries: Mutex<lru::LruCache<String, Arc<str>>>,
    max_query_bytes: usize,
}

impl PersistedQueries {
    pub fn new(max_queries: usize, max_query_bytes: usize) -> Self {
        Self {
            queries: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(max_queries).unwrap_or(NonZeroUsize::MIN),
            )),
            max_query_bytes,
        }
    }

    /// Fills in the query of a request by hash, or registers the query of
    /// a request that sends both; a request without the extension passes
    /// as it is. The error is the whole answer to this operation.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let hash = requested_hash(&extension)?;
        if request.query.is_empty() {
            let known = self.lock().get(&hash).cloned();
            let query =
                known.ok_or_else(|| coded(NOT_FOUND_MESSAGE, code::PERSISTED_QUERY_NOT_FOUND))?;
            request.query = query.to_string();
            return Ok(());
        }
        if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
            return Err(coded(MISMATCH_MESSAGE, code::BAD_REQUEST));
        }
        // A longer query runs all the same; it is only not kept.
        if request.query.len() <= self.max_query_bytes {
            self.lock().put(hash, Arc::from(request.query.as_str()));
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, Arc<str>>> {
        // The cache holds no invariant a panic elsewhere could break.
        self.queries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The hash of `{"version": 1, "sha256Hash": "<64 hex digits>"}`, in
/// lower case.
fn requested_hash(extension: &Value) -> Result<String, ServerError> {
    let malformed = || {
        coded(
            "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"<the SHA-256 of the query in hex>\"}",
            code::BAD_REQUEST,
        )
    };
    let Value::Object(fields) = extension else {
        return Err(malformed());
    };
    if fields.get("version") != Some(&Value::from(1)) {
        return Err(coded(
            "only version 1 of `extensions.persistedQuery` is supported",
            code::BAD_REQUEST,
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "{ __typename }";

    fn hash_of(query: &str) -> String {
        hex::encode(Sha256::digest(query.as_bytes()))
    }

    fn request(query: &str, extension: serde_json::Value) -> Request {
        serde_json::from_value(serde_json::json!({
            "query": query,
            "extensions": { "persistedQuery": extension },
        }))
        .unwrap()
    }

    fn code_of(err: &ServerError) -> Value {
        err.extensions
            .as_ref()
            .unwrap()
            .get("code")
            .unwrap()
            .clone()
    }

    #[test]
    fn a_hash_is_unknown_until_its_query_is_sent() {
        let store = PersistedQueries::new(10, 1024);
        let by_hash = serde_json::json!({ "version": 1, "sha256Hash": hash_of(QUERY) });
        let err = store
            .resolve(&mut request("", by_hash.clone()))
            .unwrap_err();
        assert_eq!(err.message, NOT_FOUND_MESSAGE);
        assert_eq!(code_of(&err), Value::from("PERSISTED_QUERY_NOT_FOUND"));

        let mut full = request(QUERY, by_hash.clone());
        store.resolve(&mut full).unwrap();
        assert_eq!(full.query, QUERY);
        assert!(full.extensions.get("persistedQuery").is_none());

        let mut again = request("", by_hash);
        store.resolve(&mut again).unwrap();
        assert_eq!(again.query, QUERY);
    }

    #[test]
    fn wrong_hashes_and_versions_are_bad_requests() {
        let store = PersistedQueries::new(10, 1024);
        let wrong = serde_json::json!({ "version": 1, "sha256Hash": hash_of("{ me { id } }") });
        let err = store.resolve(&mut request(QUERY, wrong)).unwrap_err();
        assert_eq!(err.message, MISMATCH_MESSAGE);
        assert_eq!(code_of(&err), Value::from("BAD_REQUEST"));
        for bad in [
            serde_json::json!({ "version": 2, "sha256Hash": hash_of(QUERY) }),
            serde_json::json!({ "sha256Hash": hash_of(QUERY) }),
            serde_json::json!({ "version": 1, "sha256Hash": "abc" }),
            serde_json::json!({ "version": 1 }),
            serde_json::json!("yes"),
        ] {
            let err = store.resolve(&mut request(QUERY, bad.clone())).unwrap_err();
            assert_eq!(code_of(&err), Value::from("BAD_REQUEST"), "{bad}");
        }
        // Upper-case hex names the same query.
        let upper =
            serde_json::json!({ "version": 1, "sha256Hash": hash_of(QUERY).to_uppercase() });
        store.resolve(&mut request(QUERY, upper)).unwrap();
    }

    #[test]
    fn the_store_is_bounded_in_number_and_length() {
        let store = PersistedQueries::new(2, 20);
        let by_hash = |q: &str| serde_json::json!({ "version": 1, "sha256Hash": hash_of(q) });
        for q in ["{ a }", "{ b }", "{ c }"] {
            store.resolve(&mut request(q, by_hash(q))).unwrap();
        }
        assert!(store.resolve(&mut request("", by_hash("{ a }"))).is_err());
        assert!(store.resolve(&mut request("", by_hash("{ c }"))).is_ok());
        let long = format!("{{ {} }}", "x".repeat(30));
        store.resolve(&mut request(&long, by_hash(&long))).unwrap();
        assert!(store.resolve(&mut request("", by_hash(&long))).is_err());
    }
}
