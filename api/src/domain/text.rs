use crate::error::FieldError;

/// Free text, trimmed, with inner runs of white space folded, between `MIN`
/// and `MAX` characters and free of control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let folded = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = folded.chars().count();
        if len < MIN {
            return Err(FieldError::new(
                path,
                if MIN <= 1 {
                    "must not be empty".to_owned()
                } else {
                    format!("must be at least {MIN} characters long")
                },
            ));
        }
        if len > MAX {
            return Err(FieldError::new(
                path,
                format!("must be at most {MAX} characters long"),
            ));
        }
        if folded.chars().any(char::is_control) {
            return Err(FieldError::new(path, "must not contain control characters"));
        }
        Ok(Self(folded))
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_uppercase();
        match isocountry::CountryCode::for_alpha2(&code) {
            Ok(_) => Ok(Self(code)),
            Err(_) => Err(FieldError::new(
                path,
                format!(
                    "`{}` is not an ISO 3166-1 alpha-2 country code (such as DE, ES or GB)",
                    raw.trim()
                ),
            )),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        let t = BoundedText::<2, 10>::parse("  Co  op  ", "input.name").unwrap();
        assert_eq!(t.into_inner(), "Co op");
        assert!(BoundedText::<2, 10>::parse(" a ", "input.name").is_err());
        assert!(BoundedText::<2, 10>::parse("abcdefghijk", "input.name").is_err());
    }

    #[test]
    fn jurisdictions_are_iso_codes() {
        assert_eq!(Jurisdiction::parse("de", "j").unwrap().into_inner(), "DE");
        assert!(Jurisdiction::parse("XX", "j").is_err());
        assert!(Jurisdiction::parse("Germany", "j").is_err());
    }
}

/// A registration number as registers compare it: letters and digits only,
/// lower case, so `DE-123 456` and `de123456` are one number.
pub fn registration_key(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod registration_key_tests {
    use super::registration_key;

    #[test]
    fn case_spaces_and_punctuation_do_not_count() {
        assert_eq!(registration_key(" HRB 12.345/b "), "hrb12345b");
        assert_eq!(
            registration_key("0896.755.397"),
            registration_key("0896 755 397")
        );
    }
}
