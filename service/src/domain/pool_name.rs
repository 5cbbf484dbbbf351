use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use super::SingleLineText;
use crate::error::FieldError;

/// A pool's name: a [`SingleLineText`] (NFC, trimmed, white space folded)
/// of 3 to 80 characters of letters (with their combining marks), digits,
/// spaces and a little punctuation, with at least one letter. Its `key`
/// folds case, accents and punctuation away, so "Café Coop", "Cafe\u{301}
/// Coop" and "cafe-coop" are one name; its `slug` is the URL form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolName {
    display: String,
    key: String,
    slug: String,
}

const MIN_LEN: usize = 3;
const MAX_LEN: usize = 80;
/// The `name_key` columns' size. Compatibility decomposition can spell one
/// character out as many (U+FDFA is 18), so the key is checked on its own.
const KEY_MAX_LEN: usize = 200;
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
        let display = SingleLineText::<MIN_LEN, MAX_LEN>::parse(raw, path)?.into_inner();
        let fail = |m: String| Err(FieldError::new(path, m));
        if let Some(bad) = first_disallowed(&display) {
            return fail(format!(
                "may hold letters, digits, spaces and - & ' . , ( ) ! only, not `{bad}`"
            ));
        }
        if !display.chars().any(char::is_alphabetic) {
            return fail("must contain at least one letter".into());
        }
        let key = name_key(&display);
        if key.chars().count() > KEY_MAX_LEN {
            return fail(format!(
                "spells out to more than {KEY_MAX_LEN} letters and digits when compared with \
                 other names (some characters, such as ﷺ, stand for a whole phrase); shorten it"
            ));
        }
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

/// The first character a name may not hold: anything but letters, digits,
/// spaces, [`PUNCTUATION`], and combining marks after a letter or digit
/// (the vowel signs and viramas of Indic scripts; accents NFC left apart).
fn first_disallowed(name: &str) -> Option<char> {
    let mut previous: Option<char> = None;
    for c in name.chars() {
        let allowed = c.is_alphanumeric()
            || c == ' '
            || PUNCTUATION.contains(&c)
            || (c.general_category_group() == GeneralCategoryGroup::Mark
                && previous.is_some_and(|p| {
                    p.is_alphanumeric() || p.general_category_group() == GeneralCategoryGroup::Mark
                }));
        if !allowed {
            return Some(c);
        }
        previous = Some(c);
    }
    None
}

/// Lower case, accents stripped, letters and digits only.
fn name_key(name: &str) -> String {
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The URL form; a name in a non-Latin script has none, and its key's
/// length keeps it apart instead.
fn slugify(name: &str, key: &str) -> String {
    let slug = super::slug::slugify(name);
    if slug.is_empty() {
        return format!("pool-{}", key.chars().count());
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
        for blank in [
            "\u{200b}\u{200b}\u{200b}",
            "\u{feff}\u{feff}\u{feff}",
            "a\0bc",
        ] {
            assert!(PoolName::parse(blank, "n").is_err(), "{blank:?}");
        }
    }

    #[test]
    fn decomposed_accents_are_the_same_name() {
        let decomposed = name("Cafe\u{301} Coop");
        assert_eq!(decomposed, name("Café Coop"));
        assert_eq!(decomposed.as_str(), "Café Coop");
        assert_eq!(name("हिन्दी सहकारी").as_str(), "हिन्दी सहकारी");
        assert!(PoolName::parse("Coop \u{301}x", "n").is_err());
    }

    #[test]
    fn keys_that_spell_out_too_long_are_refused() {
        let e = PoolName::parse(&"\u{fdfa}".repeat(80), "input.name").unwrap_err();
        assert_eq!(e.path, "input.name");
        assert!(e.message.contains("200"), "{}", e.message);
        let fits = name(&"\u{fdfa}".repeat(13));
        assert!(fits.key().chars().count() <= KEY_MAX_LEN);
    }
}
