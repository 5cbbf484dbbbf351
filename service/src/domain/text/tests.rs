use proptest::prelude::*;

use super::*;

type Line = SingleLineText<1, 40>;
type Lines = MultiLineText<0, 200>;

#[test]
fn single_line_text_is_trimmed_folded_and_bounded() {
    let t = SingleLineText::<2, 10>::parse("  Co \t op\n ", "input.name").unwrap();
    assert_eq!(t.into_inner(), "Co op");
    assert!(SingleLineText::<2, 10>::parse(" a ", "input.name").is_err());
    assert!(SingleLineText::<2, 10>::parse("abcdefghijk", "input.name").is_err());
}

#[test]
fn nul_and_other_controls_are_refused_with_the_path() {
    for raw in ["a\0b", "bell\u{7}", "del\u{7f}", "c1\u{9b}x"] {
        let e = Line::parse(raw, "input.reason").unwrap_err();
        assert_eq!(e.path, "input.reason");
        assert!(e.message.contains("control"), "{raw:?}: {}", e.message);
        assert!(Lines::parse(raw, "input.body").is_err(), "{raw:?}");
    }
    assert!(
        Line::parse("a\0", "p")
            .unwrap_err()
            .message
            .contains("U+0000")
    );
}

#[test]
fn invisible_only_text_is_empty() {
    for raw in [
        "\u{200b}",
        "\u{200b}\u{200c}\u{200d}",
        "\u{feff}",
        "\u{feff}\u{feff}",
        "\u{2060}",
        "\u{3164}\u{3164}",
        "\u{2800}",
        "\u{301}",
        "\u{a0}\u{2003}",
    ] {
        assert!(Line::parse(raw, "input.name").is_err(), "{raw:?}");
        // Optional text: refused, or (a BOM is dropped) empty.
        assert!(
            Lines::parse(raw, "input.body").map_or(true, |t| t.as_str().is_empty()),
            "{raw:?}"
        );
    }
    assert!(Lines::parse("\u{200b}", "input.body").is_err());
    // An optional text left blank is empty, not refused.
    assert_eq!(Lines::parse("  \n\t ", "input.body").unwrap().as_str(), "");
    // Joiners inside real text stay (emoji sequences, Persian names).
    assert_eq!(
        Line::parse("👩\u{200d}🌾 farm", "p").unwrap().as_str(),
        "👩\u{200d}🌾 farm"
    );
}

#[test]
fn decomposed_and_precomposed_are_one_text() {
    let a = Line::parse("Cafe\u{301} Coop", "p").unwrap();
    let b = Line::parse("Café Coop", "p").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_str().chars().count(), 9);
}

#[test]
fn multi_line_text_keeps_markdown() {
    let raw = "\n\n  # Plan\r\n\r\n- one\n- two  \n\n\tcode\rend  \n\n";
    let t = Lines::parse(raw, "input.body").unwrap();
    assert_eq!(t.as_str(), "  # Plan\n\n- one\n- two  \n\n\tcode\nend");
}

#[test]
fn length_counts_what_is_stored() {
    // 40 decomposed é are 80 code points but 40 characters once NFC.
    let raw = "e\u{301}".repeat(40);
    assert_eq!(Line::parse(&raw, "p").unwrap().as_str().chars().count(), 40);
    assert!(Line::parse(&"é".repeat(41), "p").is_err());
}

#[test]
fn jurisdictions_are_iso_codes() {
    assert_eq!(Jurisdiction::parse("de", "j").unwrap().into_inner(), "DE");
    assert!(Jurisdiction::parse("XX", "j").is_err());
    assert!(Jurisdiction::parse("Germany", "j").is_err());
}

#[test]
fn registration_keys_drop_case_spaces_and_punctuation() {
    let key = |n: &str| registration_key(n, "input.registrationNumber").unwrap();
    assert_eq!(key(" HRB 12.345/b "), "hrb12345b");
    assert_eq!(key("0896.755.397"), key("0896 755 397"));
    assert!(registration_key("--/--", "p").is_err());
    // Lower-casing İ gives two characters; the key stays within its column.
    assert!(
        registration_key(&"İ".repeat(100), "p")
            .unwrap()
            .chars()
            .count()
            <= 100
    );
}

fn any_text() -> impl Strategy<Value = String> {
    // Printable text mixed with the characters the rules are about.
    let special = prop::sample::select(vec![
        '\0', '\n', '\r', '\t', '\u{7}', '\u{85}', '\u{a0}', '\u{200b}', '\u{200d}', '\u{feff}',
        '\u{301}', '\u{2028}', 'e', 'é', ' ', '#', '\u{fdfa}',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), special], 0..60)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #[test]
    fn single_line_output_is_stable_and_clean(raw in any_text()) {
        if let Ok(t) = Line::parse(&raw, "p") {
            let s = t.as_str();
            prop_assert_eq!(Line::parse(s, "p").map(Line::into_inner), Ok(s.to_owned()));
            prop_assert!(!s.chars().any(char::is_control));
            prop_assert!((1..=40).contains(&s.chars().count()));
            prop_assert!(s.chars().any(is_visible));
            prop_assert_eq!(s.nfc().collect::<String>(), s);
        }
    }

    #[test]
    fn multi_line_output_is_stable_and_clean(raw in any_text()) {
        if let Ok(t) = Lines::parse(&raw, "p") {
            let s = t.as_str();
            prop_assert_eq!(Lines::parse(s, "p").map(Lines::into_inner), Ok(s.to_owned()));
            prop_assert!(!s.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            prop_assert!(s.chars().count() <= 200);
            prop_assert!(s.is_empty() || s.chars().any(is_visible));
        }
    }

    #[test]
    fn nfc_equal_inputs_parse_alike(raw in any_text()) {
        let nfd: String = raw.nfd().collect();
        prop_assert_eq!(Line::parse(&raw, "p").ok(), Line::parse(&nfd, "p").ok());
        prop_assert_eq!(Lines::parse(&raw, "p").ok(), Lines::parse(&nfd, "p").ok());
    }
}
