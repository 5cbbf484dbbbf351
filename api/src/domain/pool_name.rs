use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::error::FieldError;

/// A pool's name: trimmed, white space folded, 3 to 80 characters of
/// letters, digits, spaces and a little punctuation, with at least one letter.
/// Its `key` folds case, accents and punctuation away, so "Café Coop" and
/// "cafe-coop" are one name; its `slug` is the URL form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolName {
    display: String,
    key: String,
    slug: String,
}

const MIN_LEN: usize = 3;
const MAX_LEN: usize = 80;
const PUNCTUATION: &[char] = &['-', '&', '\'', '.', ',', '(', ')', '!', '’'];

/// Names that would mislead (or collide with routes and roles).
const RESERVED: &[&str] = &[
    "admin",
    "administrator",
    "api",
    "auditor",
    "graphql",
    "help",
    "moderator",
    "null",
    "official",
    "parent",
    "pool",
    "pools",
    "root",
    "security",
    "settings",
    "staff",
    "steward",
    "support",
    "system",
    "undefined",
    "www",
];

impl PoolName {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let display = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = display.chars().count();
        let fail = |m: String| Err(FieldError::new(path, m));
        if len < MIN_LEN {
            return fail(format!("must be at least {MIN_LEN} characters long"));
        }
        if len > MAX_LEN {
            return fail(format!("must be at most {MAX_LEN} characters long"));
        }
        if let Some(bad) = display
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == ' ' || PUNCTUATION.contains(c)))
        {
            return fail(format!(
                "may hold letters, digits, spaces and - & ' . , ( ) ! only, not `{bad}`"
            ));
        }
        if !display.chars().any(char::is_alphabetic) {
            return fail("must contain at least one letter".into());
        }
        let key = name_key(&display);
        if RESERVED.contains(&key.as_str()) {
            return fail(format!("`{display}` is reserved; choose another name"));
        }
        let slug = slugify(&display, &key);
        Ok(Self { display, key, slug })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn slug(&self) -> &str {
        &self.slug
    }
}

/// Lower case, accents stripped, letters and digits only.
fn name_key(name: &str) -> String {
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// ASCII letters and digits joined by single hyphens, at most 60 long.
fn slugify(name: &str, key: &str) -> String {
    let mut slug = String::new();
    for c in name
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(60).collect();
    slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        // A name in a non-Latin script: its key keeps it unique.
        slug = format!("pool-{}", key.chars().count());
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> PoolName {
        PoolName::parse(raw, "input.name").unwrap()
    }

    #[test]
    fn case_accents_and_punctuation_fold_into_one_key() {
        assert_eq!(name("Café Coop").key(), name("cafe-coop").key());
        assert_eq!(name("  CAFÉ   COOP ").as_str(), "CAFÉ COOP");
        assert_eq!(name("Café Coop!").key(), "cafecoop");
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(name("Les Communs d'Ivry").slug(), "les-communs-d-ivry");
        assert_eq!(name("Ñandú Riders (BCN)").slug(), "nandu-riders-bcn");
    }

    #[test]
    fn bad_names_say_why() {
        assert!(
            PoolName::parse("ab", "n")
                .unwrap_err()
                .message
                .contains("at least 3")
        );
        assert!(
            PoolName::parse("Admin", "n")
                .unwrap_err()
                .message
                .contains("reserved")
        );
        assert!(
            PoolName::parse("1234", "n")
                .unwrap_err()
                .message
                .contains("letter")
        );
        assert!(
            PoolName::parse("Coop<script>", "n")
                .unwrap_err()
                .message
                .contains("`<`")
        );
        assert!(PoolName::parse(&"a".repeat(81), "n").is_err());
    }
}
