//! Verifying Stripe's webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>`
//! where v1 is HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint secret.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How old a signed event may be before it is refused as a replay.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No header, or one that is not `t=…,v1=…`.
    Malformed,
    /// No `v1` matches the body.
    Mismatch,
    /// Signed too long ago (or too far in the future).
    Stale,
}

impl SignatureError {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Malformed => "the Stripe-Signature header is missing or malformed",
            Self::Mismatch => "the Stripe-Signature does not match the body",
            Self::Stale => "the Stripe-Signature timestamp is outside the 5-minute tolerance",
        }
    }
}

/// Checks `header` against `body` at time `now` (unix seconds); the
/// signed timestamp.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Constant-time comparison through the MAC's own verify.
    let matches = signatures.iter().any(|s| {
        hex::decode(s).is_ok_and(|bytes| {
            let mut mac = mac(secret);
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&bytes).is_ok()
        })
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(timestamp)
}

/// The `v1` signature for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn mac(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn header(t: i64) -> String {
        format!("t={t},v1={}", sign(SECRET, t, BODY))
    }

    #[test]
    fn a_fresh_correct_signature_passes() {
        assert_eq!(verify(SECRET, Some(&header(1_000)), BODY, 1_100), Ok(1_000));
    }

    #[test]
    fn tampering_staleness_and_garbage_fail() {
        assert_eq!(
            verify(SECRET, Some(&header(1_000)), b"{}", 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", Some(&header(1_000)), BODY, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&header(1_000)), BODY, 1_000 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, None, BODY, 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abc"), BODY, 0),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let h = format!("t=5,v1=deadbeef,v1={}", sign(SECRET, 5, BODY));
        assert_eq!(verify(SECRET, Some(&h), BODY, 5), Ok(5));
    }
}
