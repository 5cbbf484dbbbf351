//! Bearer-token secrets: generated at random, stored only as a keyed hash.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::random_secret;

/// Prefix of sign-in session tokens.
pub const SESSION_PREFIX: &str = "pst_";
/// Prefix of integrators' API tokens; the prefix lets secret scanners spot them.
pub const API_PREFIX: &str = "pat_";

/// A new token with the given prefix and 256 bits of randomness.
pub fn new_token(prefix: &str) -> String {
    format!("{prefix}{}", random_secret(32))
}

/// A token that can be made again from the row it belongs to: the keyed
/// hash of `purpose` and `id` under the server's secret. Messages are sent
/// by jobs that may run more than once; deriving the token lets each run
/// put the same link in the message without the job's payload holding the
/// secret. Only [`hash_token`] of it is stored, as for random tokens.
pub fn derived(secret: &str, prefix: &str, purpose: &str, id: uuid::Uuid) -> String {
    use base64::Engine;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(b"derived-token\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// HMAC-SHA256 of the token under the server's secret, hex-encoded. A leaked
/// database alone does not let anyone forge or replay a token.
pub fn hash_token(secret: &str, token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_prefixed() {
        let a = new_token(SESSION_PREFIX);
        let b = new_token(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("pst_"));
        assert_eq!(a.len(), 4 + 43);
    }

    #[test]
    fn derived_tokens_are_stable_and_differ_by_purpose_id_and_secret() {
        let id = uuid::Uuid::now_v7();
        let a = derived("k1", "pct_", "confirm", id);
        assert_eq!(a, derived("k1", "pct_", "confirm", id));
        assert_ne!(a, derived("k1", "pct_", "reset", id));
        assert_ne!(a, derived("k2", "pct_", "confirm", id));
        assert_ne!(a, derived("k1", "pct_", "confirm", uuid::Uuid::now_v7()));
        assert!(a.starts_with("pct_"));
        assert_eq!(a.len(), 4 + 43);
    }

    #[test]
    fn hashes_depend_on_the_secret() {
        let t = "pst_abc";
        assert_eq!(hash_token("k1", t), hash_token("k1", t));
        assert_ne!(hash_token("k1", t), hash_token("k2", t));
        assert_eq!(hash_token("k1", t).len(), 64);
    }
}
