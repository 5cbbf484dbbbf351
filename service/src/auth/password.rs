//! Password hashing with Argon2id (the argon2 crate's defaults: OWASP's
//! recommended m=19 MiB, t=2, p=1). Hashing runs off the async workers, on
//! one of a few hashing threads ([`Limits::hash`]): each hash holds 19 MiB,
//! so unbounded concurrent sign-ins would exhaust memory.

use std::cell::RefCell;

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, Salt},
};

use crate::{
    error::{AppError, AppResult},
    limits::Limits,
};

/// The largest memory cost a stored hash may ask for (64 MiB); ours use 19.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// Argon2's working memory, kept by each hashing thread and reused:
    /// allocating 19 MiB per hash leaves the allocator holding far more
    /// than the hashes running at once ever need.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn failed(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("{what}: {e}"))
}

/// Argon2 of `password` with `salt` into `out`, in this thread's memory.
fn compute(params: Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> AppResult<()> {
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return Err(failed("stored hash", "memory cost above the limit"));
    }
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|e| failed("hashing a password", e))
    })
}

pub async fn hash(limits: &Limits, password: String) -> AppResult<String> {
    limits
        .hash(move || {
            let salt = Salt::generate();
            let params = Params::default();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(params.clone(), password.as_bytes(), &salt, &mut out)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: (&params).try_into().map_err(|e| failed("params", e))?,
                salt: Some(salt),
                hash: Some(Output::new(&out).map_err(|e| failed("output", e))?),
            };
            Ok(phc.to_string())
        })
        .await?
}

/// Whether `password` matches `stored`. With `stored = None` (no such
/// account) a dummy hash is checked anyway, so both answers take as long and
/// response times do not reveal which emails have accounts.
pub async fn verify(limits: &Limits, password: String, stored: Option<String>) -> AppResult<bool> {
    limits
        .hash(move || {
            let (phc, real) = match stored {
                Some(phc) => (phc, true),
                None => (DUMMY_HASH.to_owned(), false),
            };
            let parsed =
                PasswordHash::new(&phc).map_err(|e| failed("stored hash unreadable", e))?;
            let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
                return Err(failed("stored hash", "no salt or output"));
            };
            if !matches!(Algorithm::new(parsed.algorithm), Ok(Algorithm::Argon2id)) {
                return Err(failed("stored hash", "not Argon2id"));
            }
            let params = Params::try_from(&parsed).map_err(|e| failed("stored params", e))?;
            let mut out = vec![0u8; expected.len()];
            compute(params, password.as_bytes(), &salt, &mut out)?;
            // Output compares in constant time.
            let ok = Output::new(&out).is_ok_and(|computed| computed == expected);
            Ok(ok && real)
        })
        .await?
}

/// Argon2id hash of a random string, with the default parameters.
/// Also what a deleted account keeps in place of its hash: no password
/// anyone knows matches it.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5Vt2P3fZ3K0YqGx9yQm7n4mC3O8Xb2kQv6r0Yd1cH4Q";

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        let config = crate::config::Config::from_lookup(|k| {
            (k == "AUTH_SECRET").then(|| "0123456789abcdef0123456789abcdef".to_owned())
        })
        .unwrap();
        Limits::new(&config)
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let limits = limits();
        let h = hash(&limits, "correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify(&limits, "correct horse battery".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify(&limits, "wrong horse battery".into(), Some(h))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_defaults_still_verify() {
        use argon2::PasswordHasher;
        let old: PasswordHash = Argon2::default()
            .hash_password(b"an older passphrase")
            .unwrap();
        let old = old.to_string();
        let limits = limits();
        assert!(
            verify(&limits, "an older passphrase".into(), Some(old.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(&limits, "wrong".into(), Some(old)).await.unwrap());
        // And ours verify with the crate's own verifier.
        use argon2::PasswordVerifier;
        let ours = hash(&limits, "a passphrase of ours".into()).await.unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a passphrase of ours", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
    }

    /// A reference-implementation vector (argon2 crate 0.5's known answers):
    /// hashes stored before the upgrade to argon2 0.6 keep verifying.
    #[tokio::test]
    async fn a_reference_hash_verifies() {
        let stored =
            "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
        let limits = limits();
        assert!(
            verify(&limits, "password".into(), Some(stored.into()))
                .await
                .unwrap()
        );
        assert!(
            !verify(&limits, "passw0rd".into(), Some(stored.into()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(
            !verify(&limits(), "anything at all".into(), None)
                .await
                .unwrap()
        );
    }
}
