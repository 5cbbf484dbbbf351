use std::fmt;

use unicode_normalization::UnicodeNormalization;
use validator::ValidateEmail;

use crate::error::FieldError;

/// An email address, NFC-normalised, trimmed and lower-cased so that one
/// mailbox is one account whatever case (or Unicode form) it is typed in;
/// the length is checked on that stored form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

const MAX_LEN: usize = 320;

impl Email {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let normalised = raw.trim().nfc().collect::<String>().to_lowercase();
        if normalised.is_empty() {
            return Err(FieldError::new(path, "enter an email address"));
        }
        if normalised.chars().count() > MAX_LEN || !normalised.validate_email() {
            return Err(FieldError::new(
                path,
                format!("`{}` is not an email address", raw.trim()),
            ));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spaces_do_not_matter() {
        let a = Email::parse("  Ada@Example.ORG ", "input.email").unwrap();
        assert_eq!(a.as_str(), "ada@example.org");
        assert_eq!(a.local_part(), "ada");
    }

    #[test]
    fn nonsense_is_refused_with_its_path() {
        let e = Email::parse("not-an-email", "input.email").unwrap_err();
        assert_eq!(e.path, "input.email");
        assert!(Email::parse("", "input.email").is_err());
        assert!(Email::parse("a\0@example.org", "input.email").is_err());
        assert!(Email::parse("\u{200b}", "input.email").is_err());
    }
}
