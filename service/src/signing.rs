//! The platform's Ed25519 key, which signs audit packs so that anyone can
//! check offline that a pack came from this platform as it is.
//!
//! The signature is a detached one: Ed25519 (RFC 8032) over the exact bytes
//! of the pack's response body, sent beside it in the `Pools-Pack-Signature`
//! header (standard base64 of the 64 signature bytes), with the key's id in
//! `Pools-Pack-Key-Id`. The public key is served at
//! `/.well-known/pools-pack-key`. A key's id is the first 16 hex digits of
//! the SHA-256 of its 32 public key bytes.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where the public key is served.
pub const PUBLIC_KEY_PATH: &str = "/.well-known/pools-pack-key";

/// The response header carrying a pack's signature.
pub const SIGNATURE_HEADER: &str = "pools-pack-signature";

/// The response header naming the key that made it.
pub const KEY_ID_HEADER: &str = "pools-pack-key-id";

/// The 32-byte seed of an Ed25519 key (`PACK_SIGNING_KEY`); never printed.
#[derive(Clone)]
pub struct SigningSeed([u8; 32]);

impl SigningSeed {
    /// From the setting's text: standard base64 of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "must be standard base64 (`openssl rand -base64 32` makes one)")?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be the base64 of exactly 32 bytes")?;
        Ok(Self(seed))
    }

    /// A fresh random seed.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Whether it could have come from a random generator: a seed of 32
    /// random bytes has fewer than 16 different ones with a chance far
    /// below one in a trillion.
    pub fn looks_random(&self) -> bool {
        self.0
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            >= 16
    }
}

impl fmt::Debug for SigningSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSeed(***)")
    }
}

/// Signs audit packs.
pub struct PackSigner {
    key: SigningKey,
    key_id: String,
}

impl PackSigner {
    pub fn new(seed: &SigningSeed) -> Self {
        let key = SigningKey::from_bytes(&seed.0);
        let key_id = hex::encode(Sha256::digest(key.verifying_key().as_bytes()))[..16].to_owned();
        Self { key, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 32 public key bytes, in standard base64.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    /// What `/.well-known/pools-pack-key` serves.
    pub fn public_key_document(&self) -> Value {
        json!({
            "algorithm": "Ed25519",
            "keyId": self.key_id,
            "publicKey": self.public_key(),
        })
    }

    /// The signature of `bytes`, in standard base64.
    pub fn sign(&self, bytes: &[u8]) -> String {
        STANDARD.encode(self.key.sign(bytes).to_bytes())
    }
}

impl fmt::Debug for PackSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    #[test]
    fn seeds_are_32_bytes_of_standard_base64() {
        let text = STANDARD.encode([7u8; 32]);
        assert!(SigningSeed::parse(&format!(" {text}\n")).is_ok());
        assert!(SigningSeed::parse(&STANDARD.encode([7u8; 31])).is_err());
        assert!(SigningSeed::parse("not base64!").is_err());
        assert!(!SigningSeed::parse(&text).unwrap().looks_random());
        assert!(SigningSeed::generate().looks_random());
        assert_eq!(format!("{:?}", SigningSeed::generate()), "SigningSeed(***)");
    }

    #[test]
    fn signatures_verify_with_the_published_key_and_only_for_the_same_bytes() {
        let signer = PackSigner::new(&SigningSeed::generate());
        let public: [u8; 32] = STANDARD
            .decode(signer.public_key())
            .unwrap()
            .try_into()
            .unwrap();
        let key = VerifyingKey::from_bytes(&public).unwrap();
        let body = br#"{"format":"pools-audit-pack/2"}"#;
        let signature: [u8; 64] = STANDARD
            .decode(signer.sign(body))
            .unwrap()
            .try_into()
            .unwrap();
        let signature = Signature::from_bytes(&signature);
        assert!(key.verify(body, &signature).is_ok());
        assert!(
            key.verify(b"{\"format\":\"pools-audit-pack/3\"}", &signature)
                .is_err()
        );
        assert_eq!(signer.key_id().len(), 16);
        assert_eq!(signer.key_id(), &hex::encode(Sha256::digest(public))[..16]);
    }

    #[test]
    fn rfc_8032_test_vector_1() {
        // RFC 8032, section 7.1, TEST 1: the empty message.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let signer = PackSigner::new(&SigningSeed(seed));
        assert_eq!(
            hex::encode(STANDARD.decode(signer.public_key()).unwrap()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(STANDARD.decode(signer.sign(b"")).unwrap()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
