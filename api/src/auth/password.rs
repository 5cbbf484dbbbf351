//! Password hashing with Argon2id (the argon2 crate's defaults: OWASP's
//! recommended m=19 MiB, t=2, p=1). Hashing runs off the async workers, in
//! one of a few slots ([`Limits::hashing_slot`]): each hash holds 19 MiB,
//! so unbounded concurrent sign-ins would exhaust memory.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{
    error::{AppError, AppResult},
    limits::Limits,
};

pub async fn hash(limits: &Limits, password: String) -> AppResult<String> {
    let slot = limits.hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Whether `password` matches `stored`. With `stored = None` (no such
/// account) a dummy hash is checked anyway, so both answers take as long and
/// response times do not reveal which emails have accounts.
pub async fn verify(limits: &Limits, password: String, stored: Option<String>) -> AppResult<bool> {
    let slot = limits.hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => (DUMMY_HASH.to_owned(), false),
        };
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(AppError::internal)?
}

/// Argon2id hash of a random string, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5Vt2P3fZ3K0YqGx9yQm7n4mC3O8Xb2kQv6r0Yd1cH4Q";

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
    async fn an_unknown_account_never_verifies() {
        assert!(
            !verify(&limits(), "anything at all".into(), None)
                .await
                .unwrap()
        );
    }
}
