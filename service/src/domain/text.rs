//! Text inputs. Every string a caller sends is parsed into one of two types
//! before it is stored or compared:
//!
//! - [`SingleLineText`] for names, titles, references and filters: white
//!   space (line breaks and tabs included) folds into single spaces;
//! - [`MultiLineText`] for prose, often Markdown (proposal bodies,
//!   descriptions, reasons): line breaks and tabs are kept.
//!
//! Both NFC-normalise first, so a decomposed `e` + U+0301 and a precomposed
//! `é` are the same text; refuse control characters (NUL among them, which
//! PostgreSQL cannot store); require visible content (zero-width spaces, a
//! byte order mark or other format characters alone are empty); and check
//! their length, in characters, on the value that is stored.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::error::FieldError;

/// One line of text between `MIN` and `MAX` characters once normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleLineText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> SingleLineText<MIN, MAX> {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let nfc = normalise(raw);
        let folded = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
        refuse_controls(&folded, &[], path)?;
        check_content::<MIN, MAX>(&folded, path)?;
        Ok(Self(folded))
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text with line breaks, between `MIN` and `MAX` characters once
/// normalised: `\r\n` and lone `\r` (and the Unicode line and paragraph
/// separators) become `\n`, tabs stay, blank lines before the first
/// visible line and white space after the last are dropped; every line
/// keeps its own indentation and trailing spaces (Markdown uses both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiLineText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> MultiLineText<MIN, MAX> {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let nfc = normalise(raw);
        let unified = nfc
            .replace("\r\n", "\n")
            .replace(['\r', '\u{85}', '\u{2028}', '\u{2029}'], "\n");
        let text = trim_blank_lines(&unified).to_owned();
        refuse_controls(&text, &['\n', '\t'], path)?;
        check_content::<MIN, MAX>(&text, path)?;
        Ok(Self(text))
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// NFC, without U+FEFF: a byte order mark, or the deprecated zero-width
/// no-break space, never content. Dropped before composing, so the result
/// stays NFC.
fn normalise(raw: &str) -> String {
    raw.chars().filter(|c| *c != '\u{feff}').nfc().collect()
}

/// Drops white space after the last visible character, and whole blank
/// lines before the first one (the first line keeps its indentation).
fn trim_blank_lines(text: &str) -> &str {
    let text = text.trim_end();
    match text.find(|c: char| !c.is_whitespace()) {
        Some(first) => {
            let line_start = text[..first].rfind('\n').map_or(0, |i| i + 1);
            &text[line_start..]
        }
        None => "",
    }
}

fn refuse_controls(text: &str, allowed: &[char], path: &str) -> Result<(), FieldError> {
    match text
        .chars()
        .find(|c| c.is_control() && !allowed.contains(c))
    {
        Some(c) => Err(FieldError::new(
            path,
            format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

fn check_content<const MIN: usize, const MAX: usize>(
    text: &str,
    path: &str,
) -> Result<(), FieldError> {
    let len = text.chars().count();
    if len > 0 && !text.chars().any(is_visible) {
        return Err(FieldError::new(
            path,
            if MIN == 0 {
                "has no visible characters; write some text or leave it empty"
            } else {
                "must contain visible characters (letters, digits, punctuation or symbols)"
            },
        ));
    }
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
    Ok(())
}

/// Letters that render as nothing: the Hangul fillers and the blank
/// Braille pattern, favourites for names that look empty.
const BLANK_LETTERS: &[char] = &['\u{115f}', '\u{1160}', '\u{3164}', '\u{ffa0}', '\u{2800}'];

/// A character that shows on its own: a letter, digit, punctuation mark or
/// symbol. White space, controls, format characters (zero-width spaces and
/// joiners, the byte order mark, bidirectional marks), combining marks
/// without a base, private-use and unassigned code points are not.
pub fn is_visible(c: char) -> bool {
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    ) && !BLANK_LETTERS.contains(&c)
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

/// The longest registration key, as its column holds it.
pub const REGISTRATION_KEY_MAX: usize = 100;

/// A registration number as registers compare it: letters and digits only,
/// lower case, so `DE-123 456` and `de123456` are one number. At most
/// [`REGISTRATION_KEY_MAX`] characters, and never empty.
pub fn registration_key(number: &str, path: &str) -> Result<String, FieldError> {
    let key: String = number
        .nfc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    if key.is_empty() {
        return Err(FieldError::new(path, "must contain letters or digits"));
    }
    if key.chars().count() > REGISTRATION_KEY_MAX {
        return Err(FieldError::new(
            path,
            format!("must hold at most {REGISTRATION_KEY_MAX} letters and digits"),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
