//! A message laid out: the same parts rendered into an HTML and a text
//! body from two templates (`service/templates/mail/`), HTML-escaped in
//! the one and plain in the other. Every part is already in the
//! recipient's language.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// What a message says, in its recipient's language.
#[derive(Clone, Debug, Serialize)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// The one thing the message asks the person to do, as a button.
    pub action: Option<LetterAction>,
    /// Below the action: what to do if the message was not expected.
    pub note: Option<String>,
    /// The footer: why the person gets this.
    pub footer: String,
    /// For optional messages: where to stop receiving this kind.
    pub unsubscribe: Option<LetterAction>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LetterAction {
    pub label: String,
    pub url: String,
}

/// The two bodies of a letter.
pub struct Rendered {
    pub text: String,
    pub html: String,
}

static LAYOUTS: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // Addresses escaped for an attribute, but with their slashes as they
    // are: the default escaping writes `/` as `&#x2f;`, which some mail
    // clients show or break.
    env.add_filter("href", |url: String| {
        minijinja::Value::from_safe_string(
            url.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\'', "&#39;"),
        )
    });
    for (name, source) in [
        (
            "layout.html",
            include_str!("../../templates/mail/layout.html"),
        ),
        (
            "layout.txt",
            include_str!("../../templates/mail/layout.txt"),
        ),
        ("page.html", include_str!("../../templates/mail/page.html")),
    ] {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "a mail layout does not parse");
        }
    }
    env
});

impl Letter {
    pub fn render(&self) -> Result<Rendered, minijinja::Error> {
        let render = |name| LAYOUTS.get_template(name)?.render(self);
        Ok(Rendered {
            text: render("layout.txt")?,
            html: render("layout.html")?,
        })
    }
}

/// A small page the server itself shows (after an unsubscribe link), in
/// the layout of its messages; `button` posts the page back to its address.
#[derive(Serialize)]
pub struct Page {
    pub lang: &'static str,
    pub title: String,
    pub message: String,
    pub button: Option<String>,
}

impl Page {
    pub fn render(&self) -> Result<String, minijinja::Error> {
        LAYOUTS.get_template("page.html")?.render(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            to: "ada@example.org".into(),
            subject: "Confirm".into(),
            greeting: "Hello <Ada>,".into(),
            paragraphs: vec!["One & two".into(), "Three".into()],
            action: Some(LetterAction {
                label: "Confirm".into(),
                url: "https://app.example/confirm?token=a&b=1".into(),
            }),
            note: Some("Not you? Ignore this.".into()),
            footer: "Sent by Pools.".into(),
            unsubscribe: None,
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let r = letter().render().expect("renders");
        assert!(r.html.contains("Hello &lt;Ada&gt;,"), "{}", r.html);
        assert!(r.html.contains("One &amp; two"), "{}", r.html);
        assert!(
            r.html
                .contains("href=\"https://app.example/confirm?token=a&amp;b=1\""),
            "{}",
            r.html
        );
        assert!(r.text.contains("Hello <Ada>,"), "{}", r.text);
        assert!(r.text.contains("https://app.example/confirm?token=a&b=1"));
        assert!(!r.text.contains("unsubscribe"));
    }

    #[test]
    fn an_unsubscribe_link_is_shown_when_there_is_one() {
        let mut l = letter();
        l.unsubscribe = Some(LetterAction {
            label: "Stop these".into(),
            url: "https://api.example/unsubscribe?t=x".into(),
        });
        let r = l.render().expect("renders");
        assert!(
            r.text
                .contains("Stop these: https://api.example/unsubscribe?t=x")
        );
        assert!(
            r.html
                .contains("href=\"https://api.example/unsubscribe?t=x\"")
        );
    }
}
