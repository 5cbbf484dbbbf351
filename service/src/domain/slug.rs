//! URL forms of names: what `/p/<parent>/<pool>` addresses are made of.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// Longest slug made from a name.
pub const MAX_SLUG_LEN: usize = 60;

/// ASCII letters and digits of `name` (accents stripped, lower case) joined
/// by single hyphens, at most [`MAX_SLUG_LEN`] long. Empty for a name
/// without Latin letters or digits; the caller picks a fallback.
pub fn slugify(name: &str) -> String {
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
    let slug: String = slug
        .trim_end_matches('-')
        .chars()
        .take(MAX_SLUG_LEN)
        .collect();
    slug.trim_end_matches('-').to_owned()
}

/// `base`, or `base-2`, `base-3`, … : the first that `taken` does not hold.
pub fn first_free(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_owned())
}

/// `text` as a LIKE pattern that matches it literally: `%`, `_` and the
/// escape character itself are escaped with `\` (give `ESCAPE '\'`).
pub fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Les Communs d'Ivry"), "les-communs-d-ivry");
        assert_eq!(slugify("Ñandú Riders (BCN)"), "nandu-riders-bcn");
        assert_eq!(slugify("हिन्दी"), "");
    }

    #[test]
    fn the_first_free_slug_counts_up() {
        let taken = vec!["coop".to_owned(), "coop-2".to_owned()];
        assert_eq!(first_free("coop", &taken), "coop-3");
        assert_eq!(first_free("other", &taken), "other");
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
    }
}
