use crate::error::FieldError;

use super::Email;

/// A password that meets the minimum strength rule: long enough, varied
/// enough, not a well-known one, and not the email's own name.
pub struct Password(String);

pub const MIN_LEN: usize = 10;
const MAX_LEN: usize = 256;
const MIN_DISTINCT_CHARS: usize = 5;

/// The most common passwords that pass the length rule.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "0987654321",
    "1q2w3e4r5t",
    "qwertyuiop",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "administrator",
    "qwerty12345",
    "abcdefghij",
    "football123",
    "cooperative",
    "co-operative",
];

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub fn parse(raw: &str, email: Option<&Email>, path: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        let fail = |m: &str| Err(FieldError::new(path, m));
        if len < MIN_LEN {
            return fail("must be at least 10 characters long");
        }
        if len > MAX_LEN {
            return fail("must be at most 256 characters long");
        }
        let mut distinct: Vec<char> = raw.to_lowercase().chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < MIN_DISTINCT_CHARS {
            return fail("uses too few different characters; mix in more");
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return fail("is one of the most common passwords; choose another");
        }
        if let Some(email) = email {
            let local = email.local_part();
            if local.chars().count() >= 4 && lower.contains(local) {
                return fail("must not contain your email address");
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<Password, FieldError> {
        let email = Email::parse("grace.hopper@example.org", "input.email").unwrap();
        Password::parse(p, Some(&email), "input.password")
    }

    #[test]
    fn strong_passwords_pass() {
        assert!(check("correct horse battery").is_ok());
    }

    #[test]
    fn weak_passwords_fail_with_a_reason() {
        assert!(
            check("short")
                .unwrap_err()
                .message
                .contains("10 characters")
        );
        assert!(
            check("aaaaaaaaaaaa")
                .unwrap_err()
                .message
                .contains("different")
        );
        assert!(check("Password123").unwrap_err().message.contains("common"));
        assert!(
            check("grace.hopper!!")
                .unwrap_err()
                .message
                .contains("email")
        );
    }
}
