//! The languages messages are written in. Every text comes from one Fluent
//! file per language (`service/locales/<tag>/mail.ftl`), embedded in the
//! binary; English is complete and a message missing from another
//! language falls back to it (a unit test keeps the languages complete).

use std::sync::LazyLock;

use fluent_bundle::{FluentArgs, FluentResource, FluentValue, concurrent::FluentBundle};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A language a person can choose for their messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "es")]
    Es,
}

impl Locale {
    pub const ALL: [Self; 2] = [Self::En, Self::Es];

    /// The BCP 47 tag stored on the user (`en`, `es`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// A stored or requested tag; `es-AR` and `ES` read as `es`.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The stored tag read back; an unknown one (never written) is English.
    pub fn of_stored(tag: &str) -> Self {
        Self::parse(tag).unwrap_or_default()
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../../locales/en/mail.ftl"),
            Self::Es => include_str!("../../locales/es/mail.ftl"),
        }
    }
}

struct Catalog {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog {
    bundles: Locale::ALL.into_iter().map(|l| (l, bundle(l))).collect(),
});

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let resource = match FluentResource::try_new(locale.source().to_owned()) {
        Ok(r) => r,
        // Keeps what parsed; the unit tests refuse any error.
        Err((r, errors)) => {
            tracing::error!(
                locale = locale.tag(),
                ?errors,
                "a message file does not parse"
            );
            r
        }
    };
    let lang: LanguageIdentifier = locale.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // Plain text and HTML escaping come later; no bidi isolation marks.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(
            locale = locale.tag(),
            ?errors,
            "a message file repeats an id"
        );
    }
    bundle
}

/// The text of message `id` in `locale` with its arguments, falling back to
/// English, then to the id itself (never empty, never a panic).
pub fn text(locale: Locale, id: &str, args: &[(&str, &str)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, FluentValue::from(*v));
    }
    for candidate in [locale, Locale::En] {
        if let Some(found) = format(candidate, id, &fluent_args) {
            return found;
        }
    }
    id.to_owned()
}

fn format(locale: Locale, id: &str, args: &FluentArgs) -> Option<String> {
    let (_, bundle) = CATALOG.bundles.iter().find(|(l, _)| *l == locale)?;
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = vec![];
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            locale = locale.tag(),
            id,
            ?errors,
            "a message lacks an argument"
        );
    }
    Some(text.into_owned())
}

/// The ids of every message in `locale`'s file.
#[cfg(test)]
pub(crate) fn ids(locale: Locale) -> std::collections::BTreeSet<String> {
    let resource = FluentResource::try_new(locale.source().to_owned())
        .unwrap_or_else(|(_, e)| panic!("{} does not parse: {e:?}", locale.tag()));
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_parses_and_has_every_english_message() {
        let english = ids(Locale::En);
        assert!(english.len() > 20, "{english:?}");
        for locale in Locale::ALL {
            let theirs = ids(locale);
            let missing: Vec<_> = english.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&english).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", locale.tag());
            assert!(extra.is_empty(), "{} has unknown {extra:?}", locale.tag());
        }
    }

    #[test]
    fn arguments_are_filled_in_and_unknown_ids_fall_back() {
        let t = text(Locale::En, "greeting", &[("name", "Ada")]);
        assert!(t.contains("Ada"), "{t}");
        assert!(!t.contains('\u{2068}'), "no isolation marks: {t:?}");
        assert_eq!(text(Locale::Es, "no-such-message", &[]), "no-such-message");
    }

    #[test]
    fn tags_are_read_leniently() {
        assert_eq!(Locale::parse("es-AR"), Some(Locale::Es));
        assert_eq!(Locale::parse(" EN "), Some(Locale::En));
        assert_eq!(Locale::parse("xx"), None);
        assert_eq!(Locale::of_stored("xx"), Locale::En);
    }
}
